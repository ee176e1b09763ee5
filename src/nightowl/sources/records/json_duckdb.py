"""The DuckDB JSON record reader: sign-in exports with many records (Graph, Log Analytics, Okta,
and CSV rows turned into JSON) normalized in SQL, so a million records never become Python objects.

A file is split into *lines* (NDJSON, one page per line, one-line arrays) or, when it is
pretty-printed, into top-level JSON values. The split lines go through one DuckDB query that
validates JSON, expands containers (arrays, Graph pages ``{"@odata.context":..,"value":[..]}``),
extracts every field in one parse and maps codes in SQL. The fast path lets DuckDB's CSV scanner
do the splitting; when it refuses a hostile file (invalid UTF-8, a stray CR, a control byte, a
giant line) the robust path splits lines in Python and feeds the *same* query from Arrow, so
both paths agree by construction. The query is materialized before the first batch is yielded:
a failure half-way cannot leave the caller with a partial file.

A vendor supplies a :class:`JsonFormat` (the JSON paths it reads and its normalizing SQL) and
calls :func:`read_json_records` / :func:`stage_json_records`, or :func:`read_split_records` with
records it split itself.
"""

from __future__ import annotations

import codecs
import itertools
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from nightowl.schema import AUTH_SCHEMA, COLUMN_NAMES, COLUMNS
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_recover import located, looks_like_container
from nightowl.sources.records.sql import BLANK, CONTAINER, DAMAGED_CONTAINER, duckdb_text, shown_text, sql_str

BATCH_ROWS = 100_000
CONTAINER_MAX_BYTES = (
    8 << 20
)  # one line holding a whole Graph page (at most 999 sign-ins); DuckDB sizes its scan buffers from this, longer lines take the robust path
PY_CHUNK_LINES = 50_000
PY_CHUNK_BYTES = 64 << 20
DOCUMENT_MAX_BYTES = 2 << 30  # pretty-printed JSON is parsed in memory; beyond this, refuse
CONTAINER_KEY_SQL = sql_str(r'"(value|Records|records)"\s*:\s*\[')  # a page's records array
BIG_LINE_MAX_BYTES = 1 << 30  # a page or array on one line is split in memory up to this size
BOM = "\ufeff"
MARKS = f"({sql_str(CONTAINER)}, {sql_str(BLANK)}, {sql_str(DAMAGED_CONTAINER)})"  # not records: dropped

# What DuckDB raises on a file its CSV scanner refuses (bad UTF-8, stray CR, huge line, corrupt
# gzip); programming errors (binder, parser) are not caught and fail loudly.
FAST_PATH_REFUSALS = (
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.IOException,
    duckdb.OutOfRangeException,
    duckdb.OutOfMemoryException,
    duckdb.NotImplementedException,  # "The Parallel CSV Reader currently does not support..." (a giant line)
)


# One record as a splitter hands it to the query: (line number, text, value-on-line index, reason
# it is already known to be unreadable).
Split = tuple[int, str, "int | None", "str | None"]


@dataclass(frozen=True)
class JsonFormat:
    """What a JSON source tells the engine.

    ``paths`` are extracted from each record in one parse into the list ``f`` (``f[1]`` is
    ``paths[0]``). ``normalize(records_sql)`` returns the query from the ``records`` relation
    (rec, pre_reject, raw, lineno, sub, k, f) to the normalized columns (all of AUTH_SCHEMA
    but ``record_ref``) plus ``_reject``, ``_excerpt``, ``_ignore``, ``_lineno``, ``_sub``, ``_k``.
    """

    paths: tuple[str, ...]
    normalize: Callable[[str], str]
    # the key of a container object's array of records: Graph pages {"value": [...]}, Azure
    # Monitor diagnostic-settings blobs {"records": [...]}
    envelope: str = "value"
    # The same query over DuckDB's own ``read_json`` of a clean NDJSON file (see json_fast):
    # ``normalize_read(records_sql, field)``, where ``field(path)`` is the SQL of one of
    # ``read_paths`` as text; None when the format has no such fast path.
    normalize_read: Callable[[str, Callable[[str], str]], str] | None = None
    read_paths: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def connect(tmpdir: str) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB: UTC session, spills to our own temporary folder."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB's progress bar writes to stdout after 2 s (a slow robust read) and would corrupt
    # --format json, as the store's connection knows
    con.execute("SET enable_progress_bar = false")
    # Lines are numbered by the order of the staged rows. The in_clause optimizer turns long IN
    # lists into hash joins, which do not keep that order: off.
    con.execute("SET disabled_optimizers = 'in_clause'")
    if duckdb_text(tmpdir) is not None:  # else DuckDB's default spill folder
        con.execute("SET temp_directory = ?", [tmpdir])
    return con


