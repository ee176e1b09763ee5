"""US-style slash times where an Entra record has no ISO time: an Azure Monitor diagnostic record
without ``properties.createdDateTime`` whose envelope ``time`` is written the en-US way (the Event
Hub shape Elastic's azure signinlogs tests carry: "11/14/2025 1:48:53 AM"), and a Log Analytics row
whose TimeGenerated is the portal's "3/5/2024, 2:07:11.123 PM". Only a reading that is not a guess is
used: a number above 12 says which is the day, an AM/PM clock is en-US (month first), the same
number twice reads the same; a 24-hour date that reads both ways is quarantined with its reason, an
impossible one as 'no parseable time'. Never a silent wrong date."""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_diagnostic, entra_loganalytics
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import read_json_records
from nightowl.sources.records.sql import AMBIGUOUS_TIME


def diag(time: str, n: int) -> dict:
    """A SignInLogs diagnostic record whose properties carry no createdDateTime."""
    return {
        "time": time,
        "resourceId": "/tenants/7bd8a23c-0000-4000-8000-000000000001/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "category": "SignInLogs",
        "resultType": "50126",
        "callerIpAddress": "198.51.100.23",
        "correlationId": f"c0ffee00-0000-4000-8000-{n:012d}",
        "properties": {
            "id": f"5a5a5a5a-0000-4000-8000-{n:012d}",
            "userPrincipalName": f"user{n}@contoso.com",
            "appDisplayName": "Azure Portal",
            "status": {"errorCode": 50126, "failureReason": "Invalid username or password."},
        },
    }


def read_diag(tmp_path, times: list[str], force_python: bool = False):
    path = tmp_path / "PT1H.json"
    path.write_text("".join(json.dumps(diag(t, i)) + "\n" for i, t in enumerate(times)))
    tally = Tally()
    batches = read_json_records(
        InputFile(path.name, path),
        tally,
        ReadOptions(),
        entra_diagnostic.DIAGNOSTIC,
        force_python=force_python,
    )
    rows = pa.Table.from_batches(list(batches), schema=AUTH_SCHEMA).to_pylist()
    return {r["user_name"]: r["time"] for r in rows}, tally


@pytest.mark.parametrize("force_python", [False, True])
def test_diagnostic_envelope_time_in_us_form(tmp_path, force_python):
    times = [
        "11/14/2025 1:48:53 AM",  # Elastic's test-alternative-time-and-duration-as-string.log
        "12/12/2025 3:03:58 PM",  # test-adfs-signin.log
        "3/5/2024, 2:07:11.123 PM",  # the Azure portal / Log Analytics CSV
        "12/31/2024 23:59:59",  # 24-hour, the day says the order
        "31/12/2024 23:59:59",
        "5/5/2024 14:07:11",  # reads the same both ways
        "12/5/2024 12:30:00 AM",  # midnight hour
        "03/05/2024 14:07:11",  # 5 March or 3 May: quarantined
        "2/30/2024 1:00:00 PM",  # no such day
        "3/5/2024 13:00:00 PM",  # no such hour
    ]
    got, tally = read_diag(tmp_path, times, force_python)
    assert got == {
        "user0@contoso.com": datetime(2025, 11, 14, 1, 48, 53),
        "user1@contoso.com": datetime(2025, 12, 12, 15, 3, 58),
        "user2@contoso.com": datetime(2024, 3, 5, 14, 7, 11, 123000),
        "user3@contoso.com": datetime(2024, 12, 31, 23, 59, 59),
        "user4@contoso.com": datetime(2024, 12, 31, 23, 59, 59),
        "user5@contoso.com": datetime(2024, 5, 5, 14, 7, 11),
        "user6@contoso.com": datetime(2024, 12, 5, 0, 30),
    }
    assert [q.reason for q in tally.quarantine] == [AMBIGUOUS_TIME, "no parseable time", "no parseable time"]
    excerpts = [q.excerpt for q in tally.quarantine]
    for excerpt, time in zip(
        excerpts, ["03/05/2024 14:07:11", "2/30/2024 1:00:00 PM", "3/5/2024 13:00:00 PM"], strict=True
    ):
        assert excerpt.startswith(json.dumps({"time": time})[:-1])


def test_created_date_time_still_wins(tmp_path):
    path = tmp_path / "PT1H.json"
    rec = diag("03/05/2024 14:07:11", 0)
    rec["properties"]["createdDateTime"] = "2024-05-03T14:07:11Z"
    path.write_text(json.dumps(rec) + "\n")
    tally = Tally()
    rows = list(entra_diagnostic.SOURCES[0].read(InputFile(path.name, path), tally, ReadOptions()))
    assert pa.Table.from_batches(rows, schema=AUTH_SCHEMA).column("time").to_pylist() == [
        datetime(2024, 5, 3, 14, 7, 11)
    ]
    assert tally.quarantined == 0


def test_log_analytics_time_generated_in_portal_form(tmp_path):
    path = tmp_path / "signins.json"
    rows = [
        {"TimeGenerated": t, "Type": "SigninLogs", "UserPrincipalName": f"u{i}@contoso.com", "ResultType": "0",
         "IPAddress": "198.51.100.7", "AppDisplayName": "Office 365"}
        for i, t in enumerate(["8/2/2021, 1:29:25.983 PM", "08/02/2021 13:29:25"])
    ]  # fmt: skip
    path.write_text(json.dumps(rows))
    tally = Tally()
    got = pa.Table.from_batches(
        list(entra_loganalytics.SOURCES[0].read(InputFile(path.name, path), tally, ReadOptions())),
        schema=AUTH_SCHEMA,
    ).to_pylist()
    assert [(r["user_name"], r["time"]) for r in got] == [
        ("u0@contoso.com", datetime(2021, 8, 2, 13, 29, 25, 983000))
    ]
    assert [q.reason for q in tally.quarantine] == [AMBIGUOUS_TIME]


def _us(ts: datetime, style: int) -> tuple[str, bool]:
    """ts written one of the ways a slash date is written; and whether that text reads both ways."""
    h12 = ts.hour % 12 or 12
    ampm = "AM" if ts.hour < 12 else "PM"
    if style == 0:  # en-US portal
        return f"{ts.month}/{ts.day}/{ts.year}, {h12}:{ts.minute:02d}:{ts.second:02d} {ampm}", False
    if style == 1:  # en-US .NET
        return f"{ts.month}/{ts.day}/{ts.year} {h12}:{ts.minute:02d}:{ts.second:02d} {ampm}", False
    if style == 2:  # day first, 24-hour
        text = f"{ts.day:02d}/{ts.month:02d}/{ts.year} {ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"
    else:  # month first, 24-hour (invariant culture)
        text = f"{ts.month:02d}/{ts.day:02d}/{ts.year} {ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"
    return text, ts.day <= 12 and ts.day != ts.month


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)), st.integers(0, 3)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_a_slash_time_is_read_right_or_quarantined_never_guessed(tmp_path_factory, cases):
    cases = [(ts.replace(microsecond=0), style) for ts, style in cases]
    written = [_us(ts, style) for ts, style in cases]
    got, tally = read_diag(tmp_path_factory.mktemp("t"), [text for text, _ in written])
    for i, ((ts, _), (_, ambiguous)) in enumerate(zip(cases, written, strict=True)):
        if ambiguous:
            assert f"user{i}@contoso.com" not in got
        else:
            assert got[f"user{i}@contoso.com"] == ts
    assert tally.quarantined == sum(a for _, a in written)
    assert {q.reason for q in tally.quarantine} <= {AMBIGUOUS_TIME}
