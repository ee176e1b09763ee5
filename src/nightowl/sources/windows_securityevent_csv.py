"""Microsoft Sentinel / Log Analytics ``SecurityEvent`` rows exported as CSV.

The table flattens the Windows ``EventData`` fields into columns of the same names
(``TargetUserName``, ``Status``, ``SubStatus``, ``LogonType``, ``IpAddress``...), so each
row goes through the same mapping as an EVTX record (:mod:`windows_codes`).

This module also holds the bounded text helpers the other line and CSV readers share:
:func:`nightowl.sources.base.bounded_lines` never holds more than ``max_line_bytes`` of one line in memory, and
:func:`csv_records` quarantines malformed rows instead of stopping. :func:`parse_sentinel_time`
reads the portal's locale-dependent ``TimeGenerated [UTC]`` values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from nightowl import schema
from nightowl.sources import windows_codes as wc
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines, decode

BATCH_ROWS = 50_000


# --------------------------------------------------------------------------- shared helpers


def header_fields(head: bytes) -> list[str]:
    """Column names of a CSV from its first bytes (cheap; for sniffing)."""
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    if b"," not in first or first.lstrip()[:1] in (b"{", b"["):
        return []
    try:
        return [f.strip() for f in next(csv.reader([decode(first)]))]
    except (csv.Error, StopIteration):
        return []


def csv_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row as {column: text}) for each well-formed data row.

    Malformed rows (bad quoting, wrong field count, oversized lines) are quarantined.
    """
    where = {"line": 0}

    def lines() -> Iterator[str]:
        for lineno, raw, problem in bounded_lines(inp, opts.max_line_bytes):
            where["line"] = lineno
            if problem:
                tally.reject(f"line {lineno}", problem, raw)
                continue
            text = decode(raw)
            if lineno == 1:
                text = text.removeprefix("\ufeff")
            yield text + "\n"

    reader = csv.reader(lines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(f"{inp.name}: unreadable CSV header: {exc}") from exc
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            tally.reject(f"line {where['line']}", f"malformed CSV row: {exc}")
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            tally.ignore("blank line")
            continue
        if len(row) != len(header):
            tally.reject(
                f"line {where['line']}",
                f"row has {len(row)} fields, the header has {len(header)}",
                ",".join(row),
            )
            continue
        yield where["line"], dict(zip(header, row, strict=True))


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


# --------------------------------------------------------------------------- the source

_REQUIRED = {"EventID", "Computer"}
_ANY_OF = {"TargetUserName", "TargetAccount", "Account", "LogonType", "IpAddress"}
_NOT_OURS = {"UserPrincipalName", "ResultType", "AppDisplayName", "EventSource", "EventName"}


class SecurityEventCsv:
    name = "windows-securityevent-csv"
    title = "Microsoft Sentinel SecurityEvent (CSV export)"
    export_hint = (
        "Sentinel / Log Analytics: run `SecurityEvent | where EventID in (4624, 4625, 4648, 4768, 4771, 4776)` "
        "and Export > CSV (all columns)"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        fields = set(header_fields(head))
        return fields >= _REQUIRED and bool(fields & _ANY_OF) and not fields & _NOT_OURS

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return schema.row_batches(self._rows(inp, tally, opts), BATCH_ROWS)

    def _rows(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[dict]:
        time_col: str | None = None
        offset = timedelta(0)
        checked = False
        for lineno, rec in csv_records(inp, tally, opts):
            if not checked:
                missing = _REQUIRED - rec.keys()
                if missing:
                    raise InputError(
                        f"{inp.name}: not a SecurityEvent export (no {', '.join(sorted(missing))} column)"
                    )
                time_col, offset = time_column(list(rec))
                checked = True
            row = self._row(rec, lineno, inp.name, tally, time_col, offset)
            if row is not None:
                yield row

    def _row(
        self,
        rec: dict[str, str],
        lineno: int,
        shown: str,
        tally: Tally,
        time_col: str | None,
        offset: timedelta,
    ) -> dict | None:
        try:
            event_id = int(rec["EventID"].strip())
        except ValueError:
            tally.reject(f"line {lineno}", "EventID is not a number", rec["EventID"])
            return None
        if event_id not in wc.AUTH_EVENT_IDS:
            tally.ignore(wc.ignore_reason(event_id))
            return None
        when = parse_sentinel_time(rec.get(time_col) if time_col else None, offset)
        if when is None:
            tally.reject(f"line {lineno}", "no readable TimeGenerated", rec.get(time_col or "", ""))
            return None
        data: dict[str, str] = {k: v for k, v in rec.items() if v != ""}
        if "TargetUserName" not in data:
            fallback = data.get("TargetAccount") or (
                data.get("Account") if event_id in (4624, 4625) else None
            )
            if fallback:
                data["TargetUserName"] = fallback
        uid = data.get("EventRecordId") or data.get("EventOriginId")
        return wc.auth_row(
            event_id,
            data,
            time=when,
            computer=data.get("Computer"),
            source_format=self.name,
            record_ref=f"{shown}#line {lineno}",
            event_uid=uid,
        )


SOURCES = [SecurityEventCsv()]
