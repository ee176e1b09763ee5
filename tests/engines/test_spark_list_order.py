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
    assert "struct((t) is null as k0, t as k1, (w) is null as k2, w as k3, v as v)" in sql
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


NULLS = """SELECT g,
       list(v ORDER BY t, w) AS ordered,
       list(DISTINCT v ORDER BY v) AS names,
       list(DISTINCT {'id': g, 'name': v} ORDER BY {'id': g, 'name': v}) AS objects,
       list(w ORDER BY w) FILTER (WHERE t > 100) AS none_passes,
       list(v ORDER BY w) FILTER (WHERE t >= 1) AS some_pass,
       histogram(v) AS counts,
       flatten(list(CASE WHEN t = 0 THEN NULL ELSE [w, v] END ORDER BY w)) AS flattened
FROM (VALUES ('a', 1, 'x', NULL), ('a', NULL, 'y', 'aa'), ('a', 0, NULL, 'mm'), ('a', 1, 'w', 'aa'),
             ('b', 5, 'b', NULL), ('b', 5, 'a', NULL)) s(g, t, w, v)
GROUP BY g ORDER BY g"""


def test_spark_gives_duckdbs_lists_with_nulls_and_empty_filters(spark):
    """What DuckDB returns, Spark returns: a NULL value stays in a list (Spark's collect drops it),
    NULL sort keys and NULL struct fields come last (Spark sorts them first), a FILTER no row passes
    gives NULL (Spark: an empty list), a histogram of nothing is NULL (Spark: an empty map), and
    flatten skips a NULL inner list (Spark's returns NULL)."""
    from nightowl.engines.spark import translate

    def plain(value):
        if isinstance(value, list):
            return [plain(x) for x in value]
        if isinstance(value, dict):
            return {k: plain(x) for k, x in value.items()}
        if hasattr(value, "asDict"):
            return {k: plain(x) for k, x in value.asDict().items()}
        return value

    expected = [tuple(r) for r in duckdb.sql(NULLS).fetchall()]
    assert expected[1] == (
        "b",
        [None, None],
        [None],
        [{"id": "b", "name": None}],
        None,
        [None, None],
        None,
        ["a", None, "b", None],
    )
    assert expected[0][1] == ["mm", "aa", None, "aa"]  # t NULL last; ties on t broken by w
    assert expected[0][3][-1] == {"id": "a", "name": None}
    got = [tuple(plain(x) for x in r) for r in spark.sql(translate(NULLS)).collect()]
    assert got == expected
