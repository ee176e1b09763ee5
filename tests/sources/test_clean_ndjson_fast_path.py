"""The clean-NDJSON fast path (records/json_fast.py): a clean Graph NDJSON file goes straight from
DuckDB's read_json into the store, and stores exactly what the robust reader yields (every column,
line numbers in ``record_ref`` included); any file it cannot take whole (blank lines, pages, a
quarantined record, a line too long, JSON read_json refuses) is declined and read the robust way,
with the same rows and counts, nothing lost and nothing counted twice."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nightowl import ingest
from nightowl.schema import COLUMN_NAMES
from nightowl.sources import entra_graph
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import byte_ranges, json_fast
from nightowl.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOOD = [
    line for line in (FIXTURES / "entra" / "graph_v1.jsonl").read_text().splitlines()[:12] if line
]  # normalize
SOURCE = entra_graph.GraphSignIns()


def _record(i: int) -> dict:
    rec = json.loads(GOOD[i % len(GOOD)])
    rec["id"] = f"fast-{i:06d}"
    return rec


def _lines(n: int) -> list[str]:
    return [json.dumps(_record(i)) for i in range(n)]


@pytest.fixture(autouse=True, params=["whole", "parts"])
def reading(request, monkeypatch):
    """Every test runs twice: the file read whole, and cut into parts of a few hundred bytes read
    side by side (as a file over 2 x PART_MIN_BYTES is on a machine with several cores)."""
    if request.param == "parts":
        monkeypatch.setattr(byte_ranges, "PART_MIN_BYTES", 256)
    return request.param


@pytest.fixture
def spy(monkeypatch):
    """Whether the fast path stored the file (True), was declined (False), or was not tried (None)."""
    seen: list[bool] = []
    real = ingest._load_clean

    def load_clean(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(ingest, "_load_clean", load_clean)
    return seen


def _rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(str(v) for v in row.values()) for row in table.select(COLUMN_NAMES).to_pylist())


def _ingest_and_read(path: Path, opts: ReadOptions | None = None):
    """What ingest stores (rows, tally) and what the robust reader yields for the same file."""
    opts = opts or ReadOptions()
    inp = InputFile(name=path.name, path=path)
    with Store() as store:
        report = ingest.ingest_file(store, inp, SOURCE, opts)
        stored = store.con.sql(f"SELECT {', '.join(COLUMN_NAMES)} FROM auth_events").to_arrow_table()
        leftovers = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary")
    tally = Tally()
    expected = pa.Table.from_batches(list(SOURCE.read(inp, tally, opts)), schema=stored.schema)
    assert leftovers == []
    return stored, report.tally, expected, tally


def _same(stored, got: Tally, expected, want: Tally) -> None:
    assert _rows(stored) == _rows(expected)
    assert (got.normalized, got.quarantined) == (expected.num_rows, want.quarantined)
    assert [(q.position, q.reason) for q in got.quarantine] == [
        (q.position, q.reason) for q in want.quarantine
    ]


def test_clean_file_takes_the_fast_path_and_stores_what_the_robust_reader_yields(tmp_path, spy):
    recs = [_record(i) for i in range(40)]
    recs[3]["userAgent"] = 'quote " backslash \\ tab \t snowman \u2603 nul \u0000 emoji \U0001f600'
    recs[4]["autonomousSystemNumber"] = 1e3  # a number where text is read
    recs[5]["location"] = {"city": None, "geoCoordinates": {"latitude": -33.870, "longitude": 151}}
    recs[6]["status"] = {"errorCode": 0, "failureReason": {"nested": [1, "two", None]}}
    recs[7]["authenticationDetails"] = [{"authenticationStepResultDetail": "MFA successfully completed"}]
    recs[7]["authenticationRequirement"] = "singleFactorAuthentication"
    recs[7]["status"] = {"errorCode": 0}
    recs[7]["mfaDetail"] = None
    recs[8]["value"] = None  # a null envelope key is no page
    path = tmp_path / "clean.jsonl"
    # a BOM, CRLF line ends and no final line end: still clean
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(r) for r in recs).encode())
    stored, got, expected, want = _ingest_and_read(path)
    assert spy == [True]
    _same(stored, got, expected, want)
    assert got.normalized == 40 and got.quarantined == 0
    refs = {r["event_uid"]: r["record_ref"] for r in stored.select(["event_uid", "record_ref"]).to_pylist()}
    assert refs["fast-000000"] == "clean.jsonl:1" and refs["fast-000039"] == "clean.jsonl:40"
    mfa = stored.filter(pa.compute.equal(stored["event_uid"], "fast-000007"))["is_mfa"].to_pylist()
    assert mfa == [True]


def test_line_numbers_stay_in_file_order_across_many_read_buffers(tmp_path, spy, monkeypatch):
    monkeypatch.setattr(json_fast, "DEFAULT_OBJECT_BYTES", 4096)  # read_json's buffer: many buffers
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(_lines(3000)) + "\n")
    stored, got, expected, want = _ingest_and_read(path, ReadOptions(max_line_bytes=1000 << 10))
    assert spy == [True]
    _same(stored, got, expected, want)
    refs = stored.select(["event_uid", "record_ref"]).to_pylist()
    assert all(r["record_ref"] == f"many.jsonl:{int(r['event_uid'][5:]) + 1}" for r in refs)


FOUR_THREADS = {
    "clean": (lambda lines: lines, True),
    # read_json skips blank lines: a table's row order would no longer be the line
    "blank lines": (lambda lines: [*lines[:700], "", *lines[700:14100], "", "", *lines[14100:]], False),
    # a page repeated by the export: the first of each event is kept, with its own line
    "repeats": (lambda lines: [*lines, *lines[2000:2600]], True),
}
# Big enough (about 29 MB) that DuckDB 2.0.1 reads it on several threads: a parallel insert without
# preserve_insertion_order stores it out of file order (6,000 lines were read in order either way).
PARALLEL_LINES = 24_000


@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("case", FOUR_THREADS, ids=list(FOUR_THREADS))
def test_record_ref_is_the_line_when_duckdb_reads_with_several_threads(
    tmp_path, spy, monkeypatch, case, threads, reading
):
    """Many read_json buffers and two or four DuckDB threads: every event's record_ref is the line it
    is on (the first one for a repeated event), whichever path reads the file, and a file read whole
    is stored in file order. A line number off by one, or a file read whole stored out of order,
    fails here."""
    monkeypatch.setattr(json_fast, "DEFAULT_OBJECT_BYTES", 4096)
    change, fast = FOUR_THREADS[case]
    lines = change(_lines(PARALLEL_LINES))
    path = tmp_path / "threads.jsonl"
    path.write_text("\n".join(lines) + "\n")
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if line:
            first_line.setdefault(json.loads(line)["id"], number)
    with Store() as store:
        store.con.execute(f"SET threads = {threads}")
        report = ingest.ingest_file(
            store, InputFile(name=path.name, path=path), SOURCE, ReadOptions(max_line_bytes=4096)
        )
        rows = store.query("SELECT event_uid, record_ref FROM auth_events ORDER BY rowid")
    assert spy == [fast]
    assert report.tally.normalized == len(first_line) == PARALLEL_LINES
    if reading == "parts" and fast:  # read side by side: stored in any order, each row with its line
        rows.sort(key=lambda r: int(r["record_ref"].rsplit(":", 1)[1]))
    assert [r["record_ref"] for r in rows] == [f"threads.jsonl:{n}" for n in first_line.values()]
    assert [r["event_uid"] for r in rows] == list(first_line)


def test_record_ref_is_the_line_for_a_file_added_to_a_store_with_rows(tmp_path, spy, monkeypatch, reading):
    """The second file of a store goes through the staging table (deduplicated against the rows
    already stored): its lines are numbered from 1 again, with four threads (in file order when
    the files are read whole)."""
    monkeypatch.setattr(json_fast, "DEFAULT_OBJECT_BYTES", 4096)
    lines = _lines(PARALLEL_LINES)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(lines[:1000]) + "\n")
    second.write_text("\n".join(lines[500:]) + "\n")  # its first 500 lines are stored already
    opts = ReadOptions(max_line_bytes=4096)
    with Store() as store:
        store.con.execute("SET threads = 4")
        for path in (first, second):
            ingest.ingest_file(store, InputFile(name=path.name, path=path), SOURCE, opts)
        rows = store.query("SELECT event_uid, record_ref FROM auth_events ORDER BY rowid")
    assert spy == [True, True]
    want = [(f"fast-{i:06d}", f"a.jsonl:{i + 1}") for i in range(1000)]
    want += [(f"fast-{i:06d}", f"b.jsonl:{i - 499}") for i in range(1000, PARALLEL_LINES)]
    got = [(r["event_uid"], r["record_ref"]) for r in rows]
    if reading == "parts":  # stored in any order
        got.sort(key=lambda r: (r[1][0], int(r[1].rsplit(":", 1)[1])))
    assert got == want


def _operators(nodes: list[dict]) -> set[str]:
    """Every operator name in an ``EXPLAIN (FORMAT json)`` plan."""
    names: set[str] = set()
    for node in nodes:
        names |= {node["name"]} | _operators(node.get("children", []))
    return names


def test_the_fast_path_insert_is_planned_to_keep_file_order(tmp_path, monkeypatch):
    """record_ref is the line because DuckDB hands the records over in file order: the fast path's
    INSERT must either number them in a one-thread window or be a Batch Insert (a parallel insert
    that keeps order). A plain parallel Insert stores rows in whichever order the threads finish:
    the normalizing query's lists become hash joins, and with them DuckDB 2.0.1 plans exactly that
    (24,000 of 24,000 rows seen out of place), which the tests above catch only when the threads
    happen to interleave."""
    plans: list[set[str]] = []
    real = entra_graph.insert_clean_ndjson

    class Explaining:
        def __init__(self, con):
            self.con = con

        def __getattr__(self, name):
            return getattr(self.con, name)

        def execute(self, sql, params=None):
            if sql.lstrip().startswith("INSERT"):
                plan = self.con.execute(f"EXPLAIN (FORMAT json) {sql}", params).fetchall()[0][1]
                plans.append(_operators(json.loads(plan)))
            return self.con.execute(sql, params)

    monkeypatch.setattr(entra_graph, "insert_clean_ndjson", lambda con, *a: real(Explaining(con), *a))
    path = tmp_path / "plan.jsonl"
    path.write_text("\n".join(_lines(50)) + "\n")
    with Store() as store:
        store.con.execute("SET threads = 4")
        report = ingest.ingest_file(store, InputFile(name=path.name, path=path), SOURCE, ReadOptions())
    assert report.tally.normalized == 50 and len(plans) == 1
    assert "STREAMING_WINDOW" in plans[0] or "BATCH_INSERT" in plans[0], plans[0]


DECLINED = {
    "blank line": lambda lines: [*lines[:5], "", *lines[5:]],
    "whitespace line": lambda lines: [*lines[:5], " \t ", *lines[5:]],
    "final blank line": lambda lines: [*lines, "", ""],
    "null line": lambda lines: [*lines[:5], "null", *lines[5:]],
    "graph page": lambda lines: [
        *lines[:5],
        json.dumps({"@odata.context": "x", "value": [_record(900)]}),
        *lines[5:],
    ],
    "array line": lambda lines: [*lines[:5], json.dumps([_record(901), _record(902)]), *lines[5:]],
    "quarantined record": lambda lines: [
        *lines[:25],
        json.dumps(_record(903) | {"createdDateTime": "not a date"}),
    ],
    "no user": lambda lines: [*lines, json.dumps(_record(904) | {"userPrincipalName": "", "userId": ""})],
    "invalid JSON at the end": lambda lines: [*lines, '{"id": "cut", "createdDateTime": "2024-'],
    "duplicate key": lambda lines: [*lines[:3], lines[3][:-1] + ', "id": "again"}', *lines[4:]],
    "object where text is read": lambda lines: [*lines, json.dumps(_record(905) | {"location": "Paris"})],
    "not an object": lambda lines: [*lines, '"just a string"', "42"],
}


@pytest.mark.parametrize("case", DECLINED, ids=list(DECLINED))
def test_a_file_the_fast_path_cannot_take_whole_is_read_the_robust_way(tmp_path, spy, case):
    path = tmp_path / "damaged.jsonl"
    path.write_text("\n".join(DECLINED[case](_lines(30))) + "\n")
    stored, got, expected, want = _ingest_and_read(path)
    assert spy == [False]
    _same(stored, got, expected, want)


def test_a_line_longer_than_max_line_bytes_is_declined_and_quarantined(tmp_path, spy):
    lines = _lines(10)
    lines[4] = json.dumps(_record(4) | {"userAgent": "x" * 3000})
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    stored, got, expected, want = _ingest_and_read(path, ReadOptions(max_line_bytes=2000))
    assert spy == [False]
    _same(stored, got, expected, want)
    assert [q.position for q in got.quarantine] == ["line 5"]


@pytest.mark.parametrize("size", [1999, 2000, 2001])
def test_a_line_at_the_limit_across_scan_chunks_decides_the_fast_path(tmp_path, spy, monkeypatch, size):
    """A line of exactly max_line_bytes is clean, one byte more is not, wherever the scan's chunks
    (here 700 bytes, so the line spans four) and its windows fall."""
    monkeypatch.setattr(ingest, "SCAN_CHUNK", 700)
    lines = _lines(10)
    pad = size - len(json.dumps(_record(4) | {"userAgent": ""}))
    lines[4] = json.dumps(_record(4) | {"userAgent": "x" * pad})
    assert len(lines[4]) == size
    path = tmp_path / "edge.jsonl"
    path.write_text("\n".join(lines) + "\n")
    stored, got, expected, want = _ingest_and_read(path, ReadOptions(max_line_bytes=2000))
    assert spy == [size <= 2000]
    _same(stored, got, expected, want)
    assert got.normalized == (10 if size <= 2000 else 9)


def test_bad_utf8_is_declined_and_read_like_the_robust_path(tmp_path, spy):
    lines = [line.encode() for line in _lines(10)]
    lines[2] = lines[2].replace(b'"fast-', b'"fa\xffst-')
    assert b"\xff" in lines[2]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    stored, got, expected, want = _ingest_and_read(path)
    assert spy == [False]
    _same(stored, got, expected, want)
    assert got.normalized == 10


def test_repeats_and_an_existing_store_dedupe_through_the_fast_path(tmp_path, spy):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(_lines(20)) + "\n")
    lines = _lines(30)
    second.write_text("\n".join([*lines[10:30], *lines[15:25]]) + "\n")  # 10-19 stored, 15-24 twice
    with Store(tmp_path / "s.duckdb") as store:
        (a,) = ingest.ingest_paths(store, [str(first)])
        (b,) = ingest.ingest_paths(store, [str(second)])
        uids = [r["event_uid"] for r in store.query("SELECT event_uid FROM auth_events")]
        ref = store.query("SELECT record_ref FROM auth_events WHERE event_uid = 'fast-000020'")
    assert spy == [True, True]
    assert (a.tally.normalized, a.tally.ignored) == (20, 0)
    assert (b.tally.records, b.tally.normalized, b.tally.ignored) == (30, 10, 20)
    assert sorted(uids) == [f"fast-{i:06d}" for i in range(30)]
    assert [r["record_ref"] for r in ref] == [f"{second}:11"]


def _split_facts(data: bytes, limit: int) -> json_fast.LineFacts:
    """The line facts of ``data`` by bytes.split (a final LF ends the last line, it starts none)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    longest = max((len(x) for x in lines), default=0)
    return json_fast.LineFacts(len(lines), limit, longest if longest > limit else None)


