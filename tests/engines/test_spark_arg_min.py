"""arg_min / arg_max mean the same on both engines: DuckDB skips the rows whose value is NULL, and
the translated min_by / max_by must too (the takeover rules' titles pick ASN names this way)."""

from __future__ import annotations

import duckdb
import pytest

QUERY = """SELECT k, arg_min(v, o) AS first_v, arg_max(v, o) AS last_v
FROM (VALUES ('a', NULL, 1), ('a', 'x', 2), ('a', 'y', 3), ('a', NULL, 4), ('b', NULL, 1)) t(k, v, o)
GROUP BY k ORDER BY k"""


def test_translation_orders_null_values_last():
    pytest.importorskip("sqlglot")
    from nightowl.engines.spark import translate

    sql = translate("SELECT arg_min(v, o), arg_max(v, o) FROM t").upper()
    assert "MIN_BY(V, CASE WHEN V IS NULL THEN NULL ELSE O END)" in sql
    assert "MAX_BY(V, CASE WHEN V IS NULL THEN NULL ELSE O END)" in sql


def test_spark_skips_null_values_as_duckdb_does(spark):
    from nightowl.engines.spark import translate

    expected = duckdb.sql(QUERY).fetchall()
    assert expected == [("a", "x", "y"), ("b", None, None)]
    got = [tuple(r) for r in spark.sql(translate(QUERY)).collect()]
    assert got == expected
