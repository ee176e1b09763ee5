"""Outlook ``.pst`` / ``.ost`` stores, read with libpff (pypff): every folder, message and attachment.

Message ``n`` (1-based) of folder ``Inbox/Sub`` has the path ``{shown}/Inbox/Sub/{n}`` and, when
its transport headers carry no Message-ID (drafts, sent items, most PSTs), the stable synthetic
id ``<pst:Inbox/Sub/n>``. libpff reads lazily from disk, so a many-GB PST is not loaded whole.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pypff

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail import attachments
from nightowl.secrets.mail.context import Run, Where, clean_message_id, message_date
from nightowl.secrets.mail.text import clean_name, codec_for, decode, html_charset, html_to_text, rtf_to_text

PR_ATTACH_METHOD = 0x3705
PR_ATTACH_MIME_TAG = 0x370E
PR_INTERNET_CPID = 0x3FDE
PR_MESSAGE_CODEPAGE = 0x3FFD


def iter_pst(path: Path, shown: str, run: Run) -> Iterator[Blob | Problem]:
    """Blobs of every message in a PST/OST file, folder by folder."""
    store = pypff.file()
    try:
        store.open(str(path))
    except Exception as err:  # libpff raises OSError on a bad signature, truncation, encryption...
        yield run.problem(shown, f"not a readable Outlook PST/OST file: {str(err)[:160]}")
        return
    try:
        root = store.get_root_folder()
        yield from _folder(root, [], run, shown, 0)
    except Exception as err:
        yield run.problem(shown, f"PST folder tree unreadable: {str(err)[:160]}")
    finally:
        with contextlib.suppress(Exception):
            store.close()


def _folder(folder: Any, names: list[str], run: Run, shown: str, depth: int) -> Iterator[Blob | Problem]:
    where_folder = "/".join([shown, *names])
    if depth > run.limits.max_folder_depth:
        yield run.problem(where_folder, f"folders nested deeper than {run.limits.max_folder_depth}: not read")
        return
    try:
        count = folder.number_of_sub_messages
    except Exception as err:
        yield run.problem(where_folder, f"folder unreadable: {str(err)[:160]}")
        count = 0
    for i in range(count):
        path = f"{where_folder}/{i + 1}"
        try:
            message = folder.get_sub_message(i)
        except Exception as err:
            yield run.problem(path, f"message unreadable: {str(err)[:160]}")
            continue
        run.stats.messages += 1
        fallback = "<pst:" + "/".join([*names, str(i + 1)]) + ">"
        headers = _headers(message)
        mid = clean_message_id(headers.get("Message-ID")) if headers is not None else None
        date = (message_date(headers) if headers is not None else None) or _submitted(message)
        yield from _message(message, run, Where(path, mid or fallback, date=date))
    try:
        subfolders = folder.number_of_sub_folders
    except Exception:
        subfolders = 0
    seen: set[str] = set()
    for i in range(subfolders):
        try:
            sub = folder.get_sub_folder(i)
            name = clean_name(sub.name, f"folder{i + 1}").replace("/", "_")
        except Exception as err:
            yield run.problem(f"{where_folder}/folder{i + 1}", f"folder unreadable: {str(err)[:160]}")
            continue
        if name in seen:
            name = f"{name}~{i + 1}"
        seen.add(name)
        yield from _folder(sub, [*names, name], run, shown, depth + 1)


def _submitted(message: Any) -> str | None:
    """When the message was sent (else delivered), as pypff reads it (naive UTC FILETIME)."""
    for name in ("client_submit_time", "delivery_time"):
        with contextlib.suppress(Exception):
            when = getattr(message, name)
            if when is not None:
                return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _headers(message: Any) -> Message | None:
    """The message's saved transport headers (Message-ID, Date), None when the PST has none."""
    try:
        headers = message.transport_headers
    except Exception:
        return None
    if not headers:
        return None
    return email.parser.HeaderParser(policy=email.policy.compat32).parsestr(str(headers)[: 1 << 20])


