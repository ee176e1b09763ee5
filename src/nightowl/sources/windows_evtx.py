"""Windows Security event log files (binary ``.evtx``), read with the ``evtx`` Rust parser.

Authentication events kept: 4624, 4625, 4648, 4768, 4771, 4776 (field mapping and code
tables in :mod:`nightowl.sources.windows_codes`). Every other event id is counted as
ignored. The parser recovers from damage chunk by chunk: a chunk it cannot read is
quarantined record by record when its header still names the record ids, otherwise as one
unreadable chunk; a single bad record is quarantined with its record number.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa

from nightowl import schema
from nightowl.sources import windows_codes as wc
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally
from nightowl.sources.records.times import iso_utc

MAGIC = b"ElfFile\x00"
BATCH_ROWS = 50_000
MAX_RECORDS_PER_BAD_CHUNK = 10_000  # a chunk holds a few hundred; more means a garbage header

_CHUNK_IDS = re.compile(r"record IDs (\d+)\.\.(\d+)")
_RECORD_NO = re.compile(r"record number (\d+)")
_CHUNK_NO = re.compile(r"chunk number (\d+)")


class WindowsEvtx:
    name = "windows-evtx"
    title = "Windows Security event log (.evtx)"
    export_hint = "wevtutil epl Security security.evtx (on each DC and server), or copy %SystemRoot%\\System32\\winevt\\Logs\\Security.evtx"

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(MAGIC)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        if inp.gzip:  # the parser needs a seekable file: spool the decompressed bytes
            with tempfile.TemporaryDirectory(prefix="nightowl-evtx-") as tmp:
                spooled = Path(tmp) / "input.evtx"
                try:
                    with inp.open() as src, open(spooled, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except (OSError, EOFError) as exc:
                    raise InputError(f"{inp.name}: cannot decompress: {exc}") from exc
                yield from self._read_path(spooled, inp.name, tally)
        else:
            yield from self._read_path(inp.path, inp.name, tally)

    def _read_path(self, path: Path, shown: str, tally: Tally) -> Iterator[pa.RecordBatch]:
        import evtx  # imported here: only EVTX inputs pay for the extension module

        try:
            parser = evtx.PyEvtxParser(str(path))
        except (OSError, RuntimeError, ValueError) as exc:
            raise InputError(f"{shown}: not a readable EVTX file: {exc}") from exc
        yield from schema.row_batches(self._rows(parser, shown, tally), BATCH_ROWS)

    def _rows(self, parser, shown: str, tally: Tally) -> Iterator[dict]:
        records = parser.records_json()
        last_id = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except (RuntimeError, OSError, ValueError) as exc:
                _quarantine_error(str(exc), last_id, tally)
                continue
            last_id = rec.get("event_record_id") or last_id
            row = self._record(rec, shown, tally)
            if row is not None:
                yield row

    def _record(self, rec: dict, shown: str, tally: Tally) -> dict | None:
        number = rec.get("event_record_id")
        try:
            event = orjson.loads(rec["data"])["Event"]
            system = event["System"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            tally.reject(f"record {number}", f"unreadable event XML: {exc}", rec.get("data"))
            return None
        event_id = _event_id(system.get("EventID"))
        if event_id not in wc.AUTH_EVENT_IDS:
            tally.ignore(wc.ignore_reason(event_id))
            return None
        data = event.get("EventData")
        if not isinstance(data, dict):
            tally.reject(f"record {number}", f"event {event_id} without named EventData", rec.get("data"))
            return None
        created = system.get("TimeCreated")
        when = None
        if isinstance(created, dict):
            when = iso_utc((created.get("#attributes") or {}).get("SystemTime"))
        if when is None:
            when = iso_utc(rec.get("timestamp"))
        record_id = system.get("EventRecordID", number)
        computer = system.get("Computer")
        # EventRecordID counts per machine's log: two DCs reuse the same numbers, and the
        # store deduplicates on event_uid, so the uid names the computer too.
        uid = None if record_id is None else f"{computer}:{record_id}" if computer else str(record_id)
        return wc.auth_row(
            event_id,
            data,
            time=when,
            computer=computer,
            source_format=self.name,
            record_ref=f"{shown}#record {record_id}",
            event_uid=uid,
        )


def _event_id(raw: object) -> int | None:
    if isinstance(raw, dict):  # <EventID Qualifiers="...">4624</EventID>
        raw = raw.get("#text")
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _quarantine_error(message: str, last_id: int, tally: Tally) -> None:
    """Turn a parser error into quarantined records (one per lost record when known)."""
    ids = _CHUNK_IDS.search(message)
    if ids:
        first, last = int(ids.group(1)), int(ids.group(2))
        if 0 <= last - first < MAX_RECORDS_PER_BAD_CHUNK:
            for number in range(first, last + 1):
                tally.reject(f"record {number}", "unreadable EVTX chunk", message)
            return
    rec = _RECORD_NO.search(message)
    if rec:
        tally.reject(f"record {rec.group(1)}", "unreadable EVTX record", message)
        return
    chunk = _CHUNK_NO.search(message)
    where = f"chunk {chunk.group(1)}" if chunk else f"after record {last_id}"
    tally.reject(where, "unreadable EVTX chunk (record count unknown)", message)


SOURCES = [WindowsEvtx()]
