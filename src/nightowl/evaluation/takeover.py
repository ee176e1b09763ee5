"""Scoring account takeovers without a password attack, for nightowl and an anchor rule.

Truth: the accounts of the simulator's takeover campaigns (``simulate/takeover.py``). nightowl reports
an account when an ``account_takeover`` finding of medium or higher severity names it. The anchor is
the rule identity providers document for "unfamiliar location": a successful sign-in from a country
and an ASN the account never used before, once the account has the same five days of history
nightowl's profiles require. Precision and recall are over accounts; false findings are findings (or
anchor alerts, one per account and day) naming an account that was not taken over, also per 10,000
users per week; an account a password attack compromised was taken over too, so naming it is no
false finding.
"""

from __future__ import annotations

from typing import Any

from nightowl.evaluation.score import ALERTING
from nightowl.findings import Finding
from nightowl.simulate.config import TAKEOVER_KINDS
from nightowl.store import Store

SYSTEMS = ("nightowl", "anchor: new country + new ASN")

ANCHOR_SQL = """
WITH ok AS (
    SELECT user_name, time, CAST(time AS DATE) AS day, src_country AS country, src_asn AS asn
    FROM auth_events
    WHERE status_id = 1 AND user_name IS NOT NULL AND time IS NOT NULL
), firsts AS (
    SELECT user_name, min(day) AS first_day FROM ok GROUP BY user_name
), country_first AS (
    SELECT user_name, country, min(day) AS first_day FROM ok WHERE country IS NOT NULL GROUP BY ALL
), asn_first AS (
    SELECT user_name, asn, min(day) AS first_day FROM ok WHERE asn IS NOT NULL GROUP BY ALL
), active AS (
    SELECT user_name, day, dense_rank() OVER (PARTITION BY user_name ORDER BY day) - 1 AS days_before
    FROM (SELECT DISTINCT user_name, day FROM ok)
)
SELECT DISTINCT o.user_name, o.day
FROM ok o
JOIN active a ON a.user_name = o.user_name AND a.day = o.day
JOIN country_first c ON c.user_name = o.user_name AND c.country = o.country AND c.first_day = o.day
JOIN asn_first s ON s.user_name = o.user_name AND s.asn = o.asn AND s.first_day = o.day
WHERE a.days_before >= 5
"""


def truth_takeovers(truth: dict[str, Any]) -> dict[str, str]:
    """Account -> takeover kind, from the simulator's truth."""
    return {
        c["user"].lower(): camp["kind"]
        for camp in truth["campaigns"]
        if camp["kind"] in TAKEOVER_KINDS
        for c in camp["compromised"]
    }


def campaign_compromised(truth: dict[str, Any]) -> set[str]:
    """Accounts a password attack compromised: the attacker's sign-in into them is a takeover too,
    so a takeover finding naming one is right, though no takeover campaign is behind it."""
    return {
        c["user"].lower()
        for camp in truth["campaigns"]
        if camp["kind"] not in TAKEOVER_KINDS
        for c in camp.get("compromised", [])
    }


def without_takeovers(truth: dict[str, Any]) -> dict[str, Any]:
    """The truth the password-attack scoring reads: takeover campaigns are scored here, not there."""
    return {**truth, "campaigns": [c for c in truth["campaigns"] if c["kind"] not in TAKEOVER_KINDS]}


def _case(alerts: list[str], true: dict[str, str], compromised: set[str]) -> dict[str, Any]:
    """``compromised``: accounts a password attack took over; naming them is neither a false finding
    nor a takeover found (the password-attack scoring counts them)."""
    reported = set(alerts)
    per_kind: dict[str, list[int]] = {}
    for user, kind in true.items():
        entry = per_kind.setdefault(kind, [0, 0])
        entry[0] += user in reported
        entry[1] += 1
    return {
        "reported": len(reported),
        "true_reported": len(reported & set(true)),
        "true": len(true),
        "false_findings": sum(1 for u in alerts if u not in true and u not in compromised),
        "per_kind": per_kind,
    }


def score_takeover(store: Store, findings: list[Finding], truth: dict[str, Any]) -> dict[str, Any]:
    """Counts for nightowl and the anchor on one tenant."""
    true = truth_takeovers(truth)
    compromised = campaign_compromised(truth)
    ours = [
        u for f in findings if f.category == "account_takeover" and f.severity in ALERTING for u in f.users
    ]
    anchor = [r[0] for r in store.con.execute(ANCHOR_SQL).fetchall()]
    return {SYSTEMS[0]: _case(ours, true, compromised), SYSTEMS[1]: _case(anchor, true, compromised)}


def add_up(parts: list[tuple[dict[str, Any], float, bool]]) -> dict[str, Any] | None:
    """Cases' counts summed per system: (counts, user-weeks, tenant has takeovers)."""
    if not parts:
        return None
    out: dict[str, Any] = {}
    for system in SYSTEMS:
        tot = {"reported": 0, "true_reported": 0, "true": 0, "false_findings": 0, "per_kind": {}}
        benign_false, benign_weeks, weeks = 0, 0.0, 0.0
        for counts, user_weeks, attacked in parts:
            c = counts[system]
            for k in ("reported", "true_reported", "true", "false_findings"):
                tot[k] += c[k]
            for kind, (found, n) in c["per_kind"].items():
                e = tot["per_kind"].setdefault(kind, [0, 0])
                e[0] += found
                e[1] += n
            weeks += user_weeks
            if not attacked:
                benign_false += c["false_findings"]
                benign_weeks += user_weeks
        tot["precision"] = tot["true_reported"] / tot["reported"] if tot["reported"] else None
        tot["recall"] = tot["true_reported"] / tot["true"] if tot["true"] else None
        tot["false_per_10k_users_week"] = tot["false_findings"] / weeks if weeks else None
        tot["benign_false_per_10k_users_week"] = benign_false / benign_weeks if benign_weeks else None
        out[system] = tot
    return out


def markdown(total: dict[str, Any] | None) -> str:
    if not total:
        return ""
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    num = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    kinds = sorted({k for s in total.values() for k in s["per_kind"]})
    rows = [
        "| takeovers without a spray | "
        + " | ".join(f"{k}: found" for k in kinds)
        + " | precision | recall | false findings / 10k users / week (all tenants) | (tenants without takeovers) |",
        "|---|" + "---|" * (len(kinds) + 4),
    ]
    for system, s in total.items():
        cells = [f"{s['per_kind'][k][0]}/{s['per_kind'][k][1]}" if k in s["per_kind"] else "-" for k in kinds]
        rows.append(
            f"| {system} | " + " | ".join(cells) + f" | {pct(s['precision'])} | {pct(s['recall'])} | "
            f"{num(s['false_per_10k_users_week'])} | {num(s['benign_false_per_10k_users_week'])} |"
        )
    return "\n".join(rows)
