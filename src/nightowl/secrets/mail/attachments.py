"""Attachments: text files, zip archives (with a bomb guard), attached .eml and .msg messages.

What an attachment is comes from its bytes, not its name: a ``.txt`` that is a PNG is counted as
binary, a ``creds`` without extension that is text is scanned, a ``.docx`` is opened as the zip
it is. Binary content (images, PDFs, executables) has no text for a rule to match: it is counted
in :class:`MailStats`, not reported as a problem.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.mail.context import Run, Where
from nightowl.secrets.mail.limits import MiB
from nightowl.secrets.mail.sniff import OLE_MAGIC, looks_like_message
from nightowl.secrets.mail.text import clean_name, decode, looks_textual

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_GENERIC_TYPES = frozenset(("application/octet-stream", "application/unknown", "binary/octet-stream", ""))
_KIND_BY_MAGIC = (
    (b"%PDF", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-elf"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf", "application/x-7z-compressed"),
    (b"Rar!", "application/vnd.rar"),
    (OLE_MAGIC, "application/x-ole-storage"),
)


def scan(
    name: str, data: bytes, run: Run, where: Where, *, ctype: str = "", charset: str | None = None
) -> Iterator[Blob | Problem]:
    """Blobs of one attachment named ``name`` (already unique within its message)."""
    yield from _content(
        data, run, where, f"{where.path}/{name}", f"attachment:{name}", name, ctype, charset, 0, None
    )


def _content(
    data: bytes,
    run: Run,
    where: Where,
    path: str,
    part: str,
    name: str,
    ctype: str,
    charset: str | None,
    zip_depth: int,
    budget: list[int] | None,
) -> Iterator[Blob | Problem]:
    limits = run.limits
    if where.depth >= limits.max_depth:
        yield run.problem(path, f"nested deeper than {limits.max_depth} levels: not opened")
        return
    lower = name.lower()
    oversize = len(data) > limits.max_part_bytes
    if data.startswith(_ZIP_MAGIC):
        if oversize:
            yield run.problem(
                path, f"zip of {len(data)} bytes is over the {limits.max_part_bytes}-byte cap: not opened"
            )
        else:
            yield from _zip(data, run, where, path, part, zip_depth, budget)
        return
    if data.startswith(OLE_MAGIC) and (
        lower.endswith(".msg") or b"_\x00_\x00s\x00u\x00b\x00s\x00t\x00g\x00" in data
    ):
        if oversize:
            yield run.problem(path, f"attached .msg of {len(data)} bytes is over the cap: not opened")
            return
        from nightowl.secrets.mail import msg  # late import: msg imports this module

        yield from msg.iter_msg_bytes(data, run, where.inside(f"{part}/", path=path))
        return
    if (
        ctype in ("message/rfc822", "message/global")
        or lower.endswith(".eml")
        or looks_like_message(data[:4096])
    ):
        if oversize:
            yield run.problem(path, f"attached message of {len(data)} bytes is over the cap: not opened")
            return
        from nightowl.secrets.mail import mime  # late import: mime imports this module

        try:
            inner = mime.parse(data)
        except RecursionError:
            yield run.problem(path, "attached message nested too deeply to parse")
            return
        yield from mime.iter_message(inner, run, where.inside(f"{part}/", path=path))
        return
    if looks_textual(data):
        if oversize:
            yield run.problem(
                path,
                f"{len(data)} bytes, over the {limits.max_part_bytes}-byte cap: only the first part scanned",
            )
            data = data[: limits.max_part_bytes]
        text = decode(data, charset)
        if text.strip():
            yield run.blob(where, part, text, path=path)
        return
    run.stats.skip_binary(path, _kind(data, ctype, lower))


def _kind(data: bytes, ctype: str, lower_name: str) -> str:
    for magic, kind in _KIND_BY_MAGIC:  # what the bytes are beats what the sender declared
        if data.startswith(magic):
            return kind
    if ctype and ctype not in _GENERIC_TYPES:
        return ctype
    suffix = lower_name.rpartition(".")[2] if "." in lower_name else ""
    return f".{suffix[:10]}" if suffix else "unknown binary"


def _zip(
    data: bytes, run: Run, where: Where, path: str, part: str, zip_depth: int, budget: list[int] | None
) -> Iterator[Blob | Problem]:
    limits = run.limits
    if zip_depth >= limits.max_zip_depth:
        yield run.problem(path, f"zip nested more than {limits.max_zip_depth} levels deep: not opened")
        return
    if budget is None:  # one budget for an archive and every archive nested in it
        budget = [limits.max_zip_total_bytes]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as err:
        yield run.problem(path, f"unreadable zip archive: {type(err).__name__}: {str(err)[:120]}")
        return
    if len(infos) > limits.max_zip_members:
        yield run.problem(path, f"{len(infos)} members: only the first {limits.max_zip_members} scanned")
        infos = infos[: limits.max_zip_members]
    seen: set[str] = set()
    with archive:
        for n, info in enumerate(infos, start=1):
            if info.is_dir():
                continue
            member = clean_name(info.filename, f"member{n}")
            if member in seen:
                member = f"{member}~{n}"
            seen.add(member)
            mpath, mpart = f"{path}/{member}", f"{part}/{member}"
            if info.flag_bits & 0x1:
                yield run.problem(mpath, "encrypted zip member: not scanned")
                continue
            if budget[0] <= 0:
                yield run.problem(
                    path,
                    f"archive inflated past {limits.max_zip_total_bytes} bytes: remaining members not scanned",
                )
                return
            result = _inflate(archive, info, run, budget)
            if isinstance(result, str):
                yield run.problem(mpath, result)
                continue
            content, truncated = result
            if truncated:
                yield run.problem(
                    mpath, f"member inflates past {len(content)} bytes: only the first part scanned"
                )
            yield from _content(content, run, where, mpath, mpart, member, "", None, zip_depth + 1, budget)


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, run: Run, budget: list[int]
) -> tuple[bytes, bool] | str:
    """Inflate one member in chunks, stopping at the caps; a string is the reason it was refused."""
    limits = run.limits
    cap = min(limits.max_zip_member_bytes, budget[0])
    compressed = max(info.compress_size, 1)
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as fh:
            while True:
                chunk = fh.read(min(1 << 16, cap + 1 - total))
                if not chunk:
                    break
                total += len(chunk)
                budget[0] -= len(chunk)
                # compressed bytes read so far (ZipExtFile's count; the declared size as a fallback)
                left = getattr(fh, "_compress_left", None)
                used = compressed - left if isinstance(left, int) and 0 <= left <= compressed else compressed
                if total > MiB and total > limits.max_zip_ratio * max(used, 1):
                    return f"inflates more than {limits.max_zip_ratio}:1 (zip bomb?): not scanned"
                if total > cap:
                    chunks.append(chunk[: len(chunk) - (total - cap)])
                    return b"".join(chunks), True
                chunks.append(chunk)
    except Exception as err:  # BadZipFile (CRC), NotImplementedError (method), zlib/lzma errors, EOFError
        return f"unreadable zip member: {type(err).__name__}: {str(err)[:120]}"
    return b"".join(chunks), False
