"""Turn command-line paths into :class:`InputFile` objects: directories walked, ``.gz`` read
transparently, ``.zip`` members spooled to a temporary folder, ``-``, pipes and FIFOs (process
substitution: ``nightowl ingest <(zcat x.gz)``) spooled as streams.

Inputs are hostile: symlink loops are not followed twice (and one named directly is an error),
character devices and sockets are refused, zip members are capped in size and compression ratio
(zip bombs), archives whose entries overlap are refused, a corrupt member is quarantined alone,
and nested archives are not opened recursively.
"""

from __future__ import annotations

import itertools
import os
import select
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from nightowl.named_paths import named_path_problem
from nightowl.sources import base
from nightowl.sources.base import InputError, InputFile

MAX_ZIP_MEMBER_BYTES = 8 << 30  # 8 GiB decompressed per member
MAX_ZIP_RATIO = 200  # decompressed / compressed; real logs compress ~10-30x
MAX_ZIP_TOTAL_BYTES = 64 << 30  # all members of one archive together
FIFO_WAIT_SECONDS = 30.0  # a FIFO nobody writes to is an error after this long, not a hang
GZIP_MAGIC = b"\x1f\x8b"


class Spool:
    """Owns temporary copies (zip members, stdin); removes them on close."""

    def __init__(self) -> None:
        self._dir: Path | None = None

    @property
    def dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="nightowl-"))
        return self._dir

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def expand(paths: list[str], spool: Spool) -> Iterator[InputFile]:
    """Yield every input file under ``paths`` in a stable order.

    Raises :class:`InputError` for a path that does not exist or cannot be read.
    """
    for raw in paths:
        if raw == "-":
            yield _from_stdin(spool)
            continue
        path = named_path(raw)
        if path.is_dir():
            yield from _walk(path, raw, spool)
            continue
        mode = os.stat(path).st_mode
        if stat.S_ISFIFO(mode):  # a pipe, a FIFO, process substitution
            yield _from_stream(path, raw, spool)
        elif stat.S_ISREG(mode):
            yield from _one_file(path, raw, spool)
        else:
            kind = (
                "character device"
                if stat.S_ISCHR(mode)
                else "block device"
                if stat.S_ISBLK(mode)
                else "socket"
            )
            raise InputError(f"{raw}: a {kind}, not a log file")


def named_path(raw: str) -> Path:
    """The path named on the command line, or :class:`InputError` (one line) when it cannot be read."""
    problem = named_path_problem(raw)
    if problem:
        raise InputError(problem)
    return Path(raw)


