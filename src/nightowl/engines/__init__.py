"""Where the detections run. The rules are written once, in DuckDB's SQL dialect; an engine runs
them on its own data: :class:`~nightowl.engines.duckdb.DuckDBEngine` on the local store, and
:class:`~nightowl.engines.spark.SparkEngine` on Apache Spark (the same SQL translated by sqlglot).

Everything the detection runner, the graph step and the exposure join need from an engine:

* ``execute(sql, params)``: one statement (``CREATE OR REPLACE TEMP TABLE name AS ...``), nothing back;
* ``fetch(sql, params)``: column names and rows of a small result (findings, never events);
* ``query(sql, params)``: the same as dicts;
* ``create_table(name, table)``: a small Arrow table (stage 1 findings) as a temporary table;
* ``row_count(table)`` / ``event_count()`` / ``has_table(table)``;
* ``build_ip_keys()``: the ``ip_keys`` table (source address -> grouping key) ``prepare.sql`` joins.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import pyarrow as pa

ENGINES = ("duckdb", "spark")
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)\b")


class Engine(Protocol):
    name: str

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None: ...

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def create_table(self, name: str, table: pa.Table) -> None: ...

    def row_count(self, table: str) -> int: ...

    def event_count(self) -> int: ...

    def has_table(self, table: str) -> bool: ...

    def build_ip_keys(self) -> None: ...


def used_params(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Only the named parameters ``sql`` uses (DuckDB refuses unused ones)."""
    names = set(_PARAM.findall(sql))
    return {k: v for k, v in (params or {}).items() if k in names}


def as_engine(target: Any) -> Engine:
    """An engine for ``target``: a :class:`~nightowl.store.Store` runs on DuckDB; an engine is itself."""
    from nightowl.store import Store

    if isinstance(target, Store):
        from nightowl.engines.duckdb import DuckDBEngine

        return DuckDBEngine(target)
    return target