INPUT_NAME = "nightowl_input_name"  # a DuckDB variable: the file name in record_ref, bound


def _name_rows(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Bind the file's name (as UTF-8 text) for the queries and views that name rows by it; returns
    the SQL that reads it. A view takes no parameters, so the name goes in a variable, never in SQL."""
    con.execute(f"SET VARIABLE {INPUT_NAME} = ?", [shown_text(name) + ":"])
    return f"getvariable('{INPUT_NAME}')"


def records_sql(src: str, fmt: JsonFormat, opts: ReadOptions, *, expand: bool = False) -> str:
    """``src`` (lineno, line, sub, bad0) -> records (rec, pre_reject, raw, lineno, sub, k, f).

    ``lineno`` may be null (the fast path numbers lines after the parallel part); ``sub``
    numbers several values found on one line by the document splitter; ``bad0`` is a reason
    the splitter already knows. A UTF-8 BOM is gone already (DuckDB's scanner and
    :func:`python_lines` both drop it). One JSON parse per record (``try`` turns invalid JSON into a
    null list). Containers (a line holding an array or a Graph page) come out marked CONTAINER
    with the whole line in ``raw``; ``expand`` is the second pass that unpacks them. A container
    that does not parse comes out marked DAMAGED_CONTAINER: it is split record by record in
    Python (:func:`damaged_splits`) and its good records go through the same query.
    """
    maxb = int(opts.max_line_bytes)
    env = f"$.{fmt.envelope}"
    paths = ", ".join(sql_str(p) for p in (*fmt.paths, env))
    nv = len(fmt.paths) + 1  # f[nv] is the envelope's array ($.value), for page detection
    cont = sql_str("nested container" if expand else CONTAINER)
    if expand:
        lines = f"""
SELECT lineno, sub, e AS line, k,
       CASE WHEN strlen(e) > {maxb} THEN 'record longer than {maxb} bytes' END AS bad
FROM (SELECT lineno, sub, unnest(els)::VARCHAR AS e, unnest(range(1, len(els) + 1)) AS k
      FROM (SELECT lineno, sub, CASE WHEN starts_with(ltrim(line), '[') THEN json_extract(line, '$[*]')
                                     ELSE json_extract(line, '{env}[*]') END AS els
            FROM ({src})))"""
    else:
        lines = f"""
SELECT lineno, sub, line, CAST(NULL AS BIGINT) AS k,
  CASE WHEN bad0 IS NOT NULL THEN bad0
       WHEN line IS NULL THEN {sql_str(BLANK)}
       WHEN strlen(line) <= 16 THEN CASE WHEN trim(line, chr(32) || chr(9) || chr(13)) = '' THEN {sql_str(BLANK)} END
       WHEN strlen(line) > {maxb} THEN
         CASE WHEN NOT (starts_with({_head("line")}, '[') OR contains(left(line, 4096), '"@odata.')
                        OR contains(left(line, 4096), '"{fmt.envelope}"')
                        OR regexp_matches(left(line, 65536), {CONTAINER_KEY_SQL}))
              THEN 'line longer than {maxb} bytes' END
  END AS bad
FROM ({src})"""
    damaged = (
        "'invalid JSON'"
        if expand
        else f"""CASE WHEN starts_with({_head("rec")}, '[')
                        OR regexp_matches(left(rec, 65536), {CONTAINER_KEY_SQL})
                      THEN {sql_str(DAMAGED_CONTAINER)} ELSE 'invalid JSON' END"""
    )
    return f"""
SELECT rec, raw, lineno, sub, k, f,
  CASE WHEN bad IS NOT NULL THEN bad
       WHEN f IS NULL THEN {damaged}
       WHEN NOT starts_with(rec, '{{') AND starts_with({_head("rec")}, '[') THEN {cont}
       WHEN NOT starts_with(rec, '{{') AND NOT starts_with({_head("rec")}, '{{') THEN 'not a JSON object'
       WHEN starts_with(f[{nv}], '[') THEN
         CASE WHEN json_type(rec, '{env}') = 'ARRAY' THEN {cont}
              WHEN strlen(rec) > {maxb} THEN 'record longer than {maxb} bytes' END
       WHEN strlen(rec) > {maxb} THEN 'record longer than {maxb} bytes'
  END AS pre_reject
FROM (
  SELECT line AS rec, line AS raw, lineno, sub, k, bad,
         CASE WHEN bad IS NULL THEN try(json_extract_string(line, [{paths}])) END AS f
  FROM ({lines})
)
"""


def _head(col: str) -> str:
    """The start of a value without leading whitespace (never copies a whole huge line)."""
    return f"ltrim(left({col}, 256), chr(32) || chr(9) || chr(13) || chr(10))"


def _fast_path(inp: InputFile, tmpdir: str, run: Callable[[str, dict[str, str]], None]) -> bool:
    """``run`` the fast path's query source; False when DuckDB's scanner refuses the file. A file
    refused only for invalid UTF-8 (one bad byte in a large export) is not sent down the robust
    path whole: a copy with each bad sequence replaced by U+FFFD, as the robust path decodes it,
    is read fast instead (one streaming pass; a gzip file is decompressed into that copy, under the
    same decompression limits, so it needs its decompressed size in the temp folder)."""
    try:
        run(*_fast_src(inp, tmpdir))
        return True
    except FAST_PATH_REFUSALS as exc:
        if "invalid unicode" not in str(exc).lower():
            return False
    try:
        repaired = _utf8_repaired(inp, tmpdir)
    except (OSError, EOFError, zlib.error):  # a damaged gzip stream: the robust path reports it
        return False
    try:
        run(*_fast_src(InputFile(name=inp.name, path=repaired), tmpdir, link_name="repaired-input"))
        return True
    except FAST_PATH_REFUSALS:
        return False


def _utf8_repaired(inp: InputFile, tmpdir: str) -> str:
    """A plain copy of ``inp`` (decompressed) in ``tmpdir``, decoded as UTF-8 with replacement
    characters and re-encoded."""
    out = os.path.join(tmpdir, "repaired.jsonl")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with inp.open() as src, open(out, "wb") as dst:
        while chunk := src.read(16 << 20):
            dst.write(decoder.decode(chunk).encode("utf-8"))
        dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    return out


def _fast_src(inp: InputFile, tmpdir: str, link_name: str = "input") -> tuple[str, dict[str, str]]:
    """DuckDB's own CSV scanner used as a strict line splitter (one VARCHAR column), parallel:
    (the query, its parameters: the path is bound as ``$path``, never pasted into SQL).

    Lines are numbered later (``row_number`` here would make the whole query single-threaded);
    the scan keeps file order, so numbering the staged table gives the line numbers.
    """
    comp = "gzip" if inp.gzip else "none"
    if not inp.gzip and _last_line_too_long(inp.path):
        # DuckDB's scanner drops a final line longer than its buffer without a word
        raise duckdb.InvalidInputException("last line longer than the fast path reads")
    if not inp.gzip and _holds_delimiter(inp.path):
        # the splitter's delimiter in the data: a line of only 0x01 reads as blank and a trailing
        # 0x01 is cut off, so such a file (never valid JSON: raw control bytes) takes the robust path
        raise duckdb.InvalidInputException("a line holds byte 0x01, the fast path's delimiter")
    link = safe_link(inp, tmpdir, link_name)
    return (
        "SELECT CAST(NULL AS BIGINT) AS lineno, line, CAST(NULL AS BIGINT) AS sub, "
        "CAST(NULL AS VARCHAR) AS bad0 FROM read_csv($path, "
        "columns = {'line': 'VARCHAR'}, header = false, delim = chr(1), quote = '', escape = '', "
        f"auto_detect = false, max_line_size = {CONTAINER_MAX_BYTES}, compression = '{comp}')"
    ), {"path": link}


def safe_link(inp: InputFile, tmpdir: str, link_name: str = "input") -> str:
    """The path DuckDB should open for ``inp``. DuckDB treats * ? [ ] { } ~ in a path as a glob or home
    folder: read through a link with a plain name so a hostile file name can never make it open a
    different file."""
    link = os.path.join(tmpdir, link_name)
    if not os.path.lexists(link):
        try:
            os.symlink(os.path.abspath(inp.path), link)
        except OSError:  # no symlinks (Windows without developer mode)
            if any(ch in str(inp.path) for ch in "*?[]{}~"):
                raise duckdb.IOException("file name has glob characters; using the robust path") from None
            link = str(inp.path)
    if duckdb_text(link) is None:  # a temp folder whose name is not UTF-8: DuckDB cannot open it
        plain = os.path.abspath(inp.path)
        if duckdb_text(plain) is None or any(ch in plain for ch in "*?[]{}~"):
            raise duckdb.IOException("no path DuckDB can open; using the robust path")
        link = plain
    return link


def _holds_delimiter(path: os.PathLike | str) -> bool:
    """True when the file holds byte 0x01 anywhere: one memchr pass in 1 MiB reads. Not a memory
    map: every page of a mapped file counts in the process's resident memory while it stays mapped,
    so a 1.7 GB export made the robust read's peak RSS 1.7 GB (4M sign-ins: 5.7 GB)."""
    buf = bytearray(1 << 20)
    try:
        with open(path, "rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                if buf.find(b"\x01", 0, n) >= 0:
                    return True
    except OSError:
        return False
    return False


def _last_line_too_long(path: os.PathLike | str) -> bool:
    """True when the file's last line is longer than CONTAINER_MAX_BYTES (read from the tail)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size <= CONTAINER_MAX_BYTES:
                return False
            fh.seek(size - CONTAINER_MAX_BYTES - 2)
            tail = fh.read().rstrip(b"\r\n")
    except OSError:
        return False
    return b"\n" not in tail


def _check_not_empty(con: duckdb.DuckDBPyConnection, table: str, inp: InputFile) -> None:
    """DuckDB's scanner returns no rows at all for a file that is one giant line: refuse the fast
    path when a file with content gave nothing (gzip files cannot be checked from the tail)."""
    if not con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] and inp.head(4096).strip():
        raise duckdb.InvalidInputException("the fast path read nothing from a file with content")


def split_batch(batch: pa.RecordBatch, tally: Tally) -> pa.RecordBatch | None:
    """Report quarantined/ignored rows to ``tally``; return the normalized rows (or None)."""
    rej, ign = batch.column("_reject"), batch.column("_ignore")
    n = batch.num_rows
    if rej.null_count != n:
        bad = batch.filter(pc.is_valid(rej))
        for pos, reason, exc in zip(
            bad.column("_pos").to_pylist(),
            bad.column("_reject").to_pylist(),
            bad.column("_excerpt").to_pylist(),
            strict=True,
        ):
            tally.reject(pos, reason, exc)
    if ign.null_count != n:
        counts = pc.value_counts(ign.drop_null())
        for item in counts.to_pylist():
            tally.ignore(item["values"], item["counts"])
    if rej.null_count == n and ign.null_count == n:
        keep = batch
    else:
        keep = batch.filter(pc.and_(pc.is_null(rej), pc.is_null(ign)))
    if keep.num_rows == 0:
        return None
    # a reader's query that does not name a column (one added to the schema later) leaves it null
    names = set(keep.schema.names)
    arrays = [
        keep.column(col).cast(typ) if col in names else pa.nulls(keep.num_rows, typ)
        for col, typ in zip(COLUMN_NAMES, AUTH_SCHEMA.types, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=AUTH_SCHEMA)


def _stage(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, str] | None = None) -> None:
    """Run the (parallel) normalizing query into ``_stage``, before anything is yielded."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS {query}", params)


def _drain(
    con: duckdb.DuckDBPyConnection, tally: Tally, fmt: JsonFormat, name: str, opts: ReadOptions
) -> Iterator[pa.RecordBatch]:
    """Number the staged rows, stream them out; then unpack the container lines set aside."""
    nm = _name_rows(con, name)
    marks = MARKS
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _numbered AS "
        "SELECT * EXCLUDE (_lineno), coalesce(_lineno, row_number() OVER ()) AS _lineno FROM _stage"
    )
    has_containers = con.execute(
        f"SELECT count(*) FROM _stage WHERE _reject = {sql_str(CONTAINER)}"
    ).fetchall()[0][0]
    if has_containers:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _containers AS SELECT _lineno AS lineno, _excerpt AS line, _sub AS sub, "
            f"CAST(NULL AS VARCHAR) AS bad0 FROM _numbered WHERE _reject = {sql_str(CONTAINER)}"
        )
    out = f"""
SELECT *,
  {nm} || _lineno || coalesce(':' || _sub, '') || coalesce(':' || _k, '') AS record_ref,
  CASE WHEN _reject IS NOT NULL THEN
    'line ' || _lineno || coalesce(' value ' || _sub, '') || coalesce(' record ' || _k, '') END AS _pos
FROM _numbered WHERE _reject IS NULL OR _reject NOT IN {marks}
"""
    damaged = _set_aside_damaged(con, "_numbered", "_lineno")
    yield from _stream(con, out, tally)
    con.execute("DROP VIEW _numbered")
    con.execute("DROP TABLE _stage")
    if has_containers:
        _stage(con, fmt.normalize(records_sql("SELECT * FROM _containers", fmt, opts, expand=True)))
        con.execute("DROP TABLE _containers")
        yield from _drain(con, tally, fmt, name, opts)
    if damaged is not None:
        yield from _from_splitter(con, damaged_splits(con, damaged), name, tally, opts, fmt)


