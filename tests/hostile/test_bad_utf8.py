"""Issue 14, case 6 (speed): one invalid UTF-8 byte must not send a whole large file down the slow
path. DuckDB's scanner refuses the file; a copy with the bad sequence replaced (U+FFFD, as the robust
path decodes it) is read fast instead. The rows are the robust path's, and the robust path's line
splitter is never used (it is made to fail here). Figures: benchmarks/bench_bad_byte.py, README.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pyarrow as pa
import pytest

from nightowl.ingest import ingest_paths
from nightowl.sources import entra_graph, okta
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import json_duckdb
from nightowl.sources.records.json_duckdb import read_json_records
from nightowl.store import Store
from tests.hostile.formats import GRAPH, OKTA

N = 300
JSON_FORMATS = {"graph": entra_graph.GRAPH, "okta": okta.OKTA}  # the readers' JsonFormat


def _write(tmp_path, fmt, bad_at: int):
    lines = []
    for i in range(N):
        line = json.dumps(fmt.make(i)).encode()
        if i == bad_at:
            line = line.replace(
                f"{fmt.name}-{i:05d}".encode(), f"{fmt.name}-{i:05d}".encode() + b"\xff\xfe", 1
            )
            assert b"\xff" in line
        lines.append(line)
    path = tmp_path / "signins.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _rows(path, fmt, force_python: bool) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(
        read_json_records(
            InputFile(path.name, path),
            tally,
            ReadOptions(),
            JSON_FORMATS[fmt.name],
            force_python=force_python,
        )
    )
    return pa.Table.from_batches(batches).to_pylist(), tally


def _no_robust_path(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the whole file went down the robust path")

    monkeypatch.setattr(json_duckdb, "python_lines", refuse)


@pytest.mark.parametrize("fmt", [GRAPH, OKTA], ids=lambda f: f.name)
def test_one_bad_byte_keeps_the_fast_path_and_the_robust_paths_rows(tmp_path, monkeypatch, fmt):
    path = _write(tmp_path, fmt, bad_at=N // 2)
    robust, robust_tally = _rows(path, fmt, force_python=True)
    _no_robust_path(monkeypatch)
    fast, tally = _rows(path, fmt, force_python=False)
    assert len(fast) == N and (tally.ignored, tally.quarantined) == (
        robust_tally.ignored,
        robust_tally.quarantined,
    )
    assert fast == robust
    assert any("\ufffd" in str(v) for r in fast for v in r.values())


def test_one_bad_byte_is_staged_fast_into_the_store(tmp_path, monkeypatch):
    path = _write(tmp_path, GRAPH, bad_at=7)
    _no_robust_path(monkeypatch)
    with Store(tmp_path / "s.duckdb") as st:
        (report,) = ingest_paths(st, [str(path)])
        assert (report.format, report.tally.normalized, st.event_count()) == ("entra-graph-json", N, N)


@pytest.mark.parametrize("store", [False, True], ids=["read", "stage"])
def test_one_bad_byte_in_a_gzip_file_keeps_the_fast_path(tmp_path, monkeypatch, store):
    """A .gz file is decompressed once into the repaired copy (it took the robust path whole)."""
    plain = _write(tmp_path, GRAPH, bad_at=N // 3)
    robust, robust_tally = _rows(plain, GRAPH, force_python=True)
    gz = tmp_path / "signins.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    _no_robust_path(monkeypatch)
    if store:
        with Store(tmp_path / "s.duckdb") as st:
            (report,) = ingest_paths(st, [str(gz)])
            assert (report.tally.normalized, st.event_count()) == (N, N)
        return
    tally = Tally()
    inp = InputFile(gz.name, gz, gzip=True)
    batches = list(read_json_records(inp, tally, ReadOptions(), JSON_FORMATS["graph"]))
    got = pa.Table.from_batches(batches).to_pylist()
    assert [{**r, "record_ref": r["record_ref"].replace(".gz", "")} for r in got] == robust
    assert (tally.ignored, tally.quarantined) == (robust_tally.ignored, robust_tally.quarantined)


def test_the_readers_connection_never_draws_a_progress_bar():
    """DuckDB draws one on stdout after 2 s of a query: a slow (robust) read corrupted --format json
    (seen in the benchmark's output on the old code)."""
    code = (  # a fresh process: under pytest DuckDB's default differs (it is on in a plain run)
        "from nightowl.sources.records.json_duckdb import connect; "
        "print(connect('.').execute(\"SELECT current_setting('enable_progress_bar')\").fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
