"""CSV readers for exports: header sniffing, and rows with damage quarantined instead of fatal.

One reader, :func:`table_rows`, splits every CSV into rows (and quarantines damaged ones); the
others only shape its rows for a kind of mapper:

* :func:`line_records`: ``(line, {column: text})`` (Sentinel SecurityEvent, AWSCloudTrail);
* :func:`keyed_records`: ``(position, record_ref, {column: text})`` for the Python JSON reader's
  mappers (``[UTC]`` header suffixes removed);
* :func:`rows_as_json`: rows as JSON texts of canonical fields for the DuckDB JSON reader (portal
  and Log Analytics sign-in CSVs; headers matched after :func:`norm_header`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator

import orjson
import pyarrow as pa

from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines, decode
from nightowl.sources.records.json_duckdb import JsonFormat, Split, read_split_records
from nightowl.sources.records.json_python import Record
from nightowl.sources.records.times import iso_time, slash_date_order


def norm_header(name: str) -> str:
    """'Application ID ' -> 'application id'; 'TimeGenerated [UTC]' -> 'timegenerated'."""
    name = name.replace("\ufeff", "")
    name = re.sub(r"\s*\[(utc|local)\]\s*$", "", name, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", name).strip().casefold()


def first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].rstrip("\r")


def header_line(head: bytes) -> bytes:
    """A CSV sniff's view of the first line: BOM dropped; empty when the file starts like JSON."""
    line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return b"" if line[:1] in (b"{", b"[") else line


def header_names(head: bytes) -> list[str]:
    """Normalized header names of a CSV's first line (empty when it does not parse)."""
    try:
        row = next(csv.reader([first_line(head)]))
    except (csv.Error, StopIteration):
        return []
    return [norm_header(h) for h in row]


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


MAX_ROW_LINES = 1000  # a quoted field running over more lines is taken for an unbalanced quote
EMPTY_ROW = "empty row (every field blank)"
SWALLOWED = "a quote opened on this line runs into the rows after it (unbalanced quote)"
BLANKS = " \t\r\n\x0b\x0c"  # a line of only these is no row


class _Abort(Exception):
    """The row being read is given up (too long, too many lines, an oversized line in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Feed:
    """The lines handed to :mod:`csv`, which pulls exactly those of one row at a time; remembers
    them (line number, text) so a row that turns out malformed can be given back but its first line."""

    def __init__(self, lines: Iterator[tuple[int, bytes, str | None]], limit: int) -> None:
        self.lines = lines
        self.limit = limit
        self.row: list[tuple[int, str]] = []
        self.size = 0
        self.back: list[tuple[int, str, str | None]] = []  # given back, read again first (reversed)

    def start_row(self) -> None:
        self.row, self.size = [], 0

    def give_back(self, lines: list[tuple[int, str]]) -> None:
        self.back.extend((n, text, None) for n, text in reversed(lines))

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.back:
            lineno, text, problem = self.back.pop()
        else:
            lineno, raw, problem = next(self.lines)
            text = decode(raw)
            if lineno == 1:
                text = text.removeprefix("\ufeff")
            if "\r" in text and b"\x00" not in raw:
                # a lone CR ends a line too (old Mac exports, damage); in a line holding NUL bytes
                # (UTF-16 or binary data) a 0x0D byte is part of a character, not a line ending
                text, *more = text.split("\r")
                self.back.extend((lineno, part, None) for part in reversed(more))
        self.row.append((lineno, text))
        self.size += len(text)
        if problem is not None:
            raise _Abort(problem)
        if len(self.row) > MAX_ROW_LINES or self.size > self.limit:
            raise _Abort(f"row longer than {self.limit} bytes or {MAX_ROW_LINES} lines (unbalanced quote?)")
        return text + "\n"


def table_rows(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line where the row starts, header, cells) for every data row, as a CSV reader counts rows.

    The one CSV reader of every CSV format. A row is quarantined with its line number, and reading
    goes on, when it is longer than ``max_line_bytes``, does not have the header's number of
    fields, or opens a quote that no later line closes (then only its first line is quarantined
    and the lines after it are read again as rows). Rows are never split or merged: a quoted
    field may hold line breaks. Blank lines are no rows; a UTF-8 BOM is dropped.
    """
    if csv.field_size_limit() < opts.max_line_bytes + 1:
        csv.field_size_limit(opts.max_line_bytes + 1)  # process-wide; rows are capped by _Feed
    feed = _Feed(bounded_lines(inp, opts.max_line_bytes), opts.max_line_bytes)
    reader = csv.reader(feed)
    header: list[str] | None = None
    while True:
        feed.start_row()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (_Abort, csv.Error) as exc:
            reason = exc.reason if isinstance(exc, _Abort) else f"malformed CSV row ({exc})"
            _give_up(feed, tally, reason, inp.name, header is None)
            continue
        if not row or all(not text.strip(BLANKS) for _, text in feed.row):
            continue  # a blank line (a lone quote is not: it is a damaged row)
        start = feed.row[0][0]
        if header is None:
            header = row
            continue
        width = f"{len(row)} fields where the header has {len(header)}"
        if len(feed.row) > 1 and _is_row(feed.row[1][1], len(header)):
            # a quote opened on this line swallowed the next ones, which are rows of their own (the
            # joined lines may even make the header's number of fields)
            _give_up(feed, tally, width if len(row) != len(header) else SWALLOWED, inp.name, False)
            continue
        if len(row) != len(header):
            tally.reject(f"line {start}", width, feed.row[0][1])
            continue
        if not any(cell.strip() for cell in row):
            tally.ignore(EMPTY_ROW)
            continue
        yield start, header, row


