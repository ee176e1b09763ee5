"""Issue 14, case 4: failures around the store and the process get one clear line and the right code.

A store held by another process, a ``--store`` that is no DuckDB file, paths with a quote (bound as
SQL parameters, never pasted), Ctrl-C (exit 130, and the store re-ingests cleanly) and a reader of
stdout that goes away (``| head``: a quiet exit 141, as a shell reports for SIGPIPE).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import duckdb
import pytest

from nightowl.cli import app as cli_app
from nightowl.cli.common import PIPE_CLOSED
from nightowl.ingest import ingest_paths
from nightowl.store import STORE_IN_USE, Store
from tests.hostile.formats import GRAPH

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "entra" / "graph_v1.jsonl"


def _lines(start: int, stop: int) -> str:
    return "".join(json.dumps(GRAPH.make(i)) + "\n" for i in range(start, stop))


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The full command line in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["nightowl", *args])
    with pytest.raises(SystemExit) as exc:
        cli_app.main()
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def _nightowl(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nightowl", *args], stderr=subprocess.PIPE, text=True, **kw
    )


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _held_store(tmp_path: Path) -> tuple[subprocess.Popen, object]:
    """A real ``nightowl ingest --store`` holding its store: it waits on a FIFO we opened for writing
    (it opens the FIFO after the store, so once our open returns the store is held)."""
    fifo = tmp_path / "slow.fifo"
    os.mkfifo(fifo)
    proc = _nightowl("ingest", "--store", str(tmp_path / "s.duckdb"), str(fifo), stdout=subprocess.DEVNULL)
    writer = open(fifo, "w")  # noqa: SIM115 - closed by the test; blocks until nightowl reads
    writer.write(_lines(0, 5))
    writer.flush()
    return proc, writer


def test_a_store_in_use_is_one_line_exit_2_for_ingest_and_hunt(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(_lines(100, 110))
    proc, writer = _held_store(tmp_path)
    try:
        for command in ("ingest", "hunt"):
            second = _nightowl(
                command, "--store", str(tmp_path / "s.duckdb"), str(other), stdout=subprocess.PIPE
            )
            _, stderr = second.communicate(timeout=120)
            assert second.returncode == 2, stderr
            line = _one_line(stderr)
            assert STORE_IN_USE in line and "PID" not in line and "python" not in line
    finally:
        writer.write(_lines(5, 10))
        writer.close()
        _, first_err = proc.communicate(timeout=120)
    assert proc.returncode == 0, first_err
    with Store(tmp_path / "s.duckdb") as st:
        assert st.event_count() == 10


def test_two_hunts_of_one_store_at_once_both_work(tmp_path):
    """``hunt --store S`` with no files writes nothing, so it opens S read-only: another reader holding S
    (here this process, read-only) does not block it. A read-write holder still does (test above)."""
    path = tmp_path / "store.duckdb"
    with Store(path) as st:
        ingest_paths(st, [str(FIXTURE)])
    held = duckdb.connect(str(path), read_only=True)
    try:
        assert held.execute("SELECT count(*) FROM auth_events").fetchone()[0] > 0
        proc = _nightowl("hunt", "--store", str(path), "--format", "json", stdout=subprocess.PIPE)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        doc = json.loads(out)
        assert doc["overview"] and "findings" in doc
        with Store.for_hunt(path, []) as second:  # and one more, in this process, beside both
            assert (
                second.read_only
                and second.event_count() == held.execute("SELECT count(*) FROM auth_events").fetchone()[0]
            )
    finally:
        held.close()


@pytest.mark.parametrize("kind", ["text", "truncated", "folder"])
def test_a_store_that_is_no_duckdb_file_is_one_line_exit_2(tmp_path, monkeypatch, capsys, kind):
    store = tmp_path / "s.duckdb"
    if kind == "text":
        store.write_text("not a database\n")
    elif kind == "truncated":
        with Store(tmp_path / "good.duckdb") as st:
            ingest_paths(st, [str(FIXTURE)])
        data = (tmp_path / "good.duckdb").read_bytes()
        store.write_bytes(data[: len(data) // 3])
    else:
        store.mkdir()
    code, _, err = _main(monkeypatch, capsys, "ingest", "--store", str(store), str(FIXTURE))
    assert code == 2, err
    assert _one_line(err).startswith(f"nightowl: error: {store}")


def test_paths_with_a_quote_are_bound_not_pasted_into_sql(tmp_path, monkeypatch, capsys):
    quoted_tmp = tmp_path / "tmp'dir"
    quoted_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(quoted_tmp))  # a TMPDIR holding a quote
    store = tmp_path / "s.duckdb"
    code, _, err = _main(monkeypatch, capsys, "ingest", "--store", str(store), str(FIXTURE))
    assert code == 0, err
    out_dir = tmp_path / "out'dir"
    code, _, err = _main(monkeypatch, capsys, "export", "--store", str(store), "--parquet", str(out_dir))
    assert code == 0, err
    with Store(store) as st:
        expected = st.event_count()
    got = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out_dir / "auth_events.parquet")])
    assert got.fetchall()[0][0] == expected > 0
    code, _, err = _main(monkeypatch, capsys, "ingest", "--store", str(tmp_path / "lake.duckdb"),
                         "--parquet", str(tmp_path / "lake'dir"), str(FIXTURE))  # fmt: skip
    assert code == 0, err


def test_ctrl_c_exits_130_in_one_line_and_the_store_reingests_cleanly(tmp_path):
    first = tmp_path / "first.json"
    first.write_text(_lines(0, 10))
    fifo = tmp_path / "second.fifo"
    os.mkfifo(fifo)
    store = tmp_path / "s.duckdb"
    proc = _nightowl("ingest", "--store", str(store), str(first), str(fifo), stdout=subprocess.DEVNULL)
    with open(
        fifo, "w"
    ) as writer:  # returns once nightowl reads the FIFO: first.json is in, second half-read
        writer.write(_lines(10, 15))
        writer.flush()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert _one_line(stderr) == "nightowl: interrupted"
    second = tmp_path / "second.json"
    second.write_text(_lines(10, 20))
    with Store(store) as st:
        reports = ingest_paths(st, [str(first), str(second)])
        assert [(r.duplicate_of is not None, r.tally.normalized) for r in reports] == [(True, 0), (False, 10)]
        assert st.event_count() == 20


def test_an_interrupted_duckdb_query_is_an_interruption_and_leaves_nothing(tmp_path):
    """Ctrl-C inside a DuckDB query arrives as DuckDB's InterruptException: it must not become
    'could not be read' (exit 2), and the half-read file must leave nothing behind."""
    big = tmp_path / "big.json"
    big.write_text(_lines(0, 20000))
    store = Store(tmp_path / "s.duckdb")
    done = threading.Event()

    def interrupt() -> None:
        while not done.wait(0.002):
            store.con.interrupt()

    thread = threading.Thread(target=interrupt)
    thread.start()
    try:
        with pytest.raises((KeyboardInterrupt, duckdb.InterruptException)):  # never InputError (exit 2)
            ingest_paths(store, [str(big)])
    finally:
        done.set()
        thread.join()
    store.close()
    with Store(tmp_path / "s.duckdb") as st:
        assert st.event_count() == 0
        (report,) = ingest_paths(st, [str(big)])
        assert (report.tally.normalized, st.event_count()) == (20000, 20000)


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_closed_stdout_pipe_exits_quietly(tmp_path, fmt):
    proc = _nightowl("hunt", str(FIXTURE), "--format", fmt, stdout=subprocess.PIPE)
    proc.stdout.close()  # the reader went away before nightowl wrote (``| head -c 0``)
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    assert (proc.returncode, stderr) == (PIPE_CLOSED, "")


def test_a_head_that_reads_a_little_gets_it(tmp_path):
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh to build a pipeline")
    cmd = f"{sys.executable} -m nightowl hunt {FIXTURE} --format json | head -c 10"
    done = subprocess.run([shell, "-c", cmd], capture_output=True, text=True, timeout=120)
    assert (len(done.stdout), done.stderr) == (10, "")


def test_report_to_a_folder_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    code, doc, err = _main(monkeypatch, capsys, "hunt", str(FIXTURE), "--format", "json")
    assert code == 0, err
    findings = tmp_path / "findings.json"
    findings.write_text(doc)
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = _main(monkeypatch, capsys, "report", str(findings), "-o", str(folder))
    assert code == 2, err
    assert _one_line(err).startswith(f"nightowl: error: {folder}: is a folder")
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".nightowl-report-*"))
