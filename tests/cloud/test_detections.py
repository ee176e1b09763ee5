"""Every post-compromise detection on fixtures written from Microsoft's documented record shapes
(Graph directoryAudit, Log Analytics AuditLogs CSV, Management Activity API MailItemsAccessed),
asserted finding by finding; and the benign look-alikes that must stay below high."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.cloud.helpers import by_detection, fixture, hunt, ingest

CHAIN = fixture("graph_directory_audits_chain.json")
LA_CSV = fixture("loganalytics_auditlogs.csv")
MAIL = fixture("management_api_mailitemsaccessed.jsonl")
BENIGN = fixture("graph_directory_audits_benign.jsonl")
PURVIEW = fixture("purview_audit_export.csv")
SVC, NEWU, ATTACKER = "svc.test@corp.example", "ops.sync@corp.example", "203.0.113.7"
HELPER_APPID = "e099e45f-7242-5b00-8ec8-5405b7777e1e"


def chain_findings(with_spray: bool = False):
    with Store() as st:
        if with_spray:
            st.append(batch_from_rows(spray_events()))
        ingest(st, CHAIN, LA_CSV, MAIL)
        return run_all(st)


def spray_events() -> list[dict]:
    """30 accounts sprayed from the attacker's address; svc.test's password works (single factor)."""
    t0 = datetime(2026, 3, 2, 8, 0)
    rows = []
    users = [SVC] + [f"user{i}@corp.example" for i in range(29)]
    for i, u in enumerate(users):
        rows.append(_ev(t0 + timedelta(seconds=20 * i), u, 2, "INVALID_CREDENTIALS", False, i))
    rows.append(_ev(t0 + timedelta(minutes=20), SVC, 1, "SUCCESS", True, 99, mfa=False))
    return rows


def _ev(t, user, status, detail, pw, n, mfa=None):
    return {
        "time": t,
        "source_format": "test",
        "record_ref": f"test:{n}",
        "event_uid": f"s{n}",
        "user_name": user,
        "src_endpoint_ip": ATTACKER,
        "user_agent": "python-requests/2.31",
        "service_name": "Office 365 Exchange Online",
        "client_app": "Browser",
        "status_id": status,
        "status_detail": detail,
        "password_correct": pw,
        "is_mfa": mfa,
    }


@pytest.mark.detection("cloud.app_credential_added", fires=True)
def test_credentials_added_to_a_dormant_legacy_app_and_to_the_new_app():
    creds = by_detection(chain_findings(), "cloud.app_credential_added")
    by_app = {f.extra["applications"][0]["name"]: f for f in creds}
    assert set(by_app) == {"Legacy Test App", "Mail Sync Helper"}
    legacy = by_app["Legacy Test App"]
    assert legacy.severity == "high" and legacy.users == [SVC] and legacy.source_ips == [ATTACKER]
    assert (
        legacy.evidence["credentials_before"] == 0 and legacy.evidence["days_since_previous_activity"] >= 400
    )
    helper = by_app["Mail Sync Helper"]
    assert helper.severity == "high" and helper.title.startswith("Certificate added to service principal")
    assert helper.evidence["operations"] == ["Add service principal credentials"]
    assert helper.evidence["credential_types"] == ["AsymmetricX509Cert"]


@pytest.mark.detection("cloud.new_application", fires=True)
def test_new_application_armed_within_hours_is_medium_and_names_what_followed():
    (f,) = by_detection(chain_findings(), "cloud.new_application")
    assert f.severity == "medium" and f.users == [SVC]
    assert {a["type"] for a in f.extra["applications"]} == {"Application", "ServicePrincipal"}
    assert set(f.evidence["operations"]) == {"Add application", "Add service principal"}
    assert "Add service principal credentials" in f.evidence["armed_by"]
    assert "full_access_as_app" in f.evidence["armed_permissions"]


@pytest.mark.detection("cloud.consent_granted", fires=True)
def test_admin_consent_and_delegated_grant_are_one_high_finding():
    (f,) = by_detection(chain_findings(), "cloud.consent_granted")
    assert f.severity == "high"  # Mail.Read for every user; not read-write
    assert f.evidence["admin_consent"] is True and f.evidence["all_principals"] is True
    assert set(f.evidence["operations"]) == {"Consent to application", "Add delegated permission grant"}
    assert f.evidence["high_permissions"] == ["Mail.Read"]
    assert f.users == [NEWU]
    assert f.extra["applications"][0]["name"] == "Mail Sync Helper"


@pytest.mark.detection("cloud.sensitive_app_role", fires=True)
def test_full_access_as_app_and_role_management_are_critical():
    roles = by_detection(chain_findings(), "cloud.sensitive_app_role")
    perms = {tuple(f.evidence["permissions"]): f for f in roles}
    assert set(perms) == {("full_access_as_app",), ("RoleManagement.ReadWrite.Directory",)}
    exo = perms[("full_access_as_app",)]
    assert (
        exo.severity == "critical"
        and exo.evidence["resource"]["app_id"] == "00000002-0000-0ff1-ce00-000000000000"
    )
    assert exo.evidence["app_role_ids"] == ["dc890d15-9560-4a4c-9b7f-a736ec74ec40"]
    assert exo.extra["applications"][0]["name"] == "Mail Sync Helper"
    assert exo.evidence["target"]["app_id"] == HELPER_APPID  # links to the mailbox reads below
    # AppRole.Value was empty: the permission is named from its documented id
    assert perms[("RoleManagement.ReadWrite.Directory",)].severity == "critical"


@pytest.mark.detection("cloud.new_user_then_privilege", fires=True)
def test_new_user_who_gets_global_admin_and_consents_is_critical():
    (f,) = by_detection(chain_findings(), "cloud.new_user_then_privilege")
    assert f.severity == "critical" and f.users == sorted([SVC, NEWU])
    assert set(f.evidence["followups"]) >= {
        "Add member to role",
        "Consent to application",
        "Add app role assignment to service principal",
    }
    # the roles given, without the followups that gave none (a consent has no role: no null listed)
    assert f.evidence["roles"] == ["Global Administrator"]


@pytest.mark.detection("cloud.privileged_role_assignment", fires=True)
def test_privileged_role_assignments():
    roles = by_detection(chain_findings(), "cloud.privileged_role_assignment")
    by_title = {f.title: f for f in roles}
    assert by_title["Global Administrator assigned to ops.sync@corp.example"].severity == "critical"
    sp = by_title["Privileged Role Administrator assigned to Mail Sync Helper"]
    assert sp.severity == "critical" and sp.extra["applications"][0]["type"] == "ServicePrincipal"
    assert sp.first_seen == "2026-03-02T09:50:00Z"  # the Log Analytics portal's "3/2/2026, 9:50:00.000 AM"
    eligible = by_title["Application Administrator made eligible to carol@corp.example"]
    assert eligible.severity == "medium"
    assert not any("requested" in f.evidence["operations"][0] for f in roles)  # PIM requests are not grants
    assert len(roles) == 3


@pytest.mark.detection("cloud.app_mailbox_access", fires=True)
def test_app_reading_six_executive_mailboxes_through_ews_is_critical():
    (f,) = by_detection(chain_findings(), "cloud.app_mailbox_access")
    assert f.severity == "critical" and "EWS" in f.title
    assert f.extra["applications"] == [{"id": HELPER_APPID, "name": None, "type": "AppId"}]
    assert len(f.extra["mailboxes"]) == 6 and "ceo@corp.example" in f.extra["mailboxes"]
    assert f.counts["items"] == sum(20 + i for i in range(6))
    assert f.source_ips == [ATTACKER]
    assert "alice@corp.example" not in f.users  # her own Outlook reading her own mail is not an app access


def test_actor_flagged_by_the_sign_in_logs_raises_severity():
    findings = chain_findings(with_spray=True)
    legacy = next(
        f
        for f in by_detection(findings, "cloud.app_credential_added")
        if f.extra["applications"][0]["name"] == "Legacy Test App"
    )
    assert legacy.evidence["actor_compromised"]
    assert "password was confirmed" in legacy.summary
    (new_app,) = by_detection(findings, "cloud.new_application")
    assert new_app.severity == "high"
    # the identity detections saw the same spray and compromise
    assert any(SVC in f.compromised_users for f in findings if f.category == "account_compromise")


def takeover_events() -> list[dict]:
    """Two weeks of ordinary sign-ins (svc.test and 9 colleagues from the office network, their own
    laptops), then svc.test signs in once from the attacker's address, another provider and country,
    on a device it never used, 20 minutes before the chain's first change: no failed attempt anywhere."""
    t0 = datetime(2026, 2, 16, 9, 0)
    rows = []
    users = [SVC] + [f"user{i}@corp.example" for i in range(9)]
    for d in range(14):
        for i, u in enumerate(users):
            row = _ev(
                t0 + timedelta(days=d, minutes=7 * i), u, 1, "SUCCESS", True, 1000 + 20 * d + i, mfa=True
            )
            rows.append(
                row
                | {
                    "src_endpoint_ip": f"192.0.2.{10 + i % 3}",
                    "src_asn": 64500,
                    "src_country": "US",
                    "device_id": f"laptop-{i}",
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0",
                }
            )
    rows.append(
        _ev(datetime(2026, 3, 2, 8, 40), SVC, 1, "SUCCESS", True, 9999, mfa=False)
        | {"src_asn": 64999, "src_country": "NL"}
    )
    return rows


