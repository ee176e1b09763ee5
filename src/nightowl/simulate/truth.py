"""Ground truth: what really happened, for precision/recall and for false-positive accounting.

Campaigns and benign traps are built from the very events that were written, so the truth can
never claim an IP or user that the logs do not show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso(epoch: int | float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Compromise:
    user: str
    time: str
    ip: str
    evidence: str  # "success" or "mfa_interrupt" (password confirmed, MFA stopped it)
    error_code: int


@dataclass
class Labelled:
    """A campaign or a benign trap, summarised from its events."""

    id: str
    kind: str
    start: str = ""
    end: str = ""
    event_count: int = 0
    source_ips: list[str] = field(default_factory=list)
    target_users: list[str] = field(default_factory=list)
    compromised: list[Compromise] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def fill(self, events: list[dict[str, Any]], ips: list[str], upn_of) -> Labelled:
        """Take times, IPs and users from the events themselves."""
        if events:
            ts = [e["t"] for e in events]
            self.start, self.end, self.event_count = iso(min(ts)), iso(max(ts)), len(events)
            self.source_ips = sorted({ips[e["ip"]] for e in events})
            self.target_users = sorted({upn_of(e).lower() for e in events})
        return self


@dataclass
class Truth:
    seed: int
    tenant: dict[str, Any]
    period: dict[str, str]
    campaigns: list[Labelled] = field(default_factory=list)
    benign_traps: list[Labelled] = field(default_factory=list)
    chain: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def campaign(self, kind: str) -> Labelled:
        return next(c for c in self.campaigns if c.kind == kind)
