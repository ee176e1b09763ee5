"""Stream an mbox of any size: split on ``From `` lines ourselves, one message in memory at a time.

``mailbox.mbox`` builds a table of contents over the whole file first and ``email`` parses a
message only in memory; this reader keeps just the current message (capped) and reads long lines
in pieces, so a many-GB Takeout export or a single 4 GB line cannot exhaust memory.
A separator is a line starting ``From `` at the start of the file or after a blank line (what
mboxo/mboxrd writers emit); ``>From `` quoting is undone as a mail client would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import mime
from nightowl.secrets.mail.context import Run
from nightowl.secrets.mail.limits import MailLimits

_QUOTED_FROM = re.compile(rb">(>*From )")


def split_mbox(fh: BinaryIO, limits: MailLimits) -> Iterator[tuple[int, bytes, int]]:
    """(1-based index, raw message bytes up to the cap, full size in bytes) for each message.

    Content before the first ``From `` line comes out as message 0.
    """
    buf: list[bytes] = []
    kept = total = 0
    index = 0
    at_line_start = prev_blank = True
    started = False
    while True:
        line = fh.readline(limits.max_line_bytes)
        if not line:
            break
        line_start = at_line_start
        at_line_start = line.endswith(b"\n")
        if line_start and prev_blank and line.startswith(b"From "):
            if started or total:
                yield index, b"".join(buf), total
            index += 1
            buf, kept, total, started = [], 0, 0, True
            prev_blank = False
            continue
        if line_start and line.startswith(b">") and _QUOTED_FROM.match(line):
            line = line[1:]
        total += len(line)
        if kept < limits.max_message_bytes:  # past the cap only the size is counted
            piece = line[: limits.max_message_bytes - kept]
            buf.append(piece)
            kept += len(piece)
        prev_blank = line_start and not line.strip(b"\r\n")
    if started or total:
        yield index, b"".join(buf), total


def iter_mbox(path: Path, shown: str, run: Run) -> Iterator[Blob | Problem]:
    """Blobs of every message of an mbox file; message ``n`` has the path ``{shown}/{n}``."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, generator may be abandoned
    except OSError as err:
        yield run.problem(shown, f"cannot open mbox: {err.strerror or type(err).__name__}")
        return
    with fh:
        try:
            for index, raw, size in split_mbox(fh, run.limits):
                where = f"{shown}/{index}"
                if index == 0:
                    if not raw.strip():
                        continue
                    yield run.problem(shown, "content before the first 'From ' line: read as message 0")
                if size > len(raw):
                    yield run.problem(
                        where,
                        f"message of {size} bytes is over the {run.limits.max_message_bytes}-byte cap: rest not scanned",
                    )
                yield from mime.iter_raw_message(raw, run, where, "mbox")
        except OSError as err:
            yield run.problem(shown, f"mbox read failed: {err.strerror or type(err).__name__}")