def _is_row(line: str, width: int) -> bool:
    """True when ``line`` looks like a row of its own: it parses alone into ``width`` fields and its
    quotes are balanced (the line that closes a quoted field spanning lines has an odd number)."""
    if line.count('"') % 2 or not _well_quoted(line):
        return False
    try:
        return len(next(csv.reader([line]), [])) == width
    except csv.Error:
        return False


def _well_quoted(line: str) -> bool:
    """True when every quote of ``line`` opens a field, closes it before a comma or the end, or is
    doubled inside it: what a CSV writer writes (``0",,,"`` is the tail of a quoted field)."""
    in_q, at_start, i, n = False, True, 0, len(line)
    while i < n:
        ch = line[i]
        if in_q:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 2
                    continue
                in_q = False
                if i + 1 < n and line[i + 1] != ",":
                    return False
        elif ch == '"':
            if not at_start:
                return False
            in_q = True
        at_start = ch == "," and not in_q
        i += 1
    return not in_q


def _give_up(feed: _Feed, tally: Tally, reason: str, name: str, in_header: bool) -> None:
    """Quarantine the first line of the row being read; its other lines are read again."""
    (lineno, text), rest = feed.row[0], feed.row[1:]
    if in_header:
        raise InputError(f"{name}: unreadable CSV header (line {lineno}: {reason})")
    tally.reject(f"line {lineno}", reason, text)
    feed.give_back(rest)


def line_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row as {column: text}) for each well-formed data row (see :func:`table_rows`)."""
    for line, header, row in table_rows(inp, tally, opts):
        yield line, dict(zip([h.strip() for h in header], row, strict=True))


def keyed_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[Record]:
    """Rows as (position, record_ref, {column: text}) for the Python mappers (``[UTC]`` suffixes
    removed from the header)."""
    clean: list[str] | None = None
    for line, header, row in table_rows(inp, tally, opts):
        if clean is None:
            clean = [_clean_header(h) for h in header]
        yield f"line {line}", f"{inp.name}:{line}", dict(zip(clean, row, strict=True))


def _clean_header(name: str) -> str:
    name = name.strip().strip('"')
    return re.sub(r"\s*\[(UTC|Local Time)\]$", "", name)


def rows_as_json(
    inp: InputFile,
    tally: Tally,
    opts: ReadOptions,
    to_record: Callable[[dict[str, str]], dict[str, str | None]],
    time_headers: tuple[str, ...],
    time_fields: tuple[str, ...],
) -> Iterator[Split]:
    """CSV rows -> JSON object texts of canonical fields (duplicate headers: first non-empty).

    Two passes: the first only decides the file's slash-date order (month or day first) from
    the ``time_headers`` cells; ``time_fields`` of each record are then rewritten as ISO 8601."""
    order = slash_date_order(
        next((c for k in time_headers if (c := _cell(_index(header), row, k))), "")
        for _, header, row in table_rows(inp, Tally(), opts)
    )
    for line, header, row in table_rows(inp, tally, opts):
        rec = to_record(_by_name(_index(header), row))
        for key in time_fields:
            rec[key] = iso_time(rec.get(key), order)
        yield line, orjson.dumps(rec).decode(), None, None


def csv_json_records(
    inp: InputFile,
    tally: Tally,
    opts: ReadOptions,
    fmt: JsonFormat,
    keys: dict[str, str],
    times: tuple[str, ...],
) -> Iterator[pa.RecordBatch]:
    """A CSV export of a table a :class:`JsonFormat` reads as JSON: each row becomes the JSON object
    of ``keys`` (normalized header -> the JSON key), the ``times`` keys' slash dates made ISO."""

    def to_record(cells: dict[str, str]) -> dict[str, str | None]:
        return {key: cells.get(norm) for norm, key in keys.items()}

    splitter = rows_as_json(inp, tally, opts, to_record, tuple(t.casefold() for t in times), times)
    return read_split_records(inp, tally, opts, fmt, splitter)


_index_cache: dict[tuple[str, ...], dict[str, list[int]]] = {}


def _index(header: list[str]) -> dict[str, list[int]]:
    key = tuple(header)
    idx = _index_cache.get(key)
    if idx is None:
        idx = {}
        for i, h in enumerate(header):
            idx.setdefault(norm_header(h), []).append(i)
        if len(_index_cache) < 64:
            _index_cache[key] = idx
    return idx


def _by_name(idx: dict[str, list[int]], row: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, positions in idx.items():
        for i in positions:
            if i < len(row) and row[i].strip():
                out[name] = row[i].strip()
                break
    return out


def _cell(idx: dict[str, list[int]], row: list[str], name: str) -> str:
    for i in idx.get(name, ()):
        if i < len(row) and row[i].strip():
            return row[i].strip()
    return ""
