"""AWS CloudTrail ConsoleLogin: a fixture written from AWS's documented sign-in records, the same
events in every JSON shape AWS tools produce, the real Sentinel CSV and OTRF API-call samples."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources.aws_cloudtrail import NOT_SIGNIN, OTHER_SIGNIN, SOURCES
from nightowl.sources.base import InputFile, ReadOptions, Tally
from tests.conftest import dataset

JSON_SRC, CSV_SRC = SOURCES
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail" / "console_logins.json"
RECORDS = orjson.loads(FIXTURE.read_bytes())["Records"]


def read(src, path: Path, opts: ReadOptions | None = None, gz: bool = False) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(src.read(InputFile(path.name, path, gzip=gz), tally, opts or ReadOptions()))
    for b in batches:
        assert b.schema == schema.AUTH_SCHEMA
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def strip_ref(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "record_ref"} for r in rows]


def test_documented_console_logins() -> None:
    rows, tally = read(JSON_SRC, FIXTURE)
    assert tally.records == len(RECORDS) == 9
    assert tally.ignored_reasons == {OTHER_SIGNIN: 1, NOT_SIGNIN: 1}
    got = {r["event_uid"][-1]: r for r in rows}
    cols = (
        "user_name",
        "user_type",
        "status_id",
        "status_detail",
        "user_exists",
        "password_correct",
        "is_mfa",
    )
    expect = {
        "1": ("johndoe", "iamuser", 1, "SUCCESS", True, True, False),  # success without MFA
        "2": ("janeroe", "iamuser", 1, "SUCCESS", True, True, True),  # success with MFA
        "3": ("johndoe", "iamuser", 2, "INVALID_CREDENTIALS", True, False, False),  # wrong password
        "4": ("root", "root", 1, "SUCCESS", True, True, True),  # root with MFA
        "5": (None, "iamuser", 2, "USER_DOES_NOT_EXIST", False, None, False),  # masked: no name
        "6": ("alice@example.com", "assumedrole", 1, "SUCCESS", True, True, False),  # SAML federation
        "7": ("root", "root", 2, "INVALID_CREDENTIALS", True, False, False),
    }
    assert {k: tuple(got[k][c] for c in cols) for k in got} == expect
    assert got["6"]["auth_protocol"] == "saml" and got["1"]["auth_protocol"] == "password"
    assert got["3"]["status_code"] == "Failed authentication"
    assert got["1"]["time"] == datetime(2024, 7, 16, 15, 49, 27)
    assert got["1"]["src_endpoint_ip"] == "192.0.2.110" and got["3"]["user_agent"] == "python-requests/2.32.3"
    assert {r["tenant_id"] for r in rows} == {"111122223333"}
    assert got["2"]["record_ref"] == "console_logins.json#record 2"


def test_every_json_shape_gives_the_same_rows(tmp_path: Path) -> None:
    want, _ = read(JSON_SRC, FIXTURE)
    shapes = {
        "trail.json": orjson.dumps({"Records": RECORDS}),  # one-line S3 object
        "events.jsonl": b"\n".join(orjson.dumps(r) for r in RECORDS) + b"\n",  # NDJSON
        "array.json": orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2),  # pretty array
        "lookup.json": orjson.dumps(
            {
                "Events": [
                    {"EventId": r["eventID"], "CloudTrailEvent": orjson.dumps(r).decode()} for r in RECORDS
                ]
            },
            option=orjson.OPT_INDENT_2,
        ),
        "concatenated.json": orjson.dumps({"Records": RECORDS[:4]})
        + b"\n"
        + orjson.dumps({"Records": RECORDS[4:]}),
    }
    for name, data in shapes.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert JSON_SRC.sniff(data[:65536], name), name
        rows, tally = read(JSON_SRC, path)
        assert strip_ref(rows) == strip_ref(want), name
        assert tally.records == 9 and tally.quarantined == 0, name
    # one-line S3 objects longer than max_line_bytes, concatenated (zcat *.json.gz > all.json)
    rows, tally = read(JSON_SRC, tmp_path / "concatenated.json", ReadOptions(max_line_bytes=100))
    assert strip_ref(rows) == strip_ref(want) and tally.records == 9
    assert rows[5]["record_ref"] == "concatenated.json#line 2 record 2"
    gz = tmp_path / "111122223333_CloudTrail_us-east-1_20240716T1605Z_abc.json.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    rows, _ = read(JSON_SRC, gz, gz=True)
    assert strip_ref(rows) == strip_ref(want)


def test_otrf_api_calls_are_all_ignored() -> None:
    path = dataset("aws-cloudtrail/OTRF_ec2_proxy_s3_exfiltration_cloudtrail.json")
    data = path.read_bytes()
    assert JSON_SRC.sniff(data[:65536], path.name)
    rows, tally = read(JSON_SRC, path)
    assert rows == []
    assert tally.ignored == tally.records == sum(1 for line in data.splitlines() if line.strip())
    assert tally.ignored_reasons == {NOT_SIGNIN: tally.ignored}


def test_real_sentinel_csv() -> None:
    path = dataset("aws-cloudtrail/AzureSentinel_AWSCloudTrail_ConsoleLogin_excerpt.csv")
    head = path.read_bytes()[:65536]
    assert CSV_SRC.sniff(head, path.name) and not JSON_SRC.sniff(head, path.name)
    rows, tally = read(CSV_SRC, path)
    # README: 3 ConsoleLogin rows: success without MFA, failure, success with MFA
    assert tally.records == 3 and tally.ignored == tally.quarantined == 0
    assert [(r["status_id"], r["status_detail"]) for r in rows] == [
        (1, "SUCCESS"),
        (2, "INVALID_CREDENTIALS"),
        (1, "SUCCESS"),
    ]
    assert [r["is_mfa"] for r in rows if r["status_id"] == 1] == [False, True]
    assert rows[0]["time"] == datetime(2025, 4, 21, 9, 45, 54)  # "21/04/2025, 09:45:54.000": day first
    assert all(r["tenant_id"] and r["src_endpoint_ip"] and r["user_name"] for r in rows)


def test_sniff_does_not_claim_other_json() -> None:
    okta = b'{"actor": {"alternateId": "a@b.c"}, "eventType": "user.session.start", "outcome": {"result": "FAILURE"}}\n'
    entra = b'{"createdDateTime": "2024-01-01T00:00:00Z", "userPrincipalName": "a@b.c", "status": {"errorCode": 50126}}\n'
    for head in (okta, entra, b"ElfFile\x00", b"Dec 10 06:55:46 LabSZ sshd[1]: x\n"):
        assert not JSON_SRC.sniff(head, "x.json")
        assert not CSV_SRC.sniff(head, "x.csv")


def test_truncated_document_quarantines_only_its_last_record(tmp_path: Path) -> None:
    data = FIXTURE.read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: len(data) // 2])
    records = json.loads(data)["Records"]
    whole = [r for r in records if data.index(json.dumps(r["eventID"]).encode()) < len(data) // 2]
    rows, tally = read(JSON_SRC, path)
    # every record that ends before the cut is read; the one the cut runs through is quarantined
    assert len(rows) + tally.ignored == len(whole)
    assert tally.quarantined == 1 and "ends inside" in tally.quarantine[0].reason


def test_broken_lookup_event_and_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_bytes(
        orjson.dumps(
            {
                "Events": [
                    {"CloudTrailEvent": "{not json"},
                    {"CloudTrailEvent": orjson.dumps(RECORDS[0]).decode()},
                ]
            }
        )
        + b"\n"
        + orjson.dumps([1, "x", RECORDS[2]])
        + b"\n"
    )
    rows, tally = read(JSON_SRC, path)
    assert len(rows) == 2 and tally.quarantined == 3 and tally.records == 5


def test_console_login_without_time_is_quarantined(tmp_path: Path) -> None:
    rec = {k: v for k, v in RECORDS[0].items() if k != "eventTime"}
    path = tmp_path / "notime.jsonl"
    path.write_bytes(orjson.dumps(rec) + b"\n")
    rows, tally = read(JSON_SRC, path)
    assert rows == [] and tally.quarantined == 1


EVENT_LINES = st.sampled_from([orjson.dumps(r).decode() for r in RECORDS])
JUNK = st.one_of(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=100),
    st.binary(max_size=100).map(lambda b: b.replace(b"\n", b" ").decode("latin-1")),
    st.just('{"eventName": "ConsoleLogin", "eventTime": "garbage"}'),
    st.just('{"eventName": "ConsoleLogin", "userIdentity": "x", "eventTime": "2024-01-01T00:00:00Z"}'),
    st.just('{"eventName": "ConsoleLogin", "eventTime": "2024-01-01T00:00:00Z", "' + "a" * 3000 + '": 1}'),
)


def physical_lines(data: bytes, max_line_bytes: int) -> int:
    """Lines that are records: all but blank ones."""
    lines = data.split(b"\n")
    lines = lines[:-1] if data.endswith(b"\n") else lines
    return sum(1 for ln in lines if len(ln) > max_line_bytes or ln.strip())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(EVENT_LINES, JUNK), min_size=1, max_size=30), truncate=st.integers(0, 50))
def test_ndjson_lines_are_accounted(tmp_path: Path, lines: list[str], truncate: int) -> None:
    """Starting with a valid event line keeps the file in line mode: one record per line."""
    data = ("\n".join([orjson.dumps(RECORDS[0]).decode(), *lines])).encode("utf-8", errors="replace")
    data = data[: max(1, len(data) - truncate)]
    path = tmp_path / "junk.jsonl"
    path.write_bytes(data)
    rows, tally = read(JSON_SRC, path, ReadOptions(max_line_bytes=2048))
    assert tally.records == physical_lines(data, 2048)
    assert all(r["time"] is not None for r in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    for name, src in (("x.json", JSON_SRC), ("x.csv", CSV_SRC)):
        path = tmp_path / name
        path.write_bytes(data)
        try:
            read(src, path, ReadOptions(max_line_bytes=512))
        except Exception as exc:  # only a whole-file InputError is allowed
            assert type(exc).__name__ == "InputError", exc
