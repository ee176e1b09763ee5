"""The ingest pipeline: accounting, deduplication, transactions, and hostile inputs (zip bombs,
symlink loops, gzip), tested with a tiny source written here so it does not depend on any real reader."""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from collections.abc import Iterator
from datetime import datetime

import blake3
import pytest

from nightowl.ingest import DUPLICATE_REASON, ingest_file
from nightowl.schema import batch_from_rows
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines, decode
from nightowl.sources.inputs import MAX_ZIP_RATIO, Spool, expand
from nightowl.store import Store


class LinesSource:
    """`time,user,ip,ok,uid` lines; `#` lines are ignored, malformed ones quarantined, `boom` raises."""

    name = "test-lines"
    title = "test lines"
    export_hint = ""

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(b"20")

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator:
        rows = []
        for lineno, raw, _problem in bounded_lines(inp, opts.max_line_bytes):
            line = decode(raw)
            if line.startswith("#"):
                tally.ignore("comment")
                continue
            if line == "boom":
                raise ValueError("reader bug")
            parts = line.split(",")
            if len(parts) != 5:
                tally.reject(f"line {lineno}", "expected 5 fields", line)
                continue
            rows.append(
                {
                    "time": datetime.fromisoformat(parts[0]),
                    "user_name": parts[1],
                    "src_endpoint_ip": parts[2],
                    "status_id": 1 if parts[3] == "1" else 2,
                    "event_uid": parts[4] or None,
                    "source_format": self.name,
                    "record_ref": f"{inp.name}:{lineno}",
                }
            )
            if len(rows) == 2:  # several batches per file
                yield batch_from_rows(rows)
                rows = []
        if rows:
            yield batch_from_rows(rows)


SRC = LinesSource()
OPTS = ReadOptions()


def write(path, text: str):
    path.write_text(text)
    return InputFile(name=path.name, path=path)


def test_every_record_is_normalized_ignored_or_quarantined(tmp_path):
    inp = write(
        tmp_path / "a.log",
        "2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n# note\nbad line\n"
        "2024-01-01T00:01:00,bob,1.2.3.4,1,u2\n2024-01-01T00:02:00,carol,1.2.3.5,0,u3\n",
    )
    with Store() as st:
        rep = ingest_file(st, inp, SRC, OPTS)
        assert (rep.tally.normalized, rep.tally.ignored, rep.tally.quarantined) == (3, 1, 1)
        assert rep.tally.records == 5
        assert st.event_count() == 3
        q = st.query("SELECT position, reason, excerpt FROM quarantine")
        assert q == [{"position": "line 3", "reason": "expected 5 fields", "excerpt": "bad line"}]
        contract = rep.to_contract()
        assert contract["records"] == contract["normalized"] + contract["ignored"] + contract["quarantined"]


def test_same_file_twice_adds_nothing(tmp_path):
    inp = write(
        tmp_path / "a.log", "2024-01-01T00:00:00,alice,1.2.3.4,0,\n"
    )  # no uid: only the hash protects
    with Store() as st:
        ingest_file(st, inp, SRC, OPTS)
        again = ingest_file(st, InputFile(name="copy.log", path=inp.path), SRC, OPTS)
        assert again.duplicate_of == "a.log"
        assert st.event_count() == 1


