"""The scan thread beside each file's reader (ingest.scan_file): its content key (BLAKE3) and line facts, and its
pace: it stays near the reader (so a file bigger than the page cache is read from disk once), yet
never waits for a reader that stopped reading, runs free once its result is wanted, and stops when the
file failed. The reader here is simulated (a byte count the test moves); no timing is asserted."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import blake3
import pytest

from nightowl import ingest
from nightowl.schema import COLUMN_NAMES
from nightowl.sources import entra_graph
from nightowl.sources.base import InputFile, ReadOptions
from nightowl.store import Store

CHUNK = 4096
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Reader:
    """A simulated reader: the process's read bytes are the scan's plus ``self.bytes``."""

    def __init__(self) -> None:
        self.bytes = 0
        self.scanned = 0  # the scan's bytes, as the scan thread reports them

    def progress(self) -> int:
        return 1000 + self.scanned + self.bytes


def _scan_in_thread(pace: ingest.Pace, reader: Reader, total: int) -> tuple[threading.Thread, list]:
    """Feed ``pace`` a scan of ``total`` bytes in CHUNK steps; the outcome lands in the list."""
    out: list = []

    def run() -> None:
        pace.begin()
        try:
            for scanned in range(CHUNK, total + 1, CHUNK):
                reader.scanned = scanned
                pace.wait(scanned)
            out.append("done")
        except ingest.ScanStopped:
            out.append("stopped")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _until(condition, what: str) -> None:
    """Wait for the scan thread to get somewhere (a generous bound: a hang fails, slowness does not)."""
    done = threading.Event()
    for _ in range(6000):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"scan thread never {what}")


def test_the_scan_stays_within_ahead_of_the_reader_and_follows_it():
    reader = Reader()
    pace = ingest.Pace(ahead=10 * CHUNK, stall=3600, progress=reader.progress)
    thread, out = _scan_in_thread(pace, reader, 200 * CHUNK)
    for step in range(1, 6):
        _until(lambda: pace.waited > 0, "waited for the reader")
        # it waits at most ``ahead`` bytes in front of the reader
        assert reader.scanned <= reader.bytes + pace.ahead
        assert reader.scanned >= reader.bytes + pace.ahead - pace.burst - CHUNK
        reader.bytes = step * 20 * CHUNK  # the reader reads on: so does the scan
        _until(lambda: reader.scanned > reader.bytes, "followed the reader")
        pace.waited = 0  # (it only counts while waiting)
    assert out == []
    reader.bytes = 200 * CHUNK
    thread.join(60)
    assert out == ["done"]


def test_a_reader_that_stops_reading_is_not_waited_for():
    reader = Reader()
    pace = ingest.Pace(ahead=10 * CHUNK, stall=0.05, progress=reader.progress)
    thread, out = _scan_in_thread(pace, reader, 200 * CHUNK)
    thread.join(60)
    assert out == ["done"] and reader.bytes == 0 and pace.waited > 0


def test_the_result_wanted_lets_the_scan_run_free_and_a_failed_file_stops_it():
    for end, outcome in ((ingest.Pace.release, "done"), (ingest.Pace.stop, "stopped")):
        reader = Reader()
        pace = ingest.Pace(ahead=10 * CHUNK, stall=3600, progress=reader.progress)
        thread, out = _scan_in_thread(pace, reader, 200 * CHUNK)
        _until(lambda: pace.waited > 0, "waited for the reader")  # noqa: B023 - used in this iteration
        assert out == []
        end(pace)
        thread.join(60)
        assert out == [outcome] and reader.bytes == 0


def test_without_progress_the_scan_runs_free():
    pace = ingest.Pace(ahead=CHUNK, stall=3600, progress=lambda: None)
    pace.begin()
    for scanned in range(CHUNK, 100 * CHUNK, CHUNK):
        pace.wait(scanned)
    assert pace.waited == 0


@pytest.mark.skipif(ingest.process_read_bytes() is None, reason="no /proc/self/io here")
def test_process_read_bytes_counts_what_the_process_reads(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 300_000)
    before = ingest.process_read_bytes()
    with open(path, "rb", buffering=0) as fh:
        assert len(fh.read()) == 300_000
    assert ingest.process_read_bytes() - before >= 300_000


def _graph_lines(n: int) -> list[str]:
    good = [x for x in (FIXTURES / "entra" / "graph_v1.jsonl").read_text().splitlines()[:12] if x]
    return [json.dumps(json.loads(good[i % len(good)]) | {"id": f"scan-{i:06d}"}) for i in range(n)]


CASES = {
    "clean (fast path)": lambda lines: "\n".join(lines) + "\n",
    "blank line (declined, robust path)": lambda lines: "\n".join([*lines[:1500], "", *lines[1500:]]) + "\n",
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_paced_ingest_stores_what_an_unpaced_one_does(tmp_path, monkeypatch, case, gz):
    """The scan held a few KB behind DuckDB's read_json, the robust reader or a gzip reader: the file
    is ingested whole, with its hash, as without pacing."""
    text = CASES[case](_graph_lines(3000)).encode()
    path = tmp_path / ("f.jsonl.gz" if gz else "f.jsonl")
    path.write_bytes(gzip.compress(text) if gz else text)
    inp = InputFile(name=path.name, path=path, gzip=gz)

    def ingest_once():
        with Store() as store:
            report = ingest.ingest_file(store, inp, entra_graph.GraphSignIns(), ReadOptions())
            rows = store.query(f"SELECT {', '.join(COLUMN_NAMES)} FROM auth_events ORDER BY record_ref")
        return report, rows

    unpaced, unpaced_rows = ingest_once()
    monkeypatch.setattr(ingest, "SCAN_CHUNK", CHUNK)
    monkeypatch.setattr(ingest, "SCAN_AHEAD", 4 * CHUNK)
    paced, paced_rows = ingest_once()
    key = "blake3:" + blake3.blake3(path.read_bytes()).hexdigest()
    assert paced.content_key == unpaced.content_key == key
    assert paced.to_contract() == unpaced.to_contract()
    assert paced_rows == unpaced_rows and len(paced_rows) == 3000
