"""A stream is one API listing (say, non-interactive sign-ins) read page by page from a cursor.

The cursor is a small JSON-able dict that says exactly where to continue (a next link, or the Office
365 window and the content blobs left); ``pages`` yields each page's records with the cursor that
follows it, or None after the last page. The runner saves that cursor only once the records before it
are safely on disk, which is what makes a resumed run neither lose nor repeat a record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from nightowl.collect.http import Client

Cursor = dict[str, Any]
Page = tuple[list[dict[str, Any]], Cursor | None]


@dataclass(frozen=True)
class TimeRange:
    since: datetime  # inclusive
    until: datetime  # exclusive

    def to_json(self) -> dict[str, str]:
        return {"since": iso(self.since), "until": iso(self.until)}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> TimeRange:
        return cls(parse_iso(data["since"]), parse_iso(data["until"]))


def iso(ts: datetime) -> str:
    """UTC, seconds precision, ``Z``: what Graph's $filter, Okta and the Management API all accept."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def with_query(url: str, params: dict[str, Any]) -> str:
    """URL with its query encoded as the APIs expect (spaces as %20, ``$`` and ``:`` kept)."""
    return f"{url}?{urlencode(params, quote_via=quote, safe='$:,/()')}"


class Stream(Protocol):
    name: str  # the output folder, e.g. "entra-signins-noninteractive"
    format: str  # the --input-format that reads what it writes
    permissions: tuple[tuple[str, ...], ...]  # every group needed; any one permission of a group will do

    def start(self) -> Cursor: ...

    def pages(self, client: Client, cursor: Cursor) -> Iterator[Page]: ...


def needs(permissions: tuple[tuple[str, ...], ...]) -> str:
    """``AuditLog.Read.All and (User.Read.All or Directory.Read.All)``."""
    return " and ".join(g[0] if len(g) == 1 else "(" + " or ".join(g) + ")" for g in permissions)


def missing(permissions: tuple[tuple[str, ...], ...], have: set[str]) -> list[tuple[str, ...]]:
    return [group for group in permissions if not have.intersection(group)]
