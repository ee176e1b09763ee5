"""The takeover scoring: an account a password attack compromised was taken over too, so a takeover
finding naming it is no false finding (it was counted as one on a mixed tenant, where the stuffing
campaign's success was also an unfamiliar sign-in); an account nobody took over still is."""

from __future__ import annotations

from nightowl.evaluation.takeover import score_takeover
from nightowl.findings import Finding
from nightowl.store import Store

TRUTH = {
    "campaigns": [
        {"kind": "stuffing", "compromised": [{"user": "Stuffed@corp.example"}]},
        {"kind": "phish_proxy", "compromised": [{"user": "phished@corp.example"}]},
        {"kind": "slow", "compromised": []},
    ]
}


def takeover(user: str, severity: str = "high") -> Finding:
    return Finding(
        id=user, detection="takeover.unfamiliar_signin", category="account_takeover", severity=severity,
        title=user, users=[user],
    )  # fmt: skip


def test_a_takeover_finding_on_an_account_a_password_attack_compromised_is_no_false_finding():
    findings = [
        takeover("stuffed@corp.example"),
        takeover("phished@corp.example"),
        takeover("innocent@corp.example"),
        takeover("quiet@corp.example", severity="low"),  # below medium: no alert
    ]
    with Store() as store:
        ours = score_takeover(store, findings, TRUTH)["nightowl"]
    assert ours["reported"] == 3
    assert ours["true_reported"] == 1 and ours["true"] == 1
    assert ours["false_findings"] == 1  # innocent@ only
