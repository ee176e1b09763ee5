"""Issue 14, case 2 (EVTX): a truncated EVTX and one with damaged chunks are counted, not guessed.

The sample holds 295 records in three chunks (the file header says the next id is 296). A copy
cut at 99,632 bytes (inside chunk 2) was read as 104 records with nothing quarantined; random
byte flips over-counted (a blank chunk with one flipped byte was an 'unreadable chunk'). Now: the
complete records of the cut chunk are read, every declared record nobody read is quarantined once,
and damage never counts a record that was not there.
"""

from __future__ import annotations

import random
from pathlib import Path

import evtx
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.windows_evtx import SOURCES
from nightowl.sources.windows_evtx_layout import CUT
from tests.conftest import dataset

TOTAL = 295  # records in windows-evtx/password-spray.evtx
USED_CHUNKS_END = 0x1000 + 3 * 0x10000


def _read(path: Path) -> tuple[int, Tally]:
    tally = Tally()
    batches = list(SOURCES[0].read(InputFile(path.name, path), tally, ReadOptions()))
    tally.normalized = pa.Table.from_batches(batches).num_rows if batches else 0
    return tally.normalized + tally.ignored, tally


def _parsed(path: Path) -> int:
    """Records the parser itself yields (no errors expected)."""
    return sum(1 for _ in evtx.PyEvtxParser(str(path)).records_json())


def test_a_cut_evtx_reads_the_cut_chunk_and_quarantines_what_is_missing(tmp_path):
    data = dataset("windows-evtx/password-spray.evtx").read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[:99_632])
    padded = tmp_path / "padded.evtx"  # independent count of the complete records before the cut
    padded.write_bytes(data[:99_632] + bytes(0x1000 + 2 * 0x10000 - 99_632))
    read, tally = _read(cut)
    assert _parsed(cut) == 104  # what the parser alone reports (was the whole count)
    assert read == _parsed(padded) - sum(1 for q in tally.quarantine if "EventData" in q.reason)
    assert tally.records == TOTAL
    lost = [q for q in tally.quarantine if q.reason == CUT]
    assert len(lost) == TOTAL - _parsed(padded)
    assert lost[0].position == f"record {_parsed(padded) + 1}" and lost[-1].position == f"record {TOTAL}"


def test_a_file_cut_at_a_chunk_boundary_counts_the_missing_chunks(tmp_path):
    data = dataset("windows-evtx/password-spray.evtx").read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[: 0x1000 + 0x10000])  # chunk 0 only (ids 1-104)
    read, tally = _read(cut)
    assert (read + sum(1 for q in tally.quarantine if "EventData" in q.reason), tally.records) == (104, TOTAL)


def test_flips_in_the_used_chunks_are_counted_exactly(tmp_path):
    data = dataset("windows-evtx/password-spray.evtx").read_bytes()
    for seed in range(6):
        rnd = random.Random(seed)
        damaged = bytearray(data)
        for _ in range(40):
            i = rnd.randrange(0x1000, USED_CHUNKS_END)
            damaged[i] ^= 1 << rnd.randrange(8)
        path = tmp_path / f"flipped-{seed}.evtx"
        path.write_bytes(bytes(damaged))
        _, tally = _read(path)
        assert tally.records == TOTAL, seed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 400), keep=st.floats(0.06, 1.0))
def test_damage_never_counts_a_record_that_was_not_there(tmp_path, seed, flips, keep):
    data = dataset("windows-evtx/password-spray.evtx").read_bytes()
    rnd = random.Random(seed)
    damaged = bytearray(data[: max(0x1000 + 600, int(len(data) * keep))])
    for _ in range(flips):
        i = rnd.randrange(0x1000, len(damaged))
        damaged[i] ^= 1 << rnd.randrange(8)
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(damaged))
    read, tally = _read(path)
    assert read <= tally.records <= TOTAL
