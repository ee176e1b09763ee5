"""Outlook ``.msg`` files ([MS-OXMSG]: MAPI properties in an OLE compound file), read with olefile.

A property lives in a stream named ``__substg1.0_IIIITTTT`` (id, type: ``001F`` UTF-16LE string,
``001E`` 8-bit string in the message code page, ``0102`` binary); small fixed-size values sit in
``__properties_version1.0``. Attachments are ``__attach_version1.0_#NNNNNNNN`` storages with the
data in ``3701`` (or an embedded message storage ``3701000D``) and the name in ``3707``/``3704``.
olefile is BSD-licensed; extract-msg (GPL-3.0) is not needed.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import olefile

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import attachments
from nightowl.secrets.mail.context import Run, Where, clean_message_id, message_date
from nightowl.secrets.mail.text import (
    clean_name,
    codec_for,
    decode,
    html_charset,
    html_to_text,
    lzfu_decompress,
    rtf_to_text,
)

PR_SUBJECT = 0x0037
PR_TRANSPORT_HEADERS = 0x007D
PR_BODY = 0x1000
PR_RTF_COMPRESSED = 0x1009
PR_HTML = 0x1013
PR_INTERNET_MESSAGE_ID = 0x1035
PR_DISPLAY_NAME = 0x3001
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_MIME_TAG = 0x370E
PR_INTERNET_CPID = 0x3FDE
PR_MESSAGE_CODEPAGE = 0x3FFD
ATTACH_EMBEDDED_MSG = 5
ATTACH_OLE = 6

_ATTACH = re.compile(r"__attach_version1\.0_#[0-9A-Fa-f]{8}\Z")
_EMBEDDED = "__substg1.0_3701000D"
_PROPS = "__properties_version1.0"


class _TooBig(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def iter_msg_file(path: Path, shown: str, run: Run) -> Iterator[Blob | Problem]:
    """Blobs of one .msg file; attachments have the path ``{shown}/{name}``."""
    run.stats.messages += 1
    try:
        ole = olefile.OleFileIO(str(path))
    except Exception as err:
        yield run.problem(
            shown, f"not a readable Outlook .msg (OLE) file: {type(err).__name__}: {str(err)[:120]}"
        )
        return
    with ole:
        try:
            with open(path, "rb") as fh:
                fallback = f"<msg:sha256:{hashlib.file_digest(fh, 'sha256').hexdigest()[:32]}>"
        except OSError:
            fallback = f"<msg:{shown}>"
        yield from _top(ole, run, Where(shown, fallback), shown)


def iter_msg_bytes(data: bytes, run: Run, where: Where) -> Iterator[Blob | Problem]:
    """Blobs of a .msg file attached to another message (``where`` is inside that message)."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as err:
        yield run.problem(where.path, f"not a readable Outlook .msg (OLE) file: {type(err).__name__}")
        return
    with ole:
        yield from _top(ole, run, where, None)


def _top(ole: olefile.OleFileIO, run: Run, where: Where, shown: str | None) -> Iterator[Blob | Problem]:
    if not ole.exists(_PROPS):
        yield run.problem(where.path, "OLE file without MAPI properties: not an Outlook message")
        return
    if shown is not None:  # a top-level file: its own Message-ID names it, its Date dates it
        try:
            codepage = _codepage(ole, [], 32)
            mid = _message_id(ole, [], codepage, run)
            headers = _string(ole, [], PR_TRANSPORT_HEADERS, codepage, run)
            date = message_date(
                email.parser.HeaderParser(policy=email.policy.compat32).parsestr(headers or "")
            )
        except Exception:
            mid = date = None
        where = Where(where.path, mid or where.message_id, date=date)
    yield from _message(ole, [], run, where, 32)


def _message(
    ole: olefile.OleFileIO, prefix: list[str], run: Run, where: Where, header: int
) -> Iterator[Blob | Problem]:
    """Subject, bodies and attachments of the message stored at ``prefix`` (``[]`` = the file)."""
    if where.depth >= run.limits.max_depth:
        yield run.problem(
            where.path, f"embedded messages nested deeper than {run.limits.max_depth}: not opened"
        )
        return
    try:
        props = _fixed(ole, prefix, header)
        codepage = props.get(PR_MESSAGE_CODEPAGE) or props.get(PR_INTERNET_CPID)
        subject = _string(ole, prefix, PR_SUBJECT, codepage, run)
        if subject and subject.strip():
            yield run.blob(where, "subject", subject.strip() + "\n")
        body = _string(ole, prefix, PR_BODY, codepage, run)
        html = _html(ole, prefix, props, codepage, run)
        if body and body.strip():
            yield run.blob(where, "body", body)
        if html and html.strip():
            yield run.blob(where, "body.html", html)
        if not (body and body.strip()) and not (html and html.strip()):
            rtf = _stream(ole, prefix, f"__substg1.0_{PR_RTF_COMPRESSED:04X}0102", run)
            if rtf:
                text = rtf_to_text(lzfu_decompress(rtf, run.limits.max_part_bytes), codepage)
                if text.strip():
                    yield run.blob(where, "body.rtf", text)
    except _TooBig as big:
        yield run.problem(where.path, f"{where.part}body of {big.size} bytes is over the cap: not scanned")
    except Exception as err:  # olefile raises many types on corrupt sector chains
        yield run.problem(
            where.path, f"{where.part}unreadable message body: {type(err).__name__}: {str(err)[:120]}"
        )
    yield from _attachments(ole, prefix, run, where)


