"""The user's cache folder for compiled rules (``$XDG_CACHE_HOME/nightowl``, else ``~/.cache/nightowl``).

Entries are named by a hash of what they were built from, so a changed rule file or library version
simply misses. Safe by construction: a writer writes a private temporary file and renames it into
place (two scans starting at once each write a whole file; the last rename wins, readers never see
half a file); an unreadable, truncated or corrupt entry is a miss; a read-only or missing home is a
miss every time (nothing is written). ``NIGHTOWL_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    if os.environ.get("NIGHTOWL_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nightowl"


def read(name: str) -> bytes | None:
    """The entry's bytes, or None when there is no usable entry."""
    base = cache_dir()
    if base is None:
        return None
    try:
        return (base / name).read_bytes()
    except OSError:
        return None


def write(name: str, data: bytes) -> None:
    """Store an entry atomically; any failure (read-only home, full disk) is logged and ignored."""
    base = cache_dir()
    if base is None:
        return
    import tempfile  # only a cache miss writes

    tmp = None
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=base, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, base / name)
        tmp = None
    except OSError as exc:
        log.debug("cannot write cache entry %s: %s", name, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
