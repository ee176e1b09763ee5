"""The standing property of issue 14, for every registered reader: damage one record of a reader's
fixture (or the file around its records) and the reader still reports
``records == normalized + ignored + quarantined == the true count``, and every undamaged record's
rows are stored (compared with a clean file of only those records, read the same way).

Parametrised over the source registry: a reader without fixtures in ``tests/hostile/damage.py``
fails here. Through ``ingest_file`` and a store, as a user runs it (the in-DuckDB ``stage`` path,
its fallback, repeats dropped). A few dozen examples per reader in CI;
``NIGHTOWL_DAMAGE_EXAMPLES=500 pytest tests/hostile/test_damage.py`` for more.

EVTX is binary, with no record boundaries to damage one record at a time: its property is narrower
(see :func:`_check_evtx`).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import sources
from nightowl.ingest import ingest_file
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.windows_evtx_layout import CHUNK_BYTES, FILE_HEADER_BYTES, read_layout
from nightowl.store import Store
from tests.conftest import dataset
from tests.hostile.damage import EVTX, FIXTURES, Damaged, damaged, fixtures

EXAMPLES = int(os.environ.get("NIGHTOWL_DAMAGE_EXAMPLES", "25"))
READERS = [s.name for s in sources.all_sources()]
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _tables(reader: str) -> list[str]:
    source = sources.by_name(reader)
    return [getattr(s, "table", "auth_events") for s in (source, *getattr(source, "also", ()))]


def ingest(reader: str, data: bytes) -> tuple[Tally, Counter]:
    """The reader's tally and the rows it stored (every column but ``record_ref``, which names the
    line)."""
    with tempfile.TemporaryDirectory(prefix="nightowl-damage-") as tmp, Store() as store:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        report = ingest_file(store, InputFile("input", path), sources.by_name(reader), ReadOptions())
        rows: Counter = Counter()
        for table in _tables(reader):
            for row in store.con.execute(f"SELECT * EXCLUDE (record_ref) FROM {table}").fetchall():
                rows[(table, *map(repr, row))] += 1
    return report.tally, rows


@cache
def _reference(reader: str, index: int, keep: tuple[int, ...] | None) -> tuple[Tally, Counter]:
    """The clean file of the fixture's records ``keep`` (all when None), read once."""
    return ingest(reader, fixtures(reader)[index].file(None if keep is None else list(keep)))


def _unit_rows(reader: str, index: int, unit: int) -> int:
    """Rows the fixture's record ``unit`` gives in the clean file."""
    n = len(fixtures(reader)[index].records)
    whole = _reference(reader, index, None)[1]
    without = _reference(reader, index, tuple(i for i in range(n) if i != unit))[1]
    return (whole - without).total()


SESSION = 1 + [c for c in AUTH_SCHEMA.names if c != "record_ref"].index("session_id")  # in ingest()'s rows


def _outside(rows: Counter, sessions: set[str]) -> Counter:
    """The rows of ``rows`` in none of ``sessions`` (sign-in rows name theirs in session_id)."""
    quoted = {repr(s) for s in sessions}
    return Counter(
        {row: n for row, n in rows.items() if row[0] != "auth_events" or row[SESSION] not in quoted}
    )


def test_every_reader_has_fixtures_to_damage():
    """A new reader needs an entry in tests/hostile/damage.py's FIXTURES."""
    assert sorted(set(READERS) - set(FIXTURES)) == []


@pytest.mark.parametrize("reader", READERS)
def test_each_fixture_reads_clean_with_one_record_per_unit(reader):
    """The layout is right: a clean fixture's records are all accounted, one per unit."""
    if FIXTURES.get(reader) == EVTX:
        pytest.skip("binary; see test_damage_keeps_the_count_and_the_undamaged_records[windows-evtx]")
    for i, fx in enumerate(fixtures(reader)):
        tally, rows = _reference(reader, i, None)
        assert tally.records == len(fx.records), (fx.label, tally.quarantine[:3])
        assert rows.total() == tally.normalized > 0, fx.label


