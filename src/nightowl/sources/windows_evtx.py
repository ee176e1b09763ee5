"""Windows Security event log files (binary ``.evtx``), read with the ``evtx`` Rust parser.

Authentication events kept: 4624, 4625, 4648, 4768, 4771, 4776 (field mapping and code
tables in :mod:`nightowl.sources.windows_codes`). Every other event id is counted as
ignored. The parser recovers from damage chunk by chunk; a single bad record is quarantined
with its record number, and every record the headers declare that nobody read (a damaged chunk,
a file cut short) is quarantined once (:mod:`nightowl.sources.windows_evtx_layout`). A chunk cut
short is read padded, so its complete records are kept.
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
from nightowl.sources.windows_evtx_layout import CHUNK_BYTES, FILE_HEADER_BYTES, Accounting, read_layout

MAGIC = b"ElfFile\x00"
BATCH_ROWS = 50_000
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
        layout = read_layout(path)
        seen = Accounting(layout)
        yield from schema.row_batches(self._rows(parser, shown, tally, seen), BATCH_ROWS)
        if layout.partial is not None:  # the parser skips a chunk cut short: read it padded
            with tempfile.TemporaryDirectory(prefix="nightowl-evtx-") as tmp:
                padded = _padded_last_chunk(path, layout.partial, Path(tmp))
                rows = self._rows(evtx.PyEvtxParser(str(padded)), shown, tally, seen, chunk_errors=False)
                yield from schema.row_batches(rows, BATCH_ROWS)
        for record_id, reason in seen.lost():
            tally.reject(f"record {record_id}", reason)

    def _rows(
        self, parser, shown: str, tally: Tally, seen: Accounting, chunk_errors: bool = True
    ) -> Iterator[dict]:
        records = parser.records_json()
        last_id = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except (RuntimeError, OSError, ValueError) as exc:
                _quarantine_error(str(exc), last_id, tally, seen, chunk_errors)
                continue
            last_id = rec.get("event_record_id") or last_id
            seen.saw(rec.get("event_record_id"))
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
        event_id = wc.event_id(system.get("EventID"))
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


def _quarantine_error(message: str, last_id: int, tally: Tally, seen: Accounting, chunk_errors: bool) -> None:
    """Turn a parser error into quarantined records. A record's error names it; a chunk whose header
    names its ids is counted by :meth:`Accounting.lost` after the read (the ids nobody saw), a blank
    chunk holds no records, and only a chunk damaged beyond naming its ids is one entry here."""
    rec = _RECORD_NO.search(message)
    if rec:
        tally.reject(f"record {rec.group(1)}", "unreadable EVTX record", message)
        seen.saw(int(rec.group(1)))
        return
    chunk = _CHUNK_NO.search(message)
    number = int(chunk.group(1)) if chunk else None
    if not chunk_errors or number in seen.layout.blank:
        return
    if seen.layout.chunks and (number is None or number not in seen.layout.unknown or seen.spans_gaps):
        return  # its ids are known (its header, or the gap it leaves): the ones not read are counted as lost
    where = f"chunk {number}" if number is not None else f"after record {last_id}"
    tally.reject(where, "unreadable EVTX chunk (record count unknown)", message)


def _padded_last_chunk(path: Path, number: int, tmp: Path) -> Path:
    """A copy of the file header and the cut last chunk, padded with zeros to a whole chunk: the
    parser reads its complete records and stops at the cut."""
    start = FILE_HEADER_BYTES + number * CHUNK_BYTES
    with open(path, "rb") as fh:
        head = fh.read(FILE_HEADER_BYTES)
        fh.seek(start)
        part = fh.read(CHUNK_BYTES)
    out = tmp / "last-chunk.evtx"
    out.write_bytes(head + part + b"\x00" * (CHUNK_BYTES - len(part)))
    return out


SOURCES = [WindowsEvtx()]
