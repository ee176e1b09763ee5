"""Okta System Log: ``GET /api/v1/logs`` between two instants, oldest first, paged by ``Link: rel="next"``.

With ``until`` set the listing is bounded: it ends on a page without a next link (or an empty page,
which Okta may return once at the end). Rate limits answer 429 with ``X-Rate-Limit-Reset``, handled
by the shared client.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nightowl.collect.http import Client
from nightowl.collect.streams import Cursor, Page, TimeRange, iso, with_query

LOGS_READ = ("okta.logs.read",)


@dataclass(frozen=True)
class OktaSystemLog:
    org_url: str
    span: TimeRange
    page_size: int = 1000
    name: str = "okta-system-log"
    format: str = "okta-system-log"
    # An API token carries its admin's rights (Read-only Administrator can read the log); a service
    # app's access token carries scopes, checked up front.
    permissions: tuple[tuple[str, ...], ...] = (LOGS_READ,)

    def start(self) -> Cursor:
        params = {"since": iso(self.span.since), "until": iso(self.span.until),
                  "limit": self.page_size, "sortOrder": "ASCENDING"}  # fmt: skip
        return {"url": with_query(f"{self.org_url.rstrip('/')}/api/v1/logs", params)}

    def pages(self, client: Client, cursor: Cursor) -> Iterator[Page]:
        url: str | None = cursor["url"]
        while url:
            resp = client.get(url)
            records = resp.json()
            if not isinstance(records, list):
                records = []
            nxt = resp.links.get("next", {}).get("url")
            url = nxt if records and nxt and nxt != url else None
            yield records, ({"url": url} if url else None)
