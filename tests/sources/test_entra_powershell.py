"""Graph PowerShell SDK sign-ins (Get-MgAuditLogSignIn | ConvertTo-Json): every shape PowerShell
writes (7 and 5.1, UTF-8 and UTF-16, array, single object, -Compress, one object per line) gives
the rows the Graph REST export of the same sign-ins gives; -Depth cuts are quarantined with the
fix, never misread; the CLI detects, ingests and hunts it; garbage never crashes or loses a record."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import sources
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_graph, entra_powershell
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIX = FIXTURES / "entra_powershell"
SRC = entra_powershell.SOURCES[0]
PS_FILES = ["signins_ps7.json", "signins_ps7_compress.json", "signins_ps51_v1.json", "signin_ps7_single.json"]


def read(path: Path, source=SRC, *, gz: bool = False):
    tally = Tally()
    batches = list(source.read(InputFile(path.name, path, gzip=gz), tally, ReadOptions()))
    for b in batches:
        assert b.schema == AUTH_SCHEMA
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist(), tally


def strip(rows):
    return [{k: v for k, v in r.items() if k != "record_ref"} for r in rows]


def rest_rows():
    rows, tally = read(FIX / "signins_rest.json", entra_graph.SOURCES[0])
    assert len(rows) == 6 and tally.quarantined == tally.ignored == 0
    return rows


def ps_records() -> list[dict]:
    """The PowerShell 7 array fixture as objects (PascalCase, as ConvertTo-Json wrote them)."""
    return json.loads((FIX / "signins_ps7.json").read_text())


def ps51_bytes(doc) -> bytes:
    """Windows PowerShell 5.1 ``ConvertTo-Json | Out-File``: UTF-16 LE with BOM, CRLF."""
    text = json.dumps(doc, indent=4).replace('": ', '":  ').replace("\n", "\r\n")
    return b"\xff\xfe" + text.encode("utf-16-le")


def ms_date(iso: str) -> str:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"/Date({(when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)})/"


# ---- the same sign-ins, every PowerShell shape ----------------------------------------------


@pytest.mark.parametrize("name", PS_FILES)
def test_powershell_export_gives_exactly_the_rest_rows(name):
    rows, tally = read(FIX / name)
    assert tally.quarantined == tally.ignored == 0
    expected = strip(rest_rows())[: len(rows)]  # the single-object export holds the first sign-in
    assert strip(rows) == expected
    assert len(rows) == (1 if "single" in name else 6)
    assert sources.detect(InputFile(name, FIX / name)).name == "entra-graph-powershell"


def test_the_fixtures_are_what_each_powershell_writes():
    """Guard the fixtures themselves: encodings, date styles and layouts are the ones under test."""
    ps51 = (FIX / "signins_ps51_v1.json").read_bytes()
    assert ps51.startswith(b"\xff\xfe[\x00\r\x00\n\x00")  # UTF-16 LE BOM, CRLF
    text51 = ps51.decode("utf-16")
    assert '"CreatedDateTime":  "\\/Date(1704449472000)\\/"' in text51  # 2024-01-05T10:11:12Z
    assert '"IPAddress":  "203.0.113.10"' in text51 and '"createdDateTime"' not in text51
    assert '"AdditionalProperties":  {\r\n            "userType"' in text51  # v1.0 model: beta fields here
    ps7 = (FIX / "signins_ps7.json").read_bytes()
    assert ps7[:1] == b"[" and b'"CreatedDateTime": "2024-01-05T10:11:12Z"' in ps7
    assert (FIX / "signins_ps7_compress.json").read_bytes().count(b"\n") == 1
    assert (FIX / "signin_ps7_single.json").read_bytes()[:1] == b"{"


def test_field_by_field_through_the_powershell_names():
    rows, _ = read(FIX / "signins_ps51_v1.json")
    adele, alex, _megan, nobody, lee, patti = rows
    assert adele["record_ref"] == "signins_ps51_v1.json:2"  # the line the record starts on
    assert adele["time"] == dt.datetime(2024, 1, 5, 10, 11, 12)  # \/Date(ms)\/ is UTC
    assert (adele["src_endpoint_ip"], adele["user_name"], adele["is_mfa"]) == (
        "203.0.113.10",  # IPAddress -> ipAddress
        "adelev@contoso.com",
        True,  # MfaDetail arrived in AdditionalProperties (v1.0 model)
    )
    assert (adele["src_country"], adele["src_city"], adele["is_managed"]) == ("NL", "Amsterdam", True)
    assert (alex["status_id"], alex["status_code"], alex["status_detail"]) == (
        2,
        "50126",
        "INVALID_CREDENTIALS",
    )
    assert alex["is_legacy_protocol"] is True and alex["src_asn"] == 64500
    assert nobody["status_detail"] == "USER_DOES_NOT_EXIST" and nobody["user_exists"] is False
    assert lee["time"] == dt.datetime(2024, 1, 5, 11, 2, 33, 457000)  # milliseconds kept
    assert (lee["logon_type"], lee["auth_protocol"]) == ("non_interactive", "ropc")  # from SignInEventTypes
    assert (patti["status_detail"], patti["user_type"], patti["auth_protocol"]) == (
        "BLOCKED_BY_POLICY",
        "guest",
        "device_code",
    )
    assert {r["source_format"] for r in rows} == {"entra-graph-json"}  # one family with the REST export


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16-le"),  # no BOM
        lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
        lambda t: "\ufeff".encode() + t.encode(),
    ],
    ids=["utf16le-no-bom", "utf16be-bom", "utf8-bom"],
)
def test_other_encodings(tmp_path, encode):
    path = tmp_path / "signins.json"
    path.write_bytes(encode((FIX / "signins_ps7.json").read_text()))
    assert SRC.sniff(InputFile(path.name, path).head(), path.name)
    rows, tally = read(path)
    assert strip(rows) == strip(rest_rows()) and tally.quarantined == 0


def test_gzip_of_a_ps51_export(tmp_path):
    path = tmp_path / "signins.json.gz"
    path.write_bytes(gzip.compress((FIX / "signins_ps51_v1.json").read_bytes()))
    rows, _ = read(path, gz=True)
    assert strip(rows) == strip(rest_rows())


def test_one_compressed_object_per_line_and_a_bad_line_costs_only_itself(tmp_path):
    lines = [json.dumps(r, separators=(",", ":")) for r in ps_records()]
    lines.insert(2, lines[2][:50])  # a line cut short
    path = tmp_path / "signins.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    rows, tally = read(path)
    assert strip(rows) == strip(rest_rows())
    assert [(q.position, q.reason) for q in tally.quarantine] == [("line 3", "invalid JSON")]


def test_ps51_value_count_wrapper_and_date_offsets(tmp_path):
    """5.1 sometimes writes an array as {"value": [...], "Count": n}; /Date(ms+hhmm)/ is still UTC ms."""
    recs = ps_records()
    for r in recs:
        r["CreatedDateTime"] = ms_date(r["CreatedDateTime"])[:-2] + "+0100)/"
    path = tmp_path / "wrapped.json"
    path.write_bytes(ps51_bytes({"value": recs, "Count": len(recs)}))
    rows, tally = read(path)
    assert strip(rows) == strip(rest_rows()) and tally.quarantined == 0


def test_additional_properties_never_override_a_declared_property(tmp_path):
    recs = ps_records()[:1]
    recs[0]["AdditionalProperties"] = {
        "userPrincipalName": "evil@example.com",
        "userAgent": "from-additional",
    }
    recs[0]["UserAgent"] = None
    path = tmp_path / "one.json"
    path.write_text(json.dumps(recs))
    (row,), _ = read(path)
    assert row["user_name"] == "adelev@contoso.com" and row["user_agent"] == "from-additional"


# ---- -Depth truncation ----------------------------------------------------------------------


def test_default_depth_export_is_refused_with_the_fix():
    with pytest.raises(InputError) as err:
        read(FIX / "signins_ps7_depth2.json")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("signins_ps7_depth2.json: every sign-in was cut")
    assert "ConvertTo-Json -Depth 10" in msg and "Get-MgAuditLogSignIn -All" in msg
    assert (
        sources.detect(InputFile("d.json", FIX / "signins_ps7_depth2.json")).name == "entra-graph-powershell"
    )


def test_a_cut_record_is_quarantined_and_cuts_in_unread_fields_change_nothing(tmp_path):
    recs = ps_records()
    recs[1]["Status"] = "Microsoft.Graph.PowerShell.Models.MicrosoftGraphSignInStatus"
    recs[2]["AuthenticationDetails"] = [
        "Microsoft.Graph.PowerShell.Models.MicrosoftGraphAuthenticationDetail"
    ]
    recs[3]["Location"]["GeoCoordinates"] = "Microsoft.Graph.PowerShell.Models.MicrosoftGraphGeoCoordinates"
    recs[0]["AppliedConditionalAccessPolicies"] = [
        "Microsoft.Graph.PowerShell.Models.MicrosoftGraphAppliedConditionalAccessPolicy"
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(recs, indent=2))
    starts = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line == "  {"]
    rows, tally = read(path)
    ref = strip(rest_rows())
    # a cut GeoCoordinates loses only the coordinates: the sign-in itself is kept
    assert rows[1]["src_lat"] is None and rows[1]["src_lon"] is None
    ref[3] = ref[3] | {"src_lat": None, "src_lon": None}
    assert strip(rows) == [ref[0], ref[3], ref[4], ref[5]]
    assert [q.position for q in tally.quarantine] == [f"line {starts[1]}", f"line {starts[2]}"]
    for q in tally.quarantine:
        assert "-Depth" in q.reason and "re-export with ConvertTo-Json -Depth 10" in q.reason
    assert tally.quarantine[0].reason.startswith('Status was cut to "Microsoft.Graph.PowerShell.Models.')
    assert tally.quarantine[0].excerpt.startswith(
        '{"Id":"5f1e2d3c-0000-4000-8000-000000000102","CreatedDateTime":"2024-01-05T10:15:00Z",'
        '"UserPrincipalName":"AlexW@contoso.com"'
    )
    assert len(rows) + tally.quarantined == len(recs)


def test_depth_zero_array_of_type_names_is_refused(tmp_path):
    path = tmp_path / "d0.json"
    path.write_text(json.dumps(["Microsoft.Graph.PowerShell.Models.MicrosoftGraphSignIn"] * 3))
    with pytest.raises(InputError, match="-Depth 10"):
        read(path)


# ---- sniffing and key names -----------------------------------------------------------------


def test_sniff_claims_powershell_exports_only():
    mine = {p.name for p in FIX.glob("*.json") if p.name != "signins_rest.json"}
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".md"):
            continue
        claimed = SRC.sniff(InputFile(path.name, path).head(), path.name)
        assert claimed == (path.parent == FIX and path.name in mine), path


def test_camel_case_of_every_graph_field_the_normalization_reads():
    for jpath in entra_graph.GRAPH_PATHS.values():
        for seg in jpath[2:].split("."):
            pascal = seg[:1].upper() + seg[1:]
            assert entra_powershell.camel(pascal) == seg == entra_powershell.camel(seg)
    assert entra_powershell.camel("IPAddress") == "ipAddress"
    assert entra_powershell.camel("IPAddressFromResourceProvider") == "ipAddressFromResourceProvider"
    assert entra_powershell.camel("RiskEventTypesV2") == "riskEventTypes_v2"
    assert entra_powershell.camel("Id") == "id" and entra_powershell.camel("@odata.type") == "@odata.type"


# ---- the command line ---------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "nightowl", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.fixture
def spray_ps51(tmp_path):
    """30 accounts, one wrong password each, from one address, as Windows PowerShell 5.1 writes it."""
    base = json.loads((FIX / "signins_ps7.json").read_text())[1]  # a 50126 from 198.51.100.7
    start = dt.datetime(2024, 1, 5, 10, 15, tzinfo=dt.UTC)
    recs = []
    for i in range(30):
        r = copy.deepcopy(base)
        r["Id"] = f"5f1e2d3c-0000-4000-8000-{i:012d}"
        r["UserPrincipalName"] = f"user{i}@contoso.com"
        r["CreatedDateTime"] = ms_date((start + dt.timedelta(seconds=7 * i)).isoformat())
        recs.append(r)
    path = tmp_path / "signins.json"
    path.write_bytes(ps51_bytes(recs))
    return path


def test_formats_lists_it_with_the_export_command():
    proc = run("formats")
    assert proc.returncode == 0
    assert "entra-graph-powershell" in proc.stdout
    assert "Get-MgAuditLogSignIn -All | ConvertTo-Json -Depth 10" in proc.stdout


def test_ingest_and_hunt_end_to_end(spray_ps51, tmp_path):
    db = tmp_path / "t.duckdb"
    proc = run("ingest", str(spray_ps51), "--store", str(db), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (inp,) = json.loads(proc.stdout)["inputs"]
    assert (inp["format"], inp["records"], inp["normalized"], inp["quarantined"]) == (
        "entra-graph-powershell",
        30,
        30,
        0,
    )
    hunted = run("hunt", str(spray_ps51), "--format", "json")
    assert hunted.returncode == 0, hunted.stderr
    doc = json.loads(hunted.stdout)
    assert doc["inputs"][0]["format"] == "entra-graph-powershell"
    spray = [f for f in doc["findings"] if f["detection"].startswith("spray.")]
    assert spray and spray[0]["source_ips"] == ["198.51.100.7"] and len(spray[0]["users"]) == 30


def test_cli_refuses_a_default_depth_export_in_one_line():
    proc = run("hunt", str(FIX / "signins_ps7_depth2.json"))
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "signins_ps7_depth2.json" in line and "-Depth 10" in line and "Traceback" not in proc.stderr


# ---- property tests -----------------------------------------------------------------------

_CUT = "Microsoft.Graph.PowerShell.Models.MicrosoftGraphSignInStatus"
_record = st.fixed_dictionaries(
    {
        "base": st.integers(0, 5),
        "cut": st.booleans(),
        "time": st.one_of(
            st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
                lambda d: ms_date(d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            ),
            st.sampled_from(["/Date(-99999999999999)/", "/Date(x)/", "", None, "2024-01-05T10:00:00+02:00"]),
        ),
        "upn": st.one_of(st.none(), st.text(max_size=10), st.just("A.User@Contoso.com")),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_record, max_size=12), shape=st.sampled_from(["ps7", "ps51", "compress", "lines"]))
def test_property_every_record_is_accounted_for(tmp_path, specs, shape):
    base = ps_records()
    recs = []
    for s in specs:
        r = copy.deepcopy(base[s["base"]])
        r["CreatedDateTime"], r["UserPrincipalName"] = s["time"], s["upn"]
        if s["cut"]:
            r["Status"] = _CUT
        recs.append(r)
    path = tmp_path / f"p-{shape}.json"
    if shape == "ps51":
        path.write_bytes(ps51_bytes(recs))
    elif shape == "compress":
        path.write_text(json.dumps(recs, separators=(",", ":")))
    elif shape == "lines":
        path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    else:
        path.write_text(json.dumps(recs, indent=2))
    cut = sum(s["cut"] for s in specs)
    if recs and cut == len(recs):
        with pytest.raises(InputError, match="-Depth 10"):
            read(path)
        return
    rows, tally = read(path)
    assert len(rows) + tally.quarantined + tally.ignored == len(recs)
    assert sum("-Depth 10" in q.reason for q in tally.quarantine) == cut
    assert all(r["user_name"] and r["time"] for r in rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from([*PS_FILES, "signins_ps7_depth2.json"]),
    cut=st.integers(0, 40000),
    junk=st.binary(max_size=200),
    keep_tail=st.booleans(),
)
def test_property_garbled_or_truncated_input_never_crashes(tmp_path, name, cut, junk, keep_tail):
    good = (FIX / name).read_bytes()
    blob = good[:cut] + junk + (good[cut:] if keep_tail else b"")
    path = tmp_path / "g.json"
    path.write_bytes(blob)
    try:
        rows, tally = read(path)
    except InputError as exc:  # a whole-file refusal is one line naming the file
        assert "\n" not in str(exc) and str(exc).startswith("g.json: ")
        return
    assert all(r["user_name"] and r["time"] for r in rows)
    assert len(rows) <= 6
    if blob.strip(b"\xff\xfe\xef\xbb\xbf \t\r\n\x00"):
        assert len(rows) + tally.quarantined + tally.ignored >= 1
