"""The scorer behind the README's evaluation table: found, IP recall and precision, false findings
and compromise precision/recall computed from findings and a ground truth."""

from __future__ import annotations

from nightowl.evaluation.run import aggregate
from nightowl.evaluation.score import alerts_from_findings, score

TRUTH = {
    "tenant": {"users": 10_000},
    "period": {"start": "2026-01-05T00:00:00Z", "end": "2026-01-12T00:00:00Z"},
    "campaigns": [
        {
            "kind": "distributed",
            "source_ips": ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"],
            "target_users": ["a"],
            "compromised": [{"user": "A"}],
        },
        {"kind": "slow", "source_ips": ["2.2.2.2"], "target_users": ["b"], "compromised": []},
    ],
}


def finding(category, severity, ips, compromised=()):
    return {
        "category": category,
        "severity": severity,
        "source_ips": ips,
        "users": ["x"],
        "compromised_users": list(compromised),
    }


def test_score_counts_found_recall_precision_false_findings_and_compromises():
    findings = [
        finding("password_spray", "high", ["1.1.1.1", "1.1.1.2", "1.1.1.3", "9.9.9.9"], ["a"]),
        finding("brute_force", "medium", ["8.8.8.8"]),  # names no attacker: a false finding
        finding("stale_credentials", "low", ["2.2.2.2"]),  # low: not an alert, does not find the slow spray
        finding("account_compromise", "critical", ["1.1.1.1"], ["b"]),  # a compromise that did not happen
    ]
    s = score(*alerts_from_findings(findings), TRUTH)
    assert s.per_kind["distributed"] == {"campaigns": 1, "found": 1, "ip_recall": 0.75}
    assert s.per_kind["slow"] == {"campaigns": 1, "found": 0, "ip_recall": 0.0}
    assert (s.named_ips, s.true_ips_named) == (5, 3)
    assert s.false_positive_alerts == 1 and s.fp_per_10k_users_week == 1.0
    assert s.compromise_precision == 0.5 and s.compromise_recall == 1.0
    assert s.per_category["brute_force"] == {
        "findings": 1,
        "named_ips": 1,
        "true_ips": 0,
        "false_findings": 1,
    }


def test_aggregate_sums_cases_per_system():
    class Case:
        preset, name = "mixed", "c1"

    s = score(*alerts_from_findings([finding("password_spray", "high", ["1.1.1.1"], ["a"])]), TRUTH)
    summary = aggregate([(Case, {"nightowl": s, "sentinel": s, "splunk": s, "elastic": s})])
    assert summary["nightowl"]["kinds"]["distributed"] == {
        "campaigns": 1,
        "found": 1,
        "worst_ip_recall": 0.25,
    }
    assert summary["nightowl"]["compromise_recall"] == 1.0


def _table_widths(table: str) -> set[int]:
    return {line.count("|") for line in table.splitlines()}


def test_tables_have_no_empty_column_when_no_password_attack_was_simulated():
    """A takeover-only evaluation has no spray campaigns: its table must still be well formed."""
    from nightowl.evaluation.run import category_markdown, markdown

    class Case:
        preset, name = "takeover_benign", "c1"

    no_attacks = {**TRUTH, "campaigns": []}
    s = score(*alerts_from_findings([]), no_attacks)
    summary = aggregate([(Case, {"nightowl": s, "sentinel": s, "splunk": s, "elastic": s})])
    table = markdown(summary)
    assert "|  |" not in table and len(_table_widths(table)) == 1
    assert table.splitlines()[0].startswith("| system | IPs flagged that attacked |")
    assert category_markdown(summary, summary["nightowl"]["user_weeks"]) == (
        "No password-attack finding of medium or higher."
    )


def test_table_rows_match_the_header_with_attack_kinds():
    from nightowl.evaluation.run import category_markdown, markdown

    class Case:
        preset, name = "mixed", "c1"

    s = score(*alerts_from_findings([finding("password_spray", "high", ["1.1.1.1"], ["a"])]), TRUTH)
    summary = aggregate([(Case, {"nightowl": s, "sentinel": s, "splunk": s, "elastic": s})])
    table = markdown(summary)
    assert _table_widths(table) == {9}  # system, 2 kinds, 5 overall columns
    assert "| nightowl | 1/1 (25%) | 0/1 (0%) | 100% |" in table
    assert category_markdown(summary, 1.0).splitlines()[2].startswith("| password_spray | 1 | 1 | 100% |")
