"""The file walker on hostile input: every bad path is reported with a reason, nothing crashes."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from nightowl.secrets import files
from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.files import FileJob, WalkLimits, decode_text, file_blobs, iter_files
from nightowl.secrets.scan import ScanOptions, scan_paths

GH = "ghp_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4"


def walk(root: Path, limits: WalkLimits = WalkLimits()) -> tuple[list[Blob], list[Problem]]:
    blobs, problems = [], []
    for item in iter_files(root, str(root)):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        for b in file_blobs(item, limits):
            (problems if isinstance(b, Problem) else blobs).append(b)
    return blobs, problems


def reasons(problems: list[Problem]) -> dict[str, str]:
    return {Path(p.path).name: p.reason for p in problems}


def test_symlink_loops_and_dangling_links_are_reported(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "app.env").write_text(f"TOKEN={GH}\n")
    os.symlink(tmp_path, tmp_path / "d" / "up")  # a loop back to the root
    os.symlink(tmp_path / "self", tmp_path / "self")  # a link to itself (ELOOP)
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    blobs, problems = walk(tmp_path)
    assert [Path(b.path).name for b in blobs] == ["app.env"]
    r = reasons(problems)
    assert "symlink loop" in r["up"]
    assert "dangling" in r["dangling"]
    assert "self" in r


def test_binary_huge_and_special_files(tmp_path):
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(100))
    (tmp_path / "big.txt").write_bytes(b"x" * 5000)
    os.mkfifo(tmp_path / "pipe")  # must not be opened: it would block forever
    blobs, problems = walk(tmp_path, WalkLimits(max_file_size=4000))
    assert blobs == []
    r = reasons(problems)
    assert "binary" in r["img.png"] and "cap" in r["big.txt"] and "not a regular file" in r["pipe"]


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    """Tests run as root, where chmod 000 does not stop a read: the read itself fails instead."""
    (tmp_path / "secret.env").write_text("x")

    def deny(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "read_file", deny)
    blobs, problems = walk(tmp_path)
    assert blobs == [] and "Permission denied" in problems[0].reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files")
def test_chmod_000_file_is_reported(tmp_path):  # pragma: no cover - only as a normal user
    f = tmp_path / "secret.env"
    f.write_text("x")
    f.chmod(0)
    _, problems = walk(tmp_path)
    assert "Permission denied" in problems[0].reason


def test_missing_path():
    items = list(iter_files(Path("/nonexistent/nightowl"), "/nonexistent/nightowl"))
    assert isinstance(items[0], Problem) and "no such file" in items[0].reason


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_members_are_scanned_and_bombs_refused(tmp_path):
    inner = _zip({"deep/.env": f"TOKEN={GH}\n".encode()})
    (tmp_path / "bundle.zip").write_bytes(
        _zip(
            {
                "config/.env": f"GITHUB_TOKEN={GH}\n".encode(),
                "bomb.txt": b"\0" * 20_000_000,
                "inner.zip": inner,
            }
        )
    )
    blobs, problems = walk(tmp_path)
    paths = sorted(b.path.split("bundle.zip/")[1] for b in blobs)
    assert paths == ["config/.env", "inner.zip/deep/.env"]
    assert any("bomb" in p.reason and p.path.endswith("bomb.txt") for p in problems)


def test_nested_zip_depth_and_total_limits(tmp_path):
    level3 = _zip({"a.txt": b"hello"})
    level2 = _zip({"l3.zip": level3})
    (tmp_path / "n.zip").write_bytes(_zip({"l2.zip": level2}))
    blobs, problems = walk(tmp_path)
    assert blobs == [] and any("deeper than the limit" in p.reason for p in problems)
    (tmp_path / "n.zip").unlink()
    (tmp_path / "t.zip").write_bytes(_zip({f"f{i}.txt": os.urandom(3000).hex().encode() for i in range(5)}))
    blobs, problems = walk(tmp_path, WalkLimits(zip_max_total=15_000))
    assert len(blobs) == 2 and any("total uncompressed" in p.reason for p in problems)


def test_corrupt_zip_is_reported(tmp_path):
    data = bytearray(_zip({"a.env": f"TOKEN={GH}\n".encode() * 50}))
    data[60:80] = b"\xff" * 20  # damage the compressed stream
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    _, problems = walk(tmp_path)
    assert problems and all("zip" in p.reason for p in problems)


def test_utf16_text_is_decoded_and_big_files_are_chunked_with_right_lines(tmp_path):
    assert decode_text("pw\n".encode("utf-16")) == b"pw\n"
    assert decode_text(b"a\x00b") is None
    lines = [f"line {i}" for i in range(50_000)]
    lines[40_000] = f"GITHUB_TOKEN={GH}"
    f = tmp_path / "big.log"
    f.write_text("\n".join(lines) + "\n")
    limits = WalkLimits(chunk_size=64 * 1024, chunk_overlap=4 * 1024)
    chunks = list(file_blobs(FileJob(f, "big.log", f.stat().st_size, ""), limits))
    assert len(chunks) > 5 and all(isinstance(c, Blob) for c in chunks)
    res = scan_paths([str(f)], ScanOptions(jobs=1, limits=limits))
    (finding,) = res.secrets.values()
    assert {loc["line"] for loc in finding.locations.values()} == {40_001}


def test_scan_counts_problems_and_keeps_going(tmp_path):
    (tmp_path / "ok.env").write_text(f"GITHUB_TOKEN={GH}\n")
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02" * 10)
    os.symlink(tmp_path / "missing", tmp_path / "broken")
    res = scan_paths([str(tmp_path)], ScanOptions(jobs=1))
    assert len(res.secrets) == 1 and len(res.problems) == 2
    assert res.inputs[0]["problems"] == 2 and res.inputs[0]["format"] == "directory"