def test_account_taken_over_without_a_spray_raises_its_actions_and_tells_one_incident():
    from nightowl.incidents import build_incidents

    with Store() as st:
        st.append(batch_from_rows(takeover_events()))
        ingest(st, CHAIN, LA_CSV, MAIL)
        findings = run_all(st)
    (takeover,) = [f for f in findings if f.category == "account_takeover"]
    assert takeover.users == [SVC] and takeover.severity == "high"
    assert not [f for f in findings if f.category in ("password_spray", "account_compromise")]
    legacy = next(
        f
        for f in by_detection(findings, "cloud.app_credential_added")
        if f.extra["applications"][0]["name"] == "Legacy Test App"
    )
    assert legacy.evidence["actor_compromised"] and "taken over" in legacy.summary
    incidents = build_incidents(findings)
    (inc,) = [i for i in incidents if takeover.id in i.finding_ids]
    assert legacy.id in inc.finding_ids and inc.steps[0].finding.id == takeover.id
    assert {s.stage for s in inc.steps} >= {"compromise", "persistence", "collection"}
    assert inc.title.startswith(f"Takeover of {SVC}") and SVC in inc.entities["compromised_accounts"]
    assert inc.story[0].startswith("With no password attack before it") and SVC in inc.story[0]
    assert inc.story[1].startswith("The attacker then added a credential")


@pytest.mark.detection("cloud.app_credential_added", fires=False)
@pytest.mark.detection("cloud.consent_granted", fires=False)
@pytest.mark.detection("cloud.privileged_role_assignment", fires=False)
@pytest.mark.detection("cloud.app_mailbox_access", fires=False)
def test_benign_lookalikes_stay_below_high():
    findings = hunt(BENIGN, PURVIEW)
    assert findings, "the benign events are still reported at low/medium for context"
    assert [f for f in findings if f.severity in ("critical", "high")] == []
    rotations = by_detection(findings, "cloud.app_credential_added")
    assert len(rotations) == 3  # the fourth record only removed a key
    assert sorted(f.severity for f in rotations) == ["low", "low", "medium"]
    (consent,) = by_detection(findings, "cloud.consent_granted")
    assert consent.severity == "low" and consent.evidence["admin_consent"] is False
    (pim,) = by_detection(findings, "cloud.privileged_role_assignment")
    assert pim.severity == "low"
    (mail,) = by_detection(findings, "cloud.app_mailbox_access")  # the CRM app, not Outlook
    assert mail.severity == "medium" and mail.extra["mailboxes"] == ["bob@corp.example"]