_damaged_tables = itertools.count()
DAMAGED_PREFIX = "_nightowl_damaged_"


def _set_aside_damaged(con: duckdb.DuckDBPyConnection, table: str, lineno: str) -> str | None:
    """Copy the damaged container lines of ``table`` to a table of their own (None when there are
    none), so they can be split record by record after the staged rows are gone."""
    if not con.execute(f"SELECT count(*) FROM {table} WHERE _reject = ?", [DAMAGED_CONTAINER]).fetchall()[0][
        0
    ]:
        return None
    name = f"{DAMAGED_PREFIX}{next(_damaged_tables)}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {lineno} AS lineno, _excerpt AS line "
        f"FROM {table} WHERE _reject = ? ORDER BY 1",
        [DAMAGED_CONTAINER],
    )
    return name


def damaged_splits(con: duckdb.DuckDBPyConnection, table: str) -> Iterator[Split]:
    """The records of each damaged container line in ``table`` (then dropped): good ones as they are,
    damaged ones with their reason and byte offset in the line. Lines are fetched one at a time."""
    try:
        linenos = [r[0] for r in con.execute(f"SELECT lineno FROM {table} ORDER BY lineno").fetchall()]
        for lineno in linenos:
            (line,) = con.execute(f"SELECT line FROM {table} WHERE lineno = ? LIMIT 1", [lineno]).fetchone()
            yield from pieces_as_splits(line, lineno)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def pieces_as_splits(text: str, lineno: int) -> Iterator[Split]:
    """One line's values, split by :func:`split_values`, as numbered splits ("line 3 value 7")."""
    for k, loc in enumerate(located(text, lineno, open_containers=True), 1):
        yield lineno, loc.piece.text, k, loc.reason


