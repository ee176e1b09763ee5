"""Office 365 Management Activity API: Exchange audit (``Audit.Exchange``, with ``MailItemsAccessed``).

The API serves audit records as content blobs: a subscription to the content type must be started
once; then ``subscriptions/content`` lists the blobs created in a window of at most 24 hours, paged by
the ``NextPageUri`` response header, and each blob's ``contentUri`` returns a JSON array of records.
Content is kept for 7 days, so older ranges are cut to the last 7 days with a warning. Blobs are
listed by when they were created, not by event time: a record can fall a little outside the range
(the store drops repeats by the record's ``Id`` when runs overlap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nightowl.collect.http import Client
from nightowl.collect.streams import Cursor, Page, TimeRange, iso, with_query

ACTIVITY_FEED = ("ActivityFeed.Read",)
CONTENT_TYPE = "Audit.Exchange"
RETENTION = timedelta(days=7)
WINDOW = timedelta(hours=24)


def clamp(span: TimeRange, now: datetime | None = None) -> tuple[TimeRange, bool]:
    """The part of ``span`` the API still holds (the last 7 days, with a margin); True when cut."""
    now = now or datetime.now(UTC)
    oldest = now - RETENTION + timedelta(minutes=10)
    if span.since >= oldest:
        return span, False
    return TimeRange(oldest, max(oldest, span.until)), True


@dataclass(frozen=True)
class ExchangeAudit:
    manage: str  # the Management API root of the tenant's cloud
    tenant: str  # tenant id (GUID): part of every URL, and the publisher id that keys the quota
    span: TimeRange
    name: str = "o365-exchange-audit"
    format: str = "office365-audit-json"
    permissions: tuple[tuple[str, ...], ...] = (ACTIVITY_FEED,)
    say: Callable[[str], None] = field(default=lambda _m: None, compare=False)

    @property
    def feed(self) -> str:
        return f"{self.manage.rstrip('/')}/api/v1.0/{self.tenant}/activity/feed"

    def windows(self) -> list[TimeRange]:
        out, start = [], self.span.since
        while start < self.span.until:
            end = min(start + WINDOW, self.span.until)
            out.append(TimeRange(start, end))
            start = end
        return out

    def _content_url(self, index: int) -> str | None:
        spans = self.windows()
        if index >= len(spans):
            return None
        w = spans[index]
        params = {"contentType": CONTENT_TYPE, "startTime": iso(w.since), "endTime": iso(w.until),
                  "PublisherIdentifier": self.tenant}  # fmt: skip
        return with_query(f"{self.feed}/subscriptions/content", params)

    def prepare(self, client: Client) -> None:
        """Start the Audit.Exchange subscription unless it is already enabled (idempotent)."""
        current = client.get(
            with_query(f"{self.feed}/subscriptions/list", {"PublisherIdentifier": self.tenant})
        )
        subs = current.json() if current.content else []
        if any(s.get("contentType") == CONTENT_TYPE and s.get("status") == "enabled" for s in subs or []):
            return
        params = {"contentType": CONTENT_TYPE, "PublisherIdentifier": self.tenant}
        client.post(with_query(f"{self.feed}/subscriptions/start", params))
        self.say(
            f"started the {CONTENT_TYPE} subscription: Microsoft says the first content can take up to "
            "12 hours to appear; run the same command again later to collect it"
        )

    def start(self) -> Cursor:
        return {"window": 0, "list": self._content_url(0), "blobs": []}

    def _advance(self, cur: Cursor) -> Cursor | None:
        """Move past an exhausted listing to the next window; None when every window is done."""
        while not cur["blobs"] and not cur["list"]:
            index = cur["window"] + 1
            nxt = self._content_url(index)
            if nxt is None:
                return None
            cur = {"window": index, "list": nxt, "blobs": []}
        return cur

    def pages(self, client: Client, cursor: Cursor) -> Iterator[Page]:
        cur = self._advance(dict(cursor))
        if cur is None:
            yield [], None
            return
        while cur is not None:
            if cur["blobs"]:
                records = client.get(cur["blobs"][0]).json()
                cur = self._advance({**cur, "blobs": cur["blobs"][1:]})
                yield (records if isinstance(records, list) else []), cur
                continue
            resp = client.get(cur["list"])
            items = resp.json() if resp.content else []
            blobs = [i["contentUri"] for i in items or [] if isinstance(i, dict) and i.get("contentUri")]
            cur = self._advance({**cur, "list": resp.headers.get("NextPageUri"), "blobs": blobs})
            yield [], cur
