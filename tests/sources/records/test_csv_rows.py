"""CSV readers: headers sniffed cheaply, rows keyed by column, damage quarantined with its line."""

from __future__ import annotations

import json
from pathlib import Path

from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import csv_rows


def _inp(tmp_path: Path, text: str) -> InputFile:
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode("utf-8"))
    return InputFile(path.name, path)


def test_header_sniffing():
    assert csv_rows.header_fields(b'\xef\xbb\xbfEventID,"Computer",X\r\n1,2,3') == [
        "EventID",
        "Computer",
        "X",
    ]
    assert csv_rows.header_fields(b'{"a": 1}') == []
    assert csv_rows.header_names(b"\xef\xbb\xbfDate (UTC),Application ID \n") == [
        "date (utc)",
        "application id",
    ]
    assert csv_rows.norm_header("Autonomous system  number") == "autonomous system number"
    assert csv_rows.norm_header("TimeGenerated [UTC]") == "timegenerated"


def test_line_records_quarantine_wrong_field_counts(tmp_path):
    inp = _inp(tmp_path, "\ufeffA,B\n1,2\n3\n\n4,5,6\n7,8\n")
    tally = Tally()
    got = list(csv_rows.line_records(inp, tally, ReadOptions()))
    assert got == [(2, {"A": "1", "B": "2"}), (6, {"A": "7", "B": "8"})]
    assert [q.position for q in tally.quarantine] == ["line 3", "line 5"]


def test_keyed_records_drop_utc_suffix(tmp_path):
    inp = _inp(tmp_path, 'Id,"TimeGenerated [UTC]",Data\na,2024-01-01,"{""x"": 1}"\n')
    tally = Tally()
    got = list(csv_rows.keyed_records(inp, tally, ReadOptions()))
    assert got == [("line 2", "x.csv:2", {"Id": "a", "TimeGenerated": "2024-01-01", "Data": '{"x": 1}'})]


def test_rows_as_json_rewrites_slash_dates_per_file(tmp_path):
    inp = _inp(tmp_path, "Date (UTC),User\n21/04/2025 09:00:00,a\n3/4/2025 10:00:00,b\n")
    tally = Tally()
    out = list(
        csv_rows.rows_as_json(
            inp,
            tally,
            ReadOptions(),
            lambda c: {"t": c.get("date (utc)"), "u": c.get("user")},
            ("date (utc)",),
            ("t",),
        )
    )
    assert [json.loads(text)["t"] for _, text, _, _ in out] == [
        "2025-04-21T09:00:00Z",
        "2025-04-03T10:00:00Z",
    ]
    assert [line for line, *_ in out] == [2, 3]


def _rows(tmp_path, text, limit=1 << 20):
    tally = Tally()
    got = list(csv_rows.table_rows(_inp(tmp_path, text), tally, ReadOptions(max_line_bytes=limit)))
    return [(line, row) for line, _, row in got], tally


def test_table_rows_quoted_line_breaks_are_one_row(tmp_path):
    got, tally = _rows(tmp_path, 'a,b\n1,"x\ny, ""z"""\n\n2,3\n')
    assert got == [(2, ["1", 'x\ny, "z"']), (5, ["2", "3"])] and tally.records == 0


def test_table_rows_unbalanced_quote_costs_one_line(tmp_path):
    got, tally = _rows(tmp_path, 'a,b,c\n1,2,"oops\n2,3,4\n4,"5",6\n6,7,8\n')
    assert [line for line, _ in got] == [3, 4, 5]
    assert [q.position for q in tally.quarantine] == ["line 2"]


def test_a_stray_quote_line_does_not_swallow_the_row_after_it_even_at_the_right_width(tmp_path):
    # a garbage line holding one quote joined with the next row made the header's number of fields
    # (a comma inside that row's quoted field), so the joined row was kept with shifted cells and
    # the real row lost (the hostile damage property found it on a Log Analytics CSV)
    got, tally = _rows(tmp_path, 'a,b,c\n"\nx,"1, 2",y\n3,4,5\n')
    assert got == [(3, ["x", "1, 2", "y"]), (4, ["3", "4", "5"])]
    assert [q.position for q in tally.quarantine] == ["line 2"]
    assert tally.quarantine[0].reason == csv_rows.SWALLOWED


def test_table_rows_oversized_and_empty_rows(tmp_path):
    got, tally = _rows(tmp_path, "a,b\n1," + "x" * 300 + "\n,\n3,4\n", limit=100)
    assert got == [(4, ["3", "4"])]
    assert [q.position for q in tally.quarantine] == ["line 2"] and tally.ignored == 1


def test_table_rows_header_damage_is_one_clear_error(tmp_path):
    import pytest

    from nightowl.sources.base import InputError

    with pytest.raises(InputError, match="unreadable CSV header"):
        _rows(tmp_path, "a," + "x" * 300 + "\n1,2\n", limit=100)
