"""The finding model and the JSON document every reporting command prints (the findings contract).

The contract is a public interface (``shared/docs/findings-contract.md``): fields may be
added, never renamed or dropped without bumping :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from nightowl import __version__

SCHEMA_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # 0 = most severe


def stable_id(detection: str, *keys: object) -> str:
    """Stable finding id: a hash of the detection and its key entities (order-insensitive sets)."""
    parts = [detection]
    for key in keys:
        if isinstance(key, list | tuple | set | frozenset):
            parts.append(",".join(sorted(str(k) for k in key)))
        else:
            parts.append(str(key))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def iso(ts: datetime | str | None) -> str | None:
    """ISO 8601 UTC with a Z; naive datetimes are taken as UTC."""
    if ts is None or isinstance(ts, str):
        return ts
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Finding:
    """One finding. Identity findings fill users/IPs/counts; secret findings fill rule/locations."""

    id: str
    detection: str
    category: str
    severity: str
    title: str
    summary: str = ""
    attack: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    source_ips: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    compromised_users: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # category-specific fields, merged on output

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most recent, then id (deterministic)."""
    return sorted(
        findings,
        key=lambda f: (SEVERITY_RANK[f.severity], -_epoch(f.last_seen), f.detection, f.id),
    )


def _epoch(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def at_or_above(findings: list[Finding], severity: str) -> list[Finding]:
    """Findings at or above ``severity`` (for --fail-on)."""
    limit = SEVERITY_RANK[severity]
    return [f for f in findings if SEVERITY_RANK[f.severity] <= limit]


def document(
    findings: list[Finding],
    inputs: list[dict[str, Any]],
    generated_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON document of the findings contract."""
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "nightowl", "version": __version__},
        "generated_at": iso(generated_at or datetime.now(UTC)),
        "inputs": inputs,
        "findings": [f.to_dict() for f in sort_findings(findings)],
    }
    doc.update(extra)
    return doc
