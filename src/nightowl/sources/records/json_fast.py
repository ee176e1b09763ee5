"""The fast path for a clean NDJSON file of records: DuckDB's own ``read_json`` parses each line once
into the format's fields, and the normalized rows go straight into the store's table (no line split,
no JSON path extraction, no staging table).

It is taken only when it stores exactly what the robust path (:mod:`json_duckdb`) would: every line
one JSON object DuckDB reads into the fields without complaint, no blank line, no line longer than
``max_line_bytes``, no page or array, and no record quarantined or ignored. Anything else makes the
insert fail (``error()`` in the SQL, DuckDB's own refusal of a malformed line, or :class:`Declined`
after comparing the rows with the file's line count); the caller rolls its transaction back and reads
the file the robust way. A damaged file costs the time of the refused attempt, never a record.

Lines are numbered by ``row_number() OVER ()`` over the scan, which DuckDB reads in order on one
thread. A file over twice ``byte_ranges.PART_MIN_BYTES`` is cut at line ends into one part per DuckDB
thread (:mod:`byte_ranges`), each part a numbered scan of its own starting from the lines before it,
so the parts are parsed side by side and their rows stored in any order (each carries its line).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np

from nightowl.schema import COLUMN_NAMES
from nightowl.sources.base import InputFile, ReadOptions
from nightowl.sources.records.byte_ranges import line_feeds, parts_for, served_parts
from nightowl.sources.records.json_duckdb import JsonFormat, layout, safe_link
from nightowl.sources.records.sql import sql_str

NOT_CLEAN = "nightowl: not a clean NDJSON file of records"  # error() text that ends the fast attempt
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# the bookkeeping columns of the records relation; a format reading a top-level key of these names
# would shadow them
_RESERVED = {"pre_reject", "raw", "rec", "lineno", "sub", "k"}
DEFAULT_OBJECT_BYTES = 16 << 20  # DuckDB's own default maximum_object_size
# file order of the rows this path stores (their record_ref ends with the line number): read in
# parts, they are stored in any order
LINE_ORDER = "TRY_CAST(regexp_extract(record_ref, '[0-9]+$') AS BIGINT)"


class Declined(Exception):
    """The fast path does not apply to this file: read it the robust way."""


@dataclass(frozen=True)
class LineFacts:
    """What one pass over a file's bytes says about its lines."""

    lines: int  # LF count, plus one for a last line without LF (as the robust path numbers them)
    limit: int  # the line length in bytes the pass checked the lines against
    longest: int | None  # bytes of the longest line, its LF excluded, if one is longer than limit; else None


class LineCounter:
    """Counts the lines of bytes fed in file order, and says whether one is longer than ``limit``
    bytes (and then how long the longest is), beside the content hash that reads the file anyway.

    The count is numpy's (no Python loop per line). Lengths are not measured line by line: a line
    longer than ``limit`` holds a whole window of ``limit // 2 + 1`` bytes without LF, aligned from
    the chunk's first line, so a few ``find`` calls per chunk clear it; only a chunk with such a
    window (or one of many small windows, for a small limit) is measured exactly. A line crossing a
    chunk border is measured from its ends (the first and last LF of each chunk)."""

    MAX_WINDOWS = 64  # more windows than this in a chunk: measuring it exactly is cheaper

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"line limit {limit} < 0")
        self.limit = limit
        self.lines = 0
        self._window = limit // 2 + 1
        self._longest = 0  # longest line seen longer than limit, else 0
        self._run = 0  # bytes since the last LF
        self._eq = np.empty(0, np.bool_)

    def update(self, data: bytes | bytearray, end: int | None = None) -> None:
        """Feed ``data[:end]`` (all of it by default), the next bytes of the file."""
        n = len(data) if end is None else end
        first = data.find(b"\n", 0, n)
        if first < 0:
            self._run += n
            return
        self._line(self._run + first)
        last = data.rfind(b"\n", 0, n)
        self._run = n - last - 1
        arr = np.frombuffer(data, np.uint8, n)
        if self._may_exceed(data, first + 1, last):
            lf = np.flatnonzero(arr == 10)
            self.lines += int(lf.size)
            if lf.size > 1:
                self._line(int(np.diff(lf).max()) - 1)
            return
        if self._eq.size < n:
            self._eq = np.empty(n, np.bool_)
        self.lines += line_feeds(arr, self._eq)

    def _may_exceed(self, data: bytes | bytearray, lo: int, hi: int) -> bool:
        """Whether a line between ``lo`` and ``hi`` (both just after / at an LF) may be longer than
        the limit: a window of ``limit // 2 + 1`` bytes without LF there, or too many to look at."""
        if hi - lo <= self.limit:
            return False
        w = self._window
        if (hi - lo) // w > self.MAX_WINDOWS:
            return True
        return any(data.find(b"\n", j, j + w) < 0 for j in range(lo, hi - w + 1, w))

    def _line(self, length: int) -> None:
        if length > self.limit and length > self._longest:
            self._longest = length

    def facts(self) -> LineFacts:
        longest = max(self._longest, self._run if self._run > self.limit else 0)
        return LineFacts(
            lines=self.lines + (1 if self._run else 0), limit=self.limit, longest=longest or None
        )


