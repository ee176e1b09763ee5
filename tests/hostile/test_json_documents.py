"""Issue 14, case 1: one damaged record in a JSON document costs only that record.

A pretty-printed array, a one-line array, a Graph page (``value``) and a CloudTrail ``Records``
file, each of 50 records with record 10 damaged: 49 read, 1 quarantined with its byte offset.
A file cut inside its last record: 49 read, the cut one quarantined. Every JSON reader (the
DuckDB one for Graph and Okta, both of its paths; the Python one for audit logs; CloudTrail's).
"""

from __future__ import annotations

import json

import pytest

from tests.hostile.formats import JSON_FORMATS, TRAIL, read, stage

N = 50
DAMAGED = 9  # record 10


def _document(fmt, shape: str) -> str:
    recs = [fmt.make(i) for i in range(N)]
    if shape == "pretty-array":
        return json.dumps(recs, indent=2)
    if shape == "line-array":
        return json.dumps(recs)
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", fmt.container_key: recs}
    if fmt is TRAIL:
        page = {fmt.container_key: recs}
    return json.dumps(page, indent=2 if shape == "pretty-page" else None)


MARK = {"graph": "graph-{:05d}", "okta": "okta-{:05d}", "audit": "audit-{:05d}", "cloudtrail": "trail-{:05d}"}


def _damage(text: str, fmt) -> str:
    """Break record 10: its id loses both quotes to a stray brace and a NUL."""
    mark = MARK[fmt.name].format(DAMAGED)
    at = text.index(mark)
    return text[: at - 1] + "{\x00" + text[at + len(mark) + 1 :]


SHAPES = ("pretty-array", "line-array", "pretty-page", "line-page")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fmt", JSON_FORMATS, ids=lambda f: f.name)
def test_one_damaged_record_costs_only_itself(tmp_path, fmt, shape):
    path = tmp_path / "export.json"
    path.write_text(_damage(_document(fmt, shape), fmt), encoding="utf-8")
    rows, tally = read(fmt.source, path)
    assert tally.records == N, tally.quarantine
    assert rows + tally.ignored == N - 1 and tally.quarantined == 1
    assert "byte" in tally.quarantine[0].reason
    staged = stage(fmt.source, path)
    if staged is not None:  # the in-store path agrees
        assert staged[0] == rows and staged[1].quarantined == 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fmt", JSON_FORMATS, ids=lambda f: f.name)
def test_cut_download_quarantines_only_its_last_record(tmp_path, fmt, shape):
    text = _document(fmt, shape)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index(MARK[fmt.name].format(N - 1)) + 4], encoding="utf-8")
    rows, tally = read(fmt.source, path)
    assert rows + tally.ignored == N - 1 and tally.quarantined == 1, tally.quarantine
    assert "ends inside" in tally.quarantine[0].reason
