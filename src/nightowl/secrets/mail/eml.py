"""One message per file: ``.eml`` (RFC 5322), Apple Mail ``.emlx``, Maildir files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import mime
from nightowl.secrets.mail.context import Run


def iter_eml(path: Path, shown: str, run: Run) -> Iterator[Blob | Problem]:
    """Blobs of one message file; its attachments have the path ``{shown}/{name}``."""
    cap = run.limits.max_message_bytes
    try:
        with open(path, "rb") as fh:
            raw = fh.read(cap + 1)
    except OSError as err:
        yield run.problem(shown, f"cannot read message file: {err.strerror or type(err).__name__}")
        return
    if path.suffix.lower() == ".emlx":
        first, _, rest = raw.partition(b"\n")
        if first.strip().isdigit() and len(first) < 20:
            raw = rest[: int(first)]  # the message is followed by an XML property list
    if len(raw) > cap:
        yield run.problem(shown, f"message over the {cap}-byte cap: rest not scanned")
        raw = raw[:cap]
    if not raw.strip():
        yield run.problem(shown, "empty message file")
        return
    yield from mime.iter_raw_message(raw, run, shown, "eml")