def _stream(con: duckdb.DuckDBPyConnection, query: str, tally: Tally) -> Iterator[pa.RecordBatch]:
    for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
        out = split_batch(batch, tally)
        if out is not None:
            yield out


def read_json_records(
    inp: InputFile, tally: Tally, opts: ReadOptions, fmt: JsonFormat, *, force_python: bool = False
) -> Iterator[pa.RecordBatch]:
    """Read a JSON sign-in file (NDJSON, pages, arrays, pretty-printed) as ``fmt``."""
    lines_layout = layout(inp.head()) == "lines"
    with tempfile.TemporaryDirectory(prefix="nightowl-duckdb-") as tmp:
        con = connect(tmp)
        try:
            if lines_layout and not force_python:

                def run(src: str, params: dict[str, str]) -> None:
                    _stage(con, fmt.normalize(records_sql(src, fmt, opts)), params)
                    _check_not_empty(con, "_stage", inp)

                if _fast_path(inp, tmp, run):  # else a hostile file: the robust path gives the same rows
                    yield from _drain(con, tally, fmt, inp.name, opts)
                    return
            splitter = python_lines(inp, tally) if lines_layout else python_documents(inp, tally)
            yield from _from_splitter(con, splitter, inp.name, tally, opts, fmt)
        finally:
            con.close()


