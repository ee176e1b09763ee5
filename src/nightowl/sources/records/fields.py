"""Field coercions for records mapped in Python (see :mod:`json_python`): Log Analytics ``dynamic``
columns, text with a size cap, booleans as vendors write them, the first present key, ids."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson


def dyn(value: Any) -> Any:
    """A Log Analytics ``dynamic`` column: JSON text in exports, already parsed in Graph JSON."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return value
    return value


def text(value: Any, limit: int = 4096) -> str | None:
    """A scalar as text (None for empty); structures as compact JSON; cut at ``limit``."""
    if value is None:
        return None
    if isinstance(value, bool):
        out = "true" if value else "false"
    elif isinstance(value, str):
        out = value
    elif isinstance(value, int | float):
        out = str(value)
    else:
        out = orjson.dumps(value, default=str).decode()
    out = out.strip("\x00")
    return out[:limit] if out.strip() else None


def lower(value: Any) -> str | None:
    t = text(value, 512)
    return t.strip().lower() if t else None


def boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    t = (text(value, 16) or "").strip().strip('"').lower()
    if t in ("true", "yes", "1", "y"):
        return True
    if t in ("false", "no", "0", "n"):
        return False
    return None


def first(rec: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = rec.get(key)
        if value not in (None, ""):
            return value
    return None


def content_uid(rec: Any) -> str:
    """A stable id for records without one: the hash of their content (identical records dedupe)."""
    try:
        data = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # an integer beyond 64 bits (hostile logs have them): the standard library takes it
        data = json.dumps(rec, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "replace")
    return hashlib.sha1(data).hexdigest()


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def first_guid(value: str | None) -> str | None:
    m = _GUID.search(value or "")
    return m.group(0).lower() if m else None
