"""Microsoft Sentinel's Okta_CL (the Okta System Log as the Log Analytics Data Collector API stores
it: nested keys joined by '_', a type suffix per column, arrays as JSON text) is read by the native
reader's own mapping: every native fixture event, flattened the documented way, gives the same
normalized row; the fixture with the column set of Azure-Sentinel's Sample Data/Custom/Okta_CL.json
is read field by field, as JSON and as the portal's CSV (local slash dates under '[UTC]' headers)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import sources
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import okta
from nightowl.sources.base import InputFile, ReadOptions, Tally

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "okta"
NATIVE, SENT_JSON, SENT_CSV = okta.SOURCES[:3]
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def read(src, path: Path) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(src.read(InputFile(path.name, path), tally, ReadOptions()))
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist(), tally


def flatten(rec: dict[str, Any], style: str, prefix: str = "") -> dict[str, Any]:
    """The Data Collector API's flattening: objects joined by '_', arrays as JSON text (_s); a string
    that is a GUID is _g, an ISO time _t, any other _s; numbers _d, booleans _b. ``style``: how the
    export writes the values ('text': every value as text, booleans TRUE/FALSE as in the Sentinel
    sample; 'json': numbers and booleans as JSON)."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, style, name + "_"))
        elif isinstance(value, list):
            out[name + "_s"] = json.dumps(value, indent=2).replace("\n", "\r\n")
        elif value is None:
            continue
        elif isinstance(value, bool):
            out[name + "_b"] = value if style == "json" else str(value).upper()
        elif isinstance(value, int | float):
            out[name + "_d"] = value if style == "json" else str(float(value))
        elif GUID.match(value):
            out[name + "_g"] = value
        elif ISO.match(value):
            out[name + "_t"] = value
        else:
            out[name + "_s"] = value
    return out


def sentinel_rows(recs: list[dict], style: str) -> list[dict]:
    return [
        {"TenantId": "a123456z-a123-1234-1234-1234aabbcc56", "TimeGenerated": "2099-01-01T00:00:00Z",
         **flatten(r, style), "Type": "Okta_CL"}
        for r in recs
    ]  # fmt: skip


def _comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("source_format", "record_ref")} for r in rows]


@pytest.mark.parametrize("style", ["text", "json"])
def test_every_native_event_flattened_reads_the_same(tmp_path, style):
    native_path = FIX / "system_log.json"
    want, want_tally = read(NATIVE, native_path)
    flat = tmp_path / "okta_cl.json"
    flat.write_text(json.dumps(sentinel_rows(json.loads(native_path.read_text()), style), indent=2))
    assert sources.detect(InputFile(flat.name, flat)).name == "okta-sentinel-json"
    got, tally = read(SENT_JSON, flat)
    assert _comparable(got) == _comparable(want)
    assert {r["source_format"] for r in got} == {"okta-sentinel-json"}
    assert (tally.ignored, [q.reason for q in tally.quarantine]) == (
        want_tally.ignored,
        [q.reason for q in want_tally.quarantine],
    )


def test_the_sentinel_sample_layout_field_by_field():
    rows, tally = read(SENT_JSON, FIX / "sentinel_okta_cl.json")
    # sms factor message and sign-on policy evaluation: not authentication events; the 'unknown' actor
    assert dict(tally.ignored_reasons) == {okta.IGNORE_REASON: 2}
    assert [q.reason for q in tally.quarantine] == ["no user name"]
    bad_pw, pw_factor, ok, mfa, sso, unknown_user, lock = rows
    # published_t, not TimeGenerated (the ingestion time, minutes later)
    assert bad_pw["time"] == datetime(2024, 3, 5, 12, 0)
    assert (bad_pw["user_name"], bad_pw["status_detail"], bad_pw["password_correct"]) == (
        "patti.fernandez@contoso.com",
        "INVALID_CREDENTIALS",
        False,
    )
    assert (bad_pw["src_asn"], bad_pw["src_asn_org"], bad_pw["src_is_proxy"]) == (
        64510,
        "Example Hosting",
        True,
    )
    assert (bad_pw["src_city"], bad_pw["src_country"], bad_pw["src_lat"], bad_pw["src_lon"]) == (
        "Frankfurt am Main",
        "Germany",
        50.1109,
        8.6821,
    )
    assert (
        bad_pw["event_uid"] == "62c3328c-9f9e-11ea-86e9-000000000001"
        and bad_pw["session_id"] == "idx00000001"
    )
    assert bad_pw["user_agent"].startswith("Mozilla/5.0") and bad_pw["client_app"] == "user.session.start"
    # auth_via_mfa with PASSWORD_AS_FACTOR is a password check, not MFA
    assert (pw_factor["status_detail"], pw_factor["password_correct"], pw_factor["is_mfa"]) == (
        "INVALID_CREDENTIALS",
        False,
        None,
    )
    # "null" coordinates, an empty ASN and org: no value
    assert (ok["status_id"], ok["src_lat"], ok["src_asn"], ok["src_asn_org"], ok["src_is_proxy"]) == (
        1,
        None,
        None,
        None,
        False,
    )
    assert mfa["is_mfa"] is True and sso["service_name"] == "Salesforce.com"
    assert (unknown_user["user_name"], unknown_user["status_code"]) == (
        "nobody@contoso.com",
        "VERIFICATION_ERROR",
    )
    assert lock["status_detail"] == "ACCOUNT_LOCKED_OUT"


