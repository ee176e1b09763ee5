"""The cloud readers: every layout Microsoft exports, sniffing against every other format, and
hostile input (no crash, every record accounted for)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.sources import entra_accounts, entra_audit, office_activity
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.store import Store
from tests.cloud.helpers import FIXTURES, available_sources, fixture, ingest

OWN = {
    "graph_directory_audits_chain.json": "entra-audit-json",
    "graph_directory_audits_benign.jsonl": "entra-audit-json",
    "azure_monitor_auditlogs.json": "entra-audit-json",
    "loganalytics_auditlogs.csv": "entra-audit-csv",
    "management_api_mailitemsaccessed.jsonl": "office365-audit-json",
    "purview_audit_export.csv": "office365-audit-csv",
    "user_registration_details.json": "entra-accounts-json",
    "user_registration_details.csv": "entra-accounts-csv",
    "graph_users_signinactivity.json": "entra-accounts-json",
}
MINE = {"entra-audit-json", "entra-audit-csv", "office365-audit-json", "office365-audit-csv",
        "entra-accounts-json", "entra-accounts-csv"}  # fmt: skip


def _read(source, path: Path) -> tuple[list[dict], Tally]:
    tally = Tally()
    rows = [r for b in source.read(InputFile(path.name, path), tally, ReadOptions()) for r in b.to_pylist()]
    return rows, tally


def _first_match(path: Path):
    head = InputFile(path.name, path).head()
    return [s.name for s in available_sources() if s.sniff(head, path.name)]


@pytest.mark.parametrize("name", sorted(OWN))
def test_each_cloud_fixture_is_claimed_first_by_its_reader(name):
    matches = _first_match(FIXTURES / name)
    assert matches and matches[0] == OWN[name]


def test_no_other_fixture_is_claimed_by_a_cloud_reader():
    others = [
        p for p in (FIXTURES.parent).rglob("*") if p.is_file() and p.parent != FIXTURES and p.suffix != ".py"
    ]
    assert others, "the other areas' fixtures are the negative sample"
    for path in others:
        assert not set(_first_match(path)[:1]) & MINE, path


def test_real_samples_are_claimed_by_the_right_reader(datasets_dir):
    for rel, fmt in [
        ("entra-audit/OTRF_GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl", "entra-audit-json"),
        (
            "office365/OTRF_GoldenSAMLADFSMailAccess_OfficeActivity_MailItemsAccessed.jsonl",
            "office365-audit-json",
        ),
        ("office365/OTRF_GoldenSAMLADFSMailAccess_M365D_CloudAppEvents_mixed.jsonl", "office365-audit-json"),
    ]:
        assert _first_match(datasets_dir / rel)[0] == fmt
    for other in ["aws-cloudtrail", "linux-sshd", "windows-csv"]:
        for path in (datasets_dir / other).iterdir():
            assert not set(_first_match(path)[:1]) & MINE, path


SIGNIN_LOG_ANALYTICS = {"TenantId": "t", "SourceSystem": "Azure AD", "TimeGenerated": "2026-03-02T08:00:00Z",
                        "OperationName": "Sign-in activity", "Category": "SignInLogs", "ResultType": "50126",
                        "UserPrincipalName": "a@corp.example", "IPAddress": "203.0.113.7", "Type": "SigninLogs"}  # fmt: skip
SIGNIN_GRAPH = {"id": "x", "createdDateTime": "2026-03-02T08:00:00Z", "userPrincipalName": "a@corp.example",
                "appDisplayName": "Office 365", "clientAppUsed": "Browser", "status": {"errorCode": 50126}}  # fmt: skip


@pytest.mark.parametrize("record", [SIGNIN_LOG_ANALYTICS, SIGNIN_GRAPH])
def test_sign_in_exports_are_not_claimed_by_the_cloud_readers(record):
    head = (json.dumps(record) + "\n").encode()
    for src in entra_audit.SOURCES + office_activity.SOURCES + entra_accounts.SOURCES:
        assert not src.sniff(head, "signins.json"), src.name


def test_log_analytics_csv_parses_json_cells_and_portal_dates():
    rows, tally = _read(entra_audit.EntraAuditCsv(), fixture("loganalytics_auditlogs.csv"))
    assert tally.quarantined == 0 and len(rows) == 3
    first = rows[0]
    assert first["activity"] == "Add member to role" and first["actor_upn"] == "svc.test@corp.example"
    assert first["role_template_id"] == "e8611ab8-c189-46e8-94e1-60213ab1f814"
    assert first["targets"][0]["type"] == "ServicePrincipal"
    assert str(rows[2]["time"]) == "2026-03-02 13:05:30.250000"


def test_azure_monitor_envelope_is_unwrapped_and_sign_ins_ignored():
    rows, tally = _read(entra_audit.EntraAuditJson(), fixture("azure_monitor_auditlogs.json"))
    assert [r["activity"] for r in rows] == ["Add user"] and rows[0]["target_upn"] == "dave@corp.example"
    assert tally.ignored_reasons == {"not a directory audit record (category SignInLogs)": 1}


def test_purview_csv_unwraps_auditdata():
    rows, tally = _read(office_activity.OfficeActivityCsv(), fixture("purview_audit_export.csv"))
    assert tally.records == 0 and len(rows) == 2  # the pipeline counts normalized rows
    assert {r["client_app_id"] for r in rows} >= {"d3590ed6-52b3-4102-aeff-aad2292ab01c"}
    assert all(r["mailbox_owner"] == "bob@corp.example" and r["logon_type"] == "Owner" for r in rows)


def test_accounts_merge_registration_details_and_users():
    with Store() as st:
        reports = ingest(
            st,
            fixture("user_registration_details.json"),
            fixture("graph_users_signinactivity.json"),
            fixture("user_registration_details.csv"),
        )
        assert [r.tally.normalized for r in reports] == [9, 9, 3]
        row = st.query("SELECT * FROM accounts WHERE upn = 'helpdesk.lead@corp.example'")[0]
        assert row["is_admin"] is True and row["methods_registered"] == ["email", "mobilePhone"]
        svc = st.query(
            "SELECT bool_or(is_mfa_registered) AS mfa, bool_or(account_enabled) AS enabled, max(last_sign_in) AS last, "
            "max(password_policies) AS pp FROM accounts WHERE upn = 'svc.test@corp.example'"
        )[0]
        assert svc == {"mfa": False, "enabled": True, "last": svc["last"], "pp": "DisablePasswordExpiration"}
        assert str(svc["last"]) == "2026-03-02 08:20:00"
        # the same export again adds nothing
        (again,) = ingest(st, fixture("user_registration_details.json"))
        assert again.duplicate_of is not None


# -- hostile input ------------------------------------------------------------------------------
AUDIT_LINE = (FIXTURES / "graph_directory_audits_benign.jsonl").read_text(encoding="utf-8").splitlines()[0]
MAIL_LINE = (FIXTURES / "management_api_mailitemsaccessed.jsonl").read_text(encoding="utf-8").splitlines()[0]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _mutate(base: str):
    rec = json.loads(base)
    keys = sorted(rec)
    return st.builds(
        lambda k, v, drop: json.dumps({**{x: rec[x] for x in keys if x != drop}, k: v}),
        st.sampled_from(keys),
        json_values,
        st.sampled_from([*keys, None]),
    )


def _lines(base: str):
    garbage = st.binary(max_size=60).map(lambda b: b"#" + b.replace(b"\n", b" ").replace(b"\r", b" "))
    objects = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("value", "records")), json_values,
                              max_size=5).map(lambda d: json.dumps(d).encode())  # fmt: skip
    return st.lists(
        st.one_of(garbage, objects, _mutate(base).map(str.encode), st.just(base.encode())), max_size=12
    )


@pytest.mark.parametrize(
    ("source", "base"),
    [(entra_audit.EntraAuditJson(), AUDIT_LINE), (office_activity.OfficeActivityJson(), MAIL_LINE),
     (entra_accounts.EntraAccountsJson(), json.dumps({"userPrincipalName": "a@b.c", "isMfaRegistered": False}))],
)  # fmt: skip
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_json_readers_never_crash_and_account_for_every_line(tmp_path, source, base, data):
    lines = data.draw(_lines(base))
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows, tally = _read(source, path)
    expected = sum(1 for line in lines if line.strip())
    assert len(rows) + tally.ignored + tally.quarantined == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(st.text(max_size=30), min_size=1, max_size=14), max_size=10))
def test_csv_readers_never_crash_and_account_for_every_row(tmp_path, cells):
    import csv
    import io

    for source, header in [
        (entra_accounts.EntraAccountsCsv(), ["UserPrincipalName", "IsMfaRegistered", "IsAdmin", "MethodsRegistered"]),
        (entra_audit.EntraAuditCsv(), ["Id", "ActivityDisplayName", "ActivityDateTime [UTC]", "InitiatedBy", "TargetResources"]),
    ]:  # fmt: skip
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        body = [row for row in cells if any(c.strip() for c in row)]
        w.writerows(body)
        path = tmp_path / "in.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", errors="replace")
        rows, tally = _read(source, path)
        parsed = list(csv.reader(io.StringIO(buf.getvalue())))[1:]
        expected = sum(1 for r in parsed if any(c.strip() for c in r))
        assert len(rows) + tally.ignored + tally.quarantined == expected


def test_truncated_gzip_and_huge_lines_are_quarantined_not_fatal(tmp_path):
    import gzip

    data = (AUDIT_LINE + "\n") * 50
    blob = gzip.compress(data.encode())
    path = tmp_path / "audit.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    tally = Tally()
    rows = [r for b in entra_audit.EntraAuditJson().read(InputFile(path.name, path, gzip=True), tally, ReadOptions())
            for r in b.to_pylist()]  # fmt: skip
    assert tally.quarantined >= 1 and len(rows) < 50
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"activityDisplayName": "' + b"A" * 2_000_000 + b'"}\n' + AUDIT_LINE.encode() + b"\n")
    tally = Tally()
    opts = ReadOptions(max_line_bytes=1 << 20)
    rows = [
        r
        for b in entra_audit.EntraAuditJson().read(InputFile(big.name, big), tally, opts)
        for r in b.to_pylist()
    ]
    assert len(rows) == 1 and tally.records == 1


def test_pretty_printed_arrays_and_concatenated_documents(tmp_path):
    rec = orjson.loads(AUDIT_LINE)
    path = tmp_path / "pretty.json"
    path.write_text(
        json.dumps([rec], indent=2) + "\n" + json.dumps(rec | {"id": "other"}, indent=2) + "\n{broken"
    )
    rows, tally = _read(entra_audit.EntraAuditJson(), path)
    assert [r["event_uid"] for r in rows] == [rec["id"], "other"]
    assert tally.quarantined == 1
