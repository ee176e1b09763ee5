"""Issue 14, cases 4-6: special files, archives and compression bombs give one clear outcome.

Process substitution and FIFOs are read as streams (every record counted), a FIFO nobody writes
to is an error after a wait instead of a hang, character devices are refused in one line, a
symlink loop named directly is an error; a corrupt zip member is quarantined alone, a zip of
overlapping entries and a gzip bomb are refused at once with their reason.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile

import pytest

from nightowl.cli import app as cli_app
from nightowl.ingest import ingest_paths
from nightowl.sources import base, inputs
from nightowl.sources.base import InputError
from nightowl.sources.inputs import Spool, expand
from nightowl.store import Store
from tests.hostile.formats import GRAPH

LINES = "".join(json.dumps(GRAPH.make(i)) + "\n" for i in range(20))


def _ingest(tmp_path, *paths):
    with Store(tmp_path / "store.duckdb") as store:
        return ingest_paths(store, [str(p) for p in paths])


def test_fifo_with_a_writer_is_read_as_a_stream(tmp_path):
    fifo = tmp_path / "signins.fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "w") as fh:
            fh.write(LINES)

    thread = threading.Thread(target=writer)
    thread.start()
    reports = _ingest(tmp_path, fifo)
    thread.join()
    assert [(r.tally.records, r.tally.normalized) for r in reports] == [(20, 20)]


def test_process_substitution_counts_every_record(tmp_path):
    gz = tmp_path / "signins.json.gz"
    gz.write_bytes(gzip.compress(LINES.encode()))
    code = (
        "import sys, json; from nightowl.store import Store; from nightowl.ingest import ingest_paths; "
        "r = ingest_paths(Store(sys.argv[1]), [sys.argv[2]]); print(json.dumps([x.tally.normalized for x in r]))"
    )
    out = subprocess.run(
        [
            "bash",
            "-c",
            f'"{sys.executable}" -c "$0" "$1" <(zcat "$2")',
            code,
            str(tmp_path / "s.duckdb"),
            str(gz),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout) == [20]


def test_fifo_without_a_writer_is_an_error_not_a_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "FIFO_WAIT_SECONDS", 0.5)
    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with Spool() as spool, pytest.raises(InputError, match="nothing was written"):
        list(expand([str(fifo)], spool))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_character_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} not on this system")
    with Spool() as spool, pytest.raises(InputError, match="character device"):
        list(expand([device], spool))


def test_symlink_loop_named_directly_is_an_error(tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with Spool() as spool, pytest.raises(InputError, match="loop"):
        list(expand([str(loop)], spool))


@pytest.mark.parametrize("command", ["secrets", "ingest", "hunt"])
def test_symlink_loop_named_directly_is_one_line_exit_2_for_every_command(
    tmp_path, monkeypatch, capsys, command
):
    """``secrets`` uses the same check as ``ingest`` and ``hunt``: before, it scanned on and exited 0."""
    loop = tmp_path / "self"
    loop.symlink_to(loop)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["nightowl", command, "self"])
    with pytest.raises(SystemExit) as exc:
        cli_app.main()
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2
    assert "self: symbolic link loop" in line and "Traceback" not in line


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)


def test_corrupt_zip_member_is_quarantined_alone(tmp_path):
    archive = tmp_path / "logs.zip"
    _zip(
        archive,
        [
            ("a.jsonl", LINES),
            ("b.jsonl", LINES.replace("graph-", "other-")),
            ("c.jsonl", LINES.replace("graph-", "third-")),
        ],
    )
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("b.jsonl")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start : start + 40] = b"\xff" * 40  # damage b's deflate stream
    archive.write_bytes(bytes(data))
    reports = _ingest(tmp_path, archive)
    by_name = {r.path.rsplit("/", 1)[-1]: r for r in reports}
    assert by_name["a.jsonl"].tally.normalized == 20 and by_name["c.jsonl"].tally.normalized == 20
    bad = by_name["b.jsonl"].tally
    assert bad.quarantined == 1 and "corrupt zip member" in bad.quarantine[0].reason


def test_zip_of_overlapping_entries_is_refused_at_once(tmp_path):
    """Build a zip whose central directory points two entries at the same compressed data."""
    archive = tmp_path / "bomb.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.jsonl", LINES)
        zf.writestr("b.jsonl", LINES)
    raw = buf.getvalue()
    # point b's central directory entry at a's local header
    cd = raw.rfind(b"PK\x01\x02")
    raw = raw[: cd + 42] + (0).to_bytes(4, "little") + raw[cd + 46 :]
    archive.write_bytes(raw)
    with Spool() as spool, pytest.raises(InputError, match="overlap"):
        list(expand([str(archive)], spool))


def test_gzip_bomb_ends_quickly_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "RATIO_CHECK_AFTER", 1 << 20)
    gz = tmp_path / "bomb.json.gz"
    gz.write_bytes(gzip.compress(LINES.encode() + b"\n" * (64 << 20), compresslevel=9))
    started = time.monotonic()
    with pytest.raises(InputError, match="decompression bomb"):
        _ingest(tmp_path, gz)
    assert time.monotonic() - started < 60
