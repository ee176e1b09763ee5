"""Microsoft Sentinel / Log Analytics ``SecurityEvent`` rows exported as CSV.

The table flattens the Windows ``EventData`` fields into columns of the same names
(``TargetUserName``, ``Status``, ``SubStatus``, ``LogonType``, ``IpAddress``...), so each
row goes through the same mapping as an EVTX record (:mod:`windows_codes`).

Rows are read by :func:`nightowl.sources.records.csv_rows.line_records`; ``TimeGenerated [UTC]``
values by :func:`nightowl.sources.records.times.parse_sentinel_time`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyarrow as pa

from nightowl import schema
from nightowl.sources import windows_codes as wc
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally
from nightowl.sources.records.csv_rows import header_fields, line_records
from nightowl.sources.records.times import parse_sentinel_time, time_column

BATCH_ROWS = 50_000


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
        for lineno, rec in line_records(inp, tally, opts):
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
