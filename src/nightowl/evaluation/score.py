"""Score findings (or a baseline's alerts) against a simulated tenant's ground truth.

The unit of truth is a campaign (all its source IPs, targeted users, compromised users) and a
benign trap. What we measure, per campaign kind and overall:
- campaigns found: an attack finding names at least one of the campaign's IPs;
- IP recall per campaign: share of its IPs named in attack findings;
- IP precision: share of all IPs named in attack findings that took part in some campaign;
- false-positive findings: attack findings (medium or higher) naming no campaign IP, also per
  10,000 users per week;
- compromise precision and recall: accounts reported compromised vs accounts whose password the
  attacker confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nightowl.categories import is_attack

ALERTING = {"critical", "high", "medium"}


@dataclass
class Alert:
    """The common shape of a nightowl finding and a baseline alert, for scoring."""

    source_ips: set[str]
    users: set[str]
    compromised: set[str] = field(default_factory=set)
    category: str = "alert"


def alerts_from_findings(findings: list[dict[str, Any]]) -> tuple[list[Alert], set[str]]:
    """Attack findings at medium or above, and every account reported compromised."""
    alerts = [
        Alert(set(f["source_ips"]), set(f["users"]), set(f.get("compromised_users", [])), f["category"])
        for f in findings
        if is_attack(f["category"]) and f["severity"] in ALERTING
    ]
    compromised = {u for f in findings for u in f.get("compromised_users", [])}
    return alerts, compromised


def alerts_from_baseline(rows: list[dict[str, Any]]) -> tuple[list[Alert], set[str]]:
    alerts = [
        Alert(set(r["source_ips"]), set(r["users"]), set(r["successes_from_ips"]) & set(r["users"]))
        for r in rows
    ]
    return alerts, {u for a in alerts for u in a.compromised}


@dataclass
class Score:
    users: int
    days: float
    per_kind: dict[str, dict[str, Any]]
    per_category: dict[str, dict[str, int]]
    named_ips: int
    true_ips_named: int
    false_positive_alerts: int
    compromised_reported: set[str]
    compromised_true: set[str]
    secret_use: dict[str, int] | None = None  # secret_used scoring, on tenants with credential logs
    app_signin: dict[str, int] | None = None  # app_signin scoring (evaluation/app_signin.py)
    takeover: dict[str, Any] | None = None  # account_takeover scoring (evaluation/takeover.py)

    @property
    def ip_precision(self) -> float | None:
        return self.true_ips_named / self.named_ips if self.named_ips else None

    @property
    def fp_per_10k_users_week(self) -> float:
        return self.false_positive_alerts / (self.users / 10_000) / (self.days / 7)

    @property
    def compromise_precision(self) -> float | None:
        if not self.compromised_reported:
            return None
        return len(self.compromised_reported & self.compromised_true) / len(self.compromised_reported)

    @property
    def compromise_recall(self) -> float | None:
        if not self.compromised_true:
            return None
        return len(self.compromised_reported & self.compromised_true) / len(self.compromised_true)

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "days": self.days,
            "per_kind": self.per_kind,
            "named_ips": self.named_ips,
            "true_ips_named": self.true_ips_named,
            "ip_precision": self.ip_precision,
            "false_positive_alerts": self.false_positive_alerts,
            "fp_per_10k_users_week": round(self.fp_per_10k_users_week, 3),
            "compromise_precision": self.compromise_precision,
            "compromise_recall": self.compromise_recall,
            "compromised_reported": sorted(self.compromised_reported),
            "compromised_true": sorted(self.compromised_true),
            "secret_use": self.secret_use,
            "app_signin": self.app_signin,
            "takeover": self.takeover,
        }


def score(alerts: list[Alert], compromised: set[str], truth: dict[str, Any]) -> Score:
    campaigns = truth["campaigns"]
    attack_ips = {ip for c in campaigns for ip in c["source_ips"]}
    named = {ip for a in alerts for ip in a.source_ips}
    per_kind: dict[str, dict[str, Any]] = {}
    for c in campaigns:
        ips = set(c["source_ips"])
        entry = per_kind.setdefault(c["kind"], {"campaigns": 0, "found": 0, "ip_recall": []})
        entry["campaigns"] += 1
        entry["found"] += any(a.source_ips & ips for a in alerts)
        entry["ip_recall"].append(len(ips & named) / len(ips) if ips else 1.0)
    for entry in per_kind.values():
        entry["ip_recall"] = round(min(entry["ip_recall"]), 4)  # the worst campaign of the kind
    fp = sum(1 for a in alerts if not (a.source_ips & attack_ips))
    per_category: dict[str, dict[str, int]] = {}
    for a in alerts:  # what each category of finding names: IPs that attacked, and findings naming none
        c = per_category.setdefault(
            a.category, {"findings": 0, "named_ips": 0, "true_ips": 0, "false_findings": 0}
        )
        c["findings"] += 1
        c["named_ips"] += len(a.source_ips)
        c["true_ips"] += len(a.source_ips & attack_ips)
        c["false_findings"] += not (a.source_ips & attack_ips)
    true_compromised = {c["user"].lower() for camp in campaigns for c in camp["compromised"]}
    users = int(truth["tenant"]["users"])
    period = truth["period"]
    days = (
        datetime.fromisoformat(period["end"].replace("Z", "+00:00"))
        - datetime.fromisoformat(period["start"].replace("Z", "+00:00"))
    ).total_seconds() / 86400
    return Score(
        users,
        days,
        per_kind,
        per_category,
        len(named),
        len(named & attack_ips),
        fp,
        {u.lower() for u in compromised},
        true_compromised,
    )
