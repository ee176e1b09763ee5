"""Failures whose log names no account (pam_unix without user=, CloudTrail's masked names, Windows '-')
in the per-source rules. The shared facts keep them apart from the per-account ones (unnamed_attempts):
bruteforce.burst counts them as guesses from the source, the spray rules say how many a spraying
source made, enumeration.single_source counts those on unknown accounts (test_unnamed_enumeration.py).
Per-account rules (single-account brute force, compromise, takeover...) cannot use them."""

from __future__ import annotations

import pytest

from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.store import Store
from tests.detections.events import Events, by_detection

ATTACKER = "203.0.113.7"
BURST = "bruteforce.burst"


def unnamed(ev: Events, n: int, ip: str = ATTACKER, status: str = "bad_password", start: float = 0, **kw):
    for i in range(n):
        ev.add(start + i * 0.05, None, ip, status, **kw)


@pytest.mark.detection(BURST, fires=True)
def test_a_burst_of_failures_without_names_is_a_burst_from_its_source():
    ev = Events()
    unnamed(ev, 12)
    (f,) = by_detection(ev.hunt(), BURST)
    assert f.users == [] and f.source_ips == [ATTACKER]
    assert f.counts["attempts"] == 12 and f.counts["unnamed_attempts"] == 12
    assert f.title == f"Burst of 12 password guesses from {ATTACKER} against accounts the log does not name"


@pytest.mark.detection(BURST, fires=True)
def test_unnamed_failures_add_to_a_burst_on_named_accounts():
    ev = Events()
    for i in range(6):
        ev.add(i * 0.1, "root", ATTACKER)
    unnamed(ev, 6, status="no_user", start=0.05)  # pam: "check pass; user unknown" between them
    (f,) = by_detection(ev.hunt(), BURST)
    assert f.users == ["root"] and f.counts["attempts"] == 12 and f.counts["unnamed_attempts"] == 6
    assert f.counts["distinct_users"] == 1
    assert f.title.endswith("against root and accounts the log does not name")


def test_named_bursts_read_as_before():
    ev = Events()
    for i in range(12):
        ev.add(i * 0.05, "root" if i % 2 else "admin", ATTACKER)
    unnamed(ev, 3, ip="198.51.100.99")  # another source's unnamed failures change nothing here
    (f,) = by_detection(ev.hunt(), BURST)
    assert f.users == ["admin", "root"] and f.counts["attempts"] == 12
    assert "unnamed_attempts" not in f.counts
    assert f.title == f"Burst of 12 password guesses from {ATTACKER} against admin, root"


@pytest.mark.detection(BURST, fires=False)
def test_unnamed_unknown_accounts_alone_are_enumeration_not_a_burst():
    ev = Events()
    unnamed(ev, 12, status="no_user")
    findings = ev.hunt()
    assert by_detection(findings, BURST) == []
    (enum,) = by_detection(findings, "enumeration.single_source")
    assert enum.counts["unnamed_attempts"] == 12


@pytest.mark.detection(BURST, fires=False)
def test_an_applications_own_failures_are_not_unnamed_guesses():
    ev = Events()
    unnamed(ev, 12, actor_type="service_principal", actor_app_name="billing-sync")
    assert by_detection(ev.hunt(), BURST) == []


def test_a_spray_reports_the_unnamed_failures_of_its_source_without_changing():
    def spray(extra: int) -> list:
        ev = Events()
        for i in range(30):
            ev.add(i * 0.5, f"user{i}@corp.example", ATTACKER)
        for i in range(extra):  # spread out: no burst
            ev.add(0.25 + i * 2, None, ATTACKER)
        return by_detection(ev.hunt(), "spray.single_source")

    (plain,) = spray(0)
    (mixed,) = spray(7)
    assert "unnamed_attempts" not in plain.counts and mixed.counts["unnamed_attempts"] == 7
    assert (mixed.users, mixed.title, mixed.summary, mixed.counts["attempts"]) == (
        plain.users, plain.title, plain.summary, plain.counts["attempts"],
    )  # fmt: skip


def test_pam_failures_without_user_from_sshd_are_a_burst(tmp_path):
    """Older /var/log/secure: pam_unix failures with rhost= and no user=, no sshd Failed line."""
    lines = [
        f"Jun 15 12:12:{i:02d} combo sshd(pam_unix)[{23390 + i}]: authentication failure; logname= uid=0 "
        "euid=0 tty=NODEVssh ruser= rhost=61.92.85.98 "
        for i in range(15)
    ]
    path = tmp_path / "secure"
    path.write_text("\n".join(lines) + "\n")
    with Store() as store:
        (report,) = ingest_paths(store, [str(path)])
        assert report.format == "sshd-syslog" and not report.tally.quarantined
        (f,) = [f for f in run_all(store) if f.detection == BURST]
    assert f.source_ips == ["61.92.85.98"] and f.counts["unnamed_attempts"] == 15 and f.users == []
