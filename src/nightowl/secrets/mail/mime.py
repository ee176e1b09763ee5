"""Decode one RFC 5322 / MIME message into the text a reader sees, part by part.

Parsing uses the stdlib ``email`` package with the lenient ``compat32`` policy: it records
defects instead of raising, which is what hostile mail needs. Part numbers follow IMAP
(``1``, ``2``, ``2.1``); a forwarded ``message/rfc822`` at part ``2`` has its parts under
``2/``; attachments are ``attachment:NAME``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import attachments
from nightowl.secrets.mail.context import Run, Where, clean_message_id, message_date, synthetic_id
from nightowl.secrets.mail.text import clean_name, decode, html_charset, html_to_text, rtf_to_text

_NOT_B64 = re.compile(rb"[^A-Za-z0-9+/]")
_PARSER = email.parser.BytesParser(policy=email.policy.compat32)


def parse(raw: bytes) -> Message:
    """Parse raw message bytes leniently (may raise only on pathological nesting: RecursionError)."""
    return _PARSER.parsebytes(raw)


def message_id_of(msg: Message, raw: bytes, kind: str) -> str:
    """The message's Message-ID, or a stable content-hash id when it has none."""
    try:
        value = msg.get("Message-ID")
    except Exception:
        value = None
    return clean_message_id(value) or synthetic_id(raw, kind)


def header_text(msg: Message, name: str) -> str:
    """A header decoded as a reader sees it (RFC 2047 encoded words), never raising."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        try:
            return str(make_header(decode_header(str(value))))
        except Exception:
            return str(value)
    except Exception:
        return ""


def iter_raw_message(raw: bytes, run: Run, path: str, kind: str) -> Iterator[Blob | Problem]:
    """Parse and decode one top-level message (an .eml file or one message of an mbox)."""
    run.stats.messages += 1
    try:
        msg = parse(raw)
    except RecursionError:
        yield run.problem(path, "message nested too deeply to parse")
        return
    except Exception as err:  # the parser is lenient; anything here is a real failure
        yield run.problem(path, f"unreadable message: {type(err).__name__}")
        return
    where = Where(path=path, message_id=message_id_of(msg, raw, kind), date=message_date(msg))
    yield from iter_message(msg, run, where)


def iter_message(msg: Message, run: Run, where: Where) -> Iterator[Blob | Problem]:
    """Blobs of a parsed message: its subject, then every part (``where.part`` prefixes the numbers)."""
    subject = header_text(msg, "Subject").strip()
    if subject:
        yield run.blob(where, "subject", subject + "\n")
    counter = [0]
    try:
        if _is_container(msg):
            yield from _children(msg, run, where, "", counter)
        else:
            yield from _leaf(msg, run, where, "1")
    except RecursionError:
        yield run.problem(where.path, f"part {where.part or '1'}: nested too deeply")


def _is_container(part: Message) -> bool:
    try:
        return part.is_multipart() and isinstance(part.get_payload(), list)
    except Exception:
        return False


def _children(
    container: Message, run: Run, where: Where, prefix: str, counter: list[int]
) -> Iterator[Blob | Problem]:
    if where.depth >= run.limits.max_depth:
        yield run.problem(
            where.path, f"part {where.part}{prefix or '1'}: nested deeper than {run.limits.max_depth}"
        )
        return
    for i, child in enumerate(container.get_payload(), start=1):
        counter[0] += 1
        if counter[0] > run.limits.max_parts:
            yield run.problem(
                where.path, f"more than {run.limits.max_parts} MIME parts: the rest not scanned"
            )
            return
        number = f"{prefix}{i}"
        if not isinstance(child, Message):
            continue
        ctype = _ctype(child)
        try:
            if ctype in ("message/rfc822", "message/global") and _is_container(child):
                inner = child.get_payload()[0]
                if isinstance(inner, Message):
                    yield from iter_message(inner, run, where.inside(f"{number}/"))
            elif _is_container(child) and ctype.startswith("multipart/"):
                yield from _children(child, run, where.inside("", 1), f"{number}.", counter)
            elif _is_container(child):
                # message/delivery-status and similar: header blocks, shown as text
                yield run.blob(where, number, child.as_bytes().decode("utf-8", errors="replace"))
            else:
                yield from _leaf(child, run, where, number)
        except RecursionError:
            yield run.problem(where.path, f"part {where.part}{number}: nested too deeply")
        except Exception as err:
            yield run.problem(where.path, f"part {where.part}{number}: unreadable ({type(err).__name__})")


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename() or part.get_param("name")
    except Exception:
        return None
    if isinstance(name, tuple):  # undecodable RFC 2231 value
        name = name[2] if len(name) == 3 else None
    if not name:
        return None
    try:
        return str(make_header(decode_header(str(name))))
    except Exception:
        return str(name)


def _leaf(part: Message, run: Run, where: Where, number: str) -> Iterator[Blob | Problem]:
    ctype = _ctype(part)
    name = _filename(part)
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    try:
        data = part.get_payload(decode=True)
    except Exception as err:
        yield run.problem(where.path, f"part {where.part}{number}: undecodable ({type(err).__name__})")
        return
    if not isinstance(data, bytes):
        data = b""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        repaired = _repair_base64(part)
        if repaired is not None:
            data = repaired
            yield run.problem(
                where.path, f"part {where.part}{number}: truncated base64, last characters dropped"
            )
    charset = _charset(part)
    body_text = ctype.startswith("text/") or ctype == "application/rtf"
    if disposition == "attachment" or name or not body_text:
        label = where.unique(clean_name(name, f"part{number}"))
        yield from attachments.scan(label, data, run, where, ctype=ctype, charset=charset)
        return
    limit = run.limits.max_part_bytes
    if len(data) > limit:
        yield run.problem(
            where.path, f"part {where.part}{number}: {len(data)} bytes, only the first {limit} scanned"
        )
        data = data[:limit]
    if ctype == "text/html":
        text = html_to_text(decode(data, charset or html_charset(data)))
    elif ctype in ("text/rtf", "application/rtf"):
        text = rtf_to_text(data)
    else:
        text = decode(data, charset)
    if text.strip():
        yield run.blob(where, number, text)


def _repair_base64(part: Message) -> bytes | None:
    """Decode a cut base64 body the stdlib gives back undecoded (length 1 more than a multiple of 4)."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    raw = _NOT_B64.sub(b"", payload.encode("ascii", errors="ignore"))
    if len(raw) % 4 != 1:
        return None
    raw = raw[:-1]
    return base64.b64decode(raw + b"=" * (-len(raw) % 4))


def _charset(part: Message) -> str | None:
    try:
        value = part.get_content_charset()
    except Exception:
        return None
    return value if isinstance(value, str) else None
