"""Run the detections over the store and turn their rows into findings.

Stage 1 detections read the shared facts built by ``prepare.sql``; stage 2 (compromise after an
attack) also reads the stage 1 findings, registered as tables, and marks their compromised users.

A detection's final SELECT returns one row per finding with at least ``key``, ``first_seen``,
``last_seen``, ``users`` and ``source_ips``; optional columns: ``title``, ``summary``,
``severity``, ``category``, ``compromised_users``, count columns (``attempts``, ``failures``,
``successes``, ``distinct_users``, ``distinct_ips``, any ``n_*``) and ``evidence`` (a STRUCT).
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from datetime import datetime
from typing import Any

import pyarrow as pa

from nightowl.categories import campaign_categories
from nightowl.detections.catalog import Detection, load_all, prepare_text
from nightowl.findings import Finding, iso, stable_id
from nightowl.store import Store

HOOK_MARKER = "-- @python"
EXTRA_COLUMNS = ("applications", "mailboxes", "detection_group")  # copied into Finding.extra when present
COUNT_COLUMNS = ("attempts", "failures", "successes", "distinct_users", "distinct_ips")
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?(?:\n|$)")


def split_statements(sql: str) -> list[str]:
    """Split a script on semicolons that end a line (our SQL files keep one statement per block)."""
    parts = [p.strip() for p in _STATEMENT_END.split(sql)]
    return [p for p in parts if p and not all(line.strip().startswith("--") for line in p.splitlines())]


def execute(store: Store, sql: str, params: dict[str, Any]) -> Any:
    """Run one statement, passing only the named parameters it uses."""
    used = {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}
    return store.con.execute(sql, used) if used else store.con.execute(sql)


def source_key(ip: str | None) -> str | None:
    """IPv4 as is; IPv6 grouped by /64 (one customer's allocation); IPv4-mapped IPv6 unwrapped."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip().split("%")[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def build_ip_keys(store: Store) -> None:
    ips = [
        r[0]
        for r in store.con.execute(
            "SELECT DISTINCT src_endpoint_ip FROM auth_events WHERE src_endpoint_ip IS NOT NULL"
        ).fetchall()
    ]
    table = pa.table(
        {"ip": pa.array(ips, pa.string()), "src_key": pa.array([source_key(i) for i in ips], pa.string())}
    )
    store.con.register("_ip_keys", table)
    store.con.execute("CREATE OR REPLACE TEMP TABLE ip_keys AS SELECT * FROM _ip_keys")
    store.con.unregister("_ip_keys")


def prepare(store: Store, overrides: dict[str, Any] | None = None) -> None:
    build_ip_keys(store)
    sql, thresholds = prepare_text()
    params = {name: t.default for name, t in thresholds.items()} | (overrides or {})
    for statement in split_statements(sql):
        execute(store, statement, params)


def run_detection(store: Store, det: Detection) -> list[Finding]:
    cur = execute_rule(store, det)
    names = [d[0] for d in cur.description]
    findings = [row_to_finding(det, dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    return [f for f in findings if f.detection not in det.disabled_variants]


def execute_rule(store: Store, det: Detection) -> Any:
    """Run a detection's statements (and its Python step); the cursor of its final SELECT."""
    before, _, after = det.sql_body.partition(HOOK_MARKER)
    statements = split_statements(before)
    hook = _hook(det)
    if hook:  # the Python step runs where the script says "-- @python"
        for statement in statements:
            execute(store, statement, det.params)
        hook(store, det.params)
        statements = split_statements(after)
    for statement in statements[:-1]:
        execute(store, statement, det.params)
    return execute(store, statements[-1], det.params)


def _hook(det: Detection):
    """Optional Python step (e.g. graph grouping) named in the metadata as ``python = "module:function"``."""
    if not det.python:
        return None
    module, func = det.python.split(":")
    return getattr(importlib.import_module(f"nightowl.detections.{module}"), func)


def row_to_finding(det: Detection, row: dict[str, Any]) -> Finding:
    users = sorted({u for u in (row.get("users") or []) if u})
    ips = sorted({i for i in (row.get("source_ips") or []) if i})
    counts = {c: row[c] for c in COUNT_COLUMNS if row.get(c) is not None}
    counts.update({k[2:]: v for k, v in row.items() if k.startswith("n_") and v is not None})
    evidence = _plain(row.get("evidence") or {})
    return Finding(
        id=stable_id(det.id, row["key"]),
        detection=row.get("detection") or det.id,
        category=row.get("category") or det.category,
        severity=row.get("severity") or det.severity,
        title=row.get("title") or det.title,
        summary=row.get("summary") or "",
        attack=list(det.attack),
        first_seen=iso(row.get("first_seen")),
        last_seen=iso(row.get("last_seen")),
        source_ips=ips,
        users=users,
        compromised_users=sorted(set(row.get("compromised_users") or [])),
        counts=counts,
        evidence=evidence,
        extra={c: _plain(row[c]) for c in EXTRA_COLUMNS if row.get(c) is not None},
    )


def _plain(value: Any) -> Any:
    """DuckDB results to JSON-friendly values (datetimes as ISO, nested structs and lists)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def register_findings(store: Store, findings: list[Finding]) -> None:
    """Stage 1 findings as tables stage 2 can join: one row per (finding, user) and (finding, source)."""
    users = [(f.id, f.detection, f.category, u) for f in findings for u in f.users]
    sources = [(f.id, f.detection, f.category, source_key(ip)) for f in findings for ip in f.source_ips]
    meta = [
        (f.id, f.detection, f.category, f.first_seen, f.last_seen, f.evidence.get("fingerprint"))
        for f in findings
    ]
    con = store.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE attack_users (finding_id VARCHAR, detection VARCHAR, "
        "category VARCHAR, user_name VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE attack_sources (finding_id VARCHAR, detection VARCHAR, "
        "category VARCHAR, src_key VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE attack_findings (finding_id VARCHAR, detection VARCHAR, "
        "category VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP, fingerprint VARCHAR)"
    )
    if users:
        con.executemany("INSERT INTO attack_users VALUES (?, ?, ?, ?)", users)
    if sources:
        con.executemany("INSERT INTO attack_sources VALUES (?, ?, ?, ?)", sources)
    if meta:
        con.executemany(
            "INSERT INTO attack_findings VALUES (?, ?, ?, ?::TIMESTAMP, ?::TIMESTAMP, ?)",
            [(a, b, c, d and d.rstrip("Z"), e and e.rstrip("Z"), f) for a, b, c, d, e, f in meta],
        )


CAMPAIGN_DETECTIONS = ("spray.distributed", "stuffing", "enumeration.distributed")
SINGLE_SOURCE_DETECTIONS = ("spray.single_source", "spray.slow", "enumeration.single_source")


def fold_into_campaigns(findings: list[Finding]) -> list[Finding]:
    """A single-source finding whose addresses all belong to a campaign overlapping it in time is
    part of that campaign (a proxy it reused more than the others): its accounts and counts join the
    campaign's finding, so an analyst reads one story instead of the same addresses twice."""
    campaigns = [f for f in findings if f.detection in CAMPAIGN_DETECTIONS]
    kept = []
    for f in findings:
        host = None
        if f.detection in SINGLE_SOURCE_DETECTIONS and f.source_ips:
            host = next(
                (
                    c
                    for c in campaigns
                    if set(f.source_ips) <= set(c.source_ips)
                    and (f.first_seen or "") <= (c.last_seen or "")
                    and (c.first_seen or "") <= (f.last_seen or "")
                ),
                None,
            )
        if host is None:
            kept.append(f)
            continue
        host.users = sorted(set(host.users) | set(f.users))
        host.counts["distinct_users"] = len(host.users)
        host.evidence.setdefault("folded_findings", []).append({"detection": f.detection, "title": f.title})
    return kept


def register_flagged(store: Store, attacks: list[Finding], compromises: list[Finding]) -> None:
    """Accounts the identity detections flagged (targeted by a password attack, or compromised), for
    the stage 3 detections that judge what an account did next (cloud audit): one verdict, not a copy
    of the spray logic in every rule."""
    rows: dict[str, tuple[bool, str | None]] = {}
    for f, compromised in [(f, False) for f in attacks] + [(f, True) for f in compromises]:
        for user in f.compromised_users if compromised else f.users:
            was_compromised, first = rows.get(user, (False, None))
            seen = min(filter(None, [first, f.first_seen]), default=None)
            rows[user] = (was_compromised or compromised, seen)
    store.con.execute(
        "CREATE OR REPLACE TEMP TABLE flagged_users (user_name VARCHAR, compromised BOOLEAN, first_seen TIMESTAMP)"
    )
    if rows:
        store.con.executemany(
            "INSERT INTO flagged_users VALUES (?, ?, ?::TIMESTAMP)",
            [(u, c, t and t.rstrip("Z")) for u, (c, t) in rows.items()],
        )


def run_all(store: Store, config: dict[str, Any] | None = None) -> list[Finding]:
    """Every enabled detection whose tables hold data, in three stages: password attacks (1), the
    compromises they led to (2, which also marks the attack findings), and what flagged accounts did
    next in the cloud audit logs (3)."""
    detections = [d for d in load_all(config) if d.enabled and all(store.row_count(t) for t in d.tables)]
    if not detections:
        return []
    if store.event_count():
        prepare(store, (config or {}).get("prepare"))
    stage1 = fold_into_campaigns([f for d in detections if d.stage == 1 for f in run_detection(store, d)])
    campaigns = campaign_categories()
    attacks = [f for f in stage1 if f.category in campaigns]
    register_findings(store, attacks)
    stage2 = [f for d in detections if d.stage == 2 for f in run_detection(store, d)]
    by_id = {f.id: f for f in attacks}
    for comp in stage2:
        for attack_id in comp.evidence.get("attack_finding_ids", []):
            if attack_id in by_id:
                target = by_id[attack_id]
                target.compromised_users = sorted(set(target.compromised_users) | set(comp.compromised_users))
                target.counts["compromised_users"] = len(target.compromised_users)
                if target.severity in ("high", "medium", "low"):
                    target.severity = "critical" if comp.severity == "critical" else "high"
    register_flagged(store, attacks, stage2)
    stage3 = [f for d in detections if d.stage == 3 for f in run_detection(store, d)]
    return stage1 + stage2 + stage3