class JsonSource:
    """A sign-in source this engine reads: a subclass sets ``name``, ``title``, ``export_hint``,
    ``sniff`` and its :class:`JsonFormat` ``fmt``."""

    fmt: JsonFormat

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_json_records(inp, tally, opts, self.fmt)

    def stage(
        self, con: duckdb.DuckDBPyConnection, inp: InputFile, tally: Tally, opts: ReadOptions
    ) -> str | None:
        return stage_json_records(con, inp, tally, opts, self.fmt)

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        unstage_json_records(con)


STAGE_OUT = "_nightowl_json_staged"
STAGE_PREFIX = "_nightowl_json_stage_"
STAGE_SRC = "_nightowl_json_src"


def _stage_passes(
    con: duckdb.DuckDBPyConnection,
    query: str,
    parts: list[str],
    damaged: list[str],
    fmt: JsonFormat,
    opts: ReadOptions,
    params: dict[str, str] | None = None,
) -> None:
    """Stage ``query`` (with its ``params``) into the next numbered table, then its container
    lines' records, pass after pass; damaged container lines are set aside in ``damaged`` for a
    Python split."""
    next_query: str | None = query
    while next_query is not None:
        table = f"{STAGE_PREFIX}{len(parts)}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {next_query}", params)
        params = None  # the container passes read the staged table
        parts.append(table)
        aside = _set_aside_damaged(con, table, "coalesce(_lineno, rowid + 1)")
        if aside is not None:
            damaged.append(aside)
        next_query = _container_pass(con, table, fmt, opts)


