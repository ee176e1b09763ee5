"""The OTRF lab attack samples (../shared/datasets): credential added, permission grant, app mail access."""

from __future__ import annotations

from nightowl.store import Store
from tests.cloud.helpers import by_detection, hunt, ingest
from tests.conftest import dataset

AUDIT = "entra-audit/OTRF_GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl"
MAIL = "office365/OTRF_GoldenSAMLADFSMailAccess_OfficeActivity_MailItemsAccessed.jsonl"
CAE = "office365/OTRF_GoldenSAMLADFSMailAccess_M365D_CloudAppEvents_mixed.jsonl"


def test_audit_sample_is_read_with_every_record_accounted_for():
    with Store() as st:
        (report,) = ingest(st, dataset(AUDIT))
        t = report.tally
        assert (t.records, t.normalized, t.quarantined) == (4, 3, 0)
        assert t.ignored == 1  # the Log Analytics export repeats one record per keyEvents value
        activities = {r["activity"] for r in st.query("SELECT activity FROM directory_audit")}
    # Microsoft's own spelling: an en dash and a trailing space
    assert "Update application \u2013 Certificates and secrets management " in activities


def test_credential_added_to_simulandapp_is_high():
    (f,) = by_detection(hunt(dataset(AUDIT)), "cloud.app_credential_added")
    assert f.severity == "high" and f.category == "app_credential"
    assert f.users == ["pgustavo@simulandlabs.com"]
    assert f.extra["applications"] == [
        {"id": "11b49e19-2326-4be6-93cb-7f37439bbd81", "name": "SimuLandApp", "type": "Application"}
    ]
    ev = f.evidence
    assert ev["actor"]["upn"] == "pgustavo@simulandlabs.com"
    assert ev["target"]["name"] == "SimuLandApp"
    assert (
        ev["credentials_before"] == 0
        and ev["credentials_after"] == 1
        and ev["credential_types"] == ["Password"]
    )
    assert ev["operations"] == ["Update application \u2013 Certificates and secrets management "]
    assert ev["record_refs"][0].endswith("AADAuditEvents.jsonl:1")


def test_delegated_grant_of_mail_readwrite_to_all_users_is_critical():
    (f,) = by_detection(hunt(dataset(AUDIT)), "cloud.consent_granted")
    assert f.severity == "critical" and f.category == "consent_grant"
    assert f.evidence["permissions_added"] == ["Mail.ReadWrite"]
    assert f.evidence["critical_permissions"] == ["Mail.ReadWrite"]
    assert f.evidence["all_principals"] is True
    assert f.evidence["resource"]["app_id"] == "00000003-0000-0000-c000-000000000000"
    assert f.extra["applications"][0]["id"] == "0d2f5969-011b-460d-ac74-3291d227d49f"
    assert f.users == ["pgustavo@simulandlabs.com"]


def test_mail_read_by_simulandapp_is_found_and_named_from_cloudappevents():
    findings = hunt(dataset(CAE), dataset(MAIL))
    (f,) = by_detection(findings, "cloud.app_mailbox_access")
    assert f.extra["applications"] == [
        {"id": "5a95e683-08ad-424e-a441-1d1aec52c02c", "name": "SimuLandApp", "type": "AppId"}
    ]
    assert f.extra["mailboxes"] == ["pgustavo@simulandlabs.com"]
    assert f.source_ips == ["1.2.3.4"]
    assert f.counts["items"] == 7 and f.counts["mailboxes"] == 1
    assert f.severity == "medium"  # the app read its signed-in user's own mailbox (delegated)
    assert "Graph" in f.title


def test_the_same_access_in_two_exports_is_stored_once():
    with Store() as st:
        cae, mail = ingest(st, dataset(CAE), dataset(MAIL))
        assert (cae.tally.records, cae.tally.normalized, cae.tally.ignored) == (9, 1, 8)
        assert cae.tally.ignored_reasons["not a mailbox operation (LdapSearch)"] == 5
        assert (mail.tally.normalized, mail.tally.ignored) == (0, 1)
        assert st.row_count("mail_access") == 1
