"""The DuckDB JSON record reader, with a minimal format of its own (no vendor): layouts, both
paths (DuckDB's scanner and the Python splitter) agree, and damage is quarantined with its line."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from nightowl.schema import AUTH_SCHEMA, COLUMNS
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import json_duckdb
from nightowl.sources.records.sql import BOOKKEEPING_SQL, reject_sql


def _normalize(records: str) -> str:
    cols = {name: f"CAST(NULL AS {ddb})" for name, _, ddb, _ in COLUMNS if name != "record_ref"}
    cols.update(time="CASE WHEN rej IS NULL THEN ts END", user_name="uname", source_format="'test'")
    select = ",\n  ".join(f"{expr} AS {name}" for name, expr in cols.items())
    return f"""
WITH records AS NOT MATERIALIZED ({records}),
s AS (SELECT *, try_cast(f[1] AS TIMESTAMP) AS ts, lower(f[2]) AS uname,
             CASE WHEN f[3] = 'skip' THEN 'skipped' END AS ign FROM records),
s3 AS (SELECT *, {reject_sql()} AS rej FROM s)
SELECT {select}, {BOOKKEEPING_SQL} FROM s3"""


FMT = json_duckdb.JsonFormat(paths=("$.t", "$.u", "$.kind"), normalize=_normalize)
RECS = [{"t": f"2024-01-01 00:00:{i:02d}", "u": f"U{i}"} for i in range(6)]


def _read(path: Path, *, force_python: bool = False):
    tally = Tally()
    batches = list(
        json_duckdb.read_json_records(
            InputFile(path.name, path), tally, ReadOptions(), FMT, force_python=force_python
        )
    )
    rows = pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist()
    return rows, tally


@pytest.mark.parametrize("force_python", [False, True])
@pytest.mark.parametrize(
    "content",
    [
        "\n".join(json.dumps(r) for r in RECS),
        json.dumps(RECS),
        json.dumps({"@odata.context": "x", "value": RECS}),
        json.dumps(RECS, indent=2),
    ],
    ids=["ndjson", "array-line", "page-line", "pretty"],
)
def test_layouts_and_paths_agree(tmp_path, content, force_python):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    rows, tally = _read(path, force_python=force_python)
    assert [r["user_name"] for r in rows] == [f"u{i}" for i in range(6)]
    assert tally.quarantined == 0 and tally.ignored == 0
    assert all(r["record_ref"].startswith("x.json:") for r in rows)


@pytest.mark.parametrize("force_python", [False, True])
def test_damage_is_counted(tmp_path, force_python):
    path = tmp_path / "x.jsonl"
    lines = [
        json.dumps(RECS[0]),
        "{broken",
        "",
        json.dumps({"t": "x", "u": "a"}),
        json.dumps({**RECS[1], "kind": "skip"}),
        "[1]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, tally = _read(path, force_python=force_python)
    assert [r["user_name"] for r in rows] == ["u0"]
    assert tally.ignored_reasons == {"skipped": 1}
    assert {(q.position, q.reason) for q in tally.quarantine} == {
        ("line 2", "invalid JSON"),
        ("line 4", "no parseable time"),
        ("line 6 record 1", "not a JSON object"),
    }


@pytest.mark.parametrize("force_python", [False, True])
def test_a_control_byte_line_is_quarantined_not_dropped(tmp_path, force_python):
    """Byte 0x01 is the DuckDB splitter's delimiter: a line of only that byte read as blank there, and
    a record followed by it lost the byte and passed as clean JSON. Both paths must quarantine both."""
    path = tmp_path / "x.jsonl"
    body = b"\n".join(
        [
            json.dumps(RECS[0]).encode(),
            b"\x01",
            json.dumps(RECS[1]).encode() + b"\x01",
            json.dumps(RECS[2]).encode(),
        ]
    )
    path.write_bytes(body + b"\n")
    rows, tally = _read(path, force_python=force_python)
    assert [r["user_name"] for r in rows] == ["u0", "u2"]
    assert {(q.position, q.reason) for q in tally.quarantine} == {
        ("line 2", "invalid JSON"),
        ("line 3", "invalid JSON"),
    }


def test_staging_on_a_caller_connection(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECS), encoding="utf-8")
    con = duckdb.connect()
    tally = Tally()
    view = json_duckdb.stage_json_records(con, InputFile(path.name, path), tally, ReadOptions(), FMT)
    assert view is not None
    assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] == 6
    json_duckdb.unstage_json_records(con)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [view]).fetchone()[0] == 0


def test_split_document_positions():
    text = '[\n {"a": 1},\n {"a": 2}, {"a": 3}\n]\n{"b": 1}'
    got = list(json_duckdb.split_document(text))
    assert [(ln, sub) for ln, _, sub, _ in got] == [(2, None), (3, None), (3, 2), (5, None)]
    assert json_duckdb.layout(b'{"a": 1}\n') == "lines" and json_duckdb.layout(b"[\n{") == "document"
