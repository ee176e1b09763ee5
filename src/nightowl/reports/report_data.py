"""The numbers behind the report's charts: from the DuckDB store when there is one, else from findings.

Findings carry what each detection concluded, not the shape of the traffic around it: failed
sign-ins per hour, or which networks the attack's sources sit in, need the events. With a store
(``--store``) these come from ``auth_events``; from a findings JSON alone the report shows what the
findings allow (campaign spans instead of the hourly curve, ASN histograms the detections kept).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from nightowl.categories import is_attack
from nightowl.findings import SEVERITY_RANK, Finding
from nightowl.incidents.contract import parse_time
from nightowl.store import Store

TOP = 10
MAX_BANDS = 12
HOURLY_UP_TO = timedelta(days=20)  # beyond this an hourly chart has too many bars to read
SIX_HOURLY_UP_TO = timedelta(days=75)


@dataclass
class Series:
    """Sign-ins per time bucket (bucket start times in UTC)."""

    bucket_seconds: int
    starts: list[datetime]
    failures: list[int]
    successes: list[int]
    attack_failures: list[int]  # part of ``failures`` that came from the attack's sources


@dataclass
class Band:
    """A campaign's time span, drawn over the time series."""

    label: str
    title: str
    start: datetime
    end: datetime
    severity: str
    finding_id: str


@dataclass
class Ranked:
    """One bar of a top-N chart: label, distinct sources, attempts."""

    label: str
    sources: int
    attempts: int


@dataclass
class Targeting:
    """One campaign's targeted versus compromised accounts."""

    label: str
    targeted: int
    compromised: int
    finding_id: str


@dataclass
class ReportData:
    basis: str  # "store" or "findings"
    series: Series | None = None
    bands: list[Band] = field(default_factory=list)
    by_asn: list[Ranked] = field(default_factory=list)
    by_country: list[Ranked] = field(default_factory=list)
    asn_total: int = 0
    country_total: int = 0
    targeting: list[Targeting] = field(default_factory=list)
    overview: dict[str, Any] | None = None


# -- from findings (always) -----------------------------------------------------------------------
def attack_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if is_attack(f.category)]


def bands(findings: list[Finding], limit: int = MAX_BANDS) -> list[Band]:
    """Attack campaigns as spans on the time axis: overlapping findings of one category merge into
    one band ("brute force x11"), then the most severe and largest bands are kept."""
    spans = []
    for f in attack_findings(findings):
        start, end = parse_time(f.first_seen), parse_time(f.last_seen) or parse_time(f.first_seen)
        if start and end:
            spans.append((f.category, start, max(start, end), f))
    spans.sort(key=lambda s: (s[0], s[1]))
    merged: list[list[Any]] = []  # [category, start, end, findings]
    for cat, start, end, f in spans:
        if merged and merged[-1][0] == cat and start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
            merged[-1][3].append(f)
        else:
            merged.append([cat, start, end, [f]])
    out = []
    for cat, start, end, group in merged:
        top = min(group, key=lambda f: (SEVERITY_RANK[f.severity], -len(f.users), f.id))
        label = cat.replace("_", " ") + (f" \u00d7{len(group)}" if len(group) > 1 else "")
        title = (
            top.title
            if len(group) == 1
            else f"{len(group)} {cat.replace('_', ' ')} findings, e.g. {top.title}"
        )
        out.append(Band(label, title, start, end, top.severity, top.id))
    rank = {id(b): (SEVERITY_RANK[b.severity], -(b.end - b.start).total_seconds()) for b in out}
    kept = sorted(out, key=lambda b: rank[id(b)])[:limit]
    return sorted(kept, key=lambda b: b.start)


def targeting(findings: list[Finding], limit: int = TOP) -> list[Targeting]:
    ranked = sorted(
        (f for f in attack_findings(findings) if f.users),
        key=lambda f: (-len(f.compromised_users), -len(f.users), SEVERITY_RANK[f.severity], f.id),
    )
    return [Targeting(f.title, len(f.users), len(f.compromised_users), f.id) for f in ranked[:limit]]


def _histogram(value: Any) -> dict[str, int]:
    """A DuckDB histogram as the JSON carries it: {key: n} or [{key, value}]."""
    if isinstance(value, dict):
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}
    if isinstance(value, list):
        out = {}
        for item in value:
            if isinstance(item, dict) and "key" in item and isinstance(item.get("value"), int | float):
                out[str(item["key"])] = int(item["value"])
        return out
    return {}


