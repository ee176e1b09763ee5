"""Turn command-line paths into :class:`InputFile` objects: directories walked, ``.gz`` read
transparently, ``.zip`` members spooled to a temporary folder, ``-`` spooled from stdin.

Inputs are hostile: symlink loops are not followed twice, zip members are capped in size and
compression ratio (zip bombs), and nested archives are not opened recursively.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from nightowl.sources.base import InputError, InputFile

MAX_ZIP_MEMBER_BYTES = 8 << 30  # 8 GiB decompressed per member
MAX_ZIP_RATIO = 200  # decompressed / compressed; real logs compress ~10-30x
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
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or directory")
        if path.is_dir():
            yield from _walk(path, raw, spool)
        else:
            yield from _one_file(path, raw, spool)


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
            _copy_capped(zf, info, target, member)
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
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{shown}: corrupt zip member ({exc})") from exc


def _keep_member_time(target: Path, info: zipfile.ZipInfo) -> None:
    """Give the spooled copy the member's own time: syslog readers infer the year from it."""
    try:
        stamp = datetime(*info.date_time).timestamp()
        os.utime(target, (stamp, stamp))
    except (ValueError, OverflowError, OSError):
        pass


def _from_stdin(spool: Spool) -> InputFile:
    target = spool.dir / "stdin"
    with open(target, "wb") as dst:
        shutil.copyfileobj(sys.stdin.buffer, dst, 1 << 20)
    with open(target, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
    return InputFile(name="<stdin>", path=target, gzip=gz)