def stage_json_records(
    con: duckdb.DuckDBPyConnection, inp: InputFile, tally: Tally, opts: ReadOptions, fmt: JsonFormat
) -> str | None:
    """The fast path on the caller's connection (the store's, outside its transaction), so the
    normalized rows never leave DuckDB: returns a view over the staged rows, or None when the file
    is not line-laid-out or DuckDB's scanner refuses it (the caller then uses ``read``).
    The caller drops it with :func:`unstage_json_records`."""
    if layout(inp.head()) != "lines":
        return None
    trial = Tally()
    previous = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0]
    con.execute("SET disabled_optimizers = 'in_clause'")  # keep staged rows in file order (see connect)
    parts: list[str] = []
    try:
        damaged: list[str] = []

        def run(src: str, params: dict[str, str]) -> None:
            unstage_json_records(con)  # what a refused first try left
            parts.clear()
            damaged.clear()
            query = fmt.normalize(records_sql(src, fmt, opts))
            _stage_passes(con, query, parts, damaged, fmt, opts, params)
            _check_not_empty(con, parts[0], inp)

        with tempfile.TemporaryDirectory(prefix="nightowl-link-") as tmp:
            if not _fast_path(inp, tmp, run):
                unstage_json_records(con)
                return None
        split_query = fmt.normalize(
            records_sql(f"SELECT lineno, line, sub, bad0 FROM {STAGE_SRC}", fmt, opts)
        )
        for table in damaged:  # damaged pages: their records one by one, through the same query
            for chunk in _chunks(damaged_splits(con, table)):
                con.register(STAGE_SRC, _chunk_table(chunk))
                try:
                    _stage_passes(con, split_query, parts, damaged, fmt, opts)
                finally:
                    con.unregister(STAGE_SRC)
        parts[:] = [_collect(con, trial, table, inp.name) for table in parts]
    except FAST_PATH_REFUSALS:
        unstage_json_records(con)
        return None
    finally:
        con.execute("SET disabled_optimizers = ?", [previous])
    con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGE_OUT} AS " + " UNION ALL ".join(parts))
    tally.merge(trial)
    return STAGE_OUT


def unstage_json_records(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW IF EXISTS {STAGE_OUT}")
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "AND (starts_with(table_name, ?) OR starts_with(table_name, ?))",
        [STAGE_PREFIX, DAMAGED_PREFIX],
    ).fetchall():
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP TABLE IF EXISTS _containers")


