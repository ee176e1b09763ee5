"""The local engine: the rules run on the store's own DuckDB connection, parameters bound by name."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from duckdb.sqltypes import VARCHAR

from nightowl.engines import used_params
from nightowl.engines.ipkeys import UDF_NAME, ip_keys_sql, source_key
from nightowl.store import Store


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.con = store.con

    def __getattr__(self, name: str) -> Any:
        """Anything else a rule's Python step asks of the store (e.g. ``ensure_table``)."""
        return getattr(self.store, name)

    def _run(self, sql: str, params: dict[str, Any] | None):
        used = used_params(sql, params)
        return self.con.execute(sql, used) if used else self.con.execute(sql)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._run(sql, params).fetchall()

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        cur = self._run(sql, params)
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        names, rows = self.fetch(sql, params)
        return [dict(zip(names, r, strict=True)) for r in rows]

    def create_table(self, name: str, table: pa.Table) -> None:
        self.con.register("_nightowl_arrow", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _nightowl_arrow")
        finally:
            self.con.unregister("_nightowl_arrow")

    def row_count(self, table: str) -> int:
        return self.store.row_count(table)

    def event_count(self) -> int:
        return self.store.event_count()

    def has_table(self, table: str) -> bool:
        return self.store.has_table(table)

    def build_ip_keys(self) -> None:
        """IPv4 addresses are their own key and stay in SQL; the rest (IPv6, odd text) go through
        Python's ``ipaddress`` as a vectorised UDF, streamed by DuckDB (never a list of addresses)."""
        if not getattr(self.store, "_ip_key_udf", False):  # once per connection, whatever engine made it
            self.con.create_function(UDF_NAME, _arrow_keys, [VARCHAR], VARCHAR, type="arrow")
            self.store._ip_key_udf = True
        self.con.execute(ip_keys_sql(f"{UDF_NAME}(ip)"))


def _arrow_keys(ips: pa.Array) -> pa.Array:
    return pa.array([source_key(ip) for ip in ips.to_pylist()], pa.string())
