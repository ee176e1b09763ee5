"""Windows Security events as JSON: Sentinel SecurityEvent / WindowsEvent exports, Winlogbeat, NXLog
and evtx_dump. Each shape is checked against the reader of the same events in another form: the
real EVTX samples (../shared/datasets) through the EVTX reader, the real msticpy SecurityEvent CSV and
the documented-schema CSV fixture through the CSV reader. The rows must be the same."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import evtx
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources import all_sources, windows_evtx, windows_securityevent_csv
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.windows_security_json import SOURCES
from tests.conftest import dataset

SRC = SOURCES[0]
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
# what differs by nature between two forms of one event: where it was read, and the uid's spelling
PLACE = ("record_ref", "source_format", "event_uid")


def read(source, path: Path, opts: ReadOptions | None = None) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(source.read(InputFile(path.name, path), tally, opts or ReadOptions()))
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def events(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in PLACE} for r in rows]


def sniffed(path: Path) -> list[str]:
    head = path.read_bytes()[:65536]
    return [s.name for s in all_sources() if s.sniff(head, path.name)]


def evtx_records(path: Path) -> list[dict]:
    """The EVTX file's events as evtx_dump prints them (``{"Event": {"System": ..., "EventData": ...}}``)."""
    return [json.loads(r["data"]) for r in evtx.PyEvtxParser(str(path)).records_json()]