def _collect(con: duckdb.DuckDBPyConnection, tally: Tally, table: str, name: str) -> str:
    """Report one staged table's ignored and quarantined records; return the SELECT of its good rows.

    Lines are numbered by the staged table's row order (``rowid``), which is file order (see
    :func:`_fast_src`); container passes carry their line numbers already."""
    nm = _name_rows(con, name)
    marks = MARKS
    line = "coalesce(_lineno, rowid + 1)"
    for reason, n in con.execute(
        f"SELECT _ignore, count(*) FROM {table} WHERE _reject IS NULL AND _ignore IS NOT NULL GROUP BY 1"
    ).fetchall():
        tally.ignore(reason, n)
    for pos, reason, exc in con.execute(
        f"""SELECT 'line ' || {line} || coalesce(' value ' || _sub, '') || coalesce(' record ' || _k, ''),
                   _reject, _excerpt
            FROM {table} WHERE _reject IS NOT NULL AND _reject NOT IN {marks} ORDER BY {line}"""
    ).fetchall():
        tally.reject(pos, reason, exc)
    have = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    cols = ", ".join(
        c if c in have else f"CAST(NULL AS {ddb}) AS {c}" for c, _, ddb, _ in COLUMNS if c != "record_ref"
    )
    return (
        f"SELECT {cols}, {nm} || {line} || coalesce(':' || _sub, '') || coalesce(':' || _k, '') AS record_ref "
        f"FROM {table} WHERE _reject IS NULL AND _ignore IS NULL"
    )


def _container_pass(
    con: duckdb.DuckDBPyConnection, table: str, fmt: JsonFormat, opts: ReadOptions
) -> str | None:
    """The query that unpacks the container lines (arrays, Graph pages) of ``table``, if any."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _containers AS SELECT coalesce(_lineno, rowid + 1) AS lineno, "
        f"_excerpt AS line, _sub AS sub, CAST(NULL AS VARCHAR) AS bad0 FROM {table} "
        f"WHERE _reject = {sql_str(CONTAINER)}"
    )
    if not con.execute("SELECT count(*) FROM _containers").fetchall()[0][0]:
        return None
    return fmt.normalize(records_sql("SELECT * FROM _containers", fmt, opts, expand=True))


def read_split_records(
    inp: InputFile, tally: Tally, opts: ReadOptions, fmt: JsonFormat, splitter: Iterator[Split]
) -> Iterator[pa.RecordBatch]:
    """Records split by the caller (e.g. CSV rows turned into JSON objects) through ``fmt``."""
    with tempfile.TemporaryDirectory(prefix="nightowl-duckdb-") as tmp:
        con = connect(tmp)
        try:
            yield from _from_splitter(con, splitter, inp.name, tally, opts, fmt)
        finally:
            con.close()


def _from_splitter(
    con: duckdb.DuckDBPyConnection,
    splitter: Iterator[Split],
    name: str,
    tally: Tally,
    opts: ReadOptions,
    fmt: JsonFormat,
) -> Iterator[pa.RecordBatch]:
    query = fmt.normalize(records_sql("SELECT lineno, line, sub, bad0 FROM _src", fmt, opts))
    for chunk in _chunks(splitter):
        con.register("_src", _chunk_table(chunk))
        try:
            _stage(con, query)
        finally:
            con.unregister("_src")
        yield from _drain(con, tally, fmt, name, opts)


def _chunks(items: Iterator[Split]) -> Iterator[list]:
    chunk: list[Split] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item[1])
        if len(chunk) >= PY_CHUNK_LINES or size >= PY_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _chunk_table(chunk: list[Split]) -> pa.Table:
    lineno, line, sub, bad0 = zip(*chunk, strict=True)
    return pa.table(
        {
            "lineno": pa.array(lineno, pa.int64()),
            "line": pa.array(line, pa.string()),
            "sub": pa.array(sub, pa.int64()),
            "bad0": pa.array(bad0, pa.string()),
        }
    )


def layout(head: bytes) -> str:
    """'lines' (NDJSON, one value per line) or 'document' (pretty-printed JSON)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] not in (b"[", b"{"):
        return "lines"
    first, nl, _ = text.partition(b"\n")
    if not nl:
        # One long minified line (or a file shorter than the sniff window). An array may be
        # bigger than any line limit (ConvertTo-Json -Compress of a whole export): split it
        # element by element; a page or object on one line stays on the line path.
        return "document" if text[:1] == b"[" else "lines"
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        # a pretty-printed document, or NDJSON whose first record is damaged: in NDJSON most of the
        # lines that follow are JSON objects by themselves, in a pretty-printed document few are
        return "lines" if _mostly_object_lines(text[len(first) + 1 :]) else "document"
    return "lines"