def field_sql(path: str) -> str:
    """The SQL of ``$.a.b.c`` over read_json's columns: ``struct_extract(struct_extract("a", 'b'), 'c')``."""
    first, *rest = path.removeprefix("$.").split(".")
    expr = f'"{first}"'
    for part in rest:
        expr = f"struct_extract({expr}, {sql_str(part)})"
    return expr


def read_json_columns(paths: tuple[str, ...]) -> str | None:
    """``read_json``'s ``columns`` for exactly ``paths`` (text leaves, nested objects as STRUCTs), or
    None when a path is not plain dotted keys or is both a leaf and an object."""
    tree: dict = {}
    for path in paths:
        parts = path.removeprefix("$.").split(".")
        if not path.startswith("$.") or not all(_KEY.fullmatch(p) for p in parts):
            return None
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if node is None:
                return None
        if parts[-1] in node and node[parts[-1]] is not None:
            return None
        node[parts[-1]] = None
    if set(tree) & _RESERVED:
        return None

    def sql_type(node: dict | None) -> str:
        if node is None:
            return "VARCHAR"
        return "STRUCT(" + ", ".join(f'"{k}" {sql_type(v)}' for k, v in node.items()) + ")"

    return "{" + ", ".join(f"{sql_str(k)}: {sql_str(sql_type(v))}" for k, v in tree.items()) + "}"


def insert_clean_ndjson(
    con: duckdb.DuckDBPyConnection,
    inp: InputFile,
    opts: ReadOptions,
    fmt: JsonFormat,
    target: str,
    facts: Callable[[], LineFacts],
) -> int:
    """Insert the normalized records of ``inp`` into ``target``; returns how many. Raises
    :class:`Declined`, or one of json_duckdb.FAST_PATH_REFUSALS, when the file is not clean: the
    caller holds a transaction and rolls it back. ``facts`` gives the file's line facts (it may
    still be computing them in another thread)."""
    if fmt.normalize_read is None or inp.gzip or inp.problem or layout(inp.head()) != "lines":
        raise Declined("not a plain NDJSON file of a format with a fast path")
    envelope = f"$.{fmt.envelope}"
    columns = read_json_columns((*fmt.read_paths, envelope))
    if columns is None:
        raise Declined("the format's paths are not plain keys")
    maxb = int(opts.max_line_bytes)
    refuse = f"error({sql_str(NOT_CLEAN)})"
    out = [c for c in COLUMN_NAMES if c != "record_ref"]
    cols = ", ".join(f'"{c}"' for c in out)
    with (
        tempfile.TemporaryDirectory(prefix="nightowl-link-") as tmp,
        served_parts(con, safe_link(inp, tmp), parts_for(con)) as parts,
    ):
        # one numbered scan per part; the paths are bound ($path0, ...), never pasted into SQL
        records = " UNION ALL ".join(
            _numbered_scan(f"$path{n}", before, columns, envelope, refuse, maxb)
            for n, (_, before) in enumerate(parts)
        )
        query = fmt.normalize_read(records, field_sql)
        params = {f"path{n}": url for n, (url, _) in enumerate(parts)} | {"name": inp.name + ":"}
        insert = f"""INSERT INTO {target} ({cols}, record_ref)
                SELECT {cols}, CASE WHEN _reject IS NULL AND _ignore IS NULL THEN $name || _lineno
                                    ELSE {refuse} END
                FROM ({query})"""
        if len(parts) == 1:
            inserted = con.execute(insert, params).fetchall()[0][0]
        else:
            # the rows carry their line numbers: the parts' scans may run side by side and their
            # rows land in any order (after a failed insert, the caller's rollback restores it)
            con.execute("SET preserve_insertion_order = false")
            inserted = con.execute(insert, params).fetchall()[0][0]
            con.execute("RESET preserve_insertion_order")
    got = facts()
    if inserted != got.lines:
        raise Declined(f"{inserted} records from {got.lines} lines (blank lines)")
    if got.limit != maxb:
        raise Declined(f"lines checked against {got.limit} bytes, not {maxb}")
    if got.longest is not None:
        raise Declined(f"a line of {got.longest} bytes, longer than {maxb}")
    return inserted


def _numbered_scan(path: str, lines_before: int, columns: str, envelope: str, refuse: str, maxb: int) -> str:
    """The records relation of one part: its lines numbered in order on one thread, from
    ``lines_before + 1``."""
    scan = (
        f"read_json({path}, format = 'newline_delimited', records = true, "
        f"columns = {columns}, compression = 'none', ignore_errors = false, "
        f"maximum_object_size = {max(DEFAULT_OBJECT_BYTES, maxb + 2)})"
    )
    # a page or envelope ({"value": [...]}) is unpacked by the robust path only
    return f"""
SELECT CAST(CASE WHEN {field_sql(envelope)} IS NOT NULL THEN {refuse} END AS VARCHAR) AS pre_reject,
       CAST(NULL AS VARCHAR) AS raw, CAST(NULL AS VARCHAR) AS rec,
       row_number() OVER () + {int(lines_before)} AS lineno,
       CAST(NULL AS BIGINT) AS sub, CAST(NULL AS BIGINT) AS k, *
FROM {scan}"""
