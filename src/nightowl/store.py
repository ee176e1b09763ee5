"""The DuckDB store: in memory by default, a file with ``--store`` so work survives between runs.

Tables: ``auth_events`` (the normalized schema), ``inputs`` (one row per ingested file, with its
content hash so the same file is never ingested twice) and ``quarantine`` (records that could
not be read, with position, reason and a short excerpt).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nightowl.schema import duckdb_table_ddl

_DDL = [
    duckdb_table_ddl("auth_events"),
    """CREATE TABLE IF NOT EXISTS inputs (
        path VARCHAR, format VARCHAR, sha256 VARCHAR, records BIGINT, normalized BIGINT,
        ignored BIGINT, quarantined BIGINT, ingested_at TIMESTAMP DEFAULT now()
    )""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        input VARCHAR, position VARCHAR, reason VARCHAR, excerpt VARCHAR
    )""",
]


class Store:
    """One DuckDB connection and the tables every stage shares."""

    def __init__(self, path: str | Path | None = None, memory_limit: str | None = None) -> None:
        self.path = str(path) if path else ":memory:"
        self.con = duckdb.connect(self.path)
        self.con.execute("SET TimeZone = 'UTC'")
        # Spill to disk instead of failing when a month of a large tenant exceeds memory.
        spill = Path(tempfile.gettempdir()) / f"nightowl-spill-{os.getpid()}"
        self.con.execute(f"SET temp_directory = '{spill.as_posix()}'")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        for ddl in _DDL:
            self.con.execute(ddl)

    def close(self) -> None:
        self.con.close()

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
        """Create a source's own table from its Arrow schema the first time it is needed."""
        if schema is None or self.has_table(table):
            return
        self.con.register("_empty", schema.empty_table())
        try:
            self.con.execute(f"CREATE TABLE {table} AS SELECT * FROM _empty")
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
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if self.has_table(table) else 0

    def seen_sha256(self, sha256: str) -> str | None:
        """The path under which content with this hash was ingested before, if any."""
        row = self.con.execute("SELECT path FROM inputs WHERE sha256 = ? LIMIT 1", [sha256]).fetchone()
        return row[0] if row else None

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
            self.con.execute(f"COPY {table} TO '{target.as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
            written.append(target)
        return written