def _mostly_object_lines(rest: bytes) -> bool:
    """At least two, and more than half, of the complete non-blank lines of ``rest`` (the sniff
    window after the first line; its last piece may be cut) are JSON objects by themselves."""
    lines = [line for line in (piece.strip() for piece in rest.split(b"\n")[:-1]) if line]
    objects = sum(_is_object(line) for line in lines)
    return objects >= 2 and objects * 2 > len(lines)


def _is_object(line: bytes) -> bool:
    if line[:1] != b"{" or line[-1:] != b"}":
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def python_lines(inp: InputFile, tally: Tally) -> Iterator[Split]:
    """Split on LF only (CR stripped at the end), bounded. A line longer than CONTAINER_MAX_BYTES is
    read whole only when it starts like a page or an array (up to BIG_LINE_MAX_BYTES) and is then
    split record by record; any other giant line is cut, not loaded, and quarantined."""
    lineno = 0
    try:
        with inp.open() as fh:
            while True:
                raw = fh.readline(CONTAINER_MAX_BYTES + 1)
                if not raw:
                    break
                lineno += 1
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if len(raw) > CONTAINER_MAX_BYTES and not raw.endswith(b"\n"):
                    yield from _big_line(fh, raw, lineno)
                    continue
                raw = raw.rstrip(b"\n").rstrip(b"\r")
                yield lineno, raw.decode("utf-8", errors="replace"), None, None
    except (OSError, EOFError) as exc:  # corrupt gzip stream: keep what was read, flag the rest
        tally.reject(f"line {lineno + 1}", f"unreadable from here on ({exc.__class__.__name__})", None)


def _big_line(fh: IO[bytes], start: bytes, lineno: int) -> Iterator[Split]:
    """The records of one line longer than CONTAINER_MAX_BYTES (a Graph page of 999 large sign-ins,
    a whole export on one line), or one quarantined record when it is no container or too big."""
    head = start[:65536].decode("utf-8", errors="replace")
    parts = [start]
    size = len(start)
    container = looks_like_container(head)
    while True:
        more = fh.readline(1 << 24)
        if container and size <= BIG_LINE_MAX_BYTES:
            parts.append(more)
        size += len(more)
        if not more or more.endswith(b"\n"):
            break
    if not container:
        yield (
            lineno,
            head[:4096],
            None,
            f"line longer than {CONTAINER_MAX_BYTES} bytes that is no page or array",
        )
        return
    if size > BIG_LINE_MAX_BYTES:
        yield (
            lineno,
            head[:4096],
            None,
            f"line of {size} bytes, longer than {BIG_LINE_MAX_BYTES >> 20} MiB: split it into one record "
            "per line (jq -c '.value[]')",
        )
        return
    text = b"".join(parts).rstrip(b"\r\n").decode("utf-8", errors="replace")
    del parts
    yield from pieces_as_splits(text, lineno)


def python_documents(inp: InputFile, tally: Tally) -> Iterator[Split]:
    """Top-level JSON values of a pretty-printed file; the elements of a top-level array one by one."""
    yield from split_document(inp.document_text(DOCUMENT_MAX_BYTES))


def split_document(text: str) -> Iterator[Split]:
    """Top-level values numbered by the line they start on (``sub`` counts values sharing a line);
    arrays and damaged pages split into their records, a damaged record quarantined alone with
    its byte offset (see :mod:`json_recover`)."""
    last_line, sub = 0, 0
    for loc in located(text):
        line = int(loc.ref.split(":", 1)[0])
        sub = sub + 1 if line == last_line else 1
        last_line = line
        text_ = loc.piece.text if loc.reason is None else loc.piece.text[:4096]
        yield line, text_, sub if sub > 1 else None, loc.reason
