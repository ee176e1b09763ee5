"""The Python JSON record reader: for tables whose records are nested and irregular (directory
audit, mailbox audit, account inventories), where each record is mapped by a Python function.

Reads JSON in every layout the vendors export (one record per line, Graph pages, arrays, Azure
Monitor ``records`` envelopes, pretty-printed documents); :func:`read_rows` maps each record with
the vendor's mapper, counting ignored and quarantined ones, and batches rows for the store.
CSV rows come from :func:`nightowl.sources.records.csv_rows.keyed_records` in the same shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import orjson
import pyarrow as pa

from nightowl import audit_schema
from nightowl.schema import row_batches
from nightowl.sources.base import InputFile, ReadOptions, Tally, excerpt
from nightowl.sources.records.json_recover import located, looks_like_container

BATCH_ROWS = 20_000
CONTAINER_MAX_BYTES = 64 << 20  # one line holding a whole Graph page or JSON array
DOCUMENT_MAX_BYTES = 1 << 30  # pretty-printed JSON is parsed in memory; beyond this, refuse
DUPLICATE_ROW = "duplicate row of a record already read from this file (Log Analytics mv-expand)"

Record = tuple[str, str, Any]  # (position for people, record_ref, parsed record)
Mapper = Callable[[dict[str, Any], str], "dict[str, Any] | str"]


_KEY = re.compile(rb'"([A-Za-z_@][A-Za-z0-9_@.]*)"\s*:')


def json_keys(head: bytes) -> set[str]:
    """The object keys (case-folded) in the first 64 KiB of a JSON export, for sniffing a format
    by the columns or fields it has."""
    return {k.decode().casefold() for k in _KEY.findall(head[:65536])}


class RecordError(ValueError):
    """One record cannot be read; the message is the quarantine reason."""


def json_layout(head: bytes) -> str:
    """'lines' when the first line is a complete JSON value (NDJSON, a one-line page), else 'document'."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first, nl, _ = text.partition(b"\n")
    if not nl or text[:1] not in (b"{", b"["):
        return "lines"  # one line, or a first line that is not JSON at all: read line by line
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return "document"
    return "lines"


def _lines_after_a_damaged_first_line(text: str) -> bool:
    """True when the first non-blank line does not parse but the next one is a whole JSON object on
    its own line: an array's elements end in a comma or open over several lines, NDJSON's do not."""
    found, pos = [], 0
    while len(found) < 2 and pos < len(text):
        end = text.find("\n", pos, pos + CONTAINER_MAX_BYTES)
        if end == -1:
            if len(text) - pos > CONTAINER_MAX_BYTES:
                return False  # a line too long for a record: a document's, not NDJSON
            end = len(text)
        if text[pos:end].strip(" \t\r\ufeff"):
            found.append(text[pos:end])
        pos = end + 1
    if len(found) < 2:
        return False
    try:
        orjson.loads(found[0])
        return False
    except orjson.JSONDecodeError:
        pass
    try:
        return isinstance(orjson.loads(found[1]), dict)
    except orjson.JSONDecodeError:
        return False