def _from_evidence(findings: list[Finding], hist_key: str, one_key: str) -> tuple[list[Ranked], int]:
    attempts: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for f in attack_findings(findings):
        hist = _histogram(f.evidence.get(hist_key))
        if hist:
            attempts.update(hist)
        elif isinstance(f.evidence.get(one_key), str) and f.evidence[one_key]:
            key = f.evidence[one_key]
            sources[key] += len(f.source_ips)
            n = f.counts.get("attempts")
            attempts[key] += n if isinstance(n, int) else 0
    keys = set(attempts) | set(sources)
    ranked = sorted(keys, key=lambda k: (-attempts[k], -sources[k], k))
    return [Ranked(k, sources[k], attempts[k]) for k in ranked[:TOP]], len(keys)


def from_findings(findings: list[Finding], overview: dict[str, Any] | None = None) -> ReportData:
    """What the charts can show from findings alone."""
    data = ReportData("findings", bands=bands(findings), targeting=targeting(findings), overview=overview)
    data.by_asn, data.asn_total = _from_evidence(findings, "asn_orgs", "asn_org")
    data.by_country, data.country_total = _from_evidence(findings, "countries", "country")
    return data


# -- from the store -------------------------------------------------------------------------------
def bucket_for(span: timedelta) -> int:
    if span <= HOURLY_UP_TO:
        return 3600
    if span <= SIX_HOURLY_UP_TO:
        return 6 * 3600
    return 86400


def sign_in_series(store: Store, attack_ips: list[str] | None = None) -> Series | None:
    """Failed and successful sign-ins per hour (6 hours or a day for long spans), gaps filled with zero;
    ``attack_failures``: the failures from the attack's own sources (``attack_ips``)."""
    first, last = store.con.execute("SELECT min(time), max(time) FROM auth_events").fetchall()[0]
    if first is None:
        return None
    seconds = bucket_for(last - first)
    store.con.register("_attack_ips", pa.table({"ip": pa.array(sorted(set(attack_ips or [])), pa.string())}))
    try:
        rows = store.con.execute(
            f"""SELECT time_bucket(INTERVAL '{seconds} seconds', e.time) AS b,
                       count(*) FILTER (WHERE e.status_id = 2) AS failures,
                       count(*) FILTER (WHERE e.status_id = 1) AS successes,
                       count(*) FILTER (WHERE e.status_id = 2 AND a.ip IS NOT NULL) AS attack_failures
                FROM auth_events e LEFT JOIN _attack_ips a ON e.src_endpoint_ip = a.ip
                WHERE e.time IS NOT NULL GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    finally:
        store.con.unregister("_attack_ips")
    by_bucket = {b: (fl, ok, att) for b, fl, ok, att in rows}
    series = Series(seconds, [], [], [], [])
    t, end = rows[0][0], rows[-1][0]
    while t <= end:
        fl, ok, att = by_bucket.get(t, (0, 0, 0))
        series.starts.append(t.replace(tzinfo=UTC) if t.tzinfo is None else t)
        series.failures.append(int(fl))
        series.successes.append(int(ok))
        series.attack_failures.append(int(att))
        t += timedelta(seconds=seconds)
    return series


def _ranked_sources(store: Store, column: str, attack_ips: list[str]) -> tuple[list[Ranked], int]:
    """Distinct sources and attempts per ASN org / country: of the attack when findings name its
    sources, else of every failed sign-in."""
    fallback = "'AS' || e.src_asn, " if column == "src_asn_org" else ""  # Graph gives the number only
    if attack_ips:
        store.con.register("_attack_ips", pa.table({"ip": pa.array(attack_ips, pa.string())}))
        scope = "JOIN _attack_ips a ON e.src_endpoint_ip = a.ip"
    else:
        scope = "WHERE e.status_id = 2"
    try:
        rows = store.con.execute(
            f"""SELECT coalesce(nullif(e.{column}, ''), {fallback}'unknown') AS k,
                       count(DISTINCT e.src_endpoint_ip) AS sources, count(*) AS attempts
                FROM auth_events e {scope} GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1"""
        ).fetchall()
    finally:
        if attack_ips:
            store.con.unregister("_attack_ips")
    return [Ranked(str(k), int(s), int(a)) for k, s, a in rows[:TOP]], len(rows)


def from_store(store: Store, findings: list[Finding], overview: dict[str, Any] | None = None) -> ReportData:
    """Charts from the events in the store, with the findings' campaigns marked on them."""
    data = from_findings(findings, overview)
    data.basis = "store"
    ips = sorted(
        {
            ip
            for f in findings
            if is_attack(f.category) or f.category == "account_compromise"
            for ip in f.source_ips
        }
    )
    data.series = sign_in_series(store, ips)
    for column, attr in (("src_asn_org", "asn"), ("src_country", "country")):
        ranked, total = _ranked_sources(store, column, ips)
        if ranked and any(r.label != "unknown" for r in ranked):  # else keep what the findings said
            setattr(data, f"by_{attr}", ranked)
            setattr(data, f"{attr}_total", total)
    return data
