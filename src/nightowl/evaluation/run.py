"""Run the evaluation: simulate labelled tenants over seeds and sizes, hunt each, score nightowl and
the SIEM baselines on the same store, and aggregate. Used by ``nightowl evaluate`` and benchmarks/.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nightowl.detections.runner import run_all
from nightowl.evaluation import app_signin, secret_use, takeover
from nightowl.evaluation.baselines import BASELINES, run_baseline
from nightowl.evaluation.score import Score, alerts_from_baseline, alerts_from_findings, score
from nightowl.ingest import ingest_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.store import Store

SYSTEMS = ("nightowl", *BASELINES)


@dataclass
class Case:
    preset: str
    seed: int
    users: int
    days: int

    @property
    def name(self) -> str:
        return f"{self.preset}/seed{self.seed}/{self.users}u/{self.days}d"


def run_case(case: Case, config: dict[str, Any] | None = None) -> dict[str, Score]:
    """One simulated tenant: nightowl and every baseline scored on the same events."""
    with tempfile.TemporaryDirectory(prefix="nightowl-eval-") as tmp:
        sim = simulate(
            SimConfig.preset(case.preset, seed=case.seed, users=case.users, days=case.days), Path(tmp)
        )
        truth = sim.truth.to_dict()
        with Store() as store:
            ingest_paths(store, [str(sim.files["signins"])])
            found = run_all(store, config)
            findings = [f.to_dict() for f in found]
            attacks_truth = takeover.without_takeovers(truth)  # takeovers are scored on their own
            scores = {"nightowl": score(*alerts_from_findings(findings), attacks_truth)}
            for name in BASELINES:
                scores[name] = score(*alerts_from_baseline(run_baseline(store, name)), attacks_truth)
            scores["nightowl"].takeover = takeover.score_takeover(store, found, truth)
            if secret_use.truth_used(truth) is not None:
                used = secret_use.run_secret_use(store, sim.files, found)
                scores["nightowl"].secret_use = secret_use.score_secret_use(used, truth)
            apps = app_signin.run_app_signin(store, sim.files, config)
            scores["nightowl"].app_signin = app_signin.score_app_signin(apps, truth)
    return scores


def aggregate(results: list[tuple[Case, dict[str, Score]]]) -> dict[str, dict[str, Any]]:
    """Per system: per attack kind (campaigns found, worst IP recall), IP precision, FP rate, compromise P/R."""
    out: dict[str, dict[str, Any]] = {}
    for system in SYSTEMS:
        kinds: dict[str, dict[str, Any]] = {}
        named = true_named = fp = 0
        user_weeks = 0.0
        benign_fp = 0
        reported: set[str] = set()
        true: set[str] = set()
        for case, scores in results:
            s = scores[system]
            for kind, entry in s.per_kind.items():
                k = kinds.setdefault(kind, {"campaigns": 0, "found": 0, "worst_ip_recall": 1.0})
                k["campaigns"] += entry["campaigns"]
                k["found"] += entry["found"]
                k["worst_ip_recall"] = min(k["worst_ip_recall"], entry["ip_recall"])
            named += s.named_ips
            true_named += s.true_ips_named
            fp += s.false_positive_alerts
            user_weeks += s.users / 10_000 * s.days / 7
            if case.preset == "benign":
                benign_fp += s.false_positive_alerts
            reported |= {f"{case.name}:{u}" for u in s.compromised_reported}
            true |= {f"{case.name}:{u}" for u in s.compromised_true}
        hits = len(reported & true)
        categories: dict[str, dict[str, int]] = {}
        for _case, scores in results:
            for cat, c in scores[system].per_category.items():
                agg = categories.setdefault(cat, dict.fromkeys(c, 0))
                for k, v in c.items():
                    agg[k] += v
        out[system] = {
            "kinds": kinds,
            "categories": categories,
            "ip_precision": true_named / named if named else None,
            "false_positive_findings": fp,
            "fp_per_10k_users_week": fp / user_weeks if user_weeks else 0.0,
            "benign_tenant_alerts": benign_fp,
            "compromise_precision": hits / len(reported) if reported else None,
            "compromise_recall": hits / len(true) if true else None,
            "user_weeks": user_weeks,
            "compromised_reported": len(reported),
            "compromised_true": len(true),
            "secret_use": secret_use.add_up([scores[system].secret_use for _, scores in results]),
            "app_signin": secret_use.add_up([scores[system].app_signin for _, scores in results]),
            "takeover": takeover.add_up(
                [
                    (s.takeover, s.users / 10_000 * s.days / 7, s.takeover["nightowl"]["true"] > 0)
                    for _, scores in results
                    if (s := scores[system]).takeover
                ]
            ),
        }
    return out


def evaluate(
    cases: list[Case], config: dict[str, Any] | None = None, progress: Callable[[Case], None] | None = None
) -> tuple[list[tuple[Case, dict[str, Score]]], dict]:
    results = []
    for case in cases:
        results.append((case, run_case(case, config)))
        if progress:
            progress(case)
    return results, aggregate(results)


def category_markdown(summary: dict[str, dict[str, Any]], user_weeks: float) -> str:
    """nightowl's findings per category: share of named IPs that attacked, false findings per 10k users/week."""
    categories = summary["nightowl"]["categories"]
    if not categories:  # e.g. takeover-only presets: a header with no rows reads as a broken table
        return "No password-attack finding of medium or higher."
    rows = [
        "| finding category | findings | IPs named | of them attacked | findings naming no attacker | per 10k users / week |",
        "|---|---|---|---|---|---|",
    ]
    for cat, c in sorted(categories.items()):
        share = f"{c['true_ips'] / c['named_ips']:.0%}" if c["named_ips"] else "n/a"
        rows.append(
            f"| {cat} | {c['findings']} | {c['named_ips']:,} | {share} | {c['false_findings']} | "
            f"{c['false_findings'] / user_weeks:.2f} |"
        )
    return "\n".join(rows)


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    """The README table: one row per system and attack kind, then the overall columns."""
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    kinds = sorted({k for s in summary.values() for k in s["kinds"]})
    overall = [
        "IPs flagged that attacked",
        "FP findings / 10k users / week",
        "alerts on benign-only tenants",
        "compromise precision",
        "compromise recall",
    ]
    head = ["system", *(f"{k}: found (worst IP recall)" for k in kinds), *overall]
    rows = [_row(head), "|" + "---|" * len(head)]
    for system, s in summary.items():
        cells = [system]
        for k in kinds:
            e = s["kinds"].get(k)
            cells.append("-" if not e else f"{e['found']}/{e['campaigns']} ({pct(e['worst_ip_recall'])})")
        cells += [
            pct(s["ip_precision"]),
            f"{s['fp_per_10k_users_week']:.1f}",
            str(s["benign_tenant_alerts"]),
            pct(s["compromise_precision"]),
            pct(s["compromise_recall"]),
        ]
        rows.append(_row(cells))
    return "\n".join(rows)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
