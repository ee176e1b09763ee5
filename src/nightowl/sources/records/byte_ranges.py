"""Parts of one file, cut at line ends, as files DuckDB can open: so a clean NDJSON file is parsed on
every thread and each line still gets its number.

DuckDB numbers lines (``row_number() OVER ()``) only on a scan it reads in order on one thread, and its
JSON reader cannot start at an offset. A file cut into ``n`` parts, each served as a file of its own
through an fsspec file system registered on the connection, becomes ``n`` such scans: each runs on its
own thread and numbers its part's lines from the count of lines before the part (counted here with
numpy, one pass over the bytes before the last cut). DuckDB runs the scans side by side when the
insert does not have to keep their rows in order (the numbers are in the rows).
"""

from __future__ import annotations

import io
import itertools
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
from fsspec import AbstractFileSystem

from nightowl.sources.records.sql import duckdb_size_bytes

PROTOCOL = "nightowl-part"
PART_MIN_BYTES = 64 << 20  # smaller parts are not worth a thread: a file under 2x this is read whole
# DuckDB memory one part needs beside the others: its JSON reader's buffers and the insert's row
# groups. Measured on 1M sign-ins: under 384 MB two parts ran, eight ran out of memory (and the
# file fell back to the slow robust path); under 1 GB five ran.
PART_MEMORY_BYTES = 180 << 20
_CHUNK = 1 << 20  # bytes per read when counting lines (into one reused buffer: no page faults per read)
_PROBE = 64 << 10  # bytes per read when looking for the line end after a cut (lines are short)


