"""Where a reader is inside a mailbox, and the one place Blobs and Problems are made (and counted)."""

from __future__ import annotations

import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC
from email.message import Message

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail.limits import MailLimits, MailStats


@dataclass
class Run:
    """One call of ``iter_mail_blobs``: its caps and its counters."""

    limits: MailLimits
    stats: MailStats

    def blob(self, where: Where, part: str, text: str, path: str | None = None) -> Blob:
        data = text.encode("utf-8", errors="replace")
        self.stats.blobs += 1
        self.stats.blob_bytes += len(data)
        return Blob(
            path=path or where.path,
            data=data,
            message_id=where.message_id,
            part=where.part + part,
            date=where.date,
        )

    def problem(self, path: str, reason: str) -> Problem:
        self.stats.problems += 1
        return Problem(path=path, reason=reason)


@dataclass(frozen=True)
class Where:
    """The mailbox message being read and the position inside it.

    ``path`` is the message's display path (``mail.mbox/3``, ``archive.pst/Inbox/2``),
    ``message_id`` the mailbox message's Message-ID (content nested in it, such as a forwarded
    message, keeps the outer id: that is the message an analyst can find in the mailbox), and
    ``part`` the prefix of part paths (``""``, ``"2/"`` in a forwarded message,
    ``"attachment:fwd.eml/"``). ``names`` keeps attachment names unique inside one message.
    """

    path: str
    message_id: str
    part: str = ""
    depth: int = 0
    names: set[str] = field(default_factory=set, compare=False)
    date: str | None = None  # the message's Date header, ISO 8601 UTC

    def inside(self, part_prefix: str, extra_depth: int = 1, path: str | None = None) -> Where:
        """The position inside a nested message or archive (same message, same name registry).

        ``path`` is given for an attached message file (``mail.mbox/3/fwd.eml``), so its body
        blobs point at the attachment rather than at the outer message.
        """
        return Where(
            path or self.path,
            self.message_id,
            self.part + part_prefix,
            self.depth + extra_depth,
            self.names,
            self.date,
        )

    def unique(self, name: str) -> str:
        """``name``, or ``name~2``, ``name~3``... when the message already has one by that name."""
        key, n = name, 1
        while key in self.names:
            n += 1
            key = f"{name}~{n}"
        self.names.add(key)
        return key


_WS = re.compile(r"\s+")


def message_date(msg: Message) -> str | None:
    """The Date header as ISO 8601 UTC (when a secret in the message was sent); None when absent or unreadable."""
    try:
        when = email.utils.parsedate_to_datetime(str(msg.get("Date") or ""))
    except Exception:  # hostile headers: a date we cannot read is no date
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_message_id(value: object) -> str | None:
    """A Message-ID header value fit for display and matching, or None when empty."""
    if value is None:
        return None
    text = str(value)
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _WS.sub("", text)[:500]
    return text or None


def synthetic_id(data: bytes, kind: str) -> str:
    """A stable id for a message without a Message-ID: the same bytes give the same id anywhere."""
    return f"<{kind}:sha256:{hashlib.sha256(data).hexdigest()[:32]}>"