@pytest.mark.parametrize("reader", READERS)
def test_damage_keeps_the_count_and_the_undamaged_records(reader):
    assert reader in FIXTURES, f"{reader}: no fixture to damage (add one to tests/hostile/damage.py)"
    if FIXTURES[reader] == EVTX:
        _check_evtx(reader)
        return

    @SETTINGS
    @given(st.data())
    def check(data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(fixtures(reader)) - 1), label="fixture")
        fx = fixtures(reader)[index]
        d: Damaged = data.draw(damaged(fx), label="damage")
        tally, rows = ingest(reader, d.data)
        where = f"{fx.label}: {d.what}"
        assert d.true_count <= tally.records <= d.true_count + d.slack, (
            where, tally.normalized, tally.ignored, tally.quarantine[:4],
        )  # fmt: skip
        assert rows.total() == tally.normalized, where
        expected = _reference(reader, index, d.undamaged)[1]
        if fx.session is not None:  # rows of a damaged line's process may pair differently: not compared
            hurt = {fx.session(fx.records[k]) for k in d.damaged}
            expected, rows = _outside(expected, hurt), _outside(rows, hurt)
        lost = expected - rows
        assert not lost, (where, "undamaged records lost", list(lost)[:2], tally.quarantine[:4])
        allowed = d.inserted + sum(max(1, _unit_rows(reader, index, k)) for k in d.damaged)
        invented = rows - expected
        assert invented.total() <= allowed, (where, "rows invented", list(invented)[:2])

    check()


def _check_evtx(reader: str) -> None:
    """EVTX: no record boundaries to damage one record, and a damaged chunk can hide the records
    after the damage in it. So: bytes flipped in one chunk's records, or the file cut anywhere after
    the file header; the count is the headers' declared total (295) exactly, and every record of the
    other chunks (of the chunks wholly before the cut) is stored."""

    sample = dataset("windows-evtx/password-spray.evtx")
    clean = sample.read_bytes()
    used = len(read_layout(sample).chunks)
    total = read_layout(sample).next_id - 1

    @cache
    def first_chunks(count: int) -> Counter:
        """Rows of the file's first ``count`` chunks (the file cut after them)."""
        return ingest(reader, clean[: FILE_HEADER_BYTES + count * CHUNK_BYTES])[1]

    def rows_outside(hit: set[int]) -> Counter:
        """Clean rows of the chunks not in ``hit``."""
        out: Counter = Counter()
        for c in set(range(used)) - hit:
            out += first_chunks(c + 1) - first_chunks(c)
        return out

    @SETTINGS
    @given(cut=st.booleans(), chunk=st.integers(0, used - 1), data=st.data())
    def check(cut: bool, chunk: int, data: st.DataObject) -> None:
        start = FILE_HEADER_BYTES + chunk * CHUNK_BYTES
        damaged = bytearray(clean)
        if cut:
            at = data.draw(st.integers(FILE_HEADER_BYTES + 512, len(clean) - 1))
            del damaged[at:]
            hit = {c for c in range(used) if FILE_HEADER_BYTES + (c + 1) * CHUNK_BYTES > at}
        else:  # 1-8 bytes in the records of one chunk (past its 512-byte header and tables)
            for _ in range(data.draw(st.integers(1, 8))):
                i = data.draw(st.integers(start + 512, start + CHUNK_BYTES - 1))
                damaged[i] = data.draw(st.integers(0, 255))
            hit = {chunk}
        tally, rows = ingest(reader, bytes(damaged))
        assert tally.records == total, (cut, sorted(hit), tally.quarantine[:3])
        assert rows.total() == tally.normalized
        lost = rows_outside(hit) - rows
        assert not lost, (cut, sorted(hit), list(lost)[:2])

    check()
