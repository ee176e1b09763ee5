"""cloud.app_signin on sequences of events: applications signing in with their own credential,
the credentials added to them (directory audit), and the password attack that compromised the
account which added one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nightowl import audit_schema
from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import T0, Events, by_detection

APP = "5a1e0000-0000-4000-8000-00000000a001"
KEY_OLD, KEY_NEW = "11111111-aaaa-4bbb-8ccc-000000000001", "22222222-aaaa-4bbb-8ccc-000000000002"
ATTACKER = "203.0.113.66"


def app_signin(hours: float, ip: str, key: str | None, *, app: str = APP, name: str = "legacy-test-app",
               country: str = "NL", asn: int = 64500, ok: bool = True) -> dict:  # fmt: skip
    return {
        "time": T0 + timedelta(hours=hours),
        "source_format": "test",
        "record_ref": f"app:{hours}:{ip}:{key}",
        "event_uid": f"app:{hours}:{ip}:{key}:{app}",
        "actor_type": "service_principal",
        "actor_app_uid": app,
        "actor_app_name": name,
        "credential_key_id": key,
        "src_endpoint_ip": ip,
        "src_country": country,
        "src_asn": asn,
        "service_name": "Office 365 Exchange Online",
        "status_id": 1 if ok else 2,
        "status_detail": "SUCCESS" if ok else "INVALID_CREDENTIALS",
        "password_correct": ok,
        "logon_type": "non_interactive",
    }


def cred_added(
    hours: float, key: str, *, by_user: str | None, by_app: str | None = None, app: str = APP
) -> dict:
    return {
        "time": T0 + timedelta(hours=hours),
        "source_format": "test",
        "record_ref": f"audit:{hours}:{key}",
        "event_uid": f"audit:{hours}:{key}",
        "activity": "Update application – Certificates and secrets management ",
        "result": "success",
        "actor_type": "User" if by_user else "ServicePrincipal",
        "actor_upn": by_user,
        "actor_app_id": by_app,
        "target_type": "Application",
        "target_id": "obj-" + app,
        "target_name": "legacy-test-app",
        "app_id": app,
        "app_name": "legacy-test-app",
        "credentials_before": 1,
        "credentials_after": 2,
        "credentials_added": 1,
        "credential_types": ["Password"],
        "credential_key_ids_added": [key],
    }


def steady_history(days: int = 20) -> list[dict]:
    """The app runs from its own datacenter network every few hours with its old secret."""
    return [app_signin(-24 * days + 6 * i, f"198.51.100.{10 + i % 3}", KEY_OLD) for i in range(days * 4)]


def hunt(auth: list[dict], audit: list[dict], users: Events | None = None):
    with Store() as store:
        rows = sorted(auth + (users.rows if users else []), key=lambda r: r["time"])
        store.append(batch_from_rows(rows))
        if audit:
            store.ensure_table("directory_audit", audit_schema.DIRECTORY_AUDIT_SCHEMA)
            store.append(audit_schema.batch(audit_schema.DIRECTORY_AUDIT_SCHEMA, audit), "directory_audit")
        return run_all(store)


def spray_compromising(user: str) -> Events:
    ev = Events()
    for i in range(25):
        ev.add(-48 + i * 0.5, f"user{i}@corp.example", ATTACKER)
    ev.add(-30, user, ATTACKER, "ok", mfa=False)
    return ev


@pytest.mark.detection("cloud.app_signin", fires=True)
def test_new_network_with_a_key_a_compromised_account_added_is_critical():
    victim = "legacy-admin@corp.example"
    auth = [*steady_history(), app_signin(2, ATTACKER, KEY_NEW, country="DE", asn=64666),
            app_signin(3, "203.0.113.67", KEY_NEW, country="DE", asn=64666)]  # fmt: skip
    findings = hunt(auth, [cred_added(1, KEY_NEW, by_user=victim)], spray_compromising(victim))
    (f,) = by_detection(findings, "cloud.app_signin")
    assert f.severity == "critical" and f.category == "app_signin"
    assert f.source_ips == [ATTACKER, "203.0.113.67"]
    assert f.evidence["credential_key_ids"] == [KEY_NEW] and f.evidence["matched_by_key_id"] is True
    assert f.evidence["credential_added_by"] == [victim] and f.users == [victim]
    assert f.evidence["actor"]["app_id"] == APP


def test_key_added_by_an_unflagged_person_is_high():
    auth = [*steady_history(), app_signin(5, ATTACKER, KEY_NEW, country="DE", asn=64666)]
    (f,) = by_detection(hunt(auth, [cred_added(1, KEY_NEW, by_user="dev@corp.example")]), "cloud.app_signin")
    assert f.severity == "high"


@pytest.mark.detection("cloud.app_signin", fires=False)
def test_new_network_alone_is_low_and_known_networks_are_quiet():
    auth = [*steady_history(), app_signin(5, "192.0.2.200", KEY_OLD, country="NL", asn=64999)]
    (f,) = by_detection(hunt(auth, []), "cloud.app_signin")
    assert f.severity == "low" and f.evidence["new_network"] is True
    # a new address inside the app's own /24 is not new
    same_net = [*steady_history(), app_signin(5, "198.51.100.99", KEY_OLD)]
    assert by_detection(hunt(same_net, []), "cloud.app_signin") == []


def test_benign_app_rotating_its_own_secret_gives_no_medium_finding():
    """The app's automation adds its next secret itself and keeps signing in from its network."""
    auth = [*steady_history(), *[app_signin(2 + i, f"198.51.100.{10 + i % 3}", KEY_NEW) for i in range(10)]]
    audit = [cred_added(1, KEY_NEW, by_user=None, by_app=APP)]
    findings = by_detection(hunt(auth, audit), "cloud.app_signin")
    assert [f for f in findings if f.severity in ("critical", "high", "medium")] == []
    assert findings == []


