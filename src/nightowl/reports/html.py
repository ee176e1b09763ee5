"""The self-contained HTML report: one file, no network, readable by a CISO in a minute.

Layout: a summary (what happened, key numbers, first things to do), each incident with its
timeline and actions, charts (inline SVG from :mod:`nightowl.reports.charts`), the exposure and
secrets tables, and every finding with its evidence. Findings travel as a JSON data block that a
small inline script pages, filters and expands, so 10,000 findings do not become 10,000 DOM rows.

Safety: Jinja2 autoescape is on and attacker text only ever reaches the page escaped (template) or
through ``textContent`` (script). A Content-Security-Policy allows exactly the report's own inline
script and style (by hash) and nothing from the network, so even a missed escape could not run
injected script or phone home. Secret findings keep only their redacted form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import tempfile
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from nightowl import __version__
from nightowl.categories import is_attack
from nightowl.findings import SEVERITIES, Finding, iso, sort_findings
from nightowl.incidents import Incident, as_list, build_incidents, mailboxes, parse_time
from nightowl.reports import charts
from nightowl.reports.report_data import ReportData, from_findings
from nightowl.textsafe import printable, visible

TEMPLATES = Path(__file__).parent / "templates"
FULL_INCIDENTS = 20  # incidents shown with their whole timeline; the rest in a compact table
LISTED_INCIDENTS = 500
PLAINTEXT_KEYS = frozenset({"secret", "plaintext", "raw", "match", "matched", "value", "raw_value"})


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=visible,  # no control character reaches the page, whatever the template forgets
    )
    env.filters["t"] = lambda value, limit=200: printable(value, limit)
    env.filters["when"] = _when
    env.filters["num"] = lambda value: f"{value:,}" if isinstance(value, int) else value
    return env


def _when(value: str | None) -> str:
    ts = parse_time(value)
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def redacted_dict(f: Finding) -> dict[str, Any]:
    """The finding as the contract dict (shallow: it is serialised at once, never mutated), with any
    plaintext a secret finding might carry removed."""
    data = {fl.name: getattr(f, fl.name) for fl in fields(f) if fl.name != "extra"} | f.extra
    if f.category != "secret":
        return data
    data = {k: v for k, v in data.items() if k not in PLAINTEXT_KEYS}
    if isinstance(data.get("evidence"), dict):
        data["evidence"] = _strip_plaintext(data["evidence"])
    if isinstance(data.get("locations"), list):
        data["locations"] = [
            _strip_plaintext(loc) if isinstance(loc, dict) else loc for loc in data["locations"]
        ]
    return data


def _strip_plaintext(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_plaintext(v) for k, v in value.items() if k not in PLAINTEXT_KEYS}
    if isinstance(value, list):
        return [_strip_plaintext(v) for v in value]
    return value


def _finite(value: Any) -> Any:
    """NaN and infinities as null, as orjson writes them (the standard library would write -Infinity,
    which is not JSON and would break the page's data block)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_block(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no "</script", no HTML-significant bytes."""
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits (orjson refuses them): the standard library does not
        text = json.dumps(_finite(value), default=str, ensure_ascii=False, allow_nan=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return Markup(text)


def key_numbers(findings: list[Finding], incidents: list[Incident]) -> dict[str, int]:
    attacks = [f for f in findings if is_attack(f.category)]
    linked_secrets = {s["finding_id"] for i in incidents for s in i.entities["secrets"]}
    return {
        "incidents": len(incidents),
        "critical_incidents": sum(1 for i in incidents if i.severity == "critical"),
        # confirmed by a password attack, or taken over with none (the incidents' compromised accounts)
        "compromised_accounts": len(
            {u for f in findings for u in f.compromised_users}
            | {u for i in incidents for u in i.entities["compromised_accounts"]}
        ),
        "targeted_accounts": len({u for f in attacks for u in f.users}),
        "attack_sources": len({ip for f in attacks for ip in f.source_ips}),
        # Two different counts, both shown: every mailbox any flagged app read (established integrations
        # included), and the mailboxes read inside a critical or high incident (the attacker's reads, as the
        # incident card counts them; a lone established app is a medium incident of its own).
        "mailboxes_read": len({m for f in findings if f.category == "mailbox_access" for m in mailboxes(f)}),
        "mailboxes_read_in_incidents": len(
            {
                m
                for i in incidents
                if i.severity in ("critical", "high")
                for m in i.entities.get("mailboxes", [])
            }
        ),
        "secrets_to_rotate": len(linked_secrets),
        "secrets": sum(1 for f in findings if f.category == "secret"),
        "findings": len(findings),
    }


def _headline(numbers: dict[str, int], incidents: list[Incident]) -> str:
    if not incidents:
        return "No attack incident was found in these findings."
    serious = [i for i in incidents if i.severity in ("critical", "high")]
    lead = f"{numbers['incidents']:,} incident{'s' if numbers['incidents'] != 1 else ''}"
    if serious:
        lead += f", {len(serious):,} of them critical or high"
    if numbers["compromised_accounts"]:
        lead += f"; {numbers['compromised_accounts']:,} account{'s' if numbers['compromised_accounts'] != 1 else ''} compromised"
    return lead + "."


def use_line(note: Any) -> tuple[str, str]:
    """(css class, one line) saying whether and where a secret was used, from its ``use`` note."""
    if not isinstance(note, dict) or not note.get("status"):
        return "", "not checked (no credential logs given)"
    status = note["status"]
    if status != "used":
        return "", str(note.get("why") or status)
    span = f"{str(note.get('first_use'))[:16]} to {str(note.get('last_use'))[:16]}"
    where = f"{len(note.get('addresses') or [])} address(es) in {len(note.get('networks') or [])} network(s)"
    acts = ", ".join(list(note.get("actions") or {})[:3])
    res = len(note.get("resources") or [])
    text = f"used {note.get('uses')} time(s), {span}, from {where}: {acts}" + (
        f" on {res} resource(s)" if res else ""
    )
    if note.get("failures"):
        text += f"; {note['failures']} refused"
    if note.get("why"):
        text += f" ({note['why']})"
    if note.get("attacker_uses"):
        return "alert", f"USED FROM THE ATTACKER'S ADDRESSES ({note['attacker_uses']} use(s)); " + text
    if note.get("suspicious_uses"):
        return "alert", f"USED FROM OUTSIDE ITS OWNER'S NETWORKS ({note['suspicious_uses']} use(s)); " + text
    return "", text + " (its owner's usual networks)"


def _secret_rows(findings: list[Finding], incidents: list[Incident]) -> list[dict[str, Any]]:
    incident_of = {s["finding_id"]: i.id for i in incidents for s in i.entities["secrets"]}
    rows = []
    for f in findings:
        if f.category != "secret":
            continue
        locs = [loc for loc in as_list(f.extra.get("locations")) if isinstance(loc, dict)]
        first = locs[0] if locs else {}
        rows.append(
            {
                "finding": f,
                "rule": f.extra.get("rule") or f.detection,
                "redacted": f.extra.get("redacted") or "…",
                "locations": len(locs),
                "where": f"{first.get('path', '')}" + (f":{first['line']}" if first.get("line") else ""),
                "incident": incident_of.get(f.id),
                "use": use_line(f.extra.get("use")),
            }
        )
    rows.sort(key=lambda r: (r["incident"] is None, SEVERITIES.index(r["finding"].severity), r["rule"]))
    return rows


def build_report(
    findings: list[Finding],
    data: ReportData | None = None,
    inputs: list[dict[str, Any]] | None = None,
    generated_at: datetime | None = None,
    title: str = "nightowl report",
    incidents: list[Incident] | None = None,
) -> str:
    """Render the report for ``findings`` (charts from ``data``, else from the findings alone;
    ``incidents`` as :func:`build_incidents` makes them, computed here when not given)."""
    findings = sort_findings(list(findings))
    incidents = build_incidents(findings) if incidents is None else incidents
    data = data or from_findings(findings)
    numbers = key_numbers(findings, incidents)
    incident_of: dict[str, list[str]] = {}
    for inc in incidents:
        for fid in inc.finding_ids:
            incident_of.setdefault(fid, []).append(inc.id)
    rows = []
    for f in findings:
        d = redacted_dict(f)
        d["incidents"] = incident_of.get(f.id, [])
        rows.append(d)
    chart_svgs = {
        "timeline": charts.failures_over_time(data.series, data.bands)
        if data.series
        else charts.campaign_spans(data.bands),
        "targeting": charts.targeted_vs_compromised(data.targeting),
        "asn": charts.ranked_bars(data.by_asn, data.asn_total, "networks (ASN)"),
        "country": charts.ranked_bars(data.by_country, data.country_total, "countries"),
    }
    env = _env()
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    style = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(
        title=title,
        version=__version__,
        generated_at=iso(generated_at or datetime.now(UTC)),
        inputs=inputs or [],
        overview=data.overview,
        basis=data.basis,
        numbers=numbers,
        headline=_headline(numbers, incidents),
        top_incidents=[i for i in incidents if i.severity in ("critical", "high")][:3] or incidents[:1],
        incidents=incidents[:FULL_INCIDENTS],
        more_incidents=incidents[FULL_INCIDENTS:LISTED_INCIDENTS],
        hidden_incidents=max(0, len(incidents) - LISTED_INCIDENTS),
        severity_counts=Counter(f.severity for f in findings),
        severities=SEVERITIES,
        charts=chart_svgs,
        exposures=[f for f in findings if f.category == "exposure"],
        secrets=_secret_rows(findings, incidents),
        data=json_block({"findings": rows, "severities": list(SEVERITIES)}),
        script=Markup(script),
        style=Markup(style),
        csp=f"default-src 'none'; script-src '{_csp_hash(script)}'; style-src '{_csp_hash(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'",
    )


def write_report(path: Path, html: str) -> None:
    """Write atomically (a half-written report must never replace a good one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".nightowl-report-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
