"""Cheap format detection on a file's first bytes (and its name), for the scanner's file walk."""

from __future__ import annotations

import re
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PST_MAGIC = b"!BDN"
HEAD_BYTES = 4096

_MBOX_FROM = re.compile(rb"From \S+")
_HEADER_LINE = re.compile(rb"([!-9;-~]{1,76}):[ \t]?")
# Headers that say "mail" (case-sensitive canonical spelling, to keep YAML like "from: x" out).
_MAIL_HEADERS = frozenset(
    b"Received Return-Path Message-ID Message-Id Date From To Cc Subject MIME-Version Mime-Version "
    b"Delivered-To Reply-To In-Reply-To References X-Mailer Content-Type Sender Thread-Topic".split()
)
MBOX_SUFFIXES = (".mbox", ".mbx", ".mbs")
EML_SUFFIXES = (".eml", ".emlx")


def looks_like_message(head: bytes) -> bool:
    """True when ``head`` starts with an RFC 5322 header block naming at least two mail headers."""
    head = head.lstrip(b"\r\n")
    seen: set[bytes] = set()
    for line in head[:HEAD_BYTES].splitlines()[:80]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):  # folded continuation
            continue
        m = _HEADER_LINE.match(line)
        if not m:
            return False
        if m.group(1) in _MAIL_HEADERS:
            seen.add(m.group(1).lower())
    return len(seen) >= 2


def looks_like_mbox(head: bytes) -> bool:
    """An mbox starts with a ``From sender date`` line followed by a message header block."""
    if not head.startswith(b"From "):
        return False
    first, _, rest = head.partition(b"\n")
    return bool(_MBOX_FROM.match(first)) and looks_like_message(rest)


def _emlx_body(head: bytes) -> bytes:
    """Apple Mail .emlx: a byte count line, then the message."""
    first, _, rest = head.partition(b"\n")
    return rest if first.strip().isdigit() else head


def mail_kind(path: Path) -> str | None:
    """``"pst"``, ``"msg"``, ``"mbox"``, ``"eml"`` or None, from the first 4 KiB and the suffix."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return None
    suffix = path.suffix.lower()
    if head.startswith(PST_MAGIC):
        return "pst"
    if head.startswith(OLE_MAGIC):
        return "msg" if suffix == ".msg" else None
    if looks_like_mbox(head):
        return "mbox"
    if suffix == ".emlx":
        head = _emlx_body(head)
    if looks_like_message(head):
        return "eml"
    if head and suffix in EML_SUFFIXES:
        return "eml"  # named as mail but with odd headers: read it as mail, report what fails
    if head and suffix in MBOX_SUFFIXES:
        return "mbox"
    return None