def _attachments(
    ole: olefile.OleFileIO, prefix: list[str], run: Run, where: Where
) -> Iterator[Blob | Problem]:
    try:
        storages = sorted(
            entry[-1]
            for entry in ole.listdir(streams=False, storages=True)
            if len(entry) == len(prefix) + 1 and entry[:-1] == prefix and _ATTACH.match(entry[-1])
        )
    except Exception as err:
        yield run.problem(where.path, f"{where.part}attachment list unreadable: {type(err).__name__}")
        return
    if len(storages) > run.limits.max_parts:
        yield run.problem(
            where.path, f"{len(storages)} attachments: only the first {run.limits.max_parts} scanned"
        )
        storages = storages[: run.limits.max_parts]
    for n, storage in enumerate(storages, start=1):
        aprefix = [*prefix, storage]
        label = f"attachment{n}"
        try:
            props = _fixed(ole, aprefix, 8)
            name = (
                _string(ole, aprefix, PR_ATTACH_LONG_FILENAME, None, run)
                or _string(ole, aprefix, PR_ATTACH_FILENAME, None, run)
                or _string(ole, aprefix, PR_DISPLAY_NAME, None, run)
            )
            label = where.unique(clean_name(name, label))
            path = f"{where.path}/{label}"
            method = props.get(PR_ATTACH_METHOD)
            embedded = [*aprefix, _EMBEDDED]
            if ole.exists("/".join(embedded)) and method != ATTACH_OLE:
                inner = where.inside(f"attachment:{label}/", path=path)
                yield from _message(ole, embedded, run, inner, 24)
                continue
            data = _stream(ole, aprefix, "__substg1.0_37010102", run)
            if data is None:
                continue  # attached by reference (a link): nothing stored to scan
            ctype = _string(ole, aprefix, PR_ATTACH_MIME_TAG, None, run) or ""
            yield from attachments.scan(label, data, run, where, ctype=ctype.strip().lower())
        except _TooBig as big:
            yield run.problem(
                f"{where.path}/{label}", f"attachment of {big.size} bytes is over the cap: not scanned"
            )
        except Exception as err:
            yield run.problem(
                f"{where.path}/{label}", f"unreadable attachment: {type(err).__name__}: {str(err)[:120]}"
            )


def _stream(ole: olefile.OleFileIO, prefix: list[str], name: str, run: Run) -> bytes | None:
    """A property stream's bytes, None when absent; olefile loads a stream whole, so check the size first."""
    path = "/".join([*prefix, name])
    if not ole.exists(path) or ole.get_type(path) != olefile.STGTY_STREAM:
        return None
    size = ole.get_size(path)
    if size > run.limits.max_part_bytes:
        raise _TooBig(size)
    with ole.openstream(path) as fh:
        return fh.read(run.limits.max_part_bytes)


def _string(
    ole: olefile.OleFileIO, prefix: list[str], prop: int, codepage: int | None, run: Run
) -> str | None:
    data = _stream(ole, prefix, f"__substg1.0_{prop:04X}001F", run)
    if data is not None:
        return data.decode("utf-16-le", errors="replace").rstrip("\x00")
    data = _stream(ole, prefix, f"__substg1.0_{prop:04X}001E", run)
    if data is not None:
        return decode(data.rstrip(b"\x00"), codepage).rstrip("\x00")
    return None


def _html(
    ole: olefile.OleFileIO, prefix: list[str], props: dict[int, int], codepage: int | None, run: Run
) -> str | None:
    data = _stream(ole, prefix, f"__substg1.0_{PR_HTML:04X}0102", run)
    if data is not None:
        cpid = props.get(PR_INTERNET_CPID)
        charset = codec_for(cpid) if cpid else None
        return html_to_text(decode(data, charset or html_charset(data)))
    text = _string(ole, prefix, PR_HTML, codepage, run)
    return html_to_text(text) if text else None


def _fixed(ole: olefile.OleFileIO, prefix: list[str], header: int) -> dict[int, int]:
    """Integer properties (types 0002, 0003, 000B) from ``__properties_version1.0``."""
    path = "/".join([*prefix, _PROPS])
    if not ole.exists(path) or ole.get_size(path) > 1 << 20:
        return {}
    with ole.openstream(path) as fh:
        data = fh.read()
    out: dict[int, int] = {}
    for offset in range(header, len(data) - 15, 16):
        tag, _flags, value = struct.unpack_from("<IIQ", data, offset)
        if tag & 0xFFFF in (0x0002, 0x0003, 0x000B):
            out[tag >> 16] = value & 0xFFFFFFFF
    return out


def _codepage(ole: olefile.OleFileIO, prefix: list[str], header: int) -> int | None:
    props = _fixed(ole, prefix, header)
    return props.get(PR_MESSAGE_CODEPAGE) or props.get(PR_INTERNET_CPID)


def _message_id(ole: olefile.OleFileIO, prefix: list[str], codepage: int | None, run: Run) -> str | None:
    """PR_INTERNET_MESSAGE_ID, else the Message-ID in the saved transport headers."""
    mid = clean_message_id(_string(ole, prefix, PR_INTERNET_MESSAGE_ID, codepage, run))
    if mid:
        return mid
    headers = _string(ole, prefix, PR_TRANSPORT_HEADERS, codepage, run)
    if headers:
        parsed = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(headers)
        return clean_message_id(parsed.get("Message-ID"))
    return None
