"""SQL fragments: literals survive hostile quotes, and the shared reject rule says why a record fails."""

from __future__ import annotations

import duckdb

from nightowl.sources.records.sql import BOOKKEEPING_SQL, in_list, literal, reject_sql, sql_str


def test_literals_round_trip_through_duckdb():
    hostile = "it's a '); DROP TABLE x; --"
    con = duckdb.connect()
    assert con.execute(f"SELECT {sql_str(hostile)}").fetchone()[0] == hostile
    assert con.execute(
        f"SELECT {literal(None)}, {literal(True)}, {literal(7)}, {literal('a')}"
    ).fetchone() == (
        None,
        True,
        7,
        "a",
    )
    assert con.execute(f"SELECT [{in_list(['x', 'y'])}]").fetchone()[0] == ["x", "y"]


def test_reject_rule_order():
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT {reject_sql()} FROM (VALUES
              ('pre', NULL, TIMESTAMP '2024-01-01', 'u'),
              (NULL, 'ignored', NULL, NULL),
              (NULL, NULL, NULL, 'u'),
              (NULL, NULL, TIMESTAMP '1200-01-01', 'u'),
              (NULL, NULL, TIMESTAMP '2024-01-01', NULL),
              (NULL, NULL, TIMESTAMP '2024-01-01', 'u')) t(pre_reject, ign, ts, uname)"""
    ).fetchall()
    assert [r[0] for r in rows] == [
        "pre",
        None,
        "no parseable time",
        "time out of range",
        "no user name",
        None,
    ]


def test_bookkeeping_columns():
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {BOOKKEEPING_SQL} FROM (VALUES ('bad', NULL, 'x' || repeat('y', 500), 3, NULL, NULL, NULL)) "
        "t(rej, pre_reject, raw, lineno, sub, k, ign)"
    ).fetchone()
    assert row[0] == "bad" and len(row[1]) == 400 and row[3] == 3
