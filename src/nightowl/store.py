"""The DuckDB store: in memory by default, a file with ``--store`` so work survives between runs
(and a temporary file, removed on close, when a large input is hunted without ``--store``).

Memory stays flat whatever the number of events: DuckDB gets a memory limit
(:func:`default_memory_limit`, or ``--memory-limit``) and spills joins, sorts and tables beyond it
to a temporary folder.

Tables: ``auth_events`` (the normalized schema), ``inputs`` (one row per ingested file, with its
content hash so the same file is never ingested twice) and ``quarantine`` (records that could
not be read, with position, reason and a short excerpt).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nightowl.schema import duckdb_table_ddl
from nightowl.sources.base import InputError
from nightowl.sources.records.sql import duckdb_size_bytes, duckdb_text

# A file's content key in inputs.sha256 (kept under its old name): BLAKE3, a cryptographic hash about
# four times cheaper than SHA-256 (0.25 against 0.9 s of CPU for 1.66 GB), prefixed so that a store
# written before it, whose keys are bare SHA-256 hex, is told apart.
CONTENT_KEY_PREFIX = "blake3:"

_DDL = [
    duckdb_table_ddl("auth_events"),
    # inputs.sha256 is each file's content key: CONTENT_KEY_PREFIX + BLAKE3 hex; a store written
    # before 2026-12-07 holds the bare SHA-256 hex, still recognised (Store.keyed_by_sha256)
    """CREATE TABLE IF NOT EXISTS inputs (
        path VARCHAR, format VARCHAR, sha256 VARCHAR, records BIGINT, normalized BIGINT,
        ignored BIGINT, quarantined BIGINT, ingested_at TIMESTAMP DEFAULT now()
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        input VARCHAR, position VARCHAR, reason VARCHAR, excerpt VARCHAR
    )""",
]


# Inputs larger than this, hunted without --store, go to a temporary on-disk store (an in-memory
# database keeps every event in RAM; a file lets DuckDB evict them under its memory limit).
SCRATCH_INPUT_BYTES = 256 << 20


DEFAULT_LIMIT_MB = 384


def default_memory_limit() -> str:
    """384 MB, or a quarter of the machine's memory when that is less (at least 256 MB).

    Peak memory is the limit plus what the process holds outside DuckDB (~115 MB before the first
    query), whatever the input: DuckDB keeps the store's blocks cached up to the limit and spills
    beyond it, so a larger limit only makes a large hunt's memory grow towards it (1 GB: 509 MB at
    1M sign-ins, 1,229 MB at 16M). Measured under 384 MB (README Performance, 2026-12-07): ingest of
    16M sign-ins peaks at 537 MB, the detections over that store at 577 MB (910 findings, as under
    1 GB, and about the same CPU), the whole 1M hunt at 487 MB. ``--memory-limit`` raises it."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return f"{min(max(total // 4, 256 << 20), DEFAULT_LIMIT_MB << 20) >> 20}MB"


def check_memory_limit(value: str) -> str:
    """``value`` if DuckDB can take it as a memory limit (e.g. ``2GB``, ``512MB``); else a one-line error."""
    if duckdb_size_bytes(value) is None:
        raise InputError(f"--memory-limit: {value!r} is not a size like 2GB or 512MB")
    return value.replace(" ", "")


def input_bytes(paths: list[str]) -> int:
    """Total size of the regular files under ``paths`` (stdin and unreadable entries count 0)."""
    total = 0
    for path in paths:
        p = Path(path)
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            for root, _dirs, files in os.walk(p):
                total += sum((Path(root) / f).stat().st_size for f in files if (Path(root) / f).is_file())
    return total


LAKE_TABLES = ("auth_events", "directory_audit", "mail_access", "accounts")
STORE_IN_USE = "the store is in use by another nightowl process; wait or use another --store"


def _connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """DuckDB's connection, or one line saying why the store cannot be opened (held by another
    process, a folder, not a DuckDB file), without DuckDB's PID and interpreter path."""
    if path != ":memory:" and Path(path).is_dir():
        raise InputError(f"{path}: is a folder, not a store file")
    try:
        con = duckdb.connect(path, read_only=read_only)
        if path != ":memory:":  # a cut copy opens, then fails at the first read of a missing block
            size, blocks = con.execute(
                "SELECT block_size, total_blocks FROM pragma_database_size()"
            ).fetchone()
            if os.path.getsize(path) < size * blocks:
                con.close()
                raise InputError(f"{path}: the store is truncated (a cut copy?); use another --store")
        return con
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise InputError(f"{path}: {STORE_IN_USE}") from exc
        if "not a valid DuckDB database" in text or isinstance(exc, duckdb.SerializationException):
            raise InputError(f"{path}: not a nightowl store (not a DuckDB database file)") from exc
        raise InputError(
            f"{path}: cannot open the store ({type(exc).__name__}: {text.splitlines()[0]})"
        ) from exc


class Store:
    """One DuckDB connection and the tables every stage shares."""

    def __init__(
        self,
        path: str | Path | None = None,
        memory_limit: str | None = None,
        *,
        scratch: bool = False,
        read_only: bool = False,
    ) -> None:
        """``scratch``: with no ``path``, keep the events in a temporary file removed on close.
        ``read_only``: open an existing store file read-only (several such processes may read one
        store at once; DuckDB still refuses them while a read-write process holds it). TEMP tables,
        views and macros still work on such a connection; the store's own tables are not created."""
        self._scratch_dir = tempfile.mkdtemp(prefix="nightowl-store-") if scratch and not path else None
        if self._scratch_dir:
            path = Path(self._scratch_dir) / "scratch.duckdb"
        self.path = str(path) if path else ":memory:"
        self.memory_limit = check_memory_limit(memory_limit) if memory_limit else default_memory_limit()
        self.read_only = read_only
        self.con = _connect(self.path, read_only)
        self.con.execute("SET TimeZone = 'UTC'")
        # DuckDB's own progress bar writes to stdout after 2 s and would corrupt --format json.
        self.con.execute("SET enable_progress_bar = false")
        # Spill to disk instead of failing when a month of a large tenant exceeds memory.
        spill = Path(tempfile.gettempdir()) / f"nightowl-spill-{os.getpid()}"
        if duckdb_text(spill.as_posix()) is not None:  # a TMPDIR that is not UTF-8: DuckDB's default
            self.con.execute("SET temp_directory = ?", [spill.as_posix()])  # paths are bound, never pasted
        self.con.execute("SET memory_limit = ?", [self.memory_limit])
        for ddl in () if read_only else _DDL:
            self.con.execute(ddl)

    @classmethod
    def for_hunt(cls, path: Path | None, paths: list[str], memory_limit: str | None = None) -> Store:
        """The store a hunt uses: ``path`` if given (read-only when there is nothing to ingest into an
        existing store); else memory, or a temporary file for large inputs."""
        scratch = path is None and input_bytes(paths) > SCRATCH_INPUT_BYTES
        read_only = path is not None and not paths and Path(path).is_file() and Path(path).stat().st_size > 0
        return cls(path, memory_limit, scratch=scratch, read_only=read_only)

    def describe(self) -> str:
        """One line for --debug: where the events are kept and DuckDB's memory limit."""
        where = (
            "temporary file" if self._scratch_dir else ("memory" if self.path == ":memory:" else self.path)
        )
        return f"store: {where}; DuckDB memory limit {self.memory_limit} (spills beyond it)"

    def close(self) -> None:
        self.con.close()
        if self._scratch_dir:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------
    def append(self, batch: pa.RecordBatch | pa.Table, table: str = "auth_events") -> int:
        """Insert one Arrow batch into ``table`` (columns by name); returns the row count."""
        if batch.num_rows == 0:
            return 0
        self.con.register("_batch", batch)
        try:
            cols = ", ".join(batch.schema.names)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _batch")
        finally:
            self.con.unregister("_batch")
        return batch.num_rows

    def ensure_table(self, table: str, schema: pa.Schema | None) -> None:
        """Create a source's own table from its Arrow schema the first time it is needed (on a
        read-only store, an empty TEMP table: there is nothing in it to keep)."""
        if schema is None or self.has_table(table):
            return
        self.con.register("_empty", schema.empty_table())
        try:
            self.con.execute(
                f"CREATE {'TEMP ' if self.read_only else ''}TABLE {table} AS SELECT * FROM _empty"
            )
        finally:
            self.con.unregister("_empty")

    def has_table(self, table: str) -> bool:
        return bool(
            self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
            ).fetchall()[0][0]  # fetchall: DuckDB 2 refuses register() while a result is half-read
        )

    def columns(self, table: str) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]

    def row_count(self, table: str) -> int:
        return (
            self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] if self.has_table(table) else 0
        )

    def seen_content(self, keys: list[str]) -> str | None:
        """The path under which content with one of these keys was ingested before, if any."""
        row = self.con.execute(
            "SELECT path FROM inputs WHERE list_contains(?, sha256) LIMIT 1", [keys]
        ).fetchall()
        return row[0][0] if row else None

    def keyed_by_sha256(self) -> bool:
        """Whether an input was recorded by bare SHA-256 (a store written before the BLAKE3 key)."""
        return self.con.execute(
            "SELECT EXISTS (SELECT 1 FROM inputs WHERE NOT starts_with(sha256, ?))", [CONTENT_KEY_PREFIX]
        ).fetchall()[0][0]

    def record_input(self, row: dict[str, Any], quarantined: list[tuple[str, str, str]]) -> None:
        self.con.execute(
            "INSERT INTO inputs (path, format, sha256, records, normalized, ignored, quarantined)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                row["path"],
                row["format"],
                row["sha256"],
                row["records"],
                row["normalized"],
                row["ignored"],
                row["quarantined"],
            ],
        )
        if quarantined:
            self.con.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?)",
                [(row["path"], pos, reason, exc) for pos, reason, exc in quarantined],
            )

    # -- reading -------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts (small results only: summaries, findings)."""
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def event_count(self) -> int:
        return self.row_count("auth_events")

    def export_parquet(self, out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        tables = [
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            target = out_dir / f"{table}.parquet"
            self.con.execute(f"COPY {table} TO ? (FORMAT parquet, COMPRESSION zstd)", [target.as_posix()])
            written.append(target)
        return written

    def write_lake(self, out_dir: Path) -> list[Path]:
        """The normalized tables as a Parquet lake for the Spark engine: ``out_dir/<table>/``, sign-ins
        partitioned by day (``auth_events/day=YYYY-MM-DD/``) so a daily job reads one folder.
        Streams from DuckDB (no table is held in Python)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for table in LAKE_TABLES:
            if not self.has_table(table):
                continue
            target = out_dir / table
            if table == "auth_events":
                query = "SELECT *, strftime(time, '%Y-%m-%d') AS day FROM auth_events"
                options = "FORMAT parquet, COMPRESSION zstd, PARTITION_BY (day), OVERWRITE_OR_IGNORE"
            else:
                target.mkdir(parents=True, exist_ok=True)
                query, options = f"SELECT * FROM {table}", "FORMAT parquet, COMPRESSION zstd"
                target = target / "part-0.parquet"
            self.con.execute(f"COPY ({query}) TO ? ({options})", [target.as_posix()])
            written.append(out_dir / table)
        return written
