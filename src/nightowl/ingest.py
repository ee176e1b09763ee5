"""Sources -> normalized store: expand paths, detect each file's format, read, account for every record.

Sign-in sources fill ``auth_events``; other sources (directory audit, mailbox access, account
inventories) name their own ``table`` and Arrow ``schema``, which must carry ``source_format``,
``record_ref`` and ``event_uid`` like the sign-in table.

Each file is appended in one transaction, so a file that fails half-way leaves nothing behind. A
clean NDJSON file of a source with a fast path (``insert_clean``, see records/json_fast.py) goes
straight from DuckDB's JSON reader into the table; any other file, or one the fast path declines
half-way (rolled back), is staged by its reader first and read the robust way. Content seen before (the
same BLAKE3 hash, or SHA-256 in a store written before BLAKE3) is skipped, and events whose source id is
already in the store (overlapping exports) are counted as ignored duplicates, never added twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import blake3
import duckdb
import pyarrow as pa

from nightowl import sources
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, UnknownFormat
from nightowl.sources.inputs import Spool, expand
from nightowl.sources.records.json_duckdb import FAST_PATH_REFUSALS
from nightowl.sources.records.json_fast import LINE_ORDER, Declined, LineCounter, LineFacts
from nightowl.store import CONTENT_KEY_PREFIX, Store

DUPLICATE_REASON = "duplicate of an event already in the store"
SCAN_CHUNK = 1 << 20  # hashed and counted while in the CPU cache (8 MB chunks: ~7% more CPU)
UNKNOWN_FORMAT = "no known format"
# The scan keeps at most SCAN_AHEAD bytes ahead of the file's reader, waiting in steps of SCAN_BURST;
# a reader that reads nothing for SCAN_STALL seconds is not waited for. SCAN_AHEAD is kept well under
# the page cache's inactive list, where pages read once wait for their second read (1-2 GB on the
# shared 24 GB machine under load; with 1 GB ahead DuckDB still read part of the file from disk again).
SCAN_AHEAD = 128 << 20
SCAN_BURST = 32 << 20
SCAN_STALL = 2.0


@dataclass
class InputReport:
    """What happened to one input file (the ``inputs`` entries of the findings contract)."""

    path: str
    format: str
    content_key: str  # CONTENT_KEY_PREFIX + BLAKE3 hex of the file's bytes
    tally: Tally = field(default_factory=Tally)
    duplicate_of: str | None = None  # the whole file was ingested before under this name
    unread: str | None = None  # why a file found in a folder was not read (no reader recognises it)

    def to_contract(self) -> dict[str, Any]:
        t = self.tally
        out: dict[str, Any] = {
            "path": self.path,
            "format": self.format,
            "records": t.records,
            "normalized": t.normalized,
            "ignored": t.ignored,
            "quarantined": t.quarantined,
        }
        if t.ignored_reasons:
            out["ignored_reasons"] = dict(t.ignored_reasons.most_common())
        if t.quarantine:
            out["quarantine_sample"] = [
                {"position": q.position, "reason": q.reason, "excerpt": q.excerpt} for q in t.quarantine[:20]
            ]
        if self.duplicate_of:
            out["skipped"] = f"same content already ingested as {self.duplicate_of}"
        if self.unread:
            out["format"] = None
            out["skipped"] = self.unread
        return out


@dataclass(frozen=True)
class FileScan:
    """One pass over a file's bytes: its content key, and its lines for the clean-NDJSON fast path."""

    content_key: str  # CONTENT_KEY_PREFIX + BLAKE3 hex
    lines: LineFacts | None  # None for a gzip file (its lines are not its bytes)
    sha256: str | None = None  # bare SHA-256 hex, only when asked for (a store keyed that way before)

    def keys(self) -> list[str]:
        """Every key under which this content may have been recorded."""
        return [self.content_key, *([self.sha256] if self.sha256 else [])]


class ScanStopped(Exception):
    """The scan was stopped: nobody will ask for its result (the file failed)."""


