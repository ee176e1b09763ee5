"""Detections on real, independently labelled attack recordings (../shared/datasets)."""

from __future__ import annotations

from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.store import Store
from tests.conftest import dataset
from tests.detections.events import by_detection


def hunt(relpath: str):
    path = dataset(relpath)
    with Store() as store:
        ingest_paths(store, [str(path)])
        return run_all(store)


def test_deepbluecli_password_spray_is_a_single_source_spray_on_all_41_users():
    findings = hunt("windows-evtx/password-spray.evtx")
    (spray,) = by_detection(findings, "spray.single_source")
    assert spray.source_ips == ["172.16.144.128"]
    assert len(spray.users) == 41
    assert spray.counts["attempts"] == 294
    assert spray.compromised_users == []


def test_kerberos_spray_then_success_of_normal_is_a_compromise():
    findings = hunt("windows-evtx/kerberos_pwd_spray_4771.evtx")
    (spray,) = [f for f in findings if f.category == "password_spray"]
    assert spray.source_ips == ["172.16.66.1"]
    (comp,) = by_detection(findings, "compromise.after_attack")
    assert len(comp.compromised_users) == 1 and comp.compromised_users[0].endswith("normal")
    assert spray.compromised_users == comp.compromised_users


def test_smb_password_guessing_is_brute_force_not_spray():
    findings = hunt("windows-evtx/smb-password-guessing-security.evtx")
    assert [f for f in findings if f.category == "password_spray"] == []
    brute = by_detection(findings, "bruteforce.single_account")
    assert brute and all(f.source_ips == ["192.168.198.149"] for f in brute)
    assert len({u for f in brute for u in f.users}) <= 2  # the sample targets two accounts
    assert sum(f.counts["attempts"] for f in brute) >= 3500
