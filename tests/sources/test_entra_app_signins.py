"""Applications signing in with their own credential (service principal and managed identity
sign-ins), and the Azure Monitor diagnostic-settings export: fixtures written from Microsoft's
Graph beta ``signIn`` schema, the Azure Monitor table reference (AADServicePrincipalSignInLogs,
AADManagedIdentitySignInLogs) and the resource-log envelope of diagnostic settings."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import sources
from nightowl.ingest import ingest_paths
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "entra"
GRAPH = FIX / "graph_beta_app_signins.json"
DIAG = FIX / "diagnostic_signins_records.json"
LAYOUT = FIX / "diagnostic_layout"
LA = FIX / "la_app_signins.jsonl"
PORTAL_SP = FIX / "ApplicationSignIns_2024-03-05_2024-03-06.csv"
PORTAL_MI = FIX / "MSISignIns_2024-03-05_2024-03-06.csv"
# what Graph carries and the portal's application downloads do not (no ASN, authentication
# requirement or device columns); the portal's "Date (UTC)" has whole seconds
NOT_IN_PORTAL = ("src_asn", "src_lat", "src_lon", "is_mfa", "is_managed")  # the portal shows no coordinates
# columns that name where a row came from, not what it says
PROVENANCE = ("source_format", "record_ref")


def read(path: Path, fmt: str | None = None):
    inp = InputFile(path.name, path)
    src = sources.by_name(fmt) if fmt else sources.detect(inp)
    tally = Tally()
    rows = pa.Table.from_batches(list(src.read(inp, tally, ReadOptions())), schema=AUTH_SCHEMA).to_pylist()
    return src.name, rows, tally


def content(rows):
    return sorted(
        ({k: v for k, v in r.items() if k not in PROVENANCE} for r in rows), key=lambda r: r["event_uid"]
    )


def test_graph_service_principal_and_managed_identity_sign_ins():
    fmt, rows, tally = read(GRAPH)
    assert fmt == "entra-graph-json" and tally.quarantined == 0 and tally.ignored == 0
    apps = {r["actor_app_name"]: r for r in rows if r["actor_type"] != "user"}
    hr_ok, hr_bad = sorted((r for r in rows if r["actor_app_name"] == "HR-Sync"), key=lambda r: r["time"])
    assert (hr_ok["actor_type"], hr_ok["user_name"], hr_ok["status_detail"]) == (
        "service_principal",
        None,
        "SUCCESS",
    )
    assert hr_ok["actor_app_uid"] == "8f3c6b2e-0d5a-4e2f-9a71-3b1c9e0d7a11"
    assert hr_ok["credential_key_id"] == "6a0f3e1d-5b4c-4a39-8f27-1e0d9c8b7a65"
    assert hr_ok["service_name"] == "Microsoft Graph"  # what the app signed in to
    assert (hr_ok["src_endpoint_ip"], hr_ok["src_country"], hr_ok["logon_type"]) == (
        "198.51.100.10",
        "NL",
        "non_interactive",
    )
    # AADSTS7000215: a wrong client secret is the app's wrong password
    assert (hr_bad["status_code"], hr_bad["status_detail"], hr_bad["password_correct"]) == (
        "7000215",
        "INVALID_CREDENTIALS",
        False,
    )
    legacy = apps["legacy-test-app"]
    assert (
        legacy["credential_key_id"] == "c0ffee00-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
    )  # key ids compared lowercased
    assert legacy["service_name"] == "Office 365 Exchange Online"
    mi = apps["vm-backup"]
    assert (mi["actor_type"], mi["src_endpoint_ip"], mi["service_name"]) == (
        "managed_identity",
        None,
        "Azure Key Vault",
    )
    users = {r["user_name"]: r for r in rows if r["actor_type"] == "user"}
    assert set(users) == {"alice@contoso.com", "bob@contoso.com"}
    assert users["alice@contoso.com"]["actor_app_name"] == "Office 365 Exchange Online"


def test_log_analytics_app_tables_match_graph():
    fmt, rows, tally = read(LA)
    assert fmt == "entra-la-json" and tally.quarantined == 0 and tally.ignored == 0
    _, graph, _ = read(GRAPH)
    keep = ("time", "actor_type", "actor_app_uid", "actor_app_name", "credential_key_id", "src_endpoint_ip",
            "service_name", "status_code", "status_detail", "event_uid", "session_id", "logon_type")  # fmt: skip
    want = sorted(({k: r[k] for k in keep} for r in graph if r["actor_type"] != "user"), key=str)
    assert sorted(({k: r[k] for k in keep} for r in rows), key=str) == want


def test_diagnostic_records_blob_gives_the_graph_rows():
    """The same sign-ins through a diagnostic setting: identical normalized rows."""
    fmt, rows, tally = read(DIAG)
    assert fmt == "entra-diagnostic-json"
    assert tally.quarantined == 0
    assert dict(tally.ignored_reasons) == {
        "AuditLogs record: read it as entra-audit (--input-format entra-audit)": 1
    }
    _, graph, _ = read(GRAPH)
    assert content(rows) == content(graph)
    assert {r["source_format"] for r in rows} == {"entra-diagnostic-json"}


def test_diagnostic_dated_folder_is_one_input_with_the_same_rows():
    """insights-logs-*/tenantId=/y=/m=/d=/h=/m=00/PT1H.json, one record per line, ingested as a folder."""
    with Store() as store:
        reports = ingest_paths(store, [str(LAYOUT)])
        assert len(reports) == 5 and {r.format for r in reports} == {"entra-diagnostic-json"}
        assert sum(r.tally.quarantined for r in reports) == 0
        table = store.con.sql("SELECT * FROM auth_events").to_arrow_table()
    _, graph, _ = read(GRAPH)
    assert content(table.to_pylist()) == content(graph)


def _portal_view(rows):
    return [
        {**{k: v for k, v in r.items() if k not in NOT_IN_PORTAL}, "time": r["time"].replace(microsecond=0)}
        for r in content(rows)
    ]


def test_portal_application_and_msi_downloads_give_the_graph_rows():
    """The Service principal / Managed identity sign-ins tabs downloaded as CSV: the Graph rows."""
    rows, tallies = [], []
    for path in (PORTAL_SP, PORTAL_MI):
        fmt, got, tally = read(path)
        assert fmt == "entra-portal-csv"
        rows += got
        tallies.append((tally.quarantined, tally.ignored))
    assert tallies == [(0, 0), (0, 0)]
    _, graph, _ = read(GRAPH)
    assert _portal_view(rows) == _portal_view([r for r in graph if r["actor_type"] != "user"])
    by_app = {r["actor_app_name"]: r for r in rows}
    assert by_app["vm-backup"]["actor_type"] == "managed_identity"
    assert by_app["legacy-test-app"]["credential_key_id"] == "c0ffee00-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
    assert {r["user_name"] for r in rows} == {None}


def test_portal_app_rows_in_a_renamed_file_keep_their_actor(tmp_path: Path):
    """Without the portal's file name, the columns say it: a managed identity type, or a service
    principal and no user."""
    for src, want in ((PORTAL_SP, "service_principal"), (PORTAL_MI, "managed_identity")):
        path = tmp_path / "export.csv"
        path.write_bytes(src.read_bytes())
        _, rows, tally = read(path)
        assert tally.quarantined == 0 and rows
        assert {r["actor_type"] for r in rows} == {want}
        assert {r["logon_type"] for r in rows} == {"non_interactive"}


def test_portal_user_download_is_not_an_app(tmp_path: Path):
    """A user row with a service principal id (the user download names the app it signed in to)
    stays a user's sign-in."""
    header = "Date (UTC),Request ID,Correlation ID,User ID,Username,Service principal ID,IP address,Status,Sign-in error code"
    row = "2024-03-05T10:00:00Z,r1,c1,u1,Adele@contoso.com,2c9e1f4a,198.51.100.10,Failure,50126"
    path = tmp_path / "signins.csv"
    path.write_text(header + "\n" + row + "\n")
    fmt, rows, _ = read(path)
    assert fmt == "entra-portal-csv"
    assert [(r["actor_type"], r["user_name"]) for r in rows] == [("user", "adele@contoso.com")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    blank=st.sets(st.integers(0, 25), max_size=8),
    junk=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    name=st.sampled_from(["ApplicationSignIns_x.csv", "MSISignIns_x.csv", "export.csv"]),
)
def test_property_damaged_portal_app_rows_are_accounted(tmp_path: Path, blank, junk, name):
    """Cells blanked or replaced by junk: every row is normalized or quarantined, never a user's,
    and a row kept has its time and its application."""
    import csv
    import io

    text = PORTAL_MI.read_text(encoding="utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    damaged = []
    for line in lines * 3:
        cells = list(line)
        for i in blank:
            if i < len(cells):
                cells[i] = junk if i % 2 else ""
        damaged.append(cells)
    out = io.StringIO()
    csv.writer(out).writerows([header, *damaged])
    path = tmp_path / name
    path.write_text(out.getvalue())
    _, rows, tally = read(path, "entra-portal-csv")
    assert len(rows) + tally.quarantined + tally.ignored == 3
    for r in rows:
        assert r["time"] is not None and r["user_name"] is None and r["actor_type"] != "user"
        assert r["actor_app_name"] or r["actor_app_uid"]


def test_sniff_routes_each_shape():
    head = DIAG.read_bytes()[:65536]
    assert sources.detect(InputFile(DIAG.name, DIAG)).name == "entra-diagnostic-json"
    assert not sources.by_name("entra-graph-json").sniff(b'{"time": "x", "category": "AuditLogs"}', "x.json")
    assert sources.by_name("entra-diagnostic-json").sniff(head, "PT1H.json")
    assert not sources.by_name("entra-diagnostic-json").sniff(GRAPH.read_bytes()[:65536], "x.json")
    audit_only = b'{"records": [{"time": "2024-01-01T00:00:00Z", "category": "AuditLogs", "properties": {}}]}'
    assert not sources.by_name("entra-diagnostic-json").sniff(audit_only, "PT1H.json")


RECORD = json.loads(json.dumps(json.loads(DIAG.read_text())["records"][0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drop=st.sets(st.sampled_from(["time", "category", "resultType", "callerIpAddress", "properties"])),
    prop_drop=st.sets(
        st.sampled_from(
            [
                "createdDateTime",
                "ipAddress",
                "status",
                "appId",
                "servicePrincipalName",
                "servicePrincipalCredentialKeyId",
                "signInEventTypes",
                "appDisplayName",
            ]
        )
    ),
    junk=st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)),
    wrap=st.booleans(),
)
def test_damaged_diagnostic_records_are_accounted(tmp_path: Path, drop, prop_drop, junk, wrap):
    """Every record is normalized, ignored or quarantined with a reason, whatever is missing or garbled."""
    rec = json.loads(json.dumps(RECORD))
    for key in drop:
        rec.pop(key, None)
    for key in prop_drop:
        if isinstance(rec.get("properties"), dict):
            rec["properties"][key] = junk
    recs = [rec, RECORD, "not an object", {"records": "nope"}]
    path = tmp_path / "PT1H.json"
    if wrap:
        path.write_text(json.dumps({"records": recs}))
    else:
        path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    _, rows, tally = read(path, "entra-diagnostic-json")
    assert len(rows) + tally.ignored + tally.quarantined == 4
    assert all(r["time"] is not None for r in rows)
    assert any(r["event_uid"] == RECORD["properties"]["id"] for r in rows)


def test_an_infinite_time_is_no_parseable_time(tmp_path: Path) -> None:
    """'INF' casts to an infinite timestamp in DuckDB: the record is quarantined, the others are read
    (hypothesis found it; before, the whole file failed with 'date value out of range')."""
    rec = json.loads(json.dumps(RECORD))
    rec["properties"]["createdDateTime"] = "INF"
    rec.pop("time", None)
    path = tmp_path / "PT1H.json"
    path.write_text("\n".join(json.dumps(r) for r in [rec, RECORD]) + "\n")
    _, rows, tally = read(path, "entra-diagnostic-json")
    assert len(rows) == 1
    assert [q.reason for q in tally.quarantine] == ["no parseable time"]