def as_winlogbeat(rec: dict) -> dict:
    """One evtx_dump event as Winlogbeat 8 ships it (Elastic's documented winlog.* fields)."""
    system, data = rec["Event"]["System"], rec["Event"].get("EventData")
    eid = system["EventID"]["#text"] if isinstance(system["EventID"], dict) else system["EventID"]
    when = system["TimeCreated"]["#attributes"]["SystemTime"]
    fields = {k: None if v is None else str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {
        "@timestamp": when,
        "event": {"code": str(eid), "provider": "Microsoft-Windows-Security-Auditing"},
        "host": {"name": system["Computer"].split(".")[0]},
        "winlog": {
            "channel": "Security",
            "computer_name": system["Computer"],
            "event_id": str(eid),
            "record_id": system["EventRecordID"],
            "event_data": fields,
        },
    }


def as_nxlog(rec: dict, local_hours: int = 0) -> dict:
    """One evtx_dump event as NXLog's im_msvistalog writes JSON: flat, EventTime without zone or
    fraction, in the collector's local time (``local_hours`` east of UTC)."""
    system, data = rec["Event"]["System"], rec["Event"].get("EventData")
    eid = system["EventID"]["#text"] if isinstance(system["EventID"], dict) else system["EventID"]
    when = datetime.fromisoformat(system["TimeCreated"]["#attributes"]["SystemTime"].replace("Z", "+00:00"))
    wall = when + timedelta(hours=local_hours)
    out = {
        "EventTime": wall.strftime("%Y-%m-%d %H:%M:%S"),
        "Hostname": system["Computer"],
        "EventID": eid,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "RecordNumber": system["EventRecordID"],
        "Channel": "Security",
    }
    if isinstance(data, dict):
        out.update(data)
    return out


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


EVTX_SAMPLES = ["password-spray.evtx", "kerberos_pwd_spray_4771.evtx", "smb-password-guessing-security.evtx"]


@pytest.mark.parametrize("sample", EVTX_SAMPLES)
def test_real_evtx_events_as_evtx_dump_and_winlogbeat_read_like_the_evtx(sample: str, tmp_path: Path) -> None:
    path = dataset(f"windows-evtx/{sample}")
    expected, _ = read(windows_evtx.SOURCES[0], path)
    records = evtx_records(path)
    for shape, convert in (("evtx_dump", lambda r: r), ("winlogbeat", as_winlogbeat)):
        out = write_lines(tmp_path / f"{shape}.jsonl", [convert(r) for r in records])
        assert sniffed(out) == ["windows-security-json"], shape
        rows, tally = read(SRC, out)
        assert tally.quarantined == 0, shape
        assert tally.normalized + tally.ignored == len(records), shape
        assert events(rows) == events(expected), shape
        # the same uid spelling as the EVTX reader (computer:record id): repeats across exports meet
        assert [r["event_uid"] for r in rows] == [r["event_uid"] for r in expected], shape


def test_real_evtx_events_as_nxlog_json_take_the_local_time_zone(tmp_path: Path) -> None:
    path = dataset("windows-evtx/password-spray.evtx")
    expected, _ = read(windows_evtx.SOURCES[0], path)
    records = evtx_records(path)
    # a collector two hours east of UTC: EventTime is its wall clock, without a zone
    out = write_lines(tmp_path / "nxlog.jsonl", [as_nxlog(r, local_hours=2) for r in records])
    assert sniffed(out) == ["windows-security-json"]
    rows, tally = read(SRC, out, ReadOptions(timezone="Europe/Helsinki"))
    assert tally.quarantined == 0 and len(rows) == len(expected) > 200

    def whole_seconds(rs: list[dict]) -> list[dict]:
        return [{**r, "time": r["time"].replace(microsecond=0)} for r in events(rs)]

    # April 2019 in Helsinki is UTC+3 (summer time); the records were written at UTC+2 wall clock,
    # so read in Helsinki they land one hour early: the zone is applied, not ignored
    shifted = [{**r, "time": r["time"].replace(microsecond=0)} for r in events(rows)]
    assert {
        (a["time"] - b["time"]).total_seconds() for a, b in zip(whole_seconds(expected), shifted, strict=True)
    } == {3600}
    rows_utc2, _ = read(SRC, out, ReadOptions(timezone="Etc/GMT-2"))  # POSIX sign: GMT-2 is UTC+2
    assert whole_seconds(rows_utc2) == whole_seconds(expected)


def test_real_msticpy_securityevent_as_log_analytics_json_reads_like_the_csv(tmp_path: Path) -> None:
    path = dataset("windows-csv/msticpy_host_logons_SecurityEvent_4624.csv")
    expected, _ = read(windows_securityevent_csv.SOURCES[0], path)
    with open(path, newline="") as fh:
        raw = [{k: v for k, v in r.items() if k} for r in csv.DictReader(fh)]
    for r in raw:
        r["EventID"] = int(r["EventID"])
    out = tmp_path / "securityevent.json"
    out.write_text(json.dumps(raw, indent=2))  # az monitor log-analytics query: one JSON array
    assert sniffed(out) == ["windows-security-json"]
    rows, tally = read(SRC, out)
    assert tally.quarantined == tally.ignored == 0 and len(rows) == len(raw) == len(expected)
    assert events(rows) == events(expected)


def test_documented_securityevent_json_and_winlogbeat_fixtures_read_like_the_csv_fixture() -> None:
    expected, _ = read(windows_securityevent_csv.SOURCES[0], FIX / "securityevent_failures.csv")
    for name in ("securityevent_failures.json", "winlogbeat_security.jsonl"):
        assert sniffed(FIX / name) == ["windows-security-json"], name
        rows, tally = read(SRC, FIX / name)
        assert events(rows) == events(expected), name
        assert tally.ignored == 1 and tally.quarantined == 0, name  # 4634 (logoff) is not a sign-in
    # the failures are what the fixture was written to hold: a spray's bad passwords, an unknown user
    details = {(r["user_name"], r["status_detail"]) for r in rows}
    assert ("contoso\\nosuchuser", "USER_DOES_NOT_EXIST") in details
    assert ("contoso\\alice", "INVALID_CREDENTIALS") in details


def test_windowsevent_table_eventdata_object(tmp_path: Path) -> None:
    """Sentinel's WindowsEvent table (Azure Monitor Agent) keeps EventData as an object."""
    rec = {
        "TimeGenerated": "2024-11-03T14:05:01.123Z",
        "Computer": "DC01.contoso.com",
        "EventID": 4625,
        "Channel": "Security",
        "Provider": "Microsoft-Windows-Security-Auditing",
        "EventRecordId": "771204",
        "EventData": {
            "TargetUserName": "alice",
            "TargetDomainName": "CONTOSO",
            "LogonType": "3",
            "Status": "0xc000006d",
            "SubStatus": "0xc000006a",
            "IpAddress": "203.0.113.5",
            "WorkstationName": "ATTACKER01",
            "AuthenticationPackageName": "NTLM",
        },
    }
    out = write_lines(tmp_path / "windowsevent.jsonl", [rec])
    assert sniffed(out) == ["windows-security-json"]
    [row], _ = read(SRC, out)
    assert row["user_name"] == "contoso\\alice" and row["status_detail"] == "INVALID_CREDENTIALS"
    assert row["src_endpoint_ip"] == "203.0.113.5" and row["event_uid"] == "DC01.contoso.com:771204"
    assert row["time"] == datetime(2024, 11, 3, 14, 5, 1, 123000)


def test_otrf_recording_prefers_timecreated_over_a_shifted_timegenerated(tmp_path: Path) -> None:
    """OTRF Security-Datasets' recordings carry TimeCreated (UTC) and a TimeGenerated written in the
    lab's local time with a Z: the event's own time is TimeCreated."""
    rec = {
        "EventSourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security",
        "Computer": "WORKSTATION6.mssentinel.local",
        "TimeCreated": "2022-09-22T12:31:14.259Z",
        "TimeGenerated": "2022-09-22T04:31:14.259Z",
        "EventRecordID": "1350050",
        "EventID": 4624,
        "EventData": '<EventData xmlns=...><Data Name="TargetUserName">wardog</Data></EventData>',
        "TargetUserName": "wardog",
        "TargetDomainName": "MSSENTINEL",
        "LogonType": "3",
        "IpAddress": "10.0.0.4",
        "AuthenticationPackageName": "Kerberos",
    }
    out = tmp_path / "otrf.json"
    out.write_text(json.dumps([rec]))
    [row], _ = read(SRC, out)
    assert row["time"] == datetime(2022, 9, 22, 12, 31, 14, 259000)
    assert row["user_name"] == "mssentinel\\wardog" and row["status_id"] == 1


def test_unreadable_records_are_quarantined_and_other_events_ignored(tmp_path: Path) -> None:
    good = {
        "TimeGenerated": "2024-11-03T14:05:01Z",
        "Computer": "DC01",
        "EventID": 4625,
        "TargetUserName": "a",
    }
    lines = [
        good,
        {**good, "EventID": "not-a-number"},
        {**good, "TimeGenerated": "yesterday"},
        {**good, "EventID": 4688},
        {"Computer": "DC01", "TargetUserName": "b"},  # no event id at all
    ]
    out = write_lines(tmp_path / "mixed.jsonl", lines)
    rows, tally = read(SRC, out)
    assert len(rows) == 1 and tally.ignored == 1 and tally.quarantined == 3
    assert tally.records == len(lines)


_TEXT = st.text(max_size=12)
_VALUE = st.one_of(st.none(), st.integers(), _TEXT, st.booleans(), st.lists(_TEXT, max_size=2))
_RECORD = st.fixed_dictionaries(
    {"EventID": st.one_of(st.sampled_from([4624, 4625, 4771, 4776, 4688, "4625"]), _VALUE)},
    optional={
        "TimeGenerated": st.one_of(_VALUE, st.just("2024-11-03T14:05:01Z")),
        "TimeCreated": _VALUE,
        "Computer": _VALUE,
        "TargetUserName": _VALUE,
        "IpAddress": _VALUE,
        "Status": _VALUE,
        "LogonType": _VALUE,
        "EventData": st.one_of(_VALUE, st.dictionaries(_TEXT, _VALUE, max_size=3)),
        "winlog": st.one_of(_VALUE, st.dictionaries(st.sampled_from(["event_id", "event_data"]), _VALUE)),
    },
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=st.lists(_RECORD, min_size=1, max_size=8))
def test_every_record_is_normalized_ignored_or_quarantined(records: list[dict], tmp_path: Path) -> None:
    out = write_lines(tmp_path / "any.jsonl", records)
    rows, tally = read(SRC, out)
    assert tally.normalized + tally.ignored + tally.quarantined == len(records)
    assert all(r["time"] is not None and r["source_format"] == "windows-security-json" for r in rows)
