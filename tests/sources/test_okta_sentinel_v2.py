"""Microsoft Sentinel's OktaV2_CL (the Okta Single Sign-On CCP connector, OktaSSOv2: a data collection
rule renames the LogEvent's fields into ASIM-like columns) is read by the native reader's own mapping:
every native fixture event, put through the connector's documented transform (tests/sources/okta_v2.py),
gives the same normalized row; the fixture (the Okta_CL fixture's events through that transform) is read
field by field, as JSON and as the portal's CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import sources
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import okta
from nightowl.sources.base import InputFile, ReadOptions, Tally
from tests.sources.okta_v2 import to_v2
from tests.sources.test_okta_sentinel import EVENTS

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "okta"
NATIVE, SENT_JSON, SENT_CSV, V2_JSON, V2_CSV = okta.SOURCES
NO_DEVICE = ("device_id", "is_managed")  # OktaV2_CL keeps no device object


def read(src, path: Path) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(src.read(InputFile(path.name, path), tally, ReadOptions()))
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist(), tally


def comparable(rows: list[dict]) -> list[dict]:
    return [
        {k: (None if k in NO_DEVICE else v) for k, v in r.items() if k not in ("source_format", "record_ref")}
        for r in rows
    ]


def outcome(tally: Tally) -> tuple:
    return tally.ignored, [q.reason for q in tally.quarantine]


def write_csv(path: Path, rows: list[dict]) -> None:
    cols = list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c + " [UTC]" if c == "TimeGenerated" else c for c in cols])
    for r in rows:
        writer.writerow(
            ["" if r[c] is None else str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in cols]
        )
    path.write_text(buf.getvalue())


@pytest.mark.parametrize("dynamic_as_text", [True, False])
def test_every_native_event_through_the_connector_reads_the_same(tmp_path, dynamic_as_text):
    native_path = FIX / "system_log.json"
    want, want_tally = read(NATIVE, native_path)
    v2 = tmp_path / "oktav2.json"
    v2.write_text(
        json.dumps([to_v2(r, dynamic_as_text) for r in json.loads(native_path.read_text())], indent=2)
    )
    assert sources.detect(InputFile(v2.name, v2)).name == "okta-sentinel-v2-json"
    got, tally = read(V2_JSON, v2)
    assert comparable(got) == comparable(want)
    assert {r["source_format"] for r in got} == {"okta-sentinel-v2-json"}
    assert outcome(tally) == outcome(want_tally)


def test_the_fixture_field_by_field_and_as_okta_cl_reads_it():
    rows, tally = read(V2_JSON, FIX / "sentinel_oktav2_cl.json")
    cl_rows, cl_tally = read(SENT_JSON, FIX / "sentinel_okta_cl.json")
    assert comparable(rows) == comparable(cl_rows)  # the same events, as the older connector stored them
    assert outcome(tally) == outcome(cl_tally)
    assert dict(tally.ignored_reasons) == {okta.IGNORE_REASON: 2}
    assert [q.reason for q in tally.quarantine] == ["no user name"]  # the 'unknown' actor
    bad_pw, pw_factor, ok, mfa, sso, unknown_user, lock = rows
    assert bad_pw["time"] == datetime(2024, 3, 5, 12, 0)  # TimeGenerated is published here
    assert (bad_pw["user_name"], bad_pw["status_detail"], bad_pw["password_correct"]) == (
        "patti.fernandez@contoso.com", "INVALID_CREDENTIALS", False,
    )  # fmt: skip
    assert (bad_pw["src_asn"], bad_pw["src_asn_org"], bad_pw["src_is_proxy"], bad_pw["src_lon"]) == (
        64510, "Example Hosting", True, 8.6821,
    )  # fmt: skip
    assert (
        bad_pw["event_uid"] == "62c3328c-9f9e-11ea-86e9-000000000001"
        and bad_pw["session_id"] == "idx00000001"
    )
    # DebugData's factor: auth_via_mfa with PASSWORD_AS_FACTOR is a password check, not MFA
    assert (pw_factor["status_detail"], pw_factor["password_correct"], pw_factor["is_mfa"]) == (
        "INVALID_CREDENTIALS", False, None,
    )  # fmt: skip
    assert ok["status_id"] == 1 and ok["src_asn"] is None and ok["src_is_proxy"] is False
    assert mfa["is_mfa"] is True and sso["service_name"] == "Salesforce.com"  # OriginalTarget's AppInstance
    assert (
        unknown_user["status_code"] == "VERIFICATION_ERROR" and lock["status_detail"] == "ACCOUNT_LOCKED_OUT"
    )


def test_the_portal_csv_reads_like_the_json_and_each_export_has_one_reader():
    js, js_tally = read(V2_JSON, FIX / "sentinel_oktav2_cl.json")
    rows, tally = read(V2_CSV, FIX / "sentinel_oktav2_cl.csv")
    assert comparable(rows) == comparable(js) and outcome(tally) == outcome(js_tally)
    for name, fmt in [
        ("sentinel_oktav2_cl.csv", "okta-sentinel-v2-csv"),
        ("sentinel_oktav2_cl.json", "okta-sentinel-v2-json"),
        ("sentinel_okta_cl.csv", "okta-sentinel-csv"),
        ("sentinel_okta_cl.json", "okta-sentinel-json"),
        ("system_log.json", "okta-system-log"),
    ]:
        head = InputFile(name, FIX / name).head()
        assert [s.name for s in sources.all_sources() if s.sniff(head, name)] == [fmt]


def test_debug_data_as_an_object_or_text_and_a_missing_one(tmp_path):
    base = json.loads((FIX / "sentinel_oktav2_cl.json").read_text())[1]  # the password-as-factor failure
    as_object = {**base, "DebugData": json.loads(base["DebugData"])}
    missing = {**base, "DebugData": None, "EventOriginalUid": "x-2"}
    broken = {**base, "DebugData": "{not json", "EventOriginalUid": "x-3"}
    path = tmp_path / "v2.json"
    path.write_text(json.dumps([base, as_object, missing, broken]))
    rows, tally = read(V2_JSON, path)
    assert not tally.quarantine
    assert [r["status_detail"] for r in rows] == ["INVALID_CREDENTIALS"] * 2 + ["MFA_FAILED"] * 2


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EVENTS, st.lists(st.sampled_from([None, True, False]), min_size=6, max_size=6))
def test_json_and_csv_exports_of_any_events_agree_with_the_native_reader(tmp_path_factory, events, proxies):
    tmp = tmp_path_factory.mktemp("oktav2")
    native = [
        {"uuid": f"e{i}", "published": f"2024-03-05T12:{i:02d}:00.000Z", "eventType": e["event"],
         "actor": {"alternateId": e["user"], "type": "User"},
         "outcome": {"result": e["result"], "reason": e["reason"] or None},
         "client": {"ipAddress": "198.51.100.9"}, "securityContext": {"isProxy": proxy, "asNumber": 64500}}
        for i, (e, proxy) in enumerate(zip(events, proxies, strict=False))
    ]  # fmt: skip
    (tmp / "native.json").write_text(json.dumps(native))
    want, want_tally = read(NATIVE, tmp / "native.json")
    v2 = [to_v2(r) for r in native]
    (tmp / "v2.json").write_text(json.dumps(v2))
    got, tally = read(V2_JSON, tmp / "v2.json")
    assert comparable(got) == comparable(want) and outcome(tally) == outcome(want_tally)
    write_csv(tmp / "v2.csv", v2)
    got_csv, tally_csv = read(V2_CSV, tmp / "v2.csv")
    assert comparable(got_csv) == comparable(want) and outcome(tally_csv) == outcome(want_tally)