def test_the_portal_csv_reads_like_the_json():
    js, js_tally = read(SENT_JSON, FIX / "sentinel_okta_cl.json")
    rows, tally = read(SENT_CSV, FIX / "sentinel_okta_cl.csv")
    assert _comparable(rows) == _comparable(js)
    assert (tally.ignored, tally.quarantined) == (js_tally.ignored, js_tally.quarantined)
    head = InputFile("x.csv", FIX / "sentinel_okta_cl.csv").head()
    assert [s.name for s in sources.all_sources() if s.sniff(head, "x.csv")] == ["okta-sentinel-csv"]


def test_time_generated_when_published_is_missing(tmp_path):
    rec = {"TimeGenerated": "2020-05-26T22:20:03.402Z", "eventType_s": "user.session.start",
           "outcome_result_s": "SUCCESS", "actor_alternateId_s": "a@contoso.com", "uuid_g": "u-1"}  # fmt: skip
    path = tmp_path / "okta.json"
    path.write_text(json.dumps([rec]))
    (row,), _ = read(SENT_JSON, path)
    assert row["time"] == datetime(2020, 5, 26, 22, 20, 3, 402000)


def test_a_value_under_a_second_suffix_is_found(tmp_path):
    """A column whose later values have another type: Log Analytics adds a column with that suffix."""
    rec = {"published_t": "2020-05-26T22:15:24.061Z", "eventType_s": "user.session.start",
           "outcome_result_s": "FAILURE", "outcome_reason_s": "INVALID_CREDENTIALS",
           "actor_alternateId_s": "a@contoso.com", "securityContext_asNumber_s": "AS10993",
           "securityContext_asNumber_d": "10993", "client_ipAddress_s": "", "client_ipAddress_g": "",
           "securityContext_isProxy_s": "false"}  # fmt: skip
    path = tmp_path / "okta.json"
    path.write_text(json.dumps([rec]))
    (row,), _ = read(SENT_JSON, path)
    assert (row["src_asn"], row["src_endpoint_ip"], row["src_is_proxy"]) == (10993, None, False)


# any Okta events (also tests/sources/test_okta_sentinel_v2.py)
EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "user": st.text(
                st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20
            ).filter(
                # a CSV cell is read stripped (as the Log Analytics CSV reader reads it)
                lambda u: u == u.strip() and u and u.lower() != "unknown"
            ),
            "result": st.sampled_from(["SUCCESS", "FAILURE", "DENY", "CHALLENGE"]),
            "reason": st.sampled_from(["", "INVALID_CREDENTIALS", "LOCKED_OUT", "VERIFICATION_ERROR"]),
            "event": st.sampled_from(["user.session.start", "user.authentication.sso", "app.oauth2.token"]),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(EVENTS)
def test_json_and_csv_exports_of_any_events_agree_with_the_native_reader(tmp_path_factory, events):
    tmp = tmp_path_factory.mktemp("okta")
    native = [
        {"uuid": f"e{i}", "published": f"2024-03-05T12:{i:02d}:00.000Z", "eventType": e["event"],
         "actor": {"alternateId": e["user"], "type": "User"}, "outcome": {"result": e["result"], "reason": e["reason"] or None},
         "client": {"ipAddress": "198.51.100.9"}}
        for i, e in enumerate(events)
    ]  # fmt: skip
    (tmp / "native.json").write_text(json.dumps(native))
    want, _ = read(NATIVE, tmp / "native.json")
    flat = sentinel_rows(native, "text")
    (tmp / "okta_cl.json").write_text(json.dumps(flat))
    got, _ = read(SENT_JSON, tmp / "okta_cl.json")
    assert _comparable(got) == _comparable(want)
    cols = sorted({k for r in flat for k in r})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c + " [UTC]" if c.endswith("_t") or c == "TimeGenerated" else c for c in cols])
    for r in flat:
        writer.writerow([r.get(c, "") for c in cols])
    (tmp / "okta_cl.csv").write_text(buf.getvalue())
    got_csv, _ = read(SENT_CSV, tmp / "okta_cl.csv")
    assert _comparable(got_csv) == _comparable(want)
