"""The robust JSON reader's check for byte 0x01 (its line splitter's delimiter): found wherever it sits
in a file, and read in pieces, so checking a large export never holds the file in resident memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nightowl.sources.records.json_duckdb import _holds_delimiter

MIB = 1 << 20


@pytest.mark.parametrize("at", [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB - 1])
def test_the_delimiter_is_found_at_any_offset(tmp_path, at):
    data = bytearray(b"x" * (3 * MIB))
    data[at] = 1
    path = tmp_path / "f.jsonl"
    path.write_bytes(bytes(data))
    assert _holds_delimiter(path)


def test_no_delimiter_empty_and_missing_files(tmp_path):
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(b'{"a": 1}\n' * 300_000)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert not _holds_delimiter(plain)
    assert not _holds_delimiter(empty)
    assert not _holds_delimiter(tmp_path / "missing.jsonl")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads ru_maxrss in KiB, as Linux reports it"
)
def test_checking_a_large_file_keeps_resident_memory_flat(tmp_path):
    """A memory map of the file counted every page it scanned as resident: a 1.7 GB export raised the
    robust read's peak RSS to 1.7 GB. Measured in a fresh process: the peak may grow by a read buffer."""
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        for _ in range(96):
            fh.write(b"y" * MIB)
    probe = (
        "import resource, sys\n"
        "from nightowl.sources.records.json_duckdb import _holds_delimiter\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "assert not _holds_delimiter(sys.argv[1])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 32 * 1024, f"peak resident memory grew by {grown_kib} KiB checking a 96 MiB file"