def parts_for(con: duckdb.DuckDBPyConnection) -> int:
    """How many parts a file may be read in on ``con``: one per DuckDB thread, as many as its memory
    limit holds (at least one)."""
    threads, limit = con.execute(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    ).fetchall()[0]
    limit_bytes = duckdb_size_bytes(str(limit))
    if limit_bytes is None:  # no limit DuckDB shows in those units (unlimited: PiB): threads decide
        return max(1, int(threads))
    return max(1, min(int(threads), limit_bytes // PART_MEMORY_BYTES))


@dataclass(frozen=True)
class Part:
    """Bytes ``start`` to ``end`` of a file; ``lines_before`` lines end before ``start``."""

    start: int
    end: int
    lines_before: int


def cut(fd: int, size: int, parts: int) -> list[Part]:
    """``fd``'s bytes cut into at most ``parts`` parts of about equal size, each cut just after a
    line feed (fewer parts when a line spans a cut's whole neighbourhood up to the next cut)."""
    starts = [0]
    for i in range(1, parts):
        start = _line_end_after(fd, max(i * size // parts, starts[-1]), size)
        if start is None or start >= size:
            break
        if start > starts[-1]:
            starts.append(start)
    ends = [*starts[1:], size]
    # the line feeds before the last part, counted in ``parts`` pieces per part at once (numpy
    # releases the GIL while it counts)
    pieces = [
        (n, s + (e - s) * i // parts, s + (e - s) * (i + 1) // parts)
        for n, (s, e) in enumerate(zip(starts[:-1], ends[:-1], strict=True))
        for i in range(parts)
    ]
    counts = [0] * len(starts)
    with ThreadPoolExecutor(max_workers=parts) as pool:
        for (n, _, _), count in zip(
            pieces, pool.map(lambda p: _line_feeds(fd, p[1], p[2]), pieces), strict=True
        ):
            counts[n + 1] += count
    before = itertools.accumulate(counts)
    return [Part(s, e, b) for s, e, b in zip(starts, ends, before, strict=True)]


def _line_end_after(fd: int, pos: int, size: int) -> int | None:
    """The offset just after the first line feed at or after ``pos - 1`` (so a cut already at a
    line start stays), or None when there is none before the end."""
    pos = max(pos - 1, 0)
    while pos < size:
        data = os.pread(fd, min(_PROBE, size - pos), pos)
        if not data:
            return None
        found = data.find(b"\n")
        if found >= 0:
            return pos + found + 1
        pos += len(data)
    return None


def line_feeds(data: np.ndarray, scratch: np.ndarray) -> int:
    """The line feeds in the bytes ``data`` (uint8), counted by numpy into ``scratch`` (a bool array
    at least as long, reused from call to call so no mask is allocated per chunk)."""
    mask = scratch[: data.size]
    return int(np.count_nonzero(np.equal(data, 10, out=mask)))


def _line_feeds(fd: int, start: int, end: int) -> int:
    buf = bytearray(_CHUNK)
    view, arr = memoryview(buf), np.frombuffer(buf, dtype=np.uint8)
    scratch = np.empty(_CHUNK, dtype=np.bool_)
    count, pos = 0, start
    while pos < end:
        n = os.preadv(fd, [view[: min(_CHUNK, end - pos)]], pos)
        if not n:
            break
        count += line_feeds(arr[:n], scratch)
        pos += n
    return count


class _PartFile(io.RawIOBase):
    """One part, read with ``pread`` (the file's descriptor is shared by every part)."""

    def __init__(self, fd: int, part: Part) -> None:
        super().__init__()
        self._fd, self._start, self._size, self._pos = fd, part.start, part.end - part.start, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        left = self._size - self._pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        data = os.pread(self._fd, size, self._start + self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _PartFileSystem(AbstractFileSystem):
    """``nightowl-part://<token>/<n>``: part ``n`` of the file registered under ``token``. Nothing
    else is reachable through it (no listing of real folders, no writes)."""

    protocol = PROTOCOL
    cachable = False

    def __init__(self) -> None:
        super().__init__()
        self.served: dict[str, tuple[int, Part]] = {}
        self.lock = threading.Lock()

    def _part(self, path: str) -> tuple[int, Part]:
        key = path.split("://", 1)[-1].strip("/")
        with self.lock:
            if key not in self.served:
                raise FileNotFoundError(path)
            return self.served[key]

    def _open(self, path: str, mode: str = "rb", **kwargs) -> _PartFile:  # type: ignore[no-untyped-def, override]
        if "r" not in mode or any(m in mode for m in "wa+"):
            raise PermissionError(f"{path}: read-only")
        return _PartFile(*self._part(path))

    def info(self, path: str, **kwargs) -> dict:  # type: ignore[no-untyped-def]
        _, part = self._part(path)
        return {"name": path, "size": part.end - part.start, "type": "file"}

    def ls(self, path: str, detail: bool = True, **kwargs) -> list:  # type: ignore[no-untyped-def]
        entry = self.info(path)
        return [entry] if detail else [entry["name"]]


_FILESYSTEM = _PartFileSystem()


@contextmanager
def served_parts(con: duckdb.DuckDBPyConnection, path: str, parts: int) -> Iterator[list[tuple[str, int]]]:
    """``path`` cut into at most ``parts`` parts: yields (the URL DuckDB opens, lines before it) per
    part. A small file, one that is not a regular file (never opened here: a pipe would block), or
    ``parts`` 1 is one part, ``path`` itself."""
    info = os.stat(path)
    parts = min(parts, info.st_size // PART_MIN_BYTES)
    positional = hasattr(os, "pread") and hasattr(os, "preadv")  # not on Windows (preadv: macOS 11+)
    if parts < 2 or not stat.S_ISREG(info.st_mode) or not positional:
        yield [(path, 0)]
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        pieces = cut(fd, os.fstat(fd).st_size, parts)
        if len(pieces) < 2:
            yield [(path, 0)]
            return
        if not con.filesystem_is_registered(PROTOCOL):
            con.register_filesystem(_FILESYSTEM)
        token = secrets.token_hex(8)
        keys = [f"{token}/{n}.jsonl" for n in range(len(pieces))]
        with _FILESYSTEM.lock:
            _FILESYSTEM.served.update({k: (fd, p) for k, p in zip(keys, pieces, strict=True)})
        try:
            yield [(f"{PROTOCOL}://{k}", p.lines_before) for k, p in zip(keys, pieces, strict=True)]
        finally:
            with _FILESYSTEM.lock:
                for k in keys:
                    _FILESYSTEM.served.pop(k, None)
    finally:
        os.close(fd)