def _refuse_gzip_bomb(path: Path, shown: str) -> None:
    """A gzip file's trailer says how big it expands (modulo 4 GiB): a bomb is refused before any
    reader (DuckDB's included) starts on it. Streams past 4 GiB are checked as they are read."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - 4, 0))
            expanded = int.from_bytes(fh.read(4), "little")
    except OSError:
        return
    if expanded > base.RATIO_CHECK_AFTER and expanded > base.MAX_GZIP_RATIO * max(size, 1):
        raise InputError(
            f"{shown}: refused, {size} bytes of gzip expanding to {expanded} ({expanded // max(size, 1)}x; "
            f"limit {base.MAX_GZIP_RATIO}x): a decompression bomb?"
        )


def _walk(root: Path, shown: str, spool: Spool) -> Iterator[InputFile]:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a symlink loop, or the same folder twice
            dirnames[:] = []
            continue
        seen.add(key)
        dirnames.sort()
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            if fname.startswith(".") or not full.is_file():
                continue
            rel = full.relative_to(root).as_posix()
            yield from _one_file(full, f"{shown.rstrip('/')}/{rel}", spool, in_folder=True)


def _one_file(path: Path, shown: str, spool: Spool, in_folder: bool = False) -> Iterator[InputFile]:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    if magic.startswith(GZIP_MAGIC):
        _refuse_gzip_bomb(path, shown)
        yield InputFile(name=shown, path=path, gzip=True, in_folder=in_folder)
    elif magic.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
        yield from _zip_members(path, shown, spool)
    else:
        yield InputFile(name=shown, path=path, in_folder=in_folder)


def _zip_members(path: Path, shown: str, spool: Spool) -> Iterator[InputFile]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{shown}: corrupt zip archive ({exc})") from exc
    with zf:
        _refuse_bomb(zf, path, shown)
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            member = f"{shown}/{info.filename}"
            if info.file_size > MAX_ZIP_MEMBER_BYTES or (
                info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO
            ):
                raise InputError(
                    f"{member}: refused, looks like a zip bomb "
                    f"({info.compress_size} bytes expanding to {info.file_size})"
                )
            target = spool.dir / f"{len(list(spool.dir.iterdir()))}-{Path(info.filename).name or 'member'}"
            try:
                _copy_capped(zf, info, target, member)
            except _CorruptMember as exc:  # this member only: the others are read
                yield InputFile(name=member, path=target, in_folder=True, problem=str(exc))
                continue
            _keep_member_time(target, info)
            yield from (
                _one_file(target, member, spool, in_folder=True)  # an archive's members are a folder's files
                if not info.filename.lower().endswith(".zip")
                else [InputFile(name=member, path=target, in_folder=True)]
            )


def _copy_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, shown: str) -> None:
    """Extract one member, stopping if it inflates past what its header promised."""
    limit = min(MAX_ZIP_MEMBER_BYTES, max(info.file_size, 1) + (1 << 20))
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise InputError(f"{shown}: refused, inflates past its declared size (zip bomb?)")
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise _CorruptMember(f"corrupt zip member ({exc})") from exc


class _CorruptMember(Exception):
    """One zip member cannot be decompressed (its data is damaged); the archive's others can."""


def _refuse_bomb(zf: zipfile.ZipFile, path: Path, shown: str) -> None:
    """Overlapping entries (the same compressed bytes expanded many times) and archives whose total
    expansion passes MAX_ZIP_RATIO or MAX_ZIP_TOTAL_BYTES are refused before anything is spooled."""
    infos = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.header_offset)
    for prev, nxt in itertools.pairwise(infos):
        if nxt.header_offset < prev.header_offset + prev.compress_size:
            raise InputError(f"{shown}: refused, its entries overlap (a zip bomb)")
    total = sum(i.file_size for i in infos)
    size = max(os.stat(path).st_size, 1)
    if total > MAX_ZIP_TOTAL_BYTES or total > MAX_ZIP_RATIO * size:
        raise InputError(
            f"{shown}: refused, {size} bytes expanding to {total} (limits: {MAX_ZIP_RATIO}x, "
            f"{MAX_ZIP_TOTAL_BYTES >> 30} GiB per archive; a zip bomb?)"
        )


def _keep_member_time(target: Path, info: zipfile.ZipInfo) -> None:
    """Give the spooled copy the member's own time: syslog readers infer the year from it."""
    try:
        stamp = datetime(*info.date_time).timestamp()
        os.utime(target, (stamp, stamp))
    except (ValueError, OverflowError, OSError):
        pass


def _from_stdin(spool: Spool) -> InputFile:
    return _spooled(sys.stdin.buffer, "<stdin>", spool)


def _from_stream(path: Path, shown: str, spool: Spool) -> InputFile:
    """A FIFO or pipe read once, as a stream, into the spool (it cannot be read twice); a FIFO
    that no process writes to within FIFO_WAIT_SECONDS is an error rather than a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})") from exc
    try:
        ready, _, _ = select.select([fd], [], [], FIFO_WAIT_SECONDS)
        if not ready:
            raise InputError(f"{shown}: nothing was written to this pipe within {FIFO_WAIT_SECONDS:g} s")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            return _spooled(stream, shown, spool)
    finally:
        os.close(fd)


def _spooled(stream, shown: str, spool: Spool) -> InputFile:  # type: ignore[no-untyped-def]
    target = spool.dir / f"{len(list(spool.dir.iterdir()))}-stream"
    with open(target, "wb") as dst:
        shutil.copyfileobj(stream, dst, 1 << 20)
    with open(target, "rb") as fh:
        magic = fh.read(2)
    return InputFile(name=shown, path=target, gzip=magic == GZIP_MAGIC)
