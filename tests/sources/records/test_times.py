"""Each way an export writes a time -> naive UTC (or None, never an exception)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from nightowl.sources.records import times


def test_iso_utc():
    assert times.iso_utc("2020-07-22T20:29:36.414827Z") == datetime(2020, 7, 22, 20, 29, 36, 414827)
    assert times.iso_utc("2020-07-22 22:29:36 UTC") == datetime(2020, 7, 22, 22, 29, 36)
    assert times.iso_utc("2020-07-22T22:29:36+02:00") == datetime(2020, 7, 22, 20, 29, 36)
    assert times.iso_utc("") is None and times.iso_utc(5) is None and times.iso_utc("soon") is None


def test_iso_in_zone():
    berlin = ZoneInfo("Europe/Berlin")
    assert times.iso_in_zone("2024-03-04T10:00:00,123456789+0000", None) == datetime(
        2024, 3, 4, 10, 0, 0, 123456
    )
    assert times.iso_in_zone("2024-03-04T10:00:00", berlin) == datetime(2024, 3, 4, 9, 0)
    assert times.iso_in_zone("2024-03-04T10:00:00Z", berlin) == datetime(2024, 3, 4, 10, 0)
    assert times.iso_in_zone("not a time", None) is None
    assert times.to_utc(datetime(2024, 7, 1, 12), berlin) == datetime(2024, 7, 1, 10)


def test_parse_time_cloud_exports():
    assert times.parse_time("2024-03-04T07:01:02.1234567Z") == datetime(2024, 3, 4, 7, 1, 2, 123456)
    assert times.parse_time("8/2/2021, 1:29:25.983 PM") == datetime(2021, 8, 2, 13, 29, 25, 983000)
    assert times.parse_time(1_700_000_000_000) == datetime(2023, 11, 14, 22, 13, 20)
    assert times.parse_time(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20)
    assert times.parse_time("") is None and times.parse_time("x" * 100) is None
    assert times.parse_time(1e300) is None


def test_sentinel_times():
    p = times.parse_sentinel_time
    assert p("2019-01-15 05:15:02.980") == datetime(2019, 1, 15, 5, 15, 2, 980000)
    assert p("2025-04-21T09:45:54.000Z") == datetime(2025, 4, 21, 9, 45, 54)
    assert p("21/04/2025, 09:45:54.000") == datetime(2025, 4, 21, 9, 45, 54)
    assert p("03/04/2025, 09:45:54.000") == datetime(2025, 4, 3, 9, 45, 54)  # en-GB
    assert p("4/21/2025, 9:45:54.000 PM") == datetime(2025, 4, 21, 21, 45, 54)
    assert p("3/4/2025, 12:05:00 AM") == datetime(2025, 3, 4, 0, 5)  # en-US
    assert p("3/4/2025, 10:00:00", timedelta(hours=2)) == datetime(2025, 4, 3, 8, 0)
    assert p("31/02/2025, 10:00:00") is None
    assert p("yesterday") is None


def test_time_column_offset():
    assert times.time_column(["A", "TimeGenerated [UTC]"]) == ("TimeGenerated [UTC]", timedelta(0))
    assert times.time_column(["TimeGenerated [UTC+02:00]"])[1] == timedelta(hours=2)
    assert times.time_column(["TimeGenerated [UTC-05:30]"])[1] == -timedelta(hours=5, minutes=30)
    assert times.time_column(["x"]) == (None, timedelta(0))


def test_slash_dates_decided_per_file():
    assert times.slash_date_order(iter(["21/04/2025, 09:45:54.000"])) == "dmy"
    assert times.slash_date_order(iter(["4/21/2025, 9:45:54.000 AM"])) == "mdy"
    assert times.slash_date_order(iter(["4/3/2025, 09:45:54"])) == "dmy"  # 24 h clock: day first
    assert times.iso_time("21/04/2025, 09:45:54.000", "dmy") == "2025-04-21T09:45:54.000Z"
    assert times.iso_time("4/21/2025, 12:05:00 AM", "mdy") == "2025-04-21T00:05:00Z"
    assert times.iso_time("2024-03-04T07:01:02Z", "mdy") == "2024-03-04T07:01:02Z"


@given(st.text(max_size=80))
def test_never_raises_on_garbage(value):
    times.iso_utc(value)
    times.iso_in_zone(value, None)
    times.parse_time(value)
    times.parse_sentinel_time(value)
    times.iso_time(value, "mdy")
