"""Time parsing for every reader: each function turns one export's way of writing a time into a
naive UTC ``datetime`` (the store's convention), or None when the text is not a time.

Which one to use:

* :func:`iso_utc`: ISO 8601 written by a machine (EVTX SystemTime, CloudTrail eventTime).
* :func:`iso_in_zone`: ISO 8601 from syslog writers (rsyslog, journalctl), naive values in a zone.
* :func:`parse_time`: anything a cloud JSON/CSV export writes (ISO with 7-digit fractions, epoch
  numbers, the Log Analytics portal's ``8/2/2021, 1:29:25.983 PM``).
* :func:`parse_sentinel_time` with :func:`time_column`: Sentinel / Log Analytics CSV exports, whose
  ``TimeGenerated [UTC+02:00]`` header carries an offset and whose cells follow the browser locale.
* :func:`slash_date_order` then :func:`iso_time`: exports that write local slash dates whose order
  (month or day first) is decided once per file; gives ISO text for DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def iso_utc(raw: object) -> datetime | None:
    """ISO-8601 UTC text ('2020-07-22T20:29:36.414827Z') -> naive UTC datetime."""
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip().removesuffix(" UTC")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def to_utc(local: datetime, zone: ZoneInfo | None) -> datetime:
    """A naive local time in ``zone`` (None: already UTC) -> naive UTC."""
    if zone is None:
        return local
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def iso_in_zone(text: str, zone: ZoneInfo | None) -> datetime | None:
    """ISO 8601 as syslog writers print it (comma fractions, +0000, 9 digits); naive values are in
    ``zone`` (None: UTC) -> naive UTC."""
    value = text.replace(",", ".")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]  # +0000 -> +00:00 (journalctl short-iso)
    dot = value.find(".")
    if dot != -1:  # more than 6 fraction digits: truncate
        end = dot + 1
        while end < len(value) and value[end].isdigit():
            end += 1
        value = value[: min(end, dot + 7)] + value[end:]
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return to_utc(dt, zone)
    return dt.astimezone(UTC).replace(tzinfo=None)


_FRACTION = re.compile(r"(\.\d{6})\d+")
_US_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}),? (\d{1,2}):(\d{2}):(\d{2})(\.\d+)? ?([AP]M)?$", re.I)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (7-digit fractions, Z or offsets) or the Log Analytics portal's ``8/2/2021, 1:29:25.983 PM``
    -> naive UTC. None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if len(text) > 64:
        return None
    m = _US_TIME.match(text)
    if m:
        month, day, year, hour, minute, sec, frac, ampm = m.groups()
        h = int(hour) % 12 + (12 if ampm and ampm.upper() == "PM" else 0) if ampm else int(hour)
        try:
            ts = datetime(int(year), int(month), int(day), h, int(minute), int(sec))
        except ValueError:
            return None
        return ts + timedelta(microseconds=round(float(frac) * 1e6)) if frac else ts
    text = _FRACTION.sub(r"\1", text.replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


_SLASH_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*([AaPp][Mm])?$"
)
_UTC_SUFFIX = re.compile(r"\[UTC(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\]")


def time_column(header: list[str]) -> tuple[str | None, timedelta]:
    """The TimeGenerated column and its UTC offset (portal headers: 'TimeGenerated [UTC]')."""
    for name in header:
        if name.startswith("TimeGenerated"):
            m = _UTC_SUFFIX.search(name)
            if m and m.group(1):
                delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
                return name, delta if m.group(1) == "+" else -delta
            return name, timedelta(0)
    return None, timedelta(0)


def parse_sentinel_time(text: str | None, offset: timedelta = timedelta(0)) -> datetime | None:
    """Naive UTC datetime from an ISO value or the portal's locale format.

    The portal writes the browser's locale: '21/04/2025, 09:45:54.000' (day first, 24 h) or
    '4/21/2025, 9:45:54.000 AM' (month first, 12 h). A number above 12 decides the order;
    otherwise an AM/PM marker means month first (en-US), none means day first.
    """
    if not text:
        return None
    value = text.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        m = _SLASH_TIME.match(value)
        if not m:
            return None
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hour, minute, sec = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
        micro = int((m.group(7) or "0").ljust(6, "0"))
        ampm = (m.group(8) or "").upper()
        if a > 12:
            day, month = a, b
        elif b > 12 or ampm:
            month, day = a, b
        else:
            day, month = a, b
        if ampm == "PM" and hour < 12:
            hour += 12
        elif ampm == "AM" and hour == 12:
            hour = 0
        try:
            dt = datetime(year, month, day, hour, minute, sec, micro)
        except ValueError:
            return None
        return dt - offset
    if dt.tzinfo is not None:
        return dt.astimezone(UTC).replace(tzinfo=None)
    return dt - offset


_US = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*([AaPp][Mm])?\s*$"
)


def slash_date_order(values: Iterator[str]) -> str:
    """'mdy' or 'dmy' for exports that write local dates ("4/21/2025, 9:45:54.000 AM" or
    "21/04/2025, 09:45:54.000"): decided once per file from any unambiguous day > 12; failing
    that, a 12-hour clock suggests en-US month-first and a 24-hour clock day-first."""
    ampm = None
    for v in values:
        m = _US.match(v or "")
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 >= b:
            return "dmy"
        if b > 12 >= a:
            return "mdy"
        ampm = ampm if ampm is not None else bool(m.group(8))
    return "mdy" if ampm in (None, True) else "dmy"


def iso_time(value: str | None, order: str) -> str | None:
    """ISO 8601 text for DuckDB; slash dates converted with the file's ``order`` (UTC assumed:
    both exports label the column UTC). Anything else is passed through for DuckDB to judge."""
    if not value:
        return value
    m = _US.match(value)
    if not m:
        return value.strip()
    a, b, year, hh, mm, ss, frac, ampm = m.groups()
    month, day = (int(a), int(b)) if order == "mdy" else (int(b), int(a))
    hour = int(hh)
    if ampm:
        if not 1 <= hour <= 12:
            return value  # garbled: DuckDB will not parse it and the row is quarantined
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        dt = datetime(int(year), month, day, hour, int(mm), int(ss or 0))
    except ValueError:
        return value
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac}Z" if frac else f"{text}Z"
