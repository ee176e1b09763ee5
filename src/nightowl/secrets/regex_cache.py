"""Confirm regexes that load in a few milliseconds: CPython's own compiled form, kept in the cache folder.

``re.compile`` of the ~340 confirm regexes costs ~0.13 s (the phrasing rules' word lists in many
languages dominate). A parallel history scan compiles them all in the parent before the workers fork,
so that time is serial, before any blob is scanned; a one-file scan pays for the few it needs. ``re``
keeps compiled patterns only in memory. This module keeps what ``re``'s compiler produces (the opcode
list and the group names) in the user's cache folder (``secrets.cache``), keyed by the interpreter,
``_sre.MAGIC`` (the opcode format) and the patterns, and rebuilds the patterns with ``_sre.compile``:
the constructor ``re`` itself calls, which validates the code it is given.

Anything unexpected (another interpreter, a changed internal API, a corrupt, foreign or tampered
entry: ``_sre`` rejects invalid code) is a miss, and a miss falls back to ``re.compile``: the same
patterns, only slower. The entry is plain JSON; nothing in it is executed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import sys
from array import array
from collections.abc import Callable
from functools import partial

from nightowl.secrets import cache

log = logging.getLogger(__name__)
_FORMAT = "nightowl-regex/1"
_CODE = "I"  # the opcode list as unsigned 32-bit words (``_sre.CODESIZE`` is 4: checked before use)


def _internals():
    """CPython's regex parser, code generator and constructor, or None on another implementation."""
    try:
        import _sre
        from re import _compiler, _parser
    except ImportError:  # pragma: no cover - not CPython
        return None
    if array(_CODE).itemsize != _sre.CODESIZE:  # pragma: no cover - an unusual build
        return None
    return _sre, _compiler, _parser


def _entry_name(patterns: list[bytes]) -> str | None:
    parts = _internals()
    if parts is None or cache.cache_dir() is None:
        return None
    _sre = parts[0]
    h = hashlib.sha256(f"{_FORMAT}\0{sys.implementation.cache_tag}\0{sys.version}\0{_sre.MAGIC}".encode())
    for p in patterns:
        h.update(b"\0" + hashlib.sha256(p).digest())
    return f"regex-{h.hexdigest()[:32]}.json"


def _compile_parts(pattern: bytes) -> tuple[re.Pattern[bytes], list]:
    """The pattern, compiled the way ``re.compile`` does it, and the pieces to rebuild it from."""
    _sre, _compiler, _parser = _internals()  # type: ignore[misc]
    p = _parser.parse(pattern, 0)
    code = [int(op) for op in _compiler._code(p, 0)]
    flags = int(p.state.flags)
    groupindex = dict(p.state.groupdict)
    indexgroup = [None] * p.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    compiled = _sre.compile(pattern, flags, code, p.state.groups - 1, groupindex, tuple(indexgroup))
    packed = base64.b64encode(array(_CODE, code).tobytes()).decode()
    return compiled, [flags, packed, p.state.groups - 1, groupindex, indexgroup]


def _build(pattern: bytes, parts: list) -> re.Pattern[bytes] | None:
    """The pattern rebuilt from its cached pieces, or None when they are damaged (``_sre`` validates)."""
    _sre = _internals()[0]  # type: ignore[index]
    try:
        flags, packed, groups, groupindex, indexgroup = parts
        code = array(_CODE, base64.b64decode(packed, validate=True)).tolist()
        return _sre.compile(pattern, flags, code, groups, groupindex, tuple(indexgroup))
    except (ValueError, KeyError, TypeError, RuntimeError, OverflowError):  # corrupt, foreign or invalid code
        return None  # (binascii.Error and a truncated array are ValueErrors)


def loaders(patterns: list[bytes]) -> list[Callable[[], re.Pattern[bytes] | None]] | None:
    """One builder per pattern when the cache holds an entry for these patterns, else None. Only the
    entry is read here (about a millisecond); each builder rebuilds its pattern when called, so a
    one-file scan builds only the few patterns it uses. A builder returns None for a damaged piece."""
    name = _entry_name(patterns)
    raw = cache.read(name) if name else None
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        pieces = doc["patterns"]
        if doc["format"] != _FORMAT or len(pieces) != len(patterns):
            return None
    except (ValueError, KeyError, TypeError):
        return None
    return [partial(_build, pattern, parts) for pattern, parts in zip(patterns, pieces, strict=True)]


def cached(patterns: list[bytes]) -> list[re.Pattern[bytes]] | None:
    """Every pattern rebuilt, when the cache holds them all undamaged; else None."""
    builders = loaders(patterns)
    if builders is None:
        return None
    built = [build() for build in builders]
    return None if any(p is None for p in built) else built  # type: ignore[return-value]


def compile_all(patterns: list[bytes]) -> list[re.Pattern[bytes]]:
    """Every pattern compiled (as ``re.compile(p)`` would), from the cache when it holds them."""
    loaded = cached(patterns)
    if loaded is not None:
        return loaded
    name = _entry_name(patterns)
    if name is None:
        return [re.compile(p) for p in patterns]
    try:
        pairs = [_compile_parts(p) for p in patterns]
    except Exception as exc:  # an internal API that changed shape: plain re, no cache
        log.debug("regex cache unavailable (%s): compiling with re", exc)
        return [re.compile(p) for p in patterns]
    cache.write(name, json.dumps({"format": _FORMAT, "patterns": [parts for _, parts in pairs]}).encode())
    return [compiled for compiled, _ in pairs]