def _message(message: Any, run: Run, where: Where) -> Iterator[Blob | Problem]:
    """Subject, bodies and attachments of one PST message (or of a message embedded in one)."""
    if where.depth >= run.limits.max_depth:
        yield run.problem(
            where.path, f"embedded messages nested deeper than {run.limits.max_depth}: not opened"
        )
        return
    props = _integers(message)
    codepage = props.get(PR_INTERNET_CPID) or props.get(PR_MESSAGE_CODEPAGE)
    subject = _get(message, "subject")
    if isinstance(subject, str) and subject.strip():
        yield run.blob(where, "subject", subject.strip() + "\n")
    plain, html, rtf = (_get(message, k) for k in ("plain_text_body", "html_body", "rtf_body"))
    for part, body in (("body", plain), ("body.html", html), ("body.rtf", rtf)):
        if body and len(body) > run.limits.max_part_bytes:
            yield run.problem(
                where.path, f"{where.part}{part}: {len(body)} bytes, only the first part scanned"
            )
    texts = []
    if plain:
        texts.append(("body", decode(_capped(plain, run), "utf-8")))  # libpff hands the plain body as UTF-8
    if html:
        data = _capped(html, run)
        charset = codec_for(codepage) if codepage else None
        texts.append(("body.html", html_to_text(decode(data, html_charset(data) or charset))))
    if rtf and not any(t.strip() for _, t in texts):
        texts.append(("body.rtf", rtf_to_text(_capped(rtf, run), codepage)))
    for part, text in texts:
        if text.strip():
            yield run.blob(where, part, text)
    yield from _attachments(message, run, where)


def _attachments(message: Any, run: Run, where: Where) -> Iterator[Blob | Problem]:
    try:
        count = message.number_of_attachments
    except Exception as err:
        yield run.problem(where.path, f"{where.part}attachment list unreadable: {str(err)[:160]}")
        return
    if count > run.limits.max_parts:
        yield run.problem(where.path, f"{count} attachments: only the first {run.limits.max_parts} scanned")
        count = run.limits.max_parts
    for i in range(count):
        label = f"attachment{i + 1}"
        try:
            attachment = message.get_attachment(i)
            label = where.unique(clean_name(_get(attachment, "long_filename"), label))
            path = f"{where.path}/{label}"
            embedded = _embedded_message(attachment)
            if embedded is not None:
                yield from _message(embedded, run, where.inside(f"attachment:{label}/", path=path))
                continue
            size = attachment.size or 0
            if size > run.limits.max_part_bytes:
                yield run.problem(path, f"attachment of {size} bytes is over the cap: not scanned")
                continue
            data = attachment.read_buffer(size) if size else b""
            ctype = _string_entry(attachment, PR_ATTACH_MIME_TAG) or ""
            yield from attachments.scan(label, data or b"", run, where, ctype=ctype.strip().lower())
        except Exception as err:
            yield run.problem(f"{where.path}/{label}", f"unreadable attachment: {str(err)[:160]}")


def _embedded_message(attachment: Any) -> Any | None:
    """The message inside an ATTACH_EMBEDDED_MSG attachment (libpff exposes it as the sub-item)."""
    try:
        if _integers(attachment).get(PR_ATTACH_METHOD) != 5 or not attachment.number_of_sub_items:
            return None
        item = attachment.get_sub_item(0)
    except Exception:
        return None
    return item if isinstance(item, pypff.message) else None


def _get(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except Exception:  # libpff raises OSError for a property it cannot read
        return None


def _capped(data: bytes | str, run: Run) -> bytes:
    raw = data.encode("utf-8", errors="replace") if isinstance(data, str) else bytes(data)
    return raw[: run.limits.max_part_bytes]


def _entries(item: Any) -> Iterator[Any]:
    try:
        for record_set in item.record_sets:
            yield from record_set.entries
    except Exception:
        return


def _integers(item: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in _entries(item):
        try:
            if entry.value_type in (0x0002, 0x0003):
                out.setdefault(entry.entry_type, entry.data_as_integer)
        except Exception:
            continue
    return out


def _string_entry(item: Any, entry_type: int) -> str | None:
    for entry in _entries(item):
        try:
            if entry.entry_type == entry_type and entry.value_type in (0x001E, 0x001F):
                return entry.data_as_string
        except Exception:
            continue
    return None