def process_read_bytes() -> int | None:
    """Bytes this process's threads have read so far (Linux ``/proc/self/io`` rchar), or None."""
    try:
        with open("/proc/self/io", "rb") as fh:
            for line in fh:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class Pace:
    """Keeps the scan thread near the file's reader (DuckDB's read_json, or the robust reader), so a file
    bigger than the page cache is read from disk once: the scan, about four times as fast as the reader,
    would otherwise finish first and the reader would read every byte from disk again.

    The reader's progress is what the process has read besides the scan (``progress``: /proc/self/io's
    rchar on Linux); without it (elsewhere) the scan runs free. The scan stays at most ``ahead`` bytes in
    front, and never waits for a reader that has read nothing for ``stall`` seconds (a file read some
    other way, or not at all), nor once :meth:`release` is called (its result is wanted) or :meth:`stop`
    (it is not)."""

    def __init__(
        self,
        ahead: int | None = None,
        stall: float | None = None,
        progress: Callable[[], int | None] = process_read_bytes,
    ) -> None:
        self.ahead = SCAN_AHEAD if ahead is None else ahead
        self.burst = min(SCAN_BURST, self.ahead // 2)
        self.stall = SCAN_STALL if stall is None else stall
        self.progress = progress
        self.waited = 0  # polls spent waiting for the reader
        self.stalls = 0  # times the reader was not waited for because it had stopped reading
        self.stopped = False
        self._free = threading.Event()
        self._start: int | None = None
        self._read = 0  # the reader's bytes when last looked at
        self._since = time.monotonic()  # when they last changed
        self._allowed = 0  # the scan may read up to here without looking at the reader

    def begin(self) -> None:
        """Called by the scan before its first read: the reader's bytes are counted from here."""
        self._start = self.progress()
        self._since = time.monotonic()
        self._allowed = self.ahead if self._start is not None else 1 << 62

    def release(self) -> None:
        """Let the scan run to the end at full speed."""
        self._free.set()

    def stop(self) -> None:
        """End the scan at its next chunk (ScanStopped)."""
        self.stopped = True
        self._free.set()

    def wait(self, scanned: int) -> None:
        """Called by the scan after reading ``scanned`` bytes in all: returns when it may read on."""
        if self.stopped:
            raise ScanStopped
        if scanned < self._allowed or self._free.is_set():
            return
        while True:
            now_read = self.progress()
            if now_read is None or self._start is None:  # no progress to follow: run free
                self._allowed = 1 << 62
                return
            read, now = now_read - self._start - scanned, time.monotonic()
            if read != self._read:
                self._read, self._since = read, now
            if scanned <= read + self.ahead - self.burst:
                break
            if now - self._since > self.stall:
                self.stalls += 1
                break
            self.waited += 1
            if self._free.wait(0.05):
                break
        if self.stopped:
            raise ScanStopped
        self._allowed = max(self._read + self.ahead, scanned + self.burst)


def scan_file(
    inp: InputFile, max_line_bytes: int, pace: Pace | None = None, sha256: bool = False
) -> FileScan:
    """The file's content key (and its SHA-256 if ``sha256``) and, for a plain file, its line facts, in
    one pass paced by ``pace``."""
    digest = blake3.blake3()  # releases the GIL, like hashlib, for the 1 MB chunks
    legacy = hashlib.sha256() if sha256 else None
    counter = None if inp.gzip else LineCounter(max_line_bytes)
    buf = bytearray(SCAN_CHUNK)
    view = memoryview(buf)
    scanned = 0
    with open(inp.path, "rb", buffering=0) as fh:
        if pace:
            pace.begin()
        while n := fh.readinto(buf):
            digest.update(view[:n])
            if legacy:
                legacy.update(view[:n])
            if counter:
                counter.update(buf, n)
            scanned += n
            if pace:
                pace.wait(scanned)
    return FileScan(
        CONTENT_KEY_PREFIX + digest.hexdigest(),
        counter.facts() if counter else None,
        legacy.hexdigest() if legacy else None,
    )


class Scan:
    """The scan thread of one file: asking for its result lets it run free; leaving stops it."""

    def __init__(
        self, pool: ThreadPoolExecutor, inp: InputFile, max_line_bytes: int, sha256: bool = False
    ) -> None:
        self.pace = Pace()
        self._future = pool.submit(scan_file, inp, max_line_bytes, self.pace, sha256)

    def result(self) -> FileScan:
        self.pace.release()
        return self._future.result()

    def __enter__(self) -> Scan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pace.stop()  # a file that failed: its scan need not read on (the result was not wanted)


def ingest_paths(
    store: Store,
    paths: list[str],
    input_format: str | None = None,
    opts: ReadOptions | None = None,
    on_file: Callable[[InputReport], None] | None = None,
) -> list[InputReport]:
    """Ingest every file under ``paths``; raise InputError (one line, names the file) on a bad one.
    Files found inside a folder or archive that no reader recognises (notes, a manifest, mail) are
    reported as skipped instead, so pointing at a folder works; a file named explicitly still fails."""
    opts = opts or ReadOptions()
    forced = sources.by_name(input_format) if input_format else None
    reports: list[InputReport] = []
    with Spool() as spool:
        for inp in expand(paths, spool):
            try:
                report = ingest_file(store, inp, forced, opts)
            except UnknownFormat:
                if not inp.in_folder:  # named by the user: say it cannot be read
                    raise
                report = InputReport(path=inp.name, format="", content_key="", unread=UNKNOWN_FORMAT)
            reports.append(report)
            if on_file:
                on_file(report)
    return reports


def ingest_file(
    store: Store, inp: InputFile, forced: sources.Source | None, opts: ReadOptions
) -> InputReport:
    """Read one file into its table in one transaction. The content key is computed in a thread
    while the reader runs (blake3 and DuckDB both release the GIL), kept within SCAN_AHEAD bytes of
    the reader so both read the file from the page cache once (:class:`Pace`); a file seen before is
    rolled back. A store that recorded files by SHA-256 (before BLAKE3) gets both hashes, so a file
    it holds is still recognised."""
    source = sources.detect(inp) if inp.problem or not forced else forced  # a corrupt member: quarantined
    table = getattr(source, "table", "auth_events")
    con = store.con
    legacy = store.keyed_by_sha256()
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        Scan(pool, inp, int(opts.max_line_bytes), legacy) as scan,
    ):
        report = InputReport(path=inp.name, format=source.name, content_key="")
        store.ensure_table(table, getattr(source, "schema", None))
        # A clean NDJSON file goes straight into the table in its own transaction, left open here;
        # any other file (or one the fast path refuses half-way) is read the robust way.
        loaded = _load_clean(store, source, table, inp, opts, scan)
        staged = None
        if loaded is None:
            # A DuckDB-backed reader stages its rows on our connection before the transaction, so a
            # file its scanner refuses fails harmlessly and is read again through ``read``.
            try:
                staged = source.stage(con, inp, report.tally, opts) if hasattr(source, "stage") else None
            except InputError:
                source.unstage(con)
                raise
            except Exception as exc:
                source.unstage(con)
                raise _unreadable(inp, source, exc) from exc
            con.execute("BEGIN TRANSACTION")
        try:
            read, inserted = loaded or _load(store, source, table, inp, report.tally, opts, staged)
            scanned = scan.result()
            report.content_key = scanned.content_key
            previous = store.seen_content(scanned.keys())
            if previous is not None:
                con.execute("ROLLBACK")
                return InputReport(
                    path=inp.name, format=source.name, content_key=report.content_key, duplicate_of=previous
                )
            report.tally.normalized = inserted
            if read > inserted:
                report.tally.ignore(DUPLICATE_REASON, read - inserted)
            for side in getattr(source, "also", ()):
                _load_side(store, side, inp, report.tally, opts)
            store.record_input(
                report.to_contract() | {"sha256": report.content_key},
                [(q.position, q.reason, q.excerpt) for q in report.tally.quarantine],
            )
            con.execute("COMMIT")
        except InputError:
            con.execute("ROLLBACK")
            raise
        except Exception as exc:
            con.execute("ROLLBACK")
            raise _unreadable(inp, source, exc) from exc
        finally:
            if staged:
                source.unstage(con)
    return report


