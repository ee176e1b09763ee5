"""Walk files and directories into Blobs, reporting every path that cannot be scanned.

Hostile input is expected: symlink loops and dangling links, FIFOs and devices (never opened: a
FIFO would block), unreadable files, binaries, files larger than the cap, zip archives with bombs.
Each becomes a :class:`Problem` with a reason, never an exception and never a silent skip.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nightowl.secrets.blob import Blob, Problem

if TYPE_CHECKING:  # zipfile is imported when a zip is opened: a pre-commit hook's few files rarely are
    import zipfile

MAIL_SUFFIXES = (".eml", ".mbox", ".msg", ".pst", ".ost")
ZIP_SUFFIXES = (".zip", ".jar", ".war", ".ear", ".whl", ".apk", ".nupkg", ".docx", ".xlsx", ".pptx")
SKIP_DIRS = {".git", ".hg", ".svn"}
# Formats that are binary by definition: in git history they are reported without being read.
BINARY_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd", ".woff", ".woff2", ".ttf",
    ".otf", ".eot", ".mo", ".pyc", ".class", ".so", ".dll", ".exe", ".dylib", ".a", ".o", ".gz", ".bz2", ".xz",
    ".zst", ".7z", ".rar", ".mp3", ".mp4", ".ogg", ".wav", ".flac", ".mov", ".avi", ".pdf",
)  # fmt: skip


@dataclass(frozen=True)
class WalkLimits:
    max_file_size: int = 64 * 1024 * 1024  # larger files are reported, not scanned
    chunk_size: int = 16 * 1024 * 1024  # big text files are scanned in chunks of this size
    chunk_overlap: int = 64 * 1024  # re-scanned across chunk borders (multi-line keys)
    zip_max_members: int = 10_000
    zip_max_member_size: int = 64 * 1024 * 1024
    zip_max_total: int = 256 * 1024 * 1024
    zip_max_ratio: int = 200  # uncompressed / compressed beyond this is a bomb
    zip_max_depth: int = 2


def decode_text(data: bytes) -> bytes | None:
    """Bytes ready to scan: UTF-16/32 with a BOM re-encoded as UTF-8; None for binary data."""
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        try:
            return data.decode("utf-32").encode("utf-8")
        except UnicodeDecodeError:
            return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            return None
    if data.find(b"\x00", 0, 8192) >= 0:  # (no copy of the first 8 KiB)
        return None
    return data


def is_mail_path(path: Path) -> bool:
    return path.name.lower().endswith(MAIL_SUFFIXES)


@dataclass(frozen=True)
class FileJob:
    """A regular file found by the walk, to be read (possibly in a worker process)."""

    path: Path
    shown: str
    size: int
    root: str  # the argument it was found under: path filters see the part below it


def iter_files(path: Path, shown: str) -> Iterator[FileJob | Problem]:
    """Every regular file under ``path`` (or ``path`` itself), and a Problem for each one that is not."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        yield Problem(shown, "dangling symlink" if os.path.islink(path) else "no such file or directory")
        return
    except OSError as exc:
        yield Problem(shown, _oserror(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_dir(path, shown, shown, {(st.st_dev, st.st_ino)})
    elif not stat.S_ISREG(st.st_mode):
        yield Problem(shown, "not a regular file (fifo, socket or device): not opened")
    else:
        yield FileJob(path, shown, st.st_size, str(Path(shown).parent) if "/" in shown else "")


def _walk_dir(root: Path, shown: str, top: str, active: set[tuple[int, int]]) -> Iterator[FileJob | Problem]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        yield Problem(shown, _oserror(exc))
        return
    for entry in entries:
        child_shown = f"{shown.rstrip('/')}/{entry.name}"
        try:
            st = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            yield Problem(child_shown, "dangling symlink")
            continue
        except OSError as exc:  # ELOOP for a link that points at itself
            yield Problem(child_shown, _oserror(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            if entry.name in SKIP_DIRS:
                continue  # version-control internals: history is scanned by the git reader
            ident = (st.st_dev, st.st_ino)
            if ident in active:
                yield Problem(child_shown, "symlink loop (directory already being walked): not followed")
                continue
            yield from _walk_dir(Path(entry.path), child_shown, top, active | {ident})
        elif not stat.S_ISREG(st.st_mode):
            yield Problem(child_shown, "not a regular file (fifo, socket or device): not opened")
        else:
            yield FileJob(Path(entry.path), child_shown, st.st_size, top)


def file_blobs(job: FileJob, limits: WalkLimits = WalkLimits()) -> Iterator[Blob | Problem]:
    """The Blobs of one regular file (whole, in chunks, or its zip members), or why not."""
    path, shown = job.path, job.shown
    if job.size > limits.max_file_size:
        yield Problem(shown, f"larger than the {limits.max_file_size // (1024 * 1024)} MiB cap: not scanned")
        return
    try:
        if path.name.lower().endswith(ZIP_SUFFIXES) and _is_zip(path):
            yield from _zip(path, shown, limits, depth=1)
            return
        if job.size > limits.chunk_size:
            yield from _chunks(path, shown, limits)
            return
        data = read_file(path)
    except OSError as exc:
        yield Problem(shown, _oserror(exc))
        return
    yield _text_blob(shown, data)


def _text_blob(shown: str, data: bytes) -> Blob | Problem:
    """The file's text to scan, or the reason it is not scanned."""
    text = decode_text(data)
    return Problem(shown, "binary file: not scanned") if text is None else Blob(path=shown, data=text)


def read_file(path: Path) -> bytes:
    """Read a whole file (a seam for tests: root can read chmod 000 files)."""
    with open(path, "rb") as fh:
        return fh.read()


def _chunks(path: Path, shown: str, limits: WalkLimits) -> Iterator[Blob | Problem]:
    """A large text file in overlapping chunks cut at line ends; line numbers stay right."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
        if decode_text(head) is None or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            yield Problem(shown, "large binary or UTF-16 file: not scanned")
            return
        fh.seek(0)
        carry = b""
        line_offset = 0
        while True:
            block = fh.read(limits.chunk_size)
            if not block and not carry:
                break
            data = carry + block
            if block:
                cut = data.rfind(b"\n", 0, len(data) - 1)
                cut = len(data) if cut < 0 else cut + 1
            else:
                cut = len(data)
            yield Blob(path=shown, data=data[:cut], line_offset=line_offset)
            if not block:
                break
            # start the next chunk a little earlier, on a line boundary, so a secret spanning the cut is seen whole
            back = data.rfind(b"\n", 0, max(cut - limits.chunk_overlap, 0)) + 1
            back = min(back, cut)
            line_offset += data.count(b"\n", 0, back)
            carry = data[back:]
            if (
                len(carry) > 4 * limits.chunk_size
            ):  # one enormous line: give up rather than grow without bound
                yield Problem(shown, "line longer than the chunk limit: rest of file not scanned")
                return


def _is_zip(path: Path) -> bool:
    import zipfile

    return zipfile.is_zipfile(path)


def _zip(
    path: Path | zipfile.ZipFile, shown: str, limits: WalkLimits, depth: int
) -> Iterator[Blob | Problem]:
    import zipfile
    import zlib

    try:
        zf = path if isinstance(path, zipfile.ZipFile) else zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield Problem(shown, f"unreadable zip archive: {exc}")
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.zip_max_members:
            yield Problem(
                shown, f"zip has {len(infos)} members (limit {limits.zip_max_members}): not scanned"
            )
            return
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            member = f"{shown}/{info.filename}"
            if info.file_size > limits.zip_max_member_size:
                yield Problem(member, "zip member larger than the cap: not scanned")
                continue
            if info.compress_size and info.file_size / info.compress_size > limits.zip_max_ratio:
                yield Problem(member, "zip bomb suspected (compression ratio too high): not scanned")
                continue
            total += info.file_size
            if total > limits.zip_max_total:
                yield Problem(
                    shown, "zip bomb suspected (total uncompressed size too large): rest not scanned"
                )
                return
            try:
                with zf.open(info) as fh:
                    data = fh.read(limits.zip_max_member_size + 1)  # never trust the declared size
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                RuntimeError,
                NotImplementedError,
                EOFError,
                ValueError,
            ) as exc:
                yield Problem(member, f"unreadable zip member: {exc}")
                continue
            if len(data) > limits.zip_max_member_size:
                yield Problem(member, "zip member larger than declared: not scanned")
                continue
            if info.filename.lower().endswith(ZIP_SUFFIXES) and data[:4] == b"PK\x03\x04":
                if depth >= limits.zip_max_depth:
                    yield Problem(member, "nested zip deeper than the limit: not scanned")
                    continue
                try:
                    inner = zipfile.ZipFile(io.BytesIO(data))
                except zipfile.BadZipFile as exc:
                    yield Problem(member, f"unreadable zip archive: {exc}")
                    continue
                yield from _zip(inner, member, limits, depth + 1)
                continue
            yield _text_blob(member, data)


def _oserror(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc.__class__.__name__}"
