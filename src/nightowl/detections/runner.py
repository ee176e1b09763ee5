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
import re
from datetime import datetime
from typing import Any

import pyarrow as pa

from nightowl.categories import campaign_categories
from nightowl.detections import profile_history
from nightowl.detections.catalog import Detection, load_all, prepare_text
from nightowl.detections.profile_history import ProfileHistory
from nightowl.engines import Engine, as_engine, used_params
from nightowl.engines.ipkeys import source_key
from nightowl.findings import SEVERITY_RANK, Finding, iso, stable_id
from nightowl.store import Store

HOOK_MARKER = "-- @python"
EXTRA_COLUMNS = ("applications", "mailboxes", "detection_group")  # copied into Finding.extra when present
COUNT_COLUMNS = ("attempts", "failures", "successes", "distinct_users", "distinct_ips")
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?(?:\n|$)")


def split_statements(sql: str) -> list[str]:
    """Split a script on semicolons that end a line (our SQL files keep one statement per block)."""
    parts = [p.strip() for p in _STATEMENT_END.split(sql)]
    return [p for p in parts if p and not all(line.strip().startswith("--") for line in p.splitlines())]


def execute(target: Any, sql: str, params: dict[str, Any]) -> Any:
    """Run one statement, passing only the named parameters it uses; on a Store, its DuckDB cursor."""
    if isinstance(target, Store):
        used = used_params(sql, params)
        return target.con.execute(sql, used) if used else target.con.execute(sql)
    return target.execute(sql, params)


def prepare(
    target: Any,
    overrides: dict[str, Any] | None = None,
    profiles: bool = True,
    history: ProfileHistory | None = None,
) -> None:
    """The shared facts; with ``profiles``, the per-identity sign-in profiles the takeover rules read,
    merged at the profiles' ``-- @python`` hook with the ``history`` an incremental hunt carries."""
    engine = as_engine(target)
    engine.build_ip_keys()
    sql, thresholds = prepare_text(profiles)
    params = {name: t.default for name, t in thresholds.items()} | (overrides or {})
    before, hook, after = sql.partition(HOOK_MARKER)
    for statement in split_statements(before):
        engine.execute(statement, params)
    if hook:
        profile_history.carry(engine, history)
        for statement in split_statements(after):
            engine.execute(statement, params)
        profile_history.finish(engine, history)


def run_detection(target: Any, det: Detection) -> list[Finding]:
    engine, final = execute_rule(target, det)
    names, rows = engine.fetch(final, det.params)
    findings = [row_to_finding(det, dict(zip(names, row, strict=True))) for row in rows]
    return [f for f in findings if f.detection not in det.disabled_variants]


def execute_rule(target: Any, det: Detection) -> tuple[Engine, str]:
    """Run a detection's statements (and its graph step) up to its final SELECT; the engine and that SELECT."""
    engine = as_engine(target)
    before, _, after = det.sql_body.partition(HOOK_MARKER)
    statements = split_statements(before)
    hook = _hook(det)
    if hook:  # the graph step runs where the script says "-- @python" (SQL driven from Python)
        for statement in statements:
            engine.execute(statement, det.params)
        hook(engine, det.params)
        statements = split_statements(after)
    for statement in statements[:-1]:
        engine.execute(statement, det.params)
    return engine, statements[-1]


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
        attack=list(row.get("attack") or det.attack),  # a variant may name its own technique
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


def register_findings(target: Any, findings: list[Finding]) -> None:
    """Stage 1 findings as tables stage 2 can join: one row per (finding, user), (finding, source) and
    (finding, fingerprint): a campaign that rotates its user agent or application has several."""
    engine = as_engine(target)
    users = [(f.id, f.detection, f.category, u) for f in findings for u in f.users]
    sources = [(f.id, f.detection, f.category, source_key(ip)) for f in findings for ip in f.source_ips]
    keyed = ("finding_id", "detection", "category")
    engine.create_table("attack_users", _table((*keyed, "user_name"), users))
    engine.create_table("attack_sources", _table((*keyed, "src_key"), sources))
    prints = [(f.id, f.detection, f.category, fp) for f in findings for fp in _fingerprints(f)]
    engine.create_table("attack_fingerprints", _table((*keyed, "fingerprint"), prints))
    engine.create_table(
        "attack_findings",
        _table(
            (*keyed, "first_seen", "last_seen", "fingerprint"),
            [
                (
                    f.id,
                    f.detection,
                    f.category,
                    _ts(f.first_seen),
                    _ts(f.last_seen),
                    f.evidence.get("fingerprint"),
                )
                for f in findings
            ],
        ),
    )