def _unreadable(inp: InputFile, source: sources.Source, exc: Exception) -> InputError:
    """The one-line error of a file that failed half-way (Ctrl-C raises an interruption instead)."""
    _interrupted(exc)
    return InputError(f"{inp.name}: could not be read as {source.name} ({type(exc).__name__}: {exc})")


def _interrupted(exc: Exception) -> None:
    """Ctrl-C while DuckDB runs a query arrives as DuckDB's InterruptException: an interruption
    (exit 130), not a file that could not be read."""
    if isinstance(exc, duckdb.InterruptException):
        raise KeyboardInterrupt from exc


def _load_side(store: Store, side: sources.Source, inp: InputFile, tally: Tally, opts: ReadOptions) -> None:
    """A second table the same file fills (CloudTrail: API calls beside the sign-ins). The side reader
    maps the records the first pass ignored as ``side.claims``; they move from ignored to normalized.
    Its own ignores and quarantines repeat the first pass's and are not counted twice."""
    store.ensure_table(side.table, side.schema)
    read, inserted = _load(store, side, side.table, inp, Tally(), opts, None)
    tally.ignored -= read
    tally.ignored_reasons[side.claims] -= read
    tally.ignored_reasons += Counter()  # drop a reason whose count reached zero
    tally.normalized += inserted
    if read > inserted:
        tally.ignore(DUPLICATE_REASON, read - inserted)


def _load_clean(
    store: Store,
    source: sources.Source,
    table: str,
    inp: InputFile,
    opts: ReadOptions,
    scan: Scan,
) -> tuple[int, int] | None:
    """Rows read and added by the source's fast path for a clean file (``insert_clean``), with the
    transaction left open; None, with nothing left behind, when the source has none or the file is
    not clean."""
    insert = getattr(source, "insert_clean", None)
    if insert is None or inp.gzip:
        return None

    def facts() -> LineFacts:
        lines = scan.result().lines
        if lines is None:
            raise Declined("no line facts")
        return lines

    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        # a fast path may store the rows out of file order (each carries its line): the first of
        # a repeated event is the one on the earliest line
        return _load_into(store, table, lambda target: insert(con, inp, opts, target, facts), LINE_ORDER)
    except (Declined, *FAST_PATH_REFUSALS):
        # the robust path reads the file and says what is wrong with it, record by record
        _roll_back_fast_path(con)
        return None
    except Exception as exc:
        _roll_back_fast_path(con)
        raise _unreadable(inp, source, exc) from exc


