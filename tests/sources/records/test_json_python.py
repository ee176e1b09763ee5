"""The Python JSON record reader: every layout gives the same records; damage is counted, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightowl import audit_schema
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_python import (
    DUPLICATE_ROW,
    RecordError,
    json_layout,
    json_records,
    read_rows,
)

RECS = [{"id": f"r{i}", "n": i} for i in range(5)]


def _records(path: Path):
    tally = Tally()
    got = list(json_records(InputFile(path.name, path), tally, ReadOptions()))
    return got, tally


@pytest.mark.parametrize(
    "content",
    [
        "\n".join(json.dumps(r) for r in RECS),
        json.dumps(RECS),
        json.dumps(RECS, indent=2),
        json.dumps({"@odata.context": "x", "value": RECS}),
        json.dumps({"records": RECS}, indent=1),
        "\ufeff" + "\n".join(json.dumps(r) for r in RECS) + "\n\n",
    ],
    ids=["ndjson", "array", "pretty", "page", "envelope", "bom-blank"],
)
def test_every_layout_gives_the_records(tmp_path, content):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    got, tally = _records(path)
    assert [rec for _, _, rec in got] == RECS
    assert tally.quarantined == 0


def test_layout_detection():
    assert json_layout(b'{"a": 1}\n{"a": 2}\n') == "lines"
    assert json_layout(b"[\n  {\n") == "document"
    assert json_layout(b"garbage\n") == "lines"


def test_bad_lines_quarantined_with_position(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 1}\n{"id": \n[1, {"id": 3}]\n', encoding="utf-8")
    got, tally = _records(path)
    assert [rec["id"] for _, _, rec in got] == [1, 3]
    assert tally.quarantined == 2
    assert [q.position for q in tally.quarantine] == ["line 2", "line 3 record 1"]


def test_read_rows_maps_ignores_quarantines_and_dedupes(tmp_path):
    path = tmp_path / "x.jsonl"
    lines = [
        {"id": "a", "t": 1},
        {"id": "a", "t": 1},
        {"id": "b", "skip": True},
        {"id": "c"},
        {"id": "d", "t": 2},
    ]
    path.write_text("\n".join(json.dumps(r) for r in lines), encoding="utf-8")

    def mapper(rec, ref):
        if rec.get("skip"):
            return "not interesting"
        if "t" not in rec:
            raise RecordError("no t")
        return {"event_uid": rec["id"], "source_format": "test", "time": None}

    tally = Tally()
    schema = audit_schema.ACCOUNTS_SCHEMA
    batches = list(
        read_rows(json_records(InputFile(path.name, path), tally, ReadOptions()), tally, schema, mapper)
    )
    assert sum(b.num_rows for b in batches) == 2
    assert tally.ignored_reasons == {DUPLICATE_ROW: 1, "not interesting": 1}
    assert tally.quarantined == 1 and tally.quarantine[0].reason == "no t"
