"""``collect`` against the fake provider APIs: paging, throttling, transient failures, token expiry,
permissions, an empty range, and a run cut half-way then resumed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from nightowl.collect.auth import MsalCredential, SecretRef
from nightowl.collect.clouds import cloud
from nightowl.collect.http import CollectError
from nightowl.collect.jobs import (
    ENTRA_KINDS,
    RunOptions,
    collect_entra,
    collect_o365,
    collect_okta,
    time_range,
)
from nightowl.collect.runner import STATE_FILE
from nightowl.ingest import ingest_paths
from nightowl.store import Store
from tests.collect.conftest import read_parts
from tests.collect.fakeapi import SIGNIN_KINDS, TENANT

SECRET = "s3cret-for-tests"


def _cloud(apis):
    return cloud("global", login=apis.url, graph=apis.url, manage=apis.url)


def _cred(monkeypatch, **kw) -> MsalCredential:
    monkeypatch.setenv("NO_TEST_SECRET", SECRET)
    return MsalCredential(TENANT, "app-id-1", secret=SecretRef(env="NO_TEST_SECRET"), **kw)


def _opts(out: Path, now: dt.datetime, days: int = 7, waits: list[float] | None = None, **kw) -> RunOptions:
    return RunOptions(
        out=out, span=time_range(None, now, days), sleep=(waits.append if waits is not None else None), **kw
    )


def test_entra_collects_every_page_of_every_stream_through_throttling_failures_and_token_expiry(
    apis, tmp_path, now, monkeypatch
):
    apis.faults = {"/beta/auditLogs/signIns": [429], "/v1.0/auditLogs/directoryAudits": [503]}
    apis.expire_after = 5
    waits: list[float] = []
    out = tmp_path / "entra"
    manifest = collect_entra(
        _cred(monkeypatch), _cloud(apis), list(ENTRA_KINDS), _opts(out, now, waits=waits)
    )

    t = apis.tenant
    expected = {
        **{f"entra-signins-{k}": t.signins[v] for k, v in zip(
            ("interactive", "noninteractive", "serviceprincipal", "managedidentity"), SIGNIN_KINDS, strict=True)},
        "entra-directory-audits": t.audits,
        "entra-registration-details": t.registration,
        "entra-users": t.users,
    }  # fmt: skip
    for name, rows in expected.items():
        got = read_parts(out / name)
        assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows), name
        assert manifest["streams"][name]["records"] == len(rows)
    assert waits == [1.0, 1.0]  # Retry-After honoured for the 429 and the 503
    assert apis.tokens_issued == 2  # the token that expired mid-run was replaced once
    assert manifest["requests"]["throttled"] == 1 and manifest["requests"]["token_refreshes"] == 1
    assert manifest["complete"] and manifest["permissions_granted"] == [
        "ActivityFeed.Read",
        "AuditLog.Read.All",
        "Directory.Read.All",
    ]
    # more records than a page: the pages were followed
    assert apis.calls("/beta/auditLogs/signIns") > 4 * (30 // apis.page_size)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["records"] == sum(len(v) for v in expected.values())
    assert SECRET not in (out / "manifest.json").read_text() + (out / STATE_FILE).read_text()


def test_collected_folders_are_read_by_hunt_with_the_right_format(apis, tmp_path, now, monkeypatch):
    out = tmp_path / "entra"
    manifest = collect_entra(_cred(monkeypatch), _cloud(apis), list(ENTRA_KINDS), _opts(out, now))
    with Store() as store:  # the whole folder, as `nightowl hunt OUT` reads it
        every = ingest_paths(store, [str(out)])
    assert [r.path for r in every if r.unread] == [f"{out}/manifest.json"]  # the checkpoint is a dot file
    reports = [r for r in every if not r.unread]
    formats = {r.path.split("/")[-2]: r.format for r in reports}
    assert formats == {name: s["format"] for name, s in manifest["streams"].items()}
    assert all(r.tally.quarantined == 0 for r in reports)
    signins = sum(r.tally.normalized for r in reports if r.format == "entra-graph-json")
    assert signins == sum(len(v) for v in apis.tenant.signins.values())


def test_a_missing_permission_stops_before_anything_is_read(apis, tmp_path, now, monkeypatch):
    apis.roles = ["Directory.Read.All"]
    out = tmp_path / "entra"
    with pytest.raises(CollectError) as err:
        collect_entra(_cred(monkeypatch), _cloud(apis), ["signins", "users"], _opts(out, now))
    msg = str(err.value)
    assert "AuditLog.Read.All" in msg and "entra-signins-interactive" in msg and "Directory.Read.All" in msg
    assert apis.calls("/beta") == 0 and apis.calls("/v1.0") == 0


def test_a_wrong_secret_fails_with_entras_reason_and_never_shows_the_secret(apis, tmp_path, now, monkeypatch):
    monkeypatch.setenv("NO_TEST_SECRET", "wrong-value-xyz")
    cred = MsalCredential(TENANT, "app-id-1", secret=SecretRef(env="NO_TEST_SECRET"))
    with pytest.raises(CollectError) as err:
        collect_entra(cred, _cloud(apis), ["audits"], _opts(tmp_path / "o", now))
    assert "AADSTS7000215" in str(err.value) and "wrong-value-xyz" not in str(err.value)


def test_an_empty_range_is_a_complete_collection_of_nothing(apis, tmp_path, now, monkeypatch):
    out = tmp_path / "entra"
    span_end = now - dt.timedelta(days=20)
    opts = RunOptions(out=out, span=time_range(None, span_end, 1))
    manifest = collect_entra(_cred(monkeypatch), _cloud(apis), ["signins", "audits"], opts)
    assert manifest["complete"] and manifest["records"] == 0
    assert not list(out.rglob("part-*"))


def test_certificate_credential_signs_a_client_assertion_the_server_verifies(apis, tmp_path, now):
    from cryptography import x509

    apis.verify_assertion_with = x509.load_pem_x509_certificate(apis.cert.read_bytes()).public_key()
    both = tmp_path / "app.pem"  # key and certificate in one PEM, as exported for an app registration
    both.write_bytes(apis.key.read_bytes() + apis.cert.read_bytes())
    cred = MsalCredential(TENANT, "app-id-2", certificate=both)
    manifest = collect_entra(cred, _cloud(apis), ["audits"], _opts(tmp_path / "o", now))
    assert manifest["records"] == len(apis.tenant.audits) and manifest["auth"] == "certificate"
    assert "client_assertion" in apis.token_requests[0] and "client_secret" not in apis.token_requests[0]


def test_o365_starts_the_subscription_and_reads_every_blob_of_every_window(apis, tmp_path, now, monkeypatch):
    out = tmp_path / "o365"
    said: list[str] = []
    opts = _opts(out, now, days=3, say=said.append)
    manifest = collect_o365(_cred(monkeypatch), _cloud(apis), opts)
    assert apis.subscribed and any("12 hours" in m for m in said)
    start = now - dt.timedelta(days=3)
    want = [
        r["Id"]
        for r in apis.tenant.exchange
        if dt.datetime.fromisoformat(r["CreationTime"].replace("Z", "+00:00")) >= start
    ]
    got = read_parts(out / "o365-exchange-audit")
    assert sorted(r["Id"] for r in got) == sorted(want) and want
    assert (
        apis.calls(f"/api/v1.0/{TENANT}/activity/feed/subscriptions/content") >= 3 * 2
    )  # 3 windows, 2 pages each
    with Store() as store:
        (report,) = ingest_paths(store, [str(out / "o365-exchange-audit")])
    assert report.format == "office365-audit-json" and report.tally.normalized == len(want)
    assert manifest["streams"]["o365-exchange-audit"]["permissions"] == "ActivityFeed.Read"


def test_o365_range_older_than_seven_days_is_cut_with_a_warning(apis, tmp_path, now, monkeypatch):
    said: list[str] = []
    apis.subscribed = True
    manifest = collect_o365(
        _cred(monkeypatch), _cloud(apis), _opts(tmp_path / "o", now, days=30, say=said.append)
    )
    assert any("keeps 7 days" in m for m in said)
    since = dt.datetime.fromisoformat(manifest["range"]["since"].replace("Z", "+00:00"))
    assert now - since < dt.timedelta(days=7)


def test_okta_api_token_follows_link_headers_to_the_end(apis, tmp_path, now, monkeypatch):
    monkeypatch.setenv("OKTA_TEST_TOKEN", apis.okta_token)
    apis.faults = {"/api/v1/logs": [429]}
    waits: list[float] = []
    out = tmp_path / "okta"
    manifest = collect_okta(apis.url, _opts(out, now, waits=waits), token=SecretRef(env="OKTA_TEST_TOKEN"))
    got = read_parts(out / "okta-system-log")
    assert [r["uuid"] for r in got] == [r["uuid"] for r in apis.tenant.okta]  # oldest first, all of them
    assert waits == [1.0] and manifest["permissions_granted"] is None
    assert apis.okta_token not in (out / "manifest.json").read_text()
    with Store() as store:
        (report,) = ingest_paths(store, [str(out / "okta-system-log")])
    assert report.format == "okta-system-log"


def test_okta_service_app_signs_in_with_a_private_key_jwt(apis, tmp_path, now, monkeypatch):
    from cryptography import x509

    apis.verify_assertion_with = x509.load_pem_x509_certificate(apis.cert.read_bytes()).public_key()
    apis.scopes = ["okta.logs.read"]
    out = tmp_path / "okta"
    manifest = collect_okta(
        apis.url, _opts(out, now), client_id="0oa-service", private_key=SecretRef(file=apis.key)
    )
    assert manifest["records"] == len(apis.tenant.okta) and manifest["permissions_granted"] == [
        "okta.logs.read"
    ]
    assert apis.token_requests[0]["scope"] == ["okta.logs.read"]


def test_okta_service_app_without_logs_scope_is_refused_up_front(apis, tmp_path, now):
    apis.scopes = ["okta.users.read"]
    with pytest.raises(CollectError, match=r"okta-system-log needs okta\.logs\.read"):
        collect_okta(
            apis.url,
            _opts(tmp_path / "o", now),
            client_id="0oa-service",
            private_key=SecretRef(file=apis.key),
        )


def test_a_run_that_fails_half_way_resumes_without_losing_or_repeating_a_record(
    apis, tmp_path, now, monkeypatch
):
    out = tmp_path / "entra"
    cred = _cred(monkeypatch)
    # The third sign-in page fails more times than the client retries: the run stops there.
    calls = {"n": 0}
    original = apis.fault

    def fail_third(path: str):
        if path.startswith("/beta/auditLogs/signIns"):
            calls["n"] += 1
            if calls["n"] in (3, 4):
                return 500
        return original(path)

    apis.fault = fail_third
    with pytest.raises(CollectError, match="HTTP 500"):
        collect_entra(
            cred, _cloud(apis), ["signins"], _opts(out, now, waits=[], max_attempts=2, flush_records=1)
        )
    state = json.loads((out / STATE_FILE).read_text())
    assert state["streams"]["entra-signins-interactive"]["parts"] == 2 and not state["complete"]
    # What a kill between a part's rename and the checkpoint's leaves behind: a part the checkpoint does
    # not count, and a half-written temporary file. Both must go, and their records come again once.
    folder = out / "entra-signins-interactive"
    (folder / "part-000003.ndjson.gz").write_bytes((folder / "part-000002.ndjson.gz").read_bytes())
    (folder / "part-000004.ndjson.gz.tmp").write_bytes(b"\x1f\x8b half")
    manifest = collect_entra(cred, _cloud(apis), ["signins"], _opts(out, now, flush_records=1))
    for kind, rows in zip(
        ("interactive", "noninteractive", "serviceprincipal", "managedidentity"), SIGNIN_KINDS, strict=True
    ):
        got = [r["id"] for r in read_parts(out / f"entra-signins-{kind}")]
        assert sorted(got) == sorted(r["id"] for r in apis.tenant.signins[rows])
        assert len(got) == len(set(got))
    assert manifest["complete"]
    with pytest.raises(CollectError, match="already holds a complete"):
        collect_entra(cred, _cloud(apis), ["signins"], _opts(out, now))


def test_device_code_sign_in_shows_the_code_once_and_renews_silently(apis, tmp_path, now):
    apis.scopes = "AuditLog.Read.All Directory.Read.All"  # a person's token: delegated scopes, one string
    apis.expire_after = 3
    said: list[str] = []
    cred = MsalCredential(TENANT, "public-app", device_code=True)
    opts = _opts(tmp_path / "o", now, say=said.append)
    manifest = collect_entra(cred, _cloud(apis), ["audits"], opts)
    assert manifest["records"] == len(apis.tenant.audits) and manifest["auth"] == "device code (delegated)"
    assert apis.device_codes == 1 and sum("FAKE-CODE" in m for m in said) == 1
    assert apis.tokens_issued == 2  # the expired token came back through the refresh token, not a new code
    assert "refresh_token" in apis.token_requests[1]["grant_type"][0]
    assert manifest["permissions_granted"] == ["AuditLog.Read.All", "Directory.Read.All"]
