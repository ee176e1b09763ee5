"""Issue 14, case 2 (repeats): records repeated inside one file (0-99 then 50-149) are stored once,
like records repeated across files; the 50 repeats are counted as ignored duplicates.

Every JSON reader (a page or ``Records`` document) and every CSV format; into an empty store (the
table is filled straight) and into one that already holds events (through the staging table).
"""

from __future__ import annotations

import json

import pytest

from nightowl.ingest import DUPLICATE_REASON, ingest_paths
from nightowl.sources.records.json_python import DUPLICATE_ROW
from nightowl.store import Store
from tests.hostile.formats import CSV_FORMATS, JSON_FORMATS, TRAIL, csv_rows, write_csv


def _json(fmt, numbers) -> str:
    recs = [fmt.make(i) for i in numbers]
    if fmt is TRAIL:
        return json.dumps({fmt.container_key: recs})
    return json.dumps(
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", fmt.container_key: recs}
    )


def _check(tmp_path, source, write, before: bool) -> None:
    table = getattr(source, "table", "auth_events")
    with Store(tmp_path / "s.duckdb") as st:
        held = 0
        if before:
            first = write(tmp_path / "first", range(1000, 1010))
            ingest_paths(st, [str(first)], input_format=source.name)
            held = st.row_count(table)
            assert held == 10
        path = write(tmp_path / "repeats", [*range(100), *range(50, 150)])
        (report,) = ingest_paths(st, [str(path)], input_format=source.name)
        t = report.tally
        repeats = t.ignored_reasons[DUPLICATE_REASON] + t.ignored_reasons[DUPLICATE_ROW]  # store / reader
        assert (t.normalized, repeats) == (150, 50)
        assert t.records == t.normalized + t.ignored + t.quarantined
        assert st.row_count(table) == held + 150


@pytest.mark.parametrize("before", [False, True], ids=["empty-store", "store-with-events"])
@pytest.mark.parametrize("fmt", JSON_FORMATS, ids=lambda f: f.name)
def test_json_records_repeated_in_one_file_are_stored_once(tmp_path, fmt, before):
    def write(stem, numbers):
        path = stem.with_suffix(".json")
        path.write_text(_json(fmt, numbers))
        return path

    _check(tmp_path, fmt.source, write, before)


@pytest.mark.parametrize("before", [False, True], ids=["empty-store", "store-with-events"])
@pytest.mark.parametrize("fmt", CSV_FORMATS, ids=lambda f: f.name)
def test_csv_rows_repeated_in_one_file_are_stored_once(tmp_path, fmt, before):
    rows = csv_rows(fmt, 1010)

    def write(stem, numbers):
        path = stem.with_suffix(".csv")
        write_csv(path, fmt.header, [rows[i] for i in numbers])
        return path

    _check(tmp_path, fmt.source, write, before)