def _roll_back_fast_path(con: duckdb.DuckDBPyConnection) -> None:
    """Undo a fast path's insert. A fast path reading in parts turns insertion order off for its
    insert; when the insert fails, the aborted transaction refuses the SET that restores it."""
    con.execute("ROLLBACK")
    con.execute("RESET preserve_insertion_order")


def _load(
    store: Store,
    source: sources.Source,
    table: str,
    inp: InputFile,
    tally: Tally,
    opts: ReadOptions,
    staged: str | None,
) -> tuple[int, int]:
    """Rows read and rows added, from the reader's staged rows or its batches."""
    con = store.con

    def fill(target: str) -> int:
        if staged:
            cols = ", ".join(f'"{c}"' for c in store.columns(table))
            return con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {staged}").fetchall()[0][0]
        return _read_into(store, source, target, inp, tally, opts)

    return _load_into(store, table, fill)


def _load_into(store: Store, table: str, fill: Callable[[str], int], first: str = "rowid") -> tuple[int, int]:
    """Rows read and rows added by ``fill(target)``. Straight into the table while it is empty
    (nothing to deduplicate against); otherwise through a staging table and an anti-join on the
    source's event id, so overlapping exports add nothing twice. ``first`` orders a file's rows
    (SQL): of a repeated event, the first row is kept."""
    con = store.con
    fresh = not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchall()[0][0]
    target = table if fresh else "_staging"
    if not fresh:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _staging AS SELECT * FROM {table} LIMIT 0")
    read = fill(target)
    repeated = _drop_repeats(con, target, first)
    if fresh:
        return read, read - repeated
    cols = ", ".join(f'"{c}"' for c in store.columns(table))
    inserted = con.execute(
        f"""INSERT INTO {table} ({cols})
            SELECT {cols} FROM _staging s
            WHERE s.event_uid IS NULL OR NOT EXISTS (
                SELECT 1 FROM {table} a
                WHERE a.event_uid = s.event_uid AND a.source_format = s.source_format)"""
    ).fetchall()[0][0]
    con.execute("DROP TABLE _staging")
    return read, inserted


def _drop_repeats(con: duckdb.DuckDBPyConnection, target: str, first: str = "rowid") -> int:
    """Events a file holds more than once (an export that repeats a page) are kept once, like
    events already in the store: the rows after the first (in ``first``'s order, then rowid) with
    the same source id are deleted. Only ``target``'s rows of this file are looked at (the table
    while it was empty, or staging)."""
    key = "event_uid, source_format"
    # The check groups on a 64-bit hash of the key, not the text: a fifth of the memory and spill
    # (16M ids: 1.9 GB of spilled text groups). Equal keys hash equal, so no repeat is missed; a
    # hash collision only sends the file to the exact delete below, which finds nothing to delete.
    if not con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {target} WHERE event_uid IS NOT NULL "
        f"GROUP BY hash({key}) HAVING count(*) > 1 LIMIT 1)"
    ).fetchall()[0][0]:
        return 0
    return con.execute(
        f"""DELETE FROM {target} WHERE rowid IN (
              SELECT rowid FROM (
                SELECT rowid, row_number() OVER (PARTITION BY {key} ORDER BY {first}, rowid) AS n
                FROM {target} WHERE event_uid IS NOT NULL) WHERE n > 1)"""
    ).fetchall()[0][0]


def _read_into(
    store: Store, source: sources.Source, target: str, inp: InputFile, tally: Tally, opts: ReadOptions
) -> int:
    """The source's batches stream into one INSERT."""
    schema = getattr(source, "schema", None) or AUTH_SCHEMA
    failure: list[BaseException] = []

    def batches():  # keep the reader's own exception: DuckDB would only say the scan failed
        try:
            yield from source.read(inp, tally, opts)
        except BaseException as exc:
            failure.append(exc)
            raise

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    store.con.register("_reader", reader)
    try:
        cols = ", ".join(f'"{c}"' for c in schema.names)
        return store.con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM _reader").fetchall()[0][0]
    except Exception:
        if failure:
            raise failure[0] from None
        raise
    finally:
        with contextlib.suppress(Exception):  # in an aborted transaction even this fails
            store.con.unregister("_reader")
