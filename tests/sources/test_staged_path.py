"""The staged path (the reader's query run on the store's own connection, no Arrow round trip) must
store exactly what the reader's ``read`` path yields, with the same counts, for every JSON format."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from nightowl import sources
from nightowl.ingest import ingest_file
from nightowl.schema import COLUMN_NAMES
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
JSON_FIXTURES = sorted(
    p
    for folder in ("entra", "okta")
    for p in (FIXTURES / folder).iterdir()
    if p.suffix in (".json", ".jsonl")
)


def _rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(str(v) for v in row.values()) for row in table.select(COLUMN_NAMES).to_pylist())


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=[p.name for p in JSON_FIXTURES])
def test_staged_ingest_equals_the_read_path(path, tmp_path):
    inp = InputFile(name=path.name, path=path)
    source = sources.detect(inp)
    assert hasattr(source, "stage"), f"{source.name} has no staged path"
    read_tally = Tally()
    expected = pa.Table.from_batches(list(source.read(inp, read_tally, ReadOptions())))
    with Store() as store:
        report = ingest_file(store, inp, source, ReadOptions())
        stored = store.con.sql(f"SELECT {', '.join(COLUMN_NAMES)} FROM auth_events").to_arrow_table()
        leftovers = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary")
    assert _rows(stored) == _rows(expected)
    assert (report.tally.ignored, report.tally.quarantined) == (read_tally.ignored, read_tally.quarantined)
    assert [q.position for q in report.tally.quarantine] == [q.position for q in read_tally.quarantine]
    assert leftovers == []


def test_staged_path_counts_bad_lines_and_containers(tmp_path):
    good = (FIXTURES / "entra" / "graph_v1.jsonl").read_text().splitlines()
    page = (FIXTURES / "entra" / "graph_beta_pages.jsonl").read_text().splitlines()[0]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([good[0], "{not json", page, "", "[1, 2]", good[1]]) + "\n")
    inp = InputFile(name="mixed.jsonl", path=path)
    source = sources.by_name("entra-graph-json")
    with Store() as store:
        staged = ingest_file(store, inp, source, ReadOptions())
    read_tally = Tally()
    n = sum(b.num_rows for b in source.read(inp, read_tally, ReadOptions()))
    assert staged.tally.normalized == n
    assert (staged.tally.ignored, staged.tally.quarantined) == (read_tally.ignored, read_tally.quarantined)
    assert staged.tally.quarantined >= 1 and "line 2" in [q.position for q in staged.tally.quarantine]
