"""Windows Security events as JSON, the way they leave the host when no EVTX file does.

Three shapes, one mapping (:mod:`windows_codes`, the EVTX reader's):

* **flat**: the event's ``EventData`` fields beside ``EventID`` and the computer's name. Microsoft
  Sentinel / Log Analytics ``SecurityEvent`` exported as JSON (``TimeGenerated``, ``Computer``,
  ``EventOriginId``), the ``WindowsEvent`` table (``EventData`` an object), NXLog ``im_msvistalog``
  (``Hostname``, ``EventTime``, ``RecordNumber``) and the OTRF Security-Datasets recordings made
  from them (``TimeCreated``, ``EventRecordID``);
* **Winlogbeat / Elastic Agent**: ``winlog.event_id``, ``winlog.event_data``,
  ``winlog.computer_name``, ``winlog.record_id`` and ``@timestamp``;
* **evtx_dump** (``evtx_dump -o jsonl``, the JSON of the ``evtx`` crate the EVTX reader uses):
  ``Event.System`` and ``Event.EventData``.

The time is the first of ``TimeCreated``, ``@timestamp``, ``TimeGenerated``, ``EventTime`` that
reads; a time without a zone (NXLog's ``EventTime`` is the collector's local clock) is taken in
``--timezone`` (UTC when unset). Events other than the authentication ones are ignored by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from nightowl import schema
from nightowl.sources import windows_codes as wc
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_python import json_keys, json_records, record_excerpt
from nightowl.sources.records.sql import MAX_YEAR, MIN_YEAR
from nightowl.sources.records.times import iso_in_zone, parse_sentinel_time

NAME = "windows-security-json"
BATCH_ROWS = 50_000
TIME_KEYS = ("TimeCreated", "@timestamp", "TimeGenerated", "EventTime", "timestamp")
COMPUTER_KEYS = ("Computer", "Hostname", "ComputerName", "MachineName")
RECORD_ID_KEYS = ("EventRecordID", "EventRecordId", "RecordNumber", "RecordId")
_EVENT_ID_KEYS = ("EventID", "EventId", "event_id")
# keys (case-folded) only a Windows event's EventData has: a flat export holds one of them
_EVENT_DATA_MARKS = {"targetusername", "subjectusername", "logontype", "ipaddress", "targetdomainname"}
_HOST_MARKS = {"computer", "hostname", "computername", "channel"}
# keys of the sign-in and audit formats other readers own
_NOT_OURS = {"userprincipalname", "eventtype", "eventsource", "eventname", "operationname", "resulttype"}


class WindowsSecurityJson:
    name = NAME
    title = "Windows Security events as JSON (Sentinel SecurityEvent / WindowsEvent, Winlogbeat, NXLog, evtx_dump)"
    export_hint = (
        "az monitor log-analytics query -w <workspace> --analytics-query 'SecurityEvent | where EventID in "
        "(4624, 4625, 4648, 4768, 4771, 4776)' > security.json; or Winlogbeat / NXLog JSON output of the "
        "Security channel; or evtx_dump -o jsonl Security.evtx > security.jsonl"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if text[:1] not in (b"{", b"["):
            return False
        keys = json_keys(text)
        if keys & _NOT_OURS:
            return False
        if "winlog" in keys and "event_id" in keys:
            return True  # Winlogbeat / Elastic Agent
        if {"event", "system", "eventid"} <= keys:
            return True  # evtx_dump
        return "eventid" in keys and bool(keys & _EVENT_DATA_MARKS) and bool(keys & _HOST_MARKS)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return event_batches(json_records(inp, tally, opts), tally, opts, NAME)


def event_batches(
    records: Iterator[tuple[str, str, dict]], tally: Tally, opts: ReadOptions, source_format: str
) -> Iterator[pa.RecordBatch]:
    """Batches of the sign-in rows of (position, record_ref, event) records in any of the shapes."""
    zone = ZoneInfo(opts.timezone) if opts.timezone else None  # times written without a zone
    rows = (
        row
        for pos, ref, rec in records
        if (row := event_row(rec, ref, pos, tally, zone, source_format)) is not None
    )
    return schema.row_batches(rows, BATCH_ROWS)


def event_row(
    rec: dict, ref: str, pos: str, tally: Tally, zone: ZoneInfo | None, source_format: str
) -> dict | None:
    """One event in any of the three shapes as a normalized row; None when it is ignored (not a
    sign-in event) or quarantined (counted in ``tally`` either way)."""
    try:
        return _row(rec, ref, pos, tally, zone, source_format)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        tally.reject(pos, f"unexpected structure ({type(exc).__name__})", record_excerpt(rec))
        return None


def _row(
    rec: dict, ref: str, pos: str, tally: Tally, zone: ZoneInfo | None, source_format: str
) -> dict | None:
    event = _fields(rec)
    if event is None:
        tally.reject(pos, "no EventID", record_excerpt(rec))
        return None
    event_id, data, when, computer, record_id = event
    if event_id is None:
        tally.reject(pos, "EventID is not a number", record_excerpt(rec))
        return None
    if event_id not in wc.AUTH_EVENT_IDS:
        tally.ignore(wc.ignore_reason(event_id))
        return None
    time = _time(when, zone)
    if time is None:
        tally.reject(pos, f"no readable time ({', '.join(TIME_KEYS)})", record_excerpt(rec))
        return None
    computer = _text(computer)
    record_id = _text(record_id)
    if record_id is not None:
        uid: str | None = f"{computer}:{record_id}" if computer else record_id
    else:
        uid = _text(rec.get("EventOriginId"))  # SecurityEvent: a GUID per event
    return wc.auth_row(
        event_id,
        data,
        time=time,
        computer=computer,
        source_format=source_format,
        record_ref=ref,
        event_uid=uid,
    )


Fields = tuple[int | None, dict, list[Any], Any, Any]  # event id, EventData, times, computer, record id


def _fields(rec: dict) -> Fields | None:
    """The event's id, EventData, candidate times, computer and record id, whatever the shape; None
    when the record names no event id."""
    winlog = rec.get("winlog")
    if isinstance(winlog, dict):  # Winlogbeat / Elastic Agent
        event = rec["event"] if isinstance(rec.get("event"), dict) else {}
        host = rec["host"] if isinstance(rec.get("host"), dict) else {}
        raw_id = winlog.get("event_id", event.get("code"))
        if raw_id is None:
            return None
        data = winlog.get("event_data")
        return (
            wc.event_id(raw_id),
            data if isinstance(data, dict) else {},
            [rec.get("@timestamp"), event.get("created")],
            winlog.get("computer_name") or host.get("name") or host.get("hostname"),
            winlog.get("record_id"),
        )
    nested = rec.get("Event")
    if isinstance(nested, dict) and isinstance(nested.get("System"), dict):  # evtx_dump
        system = nested["System"]
        created = system.get("TimeCreated")
        attrs = created.get("#attributes") if isinstance(created, dict) else None
        data = nested.get("EventData")
        if "EventID" not in system:
            return None
        return (
            wc.event_id(system["EventID"]),
            data if isinstance(data, dict) else {},
            [attrs.get("SystemTime") if isinstance(attrs, dict) else None],
            system.get("Computer"),
            system.get("EventRecordID"),
        )
    key = next((k for k in _EVENT_ID_KEYS if k in rec), None)
    if key is None:
        return None
    event_id = wc.event_id(rec[key])
    data = dict(rec)
    inner = rec.get("EventData")
    if isinstance(inner, dict):  # WindowsEvent: EventData an object (SecurityEvent: an XML string)
        data.update(inner)
    if not data.get("TargetUserName"):  # SecurityEvent's own columns, as the CSV export reads them
        fallback = data.get("TargetAccount") or (data.get("Account") if event_id in (4624, 4625) else None)
        if fallback:
            data["TargetUserName"] = fallback
    return (
        event_id,
        data,
        [rec.get(k) for k in TIME_KEYS],
        next((rec[k] for k in COMPUTER_KEYS if rec.get(k)), None),
        next((rec[k] for k in RECORD_ID_KEYS if rec.get(k) is not None), None),
    )


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _time(candidates: list[Any], zone: ZoneInfo | None) -> datetime | None:
    """The first candidate that reads as a time: ISO 8601 (a naive one in ``zone``), or the slash
    form of a Sentinel export."""
    for value in candidates:
        if not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()
        when = iso_in_zone(text, zone)  # NXLog's "2017-12-19 17:45:02" too
        if when is None and "/" in text:
            when = parse_sentinel_time(text)
        if when is not None and MIN_YEAR <= when.year <= MAX_YEAR:
            return when
    return None


SOURCES = [WindowsSecurityJson()]
