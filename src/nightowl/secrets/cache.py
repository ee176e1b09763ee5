"""The user's cache folder for compiled rules (``$XDG_CACHE_HOME/nightowl``, else ``~/.cache/nightowl``).

Entries are named by a hash of what they were built from, so a changed rule file or library version
simply misses. Safe by construction: a writer writes a private temporary file and renames it into
place (two scans starting at once each write a whole file; the last rename wins, readers never see
half a file); an unreadable, truncated or corrupt entry is a miss; a read-only or missing home is a
miss every time (nothing is written). ``NIGHTOWL_NO_CACHE=1`` turns the cache off.

Entries do not pile up: every write removes the folder's other entries that no process has used for
:data:`KEEP_SECONDS` (a day). A hit marks its entry used (its modification time, refreshed at most once
an hour), so the entries of another nightowl version or rule set in use beside this one stay; an entry
is read whole at once, so removing one another process is about to read costs that process a miss
(it rebuilds and writes it again), never a wrong answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600  # an entry no process used for a day is stale: the next write removes it
TOUCH_SECONDS = 3600  # a hit refreshes its entry's time at most this often
# the entries the cache writes: parsed rules, Hyperscan databases, compiled confirm regexes
PREFIXES = ("rules-", "hyperscan-", "regex-")
_TEMP_PREFIXES = tuple("." + p for p in PREFIXES)  # a writer's file before its rename


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
    path = base / name
    try:
        with open(path, "rb") as fh:
            data = fh.read()
            used = os.fstat(fh.fileno()).st_mtime
    except OSError:
        return None
    if time.time() - used > TOUCH_SECONDS:  # in use: keep it from the next prune
        with contextlib.suppress(OSError):
            os.utime(path)
    return data


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
        return
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    prune(base, keep=name)


def prune(base: Path, keep: str) -> int:
    """Remove the entries (and writers' leftover temporary files) of this folder that nothing used for
    KEEP_SECONDS, except ``keep``; the number removed. Files the cache did not write are left alone."""
    now, removed = time.time(), 0
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        ours = name.startswith(PREFIXES) or (name.startswith(_TEMP_PREFIXES) and name.endswith(".tmp"))
        if not ours or name == keep:
            continue
        try:
            if (
                entry.is_file(follow_symlinks=False)
                and now - entry.stat(follow_symlinks=False).st_mtime > KEEP_SECONDS
            ):
                os.unlink(entry.path)
                removed += 1
        except OSError:  # gone already (another process pruned it), or not ours to remove
            continue
    return removed
