"""Evidence lists come in one order on both engines: ``list(x ORDER BY k1, k2)`` sorts by every key
on Spark too (the translation kept only the first key, so rows tied on it came in the value's order,
not the rule's), and the rules break their ties (``ORDER BY time, record_ref``) and sort the distinct
lists they show."""

from __future__ import annotations

import duckdb
import pytest

QUERY = """SELECT g, list(v ORDER BY t, w)[1:4] AS by_time_then_w, list(DISTINCT v ORDER BY v) AS names
FROM (VALUES ('a', 1, 'x', 'zz'), ('a', 1, 'y', 'aa'), ('a', 0, 'z', 'mm'), ('a', 1, 'w', 'bb'),
             ('b', 5, 'b', 'q'), ('b', 5, 'a', 'r')) s(g, t, w, v)
GROUP BY g ORDER BY g"""


def test_translation_sorts_by_every_key_and_refuses_descending():
    pytest.importorskip("sqlglot")
    from nightowl.engines.spark import translate

    sql = translate("SELECT list(v ORDER BY t, w) FROM s").lower()
    assert "struct(t as k0, w as k1, v as v)" in sql
    with pytest.raises(ValueError, match="DESC"):
        translate("SELECT list(v ORDER BY t DESC) FROM s")


def test_spark_orders_ties_as_duckdb(spark):
    from nightowl.engines.spark import translate

    expected = [tuple(r) for r in duckdb.sql(QUERY).fetchall()]
    assert expected == [
        ("a", ["mm", "bb", "zz", "aa"], ["aa", "bb", "mm", "zz"]),
        ("b", ["r", "q"], ["q", "r"]),
    ]
    assert [(r[0], list(r[1]), list(r[2])) for r in spark.sql(translate(QUERY)).collect()] == expected
