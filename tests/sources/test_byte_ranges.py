"""A file cut into parts at line ends and served to DuckDB as files of their own
(records/byte_ranges.py): every part starts just after a line feed, the parts cover the file once,
each knows how many lines come before it, and DuckDB reads exactly a part's bytes through it."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nightowl import ingest
from nightowl.sources import entra_graph
from nightowl.sources.base import InputFile, ReadOptions
from nightowl.sources.records import byte_ranges, json_fast
from nightowl.store import Store

lines_strategy = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(lines=lines_strategy, final_newline=st.booleans(), parts=st.integers(1, 7))
def test_parts_cover_the_file_cut_after_line_feeds_with_the_lines_before_them(
    tmp_path_factory, lines, final_newline, parts
):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("cut") / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = byte_ranges.cut(fd, len(data), parts)
    finally:
        os.close(fd)
    assert 1 <= len(got) <= parts
    assert got[0].start == 0 and got[-1].end == len(data)
    for before, after in itertools.pairwise(got):
        assert before.end == after.start and before.start < before.end
        assert data[after.start - 1 : after.start] == b"\n"  # a part starts on a line
    for part in got:
        assert part.lines_before == data[: part.start].count(b"\n")


def test_a_line_longer_than_a_part_gives_fewer_parts(tmp_path):
    data = b"x" * 1000 + b"\nshort\n"
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = byte_ranges.cut(fd, len(data), 4)
    finally:
        os.close(fd)
    assert [(p.start, p.end, p.lines_before) for p in got] == [(0, 1001, 0), (1001, 1007, 1)]


def test_duckdb_reads_exactly_each_part_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr(byte_ranges, "PART_MIN_BYTES", 64)
    data = b"".join(b'{"n": %d, "text": "line %d"}\n' % (i, i) for i in range(200))
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    con = duckdb.connect()
    with byte_ranges.served_parts(con, str(path), 3) as parts:
        assert len(parts) == 3 and parts[0][1] == 0
        blobs = [con.execute("SELECT content FROM read_blob(?)", [url]).fetchall()[0][0] for url, _ in parts]
        assert b"".join(blobs) == data
        for url, before in parts:
            rows = con.execute(
                "SELECT row_number() OVER () + ? AS line, n FROM read_json(?, format = 'newline_delimited')",
                [before, url],
            ).fetchall()
            assert all(line == n + 1 for line, n in rows)  # numbered from the lines before the part
        unknown = parts[0][0].rsplit("/", 1)[0] + "/9.jsonl"  # no such part: nothing to read
        assert con.execute("SELECT * FROM read_blob(?)", [unknown]).fetchall() == []
        with pytest.raises(duckdb.Error):
            con.execute(f"COPY (SELECT 1) TO '{parts[0][0]}'")
    # served only while the caller reads them
    assert con.execute("SELECT * FROM read_blob(?)", [parts[0][0]]).fetchall() == []
    assert path.read_bytes() == data


def test_a_small_file_is_one_part_read_directly(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 10)
    with byte_ranges.served_parts(duckdb.connect(), str(path), 4) as parts:
        assert parts == [(str(path), 0)]


@pytest.mark.parametrize("missing", ["pread", "preadv"])
def test_without_positional_reads_a_file_is_one_part(tmp_path, monkeypatch, missing):
    """Parts are read and counted with pread / preadv; where the system lacks either (Windows, an
    older macOS) the file is read whole instead of failing."""
    monkeypatch.setattr(byte_ranges, "PART_MIN_BYTES", 64)
    monkeypatch.delattr(os, missing)
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 100)
    with byte_ranges.served_parts(duckdb.connect(), str(path), 4) as parts:
        assert parts == [(str(path), 0)]


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes: POSIX only")
def test_a_named_pipe_is_never_opened_here(tmp_path, monkeypatch):
    """Opening a FIFO for reading blocks until a writer comes: it is handed over as one part."""
    monkeypatch.setattr(byte_ranges, "PART_MIN_BYTES", 1)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with byte_ranges.served_parts(duckdb.connect(), str(fifo), 4) as parts:
        assert parts == [(str(fifo), 0)]


def _graph_lines(n: int) -> list[str]:
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "entra", "graph_v1.jsonl")
    with open(fixture, encoding="utf-8") as f:
        good = [json.loads(line) for line in f.read().splitlines()[:12] if line]
    return [json.dumps(good[i % len(good)] | {"id": f"part-{i:05d}"}) for i in range(n)]


@pytest.mark.parametrize("damage", ["none", "a line that is not JSON in the last part"])
def test_insertion_order_is_kept_again_after_a_file_read_in_parts(tmp_path, monkeypatch, damage):
    """The parts' insert lets DuckDB store rows in any order; afterwards, and after a declined
    file's rollback, the store keeps insertion order again (the robust path's staging needs it)."""
    monkeypatch.setattr(byte_ranges, "PART_MIN_BYTES", 1024)
    lines = _graph_lines(300)
    if damage != "none":
        lines.insert(290, '{"id": "broken", ')  # DuckDB refuses it: the insert itself fails
    path = tmp_path / "signins.jsonl"
    path.write_text("\n".join(lines) + "\n")
    used: list[int] = []
    real = byte_ranges.served_parts

    def spy(con, name, parts):
        with real(con, name, parts) as got:
            used.append(len(got))
            yield got

    monkeypatch.setattr(json_fast, "served_parts", contextlib.contextmanager(spy))
    with Store() as store:
        store.con.execute("SET threads = 2")
        report = ingest.ingest_file(
            store, InputFile(name=path.name, path=path), entra_graph.GraphSignIns(), ReadOptions()
        )
        setting = store.query("SELECT current_setting('preserve_insertion_order') AS v")[0]["v"]
        refs = store.query("SELECT event_uid, record_ref FROM auth_events")
    assert used == [2] and setting is True
    assert report.tally.normalized == 300 and report.tally.quarantined == (damage != "none")
    shift = {True: 1, False: 0}
    want = {
        f"part-{i:05d}": f"signins.jsonl:{i + 1 + shift[damage != 'none' and i >= 290]}" for i in range(300)
    }
    assert {r["event_uid"]: r["record_ref"] for r in refs} == want


@pytest.mark.parametrize(
    ("threads", "limit", "parts"),
    [(8, "384MB", 2), (2, "384MB", 2), (8, "1GB", 5), (8, "256MB", 1), (1, "4GB", 1), (16, "8GiB", 16)],
)
def test_a_file_is_read_in_as_many_parts_as_threads_and_memory_allow(threads, limit, parts):
    """One part per DuckDB thread, but only as many as the memory limit holds: on 1M sign-ins under
    the 384 MB default eight parts (an eight-core laptop) ran out of memory and sent the file to the
    slow robust path, two ran."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET memory_limit = '{limit}'")
    assert byte_ranges.parts_for(con) == parts
