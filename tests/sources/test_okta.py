"""Okta System Log: authentication events normalized, everything else ignored with a reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import okta
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import read_json_records

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "okta"
SRC = okta.SOURCES[0]


def read(path: Path, force_python: bool = False):
    tally = Tally()
    inp = InputFile(path.name, path)
    batches = list(read_json_records(inp, tally, ReadOptions(), okta.OKTA, force_python=force_python))
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist(), tally


def test_system_log_field_by_field():
    rows, tally = read(FIX / "system_log.jsonl")
    assert len(rows) == 7
    assert tally.ignored == 2 and dict(tally.ignored_reasons) == {okta.IGNORE_REASON: 2}
    assert [(q.position, q.reason) for q in tally.quarantine] == [("line 10", "no user name")]
    assert len(rows) + tally.ignored + tally.quarantined == 10
    bad_pw, verify, ok, mfa, sso, lock, deny = rows
    assert bad_pw["time"] == dt.datetime(2024, 3, 5, 12, 0)
    assert (bad_pw["user_name"], bad_pw["status_id"], bad_pw["status_detail"]) == (
        "patti.fernandez@contoso.com",
        2,
        "INVALID_CREDENTIALS",
    )
    assert (bad_pw["src_asn"], bad_pw["src_asn_org"], bad_pw["src_is_proxy"]) == (
        64510,
        "Example Hosting",
        True,
    )
    assert (bad_pw["src_country"], bad_pw["src_city"], bad_pw["src_endpoint_ip"]) == (
        "Germany",
        "Frankfurt am Main",
        "198.51.100.40",
    )
    assert (
        bad_pw["user_agent"].startswith("Mozilla/5.0")
        and bad_pw["event_uid"] == "9a1b2c3d-0000-11ee-8000-000000000001"
    )
    assert bad_pw["session_id"] == "idx00000001" and bad_pw["record_ref"] == "system_log.jsonl:1"
    assert (verify["status_code"], verify["user_exists"], verify["src_asn"], verify["src_asn_org"]) == (
        "VERIFICATION_ERROR",
        None,
        None,
        "example isp",
    )
    assert (ok["user_name"], ok["status_id"], ok["password_correct"]) == (
        "patti.fernandez@contoso.com",
        1,
        True,
    )
    assert (mfa["status_detail"], mfa["is_mfa"], mfa["auth_protocol"]) == ("MFA_FAILED", False, "otp")
    assert (sso["service_name"], sso["status_id"]) == ("Salesforce.com", 1)
    assert (lock["activity_name"], lock["status_detail"]) == ("account_lock", "ACCOUNT_LOCKED_OUT")
    assert (deny["status_detail"], deny["src_is_proxy"]) == ("BLOCKED_BY_POLICY", True)


def test_array_export_matches_ndjson_and_paths_agree():
    arr, t1 = read(FIX / "system_log.json")
    nd, t2 = read(FIX / "system_log.jsonl")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "record_ref"} for r in rows]  # noqa: E731
    assert drop(arr) == drop(nd) and (t1.ignored, t1.quarantined) == (t2.ignored, t2.quarantined)
    for name in ("system_log.json", "system_log.jsonl"):
        assert read(FIX / name)[0] == read(FIX / name, force_python=True)[0]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 16000), junk=st.binary(max_size=200))
def test_property_damaged_system_log(tmp_path, cut, junk):
    data = (FIX / "system_log.jsonl").read_bytes()
    path = tmp_path / "okta.jsonl"
    path.write_bytes(data[:cut] + junk + data[cut:])
    rows, tally = read(path)
    slow, t2 = read(path, force_python=True)
    assert rows == slow and tally.quarantined == t2.quarantined and tally.ignored == t2.ignored
    lines = [x for x in (data[:cut] + junk + data[cut:]).split(b"\n") if x.strip(b" \t\r")]
    assert len(rows) + tally.ignored + tally.quarantined >= min(len(lines), 1)