def _expand(value: Any) -> list[Any] | None:
    """The records inside a container (array, Graph page, Azure Monitor ``records``); None for a record."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("value", "records"):
            inner = value.get(key)
            if isinstance(inner, list) and (key == "records" or "@odata.context" in value or len(value) <= 3):
                return inner
    return None


def _emit(value: Any, pos: str, ref: str, tally: Tally) -> Iterator[Record]:
    items = _expand(value)
    if items is None:
        if isinstance(value, dict):
            yield pos, ref, value
        else:
            tally.reject(pos, "not a JSON object", excerpt(json.dumps(value, default=str)))
        return
    for k, item in enumerate(items, start=1):
        if isinstance(item, dict):
            yield f"{pos} record {k}", f"{ref}:{k}", item
        else:
            tally.reject(f"{pos} record {k}", "not a JSON object", excerpt(json.dumps(item, default=str)))


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # invalid UTF-8 inside an otherwise valid record: keep the record, replace the bytes
        return orjson.loads(raw.decode("utf-8", errors="replace"))


def json_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[Record]:
    """Every JSON object in the file, each with a position and a reference a person can find."""
    if json_layout(inp.head()) == "lines":
        yield from _json_lines(inp, tally, opts)
    else:
        yield from _json_document(inp, tally, opts)


def _json_lines(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[Record]:
    limit = max(int(opts.max_line_bytes), CONTAINER_MAX_BYTES)
    lineno = 0
    try:
        with inp.open() as fh:
            while True:
                raw = fh.readline(limit + 1)
                if not raw:
                    break
                lineno += 1
                pos, ref = f"line {lineno}", f"{inp.name}:{lineno}"
                if len(raw) > limit and not raw.endswith(b"\n"):
                    head = raw[:400]
                    while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                        pass
                    tally.reject(pos, f"line longer than {limit} bytes", head)
                    continue
                raw = raw.strip()
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:].strip()
                if not raw:
                    continue
                try:
                    value = _loads(raw)
                except (orjson.JSONDecodeError, RecursionError):
                    text = raw.decode("utf-8", errors="replace")
                    if looks_like_container(text):  # a damaged page or array: its other records
                        yield from _pieces(text, tally, inp.name, lineno)
                    else:
                        tally.reject(pos, "invalid JSON", raw)
                    continue
                if not isinstance(value, list | dict) and len(raw) > opts.max_line_bytes:
                    tally.reject(pos, f"record longer than {opts.max_line_bytes} bytes", raw)
                    continue
                yield from _emit(value, pos, ref, tally)
    except (OSError, EOFError) as exc:  # corrupt gzip stream: keep what was read, flag the rest
        tally.reject(f"line {lineno + 1}", f"unreadable from here on ({exc.__class__.__name__})", None)


def _json_document(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[Record]:
    text = inp.document_text(DOCUMENT_MAX_BYTES)
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, RecursionError):
        value = None
    else:
        yield from _emit(value, "document", inp.name, tally)
        return
    if _lines_after_a_damaged_first_line(text):
        # NDJSON behind a damaged first line ('[' alone, say): read line by line, so that line is
        # quarantined as one record, not taken for an array whose commas are all missing
        yield from _json_lines(inp, tally, opts)
        return
    # Several concatenated documents, or a damaged one: split record by record, skipping the damage.
    yield from _pieces(text, tally, inp.name, None)


def _pieces(text: str, tally: Tally, name: str, at_line: int | None) -> Iterator[Record]:
    """The records of a document (or of one line, ``at_line``) that does not parse as a whole: each
    damaged record quarantined alone with its byte offset, the others read (see json_recover)."""
    for loc in located(text, at_line):
        piece, ref = loc.piece, f"{name}:{loc.ref}"
        if loc.reason is not None:
            tally.reject(loc.where, loc.reason, piece.text[:400])
        elif not piece.element:
            yield from _emit(piece.value, loc.where, ref, tally)
        elif isinstance(piece.value, dict):
            yield loc.where, ref, piece.value
        else:
            tally.reject(loc.where, "not a JSON object", excerpt(json.dumps(piece.value, default=str)))


def read_rows(
    records: Iterator[Record], tally: Tally, schema: pa.Schema, mapper: Mapper
) -> Iterator[pa.RecordBatch]:
    """Map records to rows of ``schema``: a string from the mapper is an ignore reason, a RecordError
    (or any surprise in a hostile record) quarantines it. Rows repeating an event_uid are dropped."""
    return row_batches(_mapped(records, tally, mapper), BATCH_ROWS, partial(audit_schema.batch, schema))


def _mapped(records: Iterator[Record], tally: Tally, mapper: Mapper) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for pos, ref, rec in records:
        try:
            out = mapper(rec, ref)
        except RecordError as exc:
            tally.reject(pos, str(exc), record_excerpt(rec))
            continue
        except (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            tally.reject(pos, f"unexpected structure ({type(exc).__name__})", record_excerpt(rec))
            continue
        if isinstance(out, str):
            tally.ignore(out)
            continue
        uid = out.get("event_uid")
        if uid is not None:
            if uid in seen:
                tally.ignore(DUPLICATE_ROW)
                continue
            seen.add(uid)
        out["record_ref"] = ref
        yield out


def record_excerpt(rec: Any) -> bytes:
    """The first 1,000 bytes of a record as JSON, for a quarantine entry."""
    try:
        return orjson.dumps(rec, default=str)[:1000]
    except (TypeError, orjson.JSONEncodeError):
        return repr(rec)[:1000].encode()