def _fingerprints(finding: Finding) -> list[str]:
    """The attacker fingerprints a finding names: its most common one and, for a campaign, all of them."""
    listed = finding.evidence.get("fingerprints")
    found = [finding.evidence.get("fingerprint"), *(listed if isinstance(listed, list) else [])]
    return sorted({fp for fp in found if isinstance(fp, str) and fp})


def _ts(value: str | None) -> datetime | None:
    """A finding's ISO time back as the naive UTC timestamp the store holds."""
    return datetime.fromisoformat(value.rstrip("Z")) if value else None


def _table(names: tuple[str, ...], rows: list[tuple]) -> pa.Table:
    """A small Arrow table (findings, never events); ``first_seen``-like columns are timestamps."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    types = {"first_seen": pa.timestamp("us"), "last_seen": pa.timestamp("us"), "compromised": pa.bool_()}
    return pa.table(
        {n: pa.array(list(col), types.get(n, pa.string())) for n, col in zip(names, columns, strict=True)}
    )


CAMPAIGN_DETECTIONS = ("spray.distributed", "stuffing", "enumeration.distributed")
SINGLE_SOURCE_DETECTIONS = (
    "spray.single_source",
    "spray.slow",
    "bruteforce.multi_account",
    "enumeration.single_source",
)


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


PASSWORD_CONFIRMED = "password was confirmed by a password attack"
TAKEN_OVER = "sign-ins had been taken over (a success with properties unfamiliar to it, no attack needed)"


def taken_over(findings: list[Finding]) -> list[Finding]:
    """Account takeover findings at medium or above: the account is the attacker's from then on."""
    medium = SEVERITY_RANK["medium"]
    return [f for f in findings if f.category == "account_takeover" and SEVERITY_RANK[f.severity] <= medium]


def register_flagged(
    target: Any, attacks: list[Finding], compromises: list[Finding], takeovers: list[Finding] | None = None
) -> None:
    """Accounts the identity detections flagged (targeted by a password attack, compromised, or taken
    over without one), for the stage 3 detections that judge what an account did next (cloud audit):
    one verdict, not a copy of the spray logic in every rule. ``verdict`` says why, for their summaries."""
    rows: dict[str, tuple[bool, str | None, str | None]] = {}
    flagged = (
        [(f, f.users, False, None) for f in attacks]
        + [(f, f.compromised_users, True, PASSWORD_CONFIRMED) for f in compromises]
        + [(f, f.users, True, TAKEN_OVER) for f in takeovers or []]
    )
    for f, users, compromised, verdict in flagged:
        for user in users:
            was_compromised, first, why = rows.get(user, (False, None, None))
            seen = min(filter(None, [first, f.first_seen]), default=None)
            rows[user] = (was_compromised or compromised, seen, why or verdict)
    as_engine(target).create_table(
        "flagged_users",
        _table(
            ("user_name", "compromised", "first_seen", "verdict"),
            [(u, c, _ts(t), v) for u, (c, t, v) in rows.items()],
        ),
    )


def run_all(
    target: Any, config: dict[str, Any] | None = None, history: ProfileHistory | None = None
) -> list[Finding]:
    """Every enabled detection whose tables hold data, in three stages: password attacks (1), the
    compromises they led to (2, which also marks the attack findings), and what flagged accounts did
    next in the cloud audit logs (3). ``history``: the takeover profiles an incremental hunt carries."""
    engine = as_engine(target)
    detections = [d for d in load_all(config) if d.enabled and all(engine.row_count(t) for t in d.tables)]
    if not detections:
        return []
    if engine.event_count():
        takeover_rules = any(d.category == "account_takeover" for d in detections)
        prepare(engine, (config or {}).get("prepare"), profiles=takeover_rules, history=history)
    stage1 = fold_into_campaigns([f for d in detections if d.stage == 1 for f in run_detection(engine, d)])
    campaigns = campaign_categories()
    attacks = [f for f in stage1 if f.category in campaigns]
    register_findings(engine, attacks)
    # a compromise after an attack needs an attack: without one, stage 2 would still read every event
    stage2 = [f for d in detections if d.stage == 2 and attacks for f in run_detection(engine, d)]
    by_id = {f.id: f for f in attacks}
    for comp in stage2:
        for attack_id in comp.evidence.get("attack_finding_ids", []):
            if attack_id in by_id:
                target = by_id[attack_id]
                target.compromised_users = sorted(set(target.compromised_users) | set(comp.compromised_users))
                target.counts["compromised_users"] = len(target.compromised_users)
                if target.severity in ("high", "medium", "low"):
                    target.severity = "critical" if comp.severity == "critical" else "high"
    register_flagged(engine, attacks, stage2, taken_over(stage1))
    stage3 = [f for d in detections if d.stage == 3 for f in run_detection(engine, d)]
    return stage1 + stage2 + stage3
