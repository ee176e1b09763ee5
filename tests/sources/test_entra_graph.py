"""Graph signIn JSON: field-by-field mapping, every layout (NDJSON, pages, arrays, pretty),
fast path vs robust path agreement, and hostile input that must never crash or lose a record."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_graph
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import json_duckdb
from nightowl.sources.records.json_duckdb import read_json_records

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "entra"
SRC = entra_graph.SOURCES[0]


def read(path: Path, *, force_python: bool = False, opts: ReadOptions | None = None, gz: bool = False):
    tally = Tally()
    inp = InputFile(path.name, path, gzip=gz)
    batches = list(
        read_json_records(inp, tally, opts or ReadOptions(), entra_graph.GRAPH, force_python=force_python)
    )
    for b in batches:
        assert b.schema == AUTH_SCHEMA
        assert b.num_rows <= 100_000
    rows = pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist()
    return rows, tally


def by_user(rows):
    return {r["user_name"]: r for r in rows}


def test_v1_ndjson_field_by_field():
    rows, tally = read(FIX / "graph_v1.jsonl")
    assert len(rows) == 11
    assert tally.ignored == 0
    assert [(q.position, q.reason) for q in tally.quarantine] == [
        ("line 13", "no parseable time"),
        ("line 14", "no user name"),
        ("line 15", "invalid JSON"),
        ("line 16", "not a JSON object"),
    ]
    assert tally.quarantine[2].excerpt.startswith('{"id": "truncated"')
    u = by_user(rows)
    adele = u["adele.vance@contoso.com"]  # upper-case UPN lowercased
    assert adele["time"] == dt.datetime(2024, 3, 1, 10, 0)
    assert adele["record_ref"] == "graph_v1.jsonl:1"
    assert adele["event_uid"] == "a0b1c2d3-0000-4000-8000-000000000001"
    assert adele["session_id"] == "c0b1c2d3-0000-4000-8000-000000000001"
    assert (adele["status_id"], adele["status_code"], adele["status_detail"]) == (1, "0", "SUCCESS")
    assert adele["password_correct"] is True and adele["user_exists"] is True
    assert adele["is_mfa"] is True  # mfaDetail.authMethod / "MFA successfully completed"
    assert adele["device_id"] == "d3f1c2a0-1111-4222-8333-444455556666" and adele["is_managed"] is True
    assert (adele["src_country"], adele["src_city"]) == ("NL", "Amsterdam")
    assert (adele["src_lat"], adele["src_lon"]) == (52.37, 4.89)  # location.geoCoordinates
    assert adele["service_name"] == "Office 365 Exchange Online"
    assert adele["logon_type"] == "interactive" and adele["source_format"] == "entra-graph-json"

    spray = u["svc-test@contoso.com"]
    assert (spray["status_id"], spray["status_code"], spray["status_detail"]) == (
        2,
        "50126",
        "INVALID_CREDENTIALS",
    )
    assert spray["password_correct"] is False and spray["user_exists"] is True
    assert (
        spray["client_app"] == "IMAP4"
        and spray["is_legacy_protocol"] is True
        and spray["auth_protocol"] == "basic"
    )
    assert spray["src_endpoint_ip"] == "198.51.100.7" and spray["device_id"] is None  # "" -> null

    ghost = u["nobody@contoso.com"]
    assert (ghost["status_detail"], ghost["user_exists"], ghost["password_correct"]) == (
        "USER_DOES_NOT_EXIST",
        False,
        False,
    )
    assert u["alex.wilber@contoso.com"]["status_detail"] == "ACCOUNT_LOCKED_OUT"
    assert u["alex.wilber@contoso.com"]["is_legacy_protocol"] is True  # "Other clients"
    ip_block = u["diego.siciliani@contoso.com"]  # 50053 from a malicious IP is not a lockout
    assert (ip_block["status_code"], ip_block["status_detail"], ip_block["user_exists"]) == (
        "50053",
        "BLOCKED_BY_POLICY",
        None,
    )
    assert (
        u["grady.archie@contoso.com"]["status_detail"],
        u["grady.archie@contoso.com"]["password_correct"],
    ) == ("MFA_REQUIRED", True)
    assert (
        u["henrietta.mueller@contoso.com"]["status_detail"],
        u["henrietta.mueller@contoso.com"]["password_correct"],
    ) == ("MFA_FAILED", True)
    assert (
        u["isaiah.langer@contoso.com"]["status_detail"],
        u["isaiah.langer@contoso.com"]["password_correct"],
    ) == ("BLOCKED_BY_POLICY", True)
    kmsi = u["johanna.lorenz@contoso.com"]  # an interruption after a correct password
    assert (kmsi["status_id"], kmsi["status_detail"], kmsi["password_correct"]) == (2, "OTHER", True)
    other = u["lee.gu@contoso.com"]
    assert (other["status_detail"], other["password_correct"], other["logon_type"]) == (
        "OTHER",
        None,
        "non_interactive",
    )
    assert other["client_app"] == "Exchange ActiveSync" and other["is_legacy_protocol"] is True
    assert (
        u["megan.bowen@contoso.com"]["status_detail"],
        u["megan.bowen@contoso.com"]["password_correct"],
    ) == ("PASSWORD_EXPIRED", True)


def test_beta_fields_and_every_layout_gives_the_same_rows():
    layouts = ["graph_beta_pages.json", "graph_beta_pages.jsonl", "graph_beta_array.json"]
    results = {name: read(FIX / name) for name in layouts}
    for name, (rows, tally) in results.items():
        assert len(rows) == 3 and tally.quarantined == 0 and tally.ignored == 0, name
    strip = [[{k: v for k, v in r.items() if k != "record_ref"} for r in results[n][0]] for n in layouts]
    assert strip[0] == strip[1] == strip[2]
    rows = results["graph_beta_pages.jsonl"][0]
    assert [r["record_ref"] for r in rows] == [
        "graph_beta_pages.jsonl:1:1",
        "graph_beta_pages.jsonl:1:2",
        "graph_beta_pages.jsonl:2:1",
    ]
    ropc, device_code, saml = rows
    assert ropc["time"] == dt.datetime(2024, 3, 2, 8, 15, 30, 123456)  # 7 fractional digits
    assert ropc["user_name"] == "pattif@contoso.com" and ropc["src_endpoint_ip"] == "2001:db8::5"
    assert (ropc["auth_protocol"], ropc["is_legacy_protocol"], ropc["logon_type"]) == (
        "ropc",
        True,
        "non_interactive",
    )
    assert (ropc["user_agent"], ropc["src_asn"], ropc["is_mfa"]) == ("BAV2ROPC", 64500, False)
    assert ropc["tenant_id"] == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert device_code["time"] == dt.datetime(2024, 3, 2, 7, 16)  # +01:00 converted to UTC
    assert (device_code["auth_protocol"], device_code["user_type"], device_code["logon_type"]) == (
        "device_code",
        "guest",
        "interactive",
    )
    assert (saml["auth_protocol"], saml["is_mfa"]) == ("saml", True)
    # pretty-printed array: each record points at the line where it starts
    assert results["graph_beta_array.json"][0][0]["record_ref"] == "graph_beta_array.json:2"


@pytest.mark.parametrize(
    "name", ["graph_v1.jsonl", "graph_beta_pages.jsonl", "graph_beta_pages.json", "graph_beta_array.json"]
)
def test_fast_and_python_paths_agree_on_fixtures(name):
    fast, t1 = read(FIX / name)
    slow, t2 = read(FIX / name, force_python=True)
    assert fast == slow
    assert [(q.position, q.reason, q.excerpt) for q in t1.quarantine] == [
        (q.position, q.reason, q.excerpt) for q in t2.quarantine
    ]


def test_gzip_input(tmp_path):
    gz = tmp_path / "signins.jsonl.gz"
    gz.write_bytes(gzip.compress((FIX / "graph_v1.jsonl").read_bytes()))
    rows, tally = read(gz, gz=True)
    plain, _ = read(FIX / "graph_v1.jsonl")
    assert [r["user_name"] for r in rows] == [r["user_name"] for r in plain]
    assert tally.quarantined == 4


def test_hostile_bytes_fall_back_and_keep_every_line(tmp_path):
    good = (FIX / "graph_v1.jsonl").read_text().splitlines()[0]
    data = "\n".join([good, good.replace("Adele", "Ad\udcffele", 1), good]).encode("utf-8", "surrogateescape")
    data += b"\n" + good.encode().replace(b"Vance", b"Va\rnce") + b"\n" + b"x\x01y\x00\n"
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(data)
    rows, tally = read(path)
    # invalid UTF-8 is replaced, not fatal; the CR inside a string and the control bytes are invalid JSON
    assert len(rows) == 3
    assert {q.position for q in tally.quarantine} == {"line 4", "line 5"}
    assert len(rows) + tally.ignored + tally.quarantined == 5


def test_oversized_line_is_quarantined_not_parsed(tmp_path):
    good = (FIX / "graph_v1.jsonl").read_text().splitlines()[0]
    big = good[:-1] + ', "pad": "' + "x" * 5000 + '"}'
    path = tmp_path / "big.jsonl"
    path.write_text(good + "\n" + big + "\n" + good + "\n")
    for force in (False, True):
        rows, tally = read(path, opts=ReadOptions(max_line_bytes=4096), force_python=force)
        assert len(rows) == 2 and tally.quarantined == 1
        assert tally.quarantine[0].position == "line 2" and "longer than 4096" in tally.quarantine[0].reason


def test_truncated_pretty_array_quarantines_the_rest(tmp_path):
    text = (FIX / "graph_beta_array.json").read_text()
    path = tmp_path / "cut.json"
    third = text.index('"a0b1c2d3-0000-4000-8000-000000000023"')
    path.write_text(text[: third + 20])  # cut inside the third record
    rows, tally = read(path)
    assert len(rows) == 2 and tally.quarantined == 1
    assert "ends inside" in tally.quarantine[0].reason


# ---- property tests ------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_code = st.sampled_from(
    [0, 50126, 50034, 50053, 50055, 50074, 500121, 53003, 50140, 12345, None, "50126", "x"]
)
_time = st.one_of(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    ),
    st.sampled_from(["2024-03-01T10:00:00Z", "2024-03-01T10:00:00+02:00", "", "nope", None]),
)
_signin = st.fixed_dictionaries(
    {
        "id": _text,
        "createdDateTime": _time,
        "userPrincipalName": st.one_of(st.none(), _text, st.just("A.User@Contoso.com")),
        "clientAppUsed": st.sampled_from(
            ["Browser", "IMAP4", "Other clients", "Exchange ActiveSync", "", None]
        ),
        "authenticationProtocol": st.sampled_from(["ropc", "oAuth2", "none", "deviceCode", None]),
        "authenticationRequirement": st.sampled_from(
            ["singleFactorAuthentication", "multiFactorAuthentication", None]
        ),
        "isInteractive": st.one_of(st.none(), st.booleans()),
        "autonomousSystemNumber": st.one_of(st.none(), st.integers(0, 2**32)),
        "status": st.fixed_dictionaries({"errorCode": _code, "failureReason": st.one_of(st.none(), _text)}),
        "location": st.fixed_dictionaries({"city": _text, "countryOrRegion": _text}),
        "deviceDetail": st.fixed_dictionaries(
            {"deviceId": _text, "isManaged": st.one_of(st.none(), st.booleans())}
        ),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_signin, max_size=20), layout=st.sampled_from(["ndjson", "array", "page", "pretty"]))
def test_property_fast_and_python_paths_agree(tmp_path, records, layout):
    if layout == "ndjson":
        text = "".join(json.dumps(r) + "\n" for r in records)
    elif layout == "array":
        text = json.dumps(records) + "\n"
    elif layout == "page":
        text = json.dumps({"@odata.context": "x", "value": records}) + "\n"
    else:
        text = json.dumps(records, indent=2) + "\n"
    path = tmp_path / f"p-{layout}.json"
    path.write_text(text)
    fast, t1 = read(path)
    slow, t2 = read(path, force_python=True)
    assert fast == slow
    assert (t1.quarantined, t1.ignored) == (t2.quarantined, t2.ignored)
    assert len(fast) + t1.quarantined + t1.ignored == len(records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=3000), cut=st.integers(0, 4000), mix=st.lists(st.binary(max_size=40), max_size=5)
)
def test_property_garbage_never_crashes(tmp_path, data, cut, mix):
    good = (FIX / "graph_v1.jsonl").read_bytes()
    blob = good[:cut] + data + b"\n".join(mix) + good[cut:]
    path = tmp_path / "g.jsonl"
    path.write_bytes(blob)
    rows, tally = read(path)
    nonblank = sum(1 for line in blob.split(b"\n") if line.strip(b" \t\r"))
    assert tally.ignored == 0
    # every non-blank line is a row or quarantined (a line holding an array may hold several)
    assert len(rows) + tally.quarantined >= min(1, nonblank)
    assert all(r["user_name"] and r["time"] for r in rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
        max_leaves=20,
    )
)
def test_property_random_json_lines(tmp_path, doc):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    fast, t1 = read(path)
    slow, t2 = read(path, force_python=True)
    assert fast == slow and t1.quarantined == t2.quarantined
    if isinstance(doc, list):
        per_line = len(doc)  # an array on a line: each element is a record
    elif isinstance(doc, dict) and isinstance(doc.get("value"), list):
        per_line = len(doc["value"])  # a Graph page
    else:
        per_line = 1
    assert len(fast) + t1.quarantined + t1.ignored == 2 * per_line


@pytest.mark.slow
def test_line_numbers_stay_right_on_a_file_duckdb_reads_in_parallel(tmp_path):
    """The fast path numbers lines by the order of its staged rows; on a file big enough for a
    parallel scan every record_ref must still name the line the record is on."""
    base = json.loads((FIX / "graph_v1.jsonl").read_text().splitlines()[0])
    path = tmp_path / "big.jsonl"
    start = dt.datetime(2024, 1, 1)
    with open(path, "w") as fh:
        for i in range(60_000):
            base["createdDateTime"] = (start + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            base["padding"] = "p" * 600
            fh.write(json.dumps(base) + "\n")
    rows, tally = read(path)
    assert len(rows) == 60_000 and tally.quarantined == 0
    for r in rows:
        line = int(r["record_ref"].rsplit(":", 1)[1])
        assert r["time"] == start + dt.timedelta(seconds=line - 1)


def test_one_line_array_larger_than_the_sniff_window(tmp_path):
    """ConvertTo-Json -Compress of a whole export: one line, no newline, bigger than any head."""
    base = json.loads((FIX / "graph_v1.jsonl").read_text().splitlines()[1])
    records = [dict(base, id=f"id-{i}", padding="p" * 1000) for i in range(150)]
    path = tmp_path / "compressed.json"
    path.write_text(json.dumps(records))
    assert len(path.read_bytes()) > 64 * 1024
    rows, tally = read(path, opts=ReadOptions(max_line_bytes=64 * 1024))
    assert len(rows) == 150 and tally.quarantined == 0
    assert [r["event_uid"] for r in rows] == [f"id-{i}" for i in range(150)]


def test_glob_characters_in_the_file_name_never_open_another_file(tmp_path):
    (tmp_path / "ab.jsonl").write_text("not json at all\n")
    target = tmp_path / "a?.jsonl"
    target.write_bytes((FIX / "graph_v1.jsonl").read_bytes())
    rows, tally = read(target)
    assert len(rows) == 11 and tally.quarantined == 4


@pytest.mark.parametrize("name", ["graph_v1.jsonl", "graph_beta_pages.jsonl", "a?.jsonl"])
def test_clean_ndjson_takes_the_duckdb_path(tmp_path, monkeypatch, name):
    """Agreement tests mean nothing if the fast path silently fell back: forbid the fallback."""
    path = tmp_path / name
    path.write_bytes((FIX / ("graph_v1.jsonl" if "?" in name else name)).read_bytes())

    def boom(*_a, **_k):
        raise AssertionError("fell back to the Python splitter")

    monkeypatch.setattr(json_duckdb, "python_lines", boom)
    rows, _ = read(path)
    assert rows


def test_mfa_from_authentication_details_only(tmp_path):
    """A success whose only MFA evidence is an authenticationDetails step (claim in the token)."""
    base = json.loads((FIX / "graph_v1.jsonl").read_text().splitlines()[0])
    base["mfaDetail"] = {"authMethod": None, "authDetail": None}
    claim = dict(base, authenticationRequirement="singleFactorAuthentication")
    claim["authenticationDetails"] = [
        {
            "authenticationMethod": "Previously satisfied",
            "succeeded": True,
            "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token",
        }
    ]
    single = dict(claim, authenticationDetails=[{"authenticationMethod": "Password", "succeeded": True}])
    failed = dict(claim, status={"errorCode": 50126, "failureReason": "x"})  # MFA text on a failure: not MFA
    path = tmp_path / "mfa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (claim, single, failed)))
    for force in (False, True):
        rows, _ = read(path, force_python=force)
        assert [r["is_mfa"] for r in rows] == [True, False, False]