def test_owner_rotating_a_secret_while_the_app_stays_home_is_quiet():
    """A person rotates the secret (someone else) but the app signs in from its usual network."""
    auth = [*steady_history(), app_signin(2, "198.51.100.10", KEY_NEW)]
    assert (
        by_detection(hunt(auth, [cred_added(1, KEY_NEW, by_user="owner@corp.example")]), "cloud.app_signin")
        == []
    )


def test_a_new_app_used_right_after_someone_added_its_first_secret():
    """No history (the attacker's own new app): judged by the credential alone."""
    new_app = "6b2f0000-0000-4000-8000-00000000b002"
    auth = [app_signin(2, ATTACKER, KEY_NEW, app=new_app, name="mail-sync")]
    audit = [cred_added(1, KEY_NEW, by_user="admin@corp.example", app=new_app)]
    (f,) = by_detection(hunt(auth, audit), "cloud.app_signin")
    assert f.severity == "high" and "first addresses" in f.title
    # the same first sign-in with no credential event in the logs says nothing
    assert by_detection(hunt(auth, []), "cloud.app_signin") == []


def test_old_credential_outside_the_window_does_not_raise_it():
    auth = [*steady_history(60), app_signin(5, ATTACKER, KEY_NEW, country="DE", asn=64666)]
    (f,) = by_detection(
        hunt(auth, [cred_added(-24 * 45, KEY_NEW, by_user="dev@corp.example")]), "cloud.app_signin"
    )
    assert f.severity == "low"


def test_app_sign_ins_are_not_user_sign_ins():
    """Identity detections never see an app's sign-ins: a burst of failed client secrets from one
    address is no password spray or brute force against a user."""
    auth = [app_signin(i / 60, ATTACKER, None, ok=False) for i in range(40)]
    findings = hunt(auth, [])
    assert [
        f for f in findings if f.category in ("password_spray", "brute_force", "account_enumeration")
    ] == []


def test_the_app_signin_joins_the_incident_between_persistence_and_mailbox_access():
    """Spray -> compromise -> credential added -> the app signs in with it -> incident order."""
    from nightowl.incidents import build_incidents

    victim = "legacy-admin@corp.example"
    auth = [*steady_history(), app_signin(2, ATTACKER, KEY_NEW, country="DE", asn=64666)]
    findings = hunt(auth, [cred_added(1, KEY_NEW, by_user=victim)], spray_compromising(victim))
    cred = next(f for f in findings if f.category == "app_credential")
    sign = next(f for f in findings if f.category == "app_signin")
    assert cred.evidence["credential_key_ids"] == [KEY_NEW]
    incidents = build_incidents(findings)
    (inc,) = [i for i in incidents if sign.id in i.finding_ids]
    assert cred.id in inc.finding_ids
    stages = [s for s in inc.stages if s in ("persistence", "app_signin", "collection")]
    assert stages[:2] == ["persistence", "app_signin"]
