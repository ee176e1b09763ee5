"""Issue 14, case 3: CSV readers count rows as a CSV reader does and never lose or invent one.

For every CSV format (Entra Log Analytics, portal, audit, Office 365, accounts, SecurityEvent,
CloudTrail), 40 rows: a field over 1 MiB, an unbalanced quote, one field too many each cost only
their own row (quarantined with its line number); quoted fields with line breaks, quotes and
commas, a BOM, CRLF and blank lines change nothing.
"""

from __future__ import annotations

import pytest

from tests.hostile.formats import CSV_FORMATS, csv_rows, read, write_csv

N = 40
BAD = 9  # row 10


def _check(tally, rows: int, good: int, bad: int) -> None:
    assert rows + tally.ignored == good, tally.quarantine[:3]
    assert tally.quarantined == bad, tally.quarantine[:3]
    assert tally.records == good + bad


FORMATS = pytest.mark.parametrize("fmt", CSV_FORMATS, ids=lambda f: f.name)


@FORMATS
def test_clean_rows_all_read(tmp_path, fmt):
    path = tmp_path / "x.csv"
    write_csv(path, fmt.header, csv_rows(fmt, N))
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N, 0)


@FORMATS
def test_field_over_a_mebibyte_costs_only_its_row(tmp_path, fmt):
    data = csv_rows(fmt, N)
    data[BAD][fmt.header.index(fmt.id_column)] = "x" * (1 << 20) + "y" * 10
    path = tmp_path / "x.csv"
    write_csv(path, fmt.header, data)
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N - 1, 1)
    assert tally.quarantine[0].position == f"line {BAD + 2}"


@FORMATS
def test_unbalanced_quote_costs_only_its_row(tmp_path, fmt):
    data = csv_rows(fmt, N)
    path = tmp_path / "x.csv"
    text = write_csv(path, fmt.header, data)
    lines = text.split("\r\n")
    lines[BAD + 1] += ',"'  # the row opens a quote it never closes (and has a field too many)
    path.write_text("\r\n".join(lines), encoding="utf-8", newline="")
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N - 1, 1)
    assert tally.quarantine[0].position == f"line {BAD + 2}"


@FORMATS
def test_one_field_too_many_costs_only_its_row(tmp_path, fmt):
    data = csv_rows(fmt, N)
    data[BAD].append("extra")
    path = tmp_path / "x.csv"
    write_csv(path, fmt.header, data)
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N - 1, 1)


@FORMATS
def test_quoted_line_breaks_quotes_and_commas_are_one_row_each(tmp_path, fmt):
    data = csv_rows(fmt, N)
    at = fmt.header.index(fmt.id_column)
    for i, row in enumerate(data):
        row[at] = f'{row[at]}, "O\'Brien, J"\nsecond line {i}'
    path = tmp_path / "x.csv"
    write_csv(path, fmt.header, data)
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N, 0)


@FORMATS
def test_bom_crlf_and_blank_lines_are_no_rows(tmp_path, fmt):
    path = tmp_path / "x.csv"
    text = write_csv(path, fmt.header, csv_rows(fmt, N))
    lines = text.split("\r\n")
    text = "\ufeff" + "\r\n\r\n".join(lines) + "\r\n\n"
    path.write_text(text, encoding="utf-8", newline="")
    rows, tally = read(fmt.source, path)
    _check(tally, rows, N, 0)
