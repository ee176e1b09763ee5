"""Mailbox readers for the secret scanner: mbox, .eml/.emlx, Outlook .msg and .pst/.ost.

Each Blob is the text of one message part as a reader sees it (MIME decoded, charset decoded,
HTML reduced to its visible text), or of one text attachment (zip archives, attached and
forwarded messages opened). Failures are yielded as Problems, never raised.

    stats = MailStats()
    for item in iter_mail_blobs(Path("export.pst"), "export.pst", stats=stats):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail.limits import MailLimits, MailStats
from nightowl.secrets.mail.sniff import mail_kind

__all__ = ["MailLimits", "MailStats", "is_mail_archive", "iter_mail_blobs", "mail_kind"]


def is_mail_archive(path: Path) -> bool:
    """True for an mbox, .eml/.emlx (or a Maildir file), Outlook .msg or .pst/.ost: reads 4 KiB."""
    return mail_kind(Path(path)) is not None


def iter_mail_blobs(
    path: Path, shown: str, *, limits: MailLimits | None = None, stats: MailStats | None = None
) -> Iterator[Blob | Problem]:
    """Every scannable text in a mailbox file, and a Problem for each thing that could not be read.

    ``shown`` is the path as the user gave it; Blob paths extend it (``mail.mbox/3``,
    ``mail.mbox/3/config.zip/.env``, ``archive.pst/Inbox/2/creds.txt``). Pass ``stats`` to get
    counts (messages, blobs, binary attachments skipped) once the iterator is exhausted.
    """
    from nightowl.secrets.mail.context import Run  # email's modules: only when there is mail to read

    run = Run(limits or MailLimits(), stats if stats is not None else MailStats())
    path = Path(path)
    kind = mail_kind(path)
    if kind is None:
        yield run.problem(shown, "not a recognised mailbox (mbox, .eml, .msg, .pst)")
        return
    try:
        if kind == "mbox":
            from nightowl.secrets.mail.mbox import iter_mbox

            yield from iter_mbox(path, shown, run)
        elif kind == "eml":
            from nightowl.secrets.mail.eml import iter_eml

            yield from iter_eml(path, shown, run)
        elif kind == "msg":
            from nightowl.secrets.mail.msg import iter_msg_file

            yield from iter_msg_file(path, shown, run)
        else:
            from nightowl.secrets.mail.pst import iter_pst

            yield from iter_pst(path, shown, run)
    except (Exception, RecursionError, MemoryError) as err:  # last resort: a reader bug must not stop a scan
        yield run.problem(shown, f"mail reader stopped: {type(err).__name__}: {str(err)[:160]}")