def _count(data: bytes, cuts: list[int], limit: int) -> json_fast.LineFacts:
    """``data`` fed to a LineCounter in pieces of the sizes ``cuts`` (the rest in one)."""
    counter = json_fast.LineCounter(limit)
    pos = 0
    for cut in cuts:
        counter.update(data[pos : pos + cut])
        pos += cut
    counter.update(data[pos:])
    return counter.facts()


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"\n")),
    st.lists(st.integers(0, 40), max_size=8),
    st.integers(0, 70),
)
@example(b"", [], 0)  # empty file
@example(b"abc", [1], 2)  # no final LF, the only line too long
@example(b"ab\r\ncd\r\n", [3], 2)  # CRLF: the CR is a byte of the line
def test_line_counter_counts_lines_and_finds_a_line_longer_than_the_limit_like_a_split(data, cuts, limit):
    assert _count(data, cuts, limit) == _split_facts(data, limit)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 40).flatmap(
        lambda limit: st.tuples(
            st.just(limit),
            st.lists(
                st.tuples(st.integers(max(0, limit - 3), limit + 3), st.sampled_from([b"\n", b"\r\n"])),
                max_size=12,
            ),
            st.booleans(),
            st.lists(st.integers(1, 3 * limit + 5), max_size=12),
        )
    )
)
def test_line_counter_on_lines_around_the_limit_in_random_chunks(case):
    """Lines a few bytes either side of the limit, LF or CRLF ends, with or without a final line end,
    cut anywhere: the window check (a few finds per chunk) and the exact measure agree with a split."""
    limit, lines, final_end, cuts = case
    data = b"".join(b"x" * size + end for size, end in lines)
    if not final_end and lines:
        data = data.rstrip(b"\r\n")
    assert _count(data, cuts, limit) == _split_facts(data, limit)


@pytest.mark.parametrize("limit", [1, 8, 9, 100])
def test_line_counter_at_the_window_borders(limit):
    """A line of the limit's length and one byte more, starting at every offset of two windows
    (``limit // 2 + 1`` bytes) from the chunk's first line, whole in a chunk or cut at every byte."""
    window = limit // 2 + 1
    for size in (limit - 1, limit, limit + 1, limit + 2):
        if size < 0:
            continue
        for offset in range(2 * window + 2):
            before = b"\n" * (offset % 2) + b"a\n" * (offset // 2)  # offset bytes of short lines
            data = b"\n" + before + b"x" * size + b"\n" + b"c\n" * 3
            want = _split_facts(data, limit)
            assert _count(data, [], limit) == want
            for cut in range(1, len(data)):
                assert _count(data, [cut], limit) == want