def test_files_are_keyed_by_blake3_and_a_store_keyed_by_sha256_still_knows_its_files(tmp_path):
    """A file's content key is its BLAKE3 hash. A store written before that recorded SHA-256: the same
    file is still recognised there (never counted twice), and a new file is recorded by BLAKE3."""
    old = write(tmp_path / "old.log", "2024-01-01T00:00:00,alice,1.2.3.4,0,\n")  # no uid: only the key
    new = write(tmp_path / "new.log", "2024-01-01T00:01:00,bob,1.2.3.4,0,\n")
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        ingest_file(st, old, SRC, OPTS)
        keys = [r["sha256"] for r in st.query("SELECT sha256 FROM inputs")]
        assert keys == ["blake3:" + blake3.blake3(old.path.read_bytes()).hexdigest()]
        assert not st.keyed_by_sha256()
        # what a nightowl before the BLAKE3 key recorded for the same file
        st.con.execute("UPDATE inputs SET sha256 = ?", [hashlib.sha256(old.path.read_bytes()).hexdigest()])
    with Store(db) as st:
        assert st.keyed_by_sha256()
        again = ingest_file(st, InputFile(name="copy.log", path=old.path), SRC, OPTS)
        assert again.duplicate_of == "old.log"
        assert ingest_file(st, new, SRC, OPTS).duplicate_of is None
        assert st.event_count() == 2
        keys = [r["sha256"] for r in st.query("SELECT sha256 FROM inputs WHERE path = 'new.log'")]
        assert keys == ["blake3:" + blake3.blake3(new.path.read_bytes()).hexdigest()]


def test_overlapping_exports_are_deduplicated_by_event_id(tmp_path):
    a = write(
        tmp_path / "a.log", "2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n2024-01-01T00:01:00,bob,1.2.3.4,0,u2\n"
    )
    b = write(
        tmp_path / "b.log", "2024-01-01T00:01:00,bob,1.2.3.4,0,u2\n2024-01-01T00:02:00,eve,1.2.3.4,0,u3\n"
    )
    with Store() as st:
        ingest_file(st, a, SRC, OPTS)
        rep = ingest_file(st, b, SRC, OPTS)
        assert rep.tally.normalized == 1
        assert rep.tally.ignored_reasons[DUPLICATE_REASON] == 1
        assert rep.tally.records == 2
        assert st.event_count() == 3


def test_store_file_persists_between_runs(tmp_path):
    inp = write(tmp_path / "a.log", "2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n")
    db = tmp_path / "s.duckdb"
    with Store(db) as st:
        ingest_file(st, inp, SRC, OPTS)
    with Store(db) as st:
        assert st.event_count() == 1
        assert ingest_file(st, inp, SRC, OPTS).duplicate_of == "a.log"


def test_a_reader_failure_rolls_back_the_whole_file(tmp_path):
    inp = write(
        tmp_path / "a.log",
        "2024-01-01T00:00:00,a,1.2.3.4,0,u1\n2024-01-01T00:00:00,b,1.2.3.4,0,u2\n"
        "2024-01-01T00:00:00,c,1.2.3.4,0,u3\nboom\n",
    )
    with Store() as st:
        with pytest.raises(InputError, match=r"a\.log: could not be read as test-lines"):
            ingest_file(st, inp, SRC, OPTS)
        assert st.event_count() == 0
        assert st.query("SELECT count(*) AS n FROM inputs") == [{"n": 0}]


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(b"2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n"))
    with Spool() as spool:
        (inp,) = list(expand([str(path)], spool))
        assert inp.gzip
        with Store() as st:
            assert ingest_file(st, inp, SRC, OPTS).tally.normalized == 1


def test_zip_members_are_inputs_named_inside_the_archive(tmp_path):
    path = tmp_path / "logs.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dir/one.log", "2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n")
        zf.writestr("two.log", "2024-01-01T00:00:00,bob,1.2.3.4,0,u2\n")
    with Spool() as spool:
        names = [i.name for i in expand([str(path)], spool)]
    assert names == [f"{path}/dir/one.log", f"{path}/two.log"]


def test_zip_bomb_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.log", b"\0" * (MAX_ZIP_RATIO * 4096))
    with Spool() as spool, pytest.raises(InputError, match="zip bomb"):
        list(expand([str(path)], spool))


def test_symlink_loop_is_walked_once(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.log").write_text("2024-01-01T00:00:00,alice,1.2.3.4,0,u1\n")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    with Spool() as spool:
        names = [i.name for i in expand([str(tmp_path / "d")], spool)]
    assert names == [f"{tmp_path / 'd'}/a.log"]


def test_missing_path_is_a_one_line_error(tmp_path):
    with Spool() as spool, pytest.raises(InputError, match=r"nope\.log: no such file"):
        list(expand([str(tmp_path / "nope.log")], spool))
