"""Issue 14, case 4: every path and value is bound as an SQL parameter, never pasted into SQL.

The DuckDB JSON readers name two things a user controls in their queries: the file they read (a
link to it in the temp folder, so ``TMPDIR``) and the file's name (in each row's ``record_ref``).
File names and temp folders with a quote, a backslash, a line break, SQL of their own or a byte
that is not UTF-8 give the rows of a plain name, on DuckDB's fast path (not the robust one).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from nightowl import sources
from nightowl.ingest import ingest_file
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records import json_duckdb
from nightowl.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = {
    "quote": "o'brien.json",
    "backslash": "back\\slash'.json",
    "newline": "new\nline.json",
    "sql": "x'); DROP TABLE auth_events; --.json",
    "not-utf8": os.fsdecode(b"caf\xe9.json"),
}
READERS = {  # a DuckDB-backed reader, its fixture
    "entra-graph-json": FIX / "entra" / "graph_v1.jsonl",
    "okta-system-log": FIX / "okta" / "system_log.jsonl",
    "entra-la-json": FIX / "entra" / "la_signinlogs.jsonl",
}


def _fast_path_spy(monkeypatch) -> list[bool]:
    """Records whether each read took DuckDB's fast path."""
    took: list[bool] = []
    real = json_duckdb._fast_path

    def spy(*args, **kwargs):
        took.append(real(*args, **kwargs))
        return took[-1]

    monkeypatch.setattr(json_duckdb, "_fast_path", spy)
    return took


def _rows(reader: str, path: Path, name: str, *, store: bool) -> tuple[list, list[str], Tally]:
    """(rows without record_ref, record_refs, tally), both sorted."""
    inp = InputFile(name, path)
    source = sources.by_name(reader)
    if store:  # stage(): the store's own connection
        with Store() as st:
            report = ingest_file(st, inp, source, ReadOptions())
            rows = [dict(zip([d[0] for d in st.con.description], r, strict=True)) for r in
                    st.con.execute("SELECT * FROM auth_events").fetchall()]  # fmt: skip
        tally = report.tally
    else:
        tally, rows = Tally(), []
        for batch in source.read(inp, tally, ReadOptions()):
            rows.extend(batch.to_pylist())
    refs = sorted(r.pop("record_ref") for r in rows)
    return sorted(map(repr, (tuple(r.values()) for r in rows))), refs, tally


@pytest.mark.parametrize("where", ["name", "tmpdir"])
@pytest.mark.parametrize("store", [False, True], ids=["read", "stage"])
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("hostile", NAMES)
def test_hostile_file_names_and_temp_folders_read_like_plain_ones(
    tmp_path, monkeypatch, reader, hostile, store, where
):
    data = READERS[reader].read_bytes()
    plain = tmp_path / "plain.json"
    plain.write_bytes(data)
    want, want_refs, want_tally = _rows(reader, plain, "plain.json", store=store)
    name = NAMES[hostile]
    folder = tmp_path / name.replace(".json", "")
    folder.mkdir()
    path = folder / name
    path.write_bytes(data)
    if where == "tmpdir":
        monkeypatch.setattr(tempfile, "tempdir", str(folder))  # TMPDIR with the same characters
    took = _fast_path_spy(monkeypatch)
    got, refs, tally = _rows(reader, path, name, store=store)
    if (hostile, where) != ("not-utf8", "tmpdir"):  # DuckDB takes no path that is not UTF-8
        assert took and all(took), "the fast path refused the file: its path or name was pasted into SQL"
    assert got == want
    shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # what DuckDB can hold
    assert refs == sorted(r.replace("plain.json:", shown + ":", 1) for r in want_refs)
    assert (tally.quarantined, tally.ignored) == (want_tally.quarantined, want_tally.ignored)


@pytest.mark.parametrize("reader", ["sshd-syslog", "entra-la-csv", "entra-audit-json"])
def test_a_file_name_that_is_not_utf8_is_stored_with_replacement_characters(tmp_path, reader):
    """Every reader (Python ones too): the name is shown, stored and put in record_ref as UTF-8."""
    fixture = {
        "sshd-syslog": FIX / "sshd" / "pam_rhel_secure.log",
        "entra-la-csv": FIX / "entra" / "la_signinlogs.csv",
        "entra-audit-json": FIX / "cloud" / "graph_directory_audits_benign.jsonl",
    }[reader]
    path = tmp_path / os.fsdecode(b"\xff\xfe-export")
    path.write_bytes(fixture.read_bytes())
    source = sources.by_name(reader)
    with Store() as st:
        report = ingest_file(st, InputFile(os.fsdecode(bytes(path)), path), source, ReadOptions())
        table = getattr(source, "table", "auth_events")
        refs = [r[0] for r in st.con.execute(f"SELECT record_ref FROM {table}").fetchall()]
        (stored,) = st.con.execute("SELECT path FROM inputs").fetchone()
    assert report.tally.normalized == len(refs) > 0
    assert stored.endswith("\ufffd\ufffd-export") and all("\ufffd\ufffd-export" in r for r in refs)
