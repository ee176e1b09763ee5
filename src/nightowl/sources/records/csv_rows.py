"""CSV readers for exports: header sniffing, and rows with damage quarantined instead of fatal.

* :func:`line_records`: ``(line, {column: text})`` (Sentinel SecurityEvent, AWSCloudTrail);
* :func:`keyed_records`: ``(position, record_ref, {column: text})`` for the Python JSON reader's
  mappers (``[UTC]`` header suffixes removed);
* :func:`raw_rows` / :func:`rows_as_json`: rows as JSON texts of canonical fields for the DuckDB
  JSON reader (portal and Log Analytics sign-in CSVs; headers matched after :func:`norm_header`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import orjson

from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines, decode
from nightowl.sources.records.json_duckdb import Split
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


def line_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, dict[str, str]]]:
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


def keyed_records(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[Record]:
    """Rows of a CSV export as dicts keyed by header (``[UTC]`` suffixes removed)."""
    csv.field_size_limit(max(int(opts.max_line_bytes), 1 << 16))
    try:
        with inp.open() as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            header: list[str] | None = None
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    tally.reject(f"line {reader.line_num}", f"invalid CSV ({exc})", None)
                    continue
                if header is None:
                    header = [_clean_header(h) for h in row]
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                pos, ref = f"line {reader.line_num}", f"{inp.name}:{reader.line_num}"
                if len(row) != len(header):
                    tally.reject(pos, f"{len(row)} fields where the header has {len(header)}", ",".join(row))
                    continue
                yield pos, ref, dict(zip(header, row, strict=True))
    except (OSError, EOFError) as exc:
        tally.reject("end of file", f"unreadable from here on ({exc.__class__.__name__})", None)


def _clean_header(name: str) -> str:
    name = name.strip().strip('"')
    return re.sub(r"\s*\[(UTC|Local Time)\]$", "", name)


def raw_rows(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line where the row starts, raw header, cells) for every data row; damage is quarantined.

    The csv module's field limit is raised to the per-line cap (it is process-wide; raising it
    is harmless), so a giant cell is read, not fatal, and then rejected by the record checks.
    """
    if csv.field_size_limit() < opts.max_line_bytes:
        csv.field_size_limit(opts.max_line_bytes)
    line = 0
    try:
        with inp.open() as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            header = next(reader, None)
            if header is None:
                return
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    tally.reject(f"line {start}", f"unreadable CSV ({exc})", None)
                    return
                line = start
                if not any(cell.strip() for cell in row):
                    continue
                yield start, header, row
    except (OSError, EOFError) as exc:
        tally.reject(f"line {line + 1}", f"unreadable from here on ({exc.__class__.__name__})", None)


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
        for _, header, row in raw_rows(inp, Tally(), opts)
    )
    for line, header, row in raw_rows(inp, tally, opts):
        rec = to_record(_by_name(_index(header), row))
        for key in time_fields:
            rec[key] = iso_time(rec.get(key), order)
        yield line, orjson.dumps(rec).decode(), None, None


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
