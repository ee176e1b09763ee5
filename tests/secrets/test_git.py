"""Git history: each blob scanned once, findings attributed to the commits that introduced them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.conftest import dataset

from nightowl.secrets.git import read_history
from nightowl.secrets.scan import ScanOptions, scan_paths

KEY = "AKIA" + "Q3RZ7XKW2MPL5VNT"  # fake, documented AWS access key id shape


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo.parent)}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str | None], msg: str, date: str) -> str:
    for name, text in files.items():
        p = repo / name
        if text is None:
            p.unlink()
            git(repo, "rm", "-q", name)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            git(repo, "add", name)
    os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = date
    try:
        git(repo, "commit", "-q", "-m", msg)
    finally:
        del os.environ["GIT_AUTHOR_DATE"], os.environ["GIT_COMMITTER_DATE"]
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> tuple[Path, dict[str, str]]:
    """main: add key in app.py, remove it, re-add it; branch feature: key in deploy/ci.yml."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    c = {}
    c["init"] = commit(r, {"README.md": "hello\n"}, "init", "2024-01-01T00:00:00Z")
    c["add"] = commit(r, {"app.py": f'# app\nAWS_KEY = "{KEY}"\n'}, "add key", "2024-01-02T00:00:00Z")
    c["remove"] = commit(
        r, {"app.py": "# app\nAWS_KEY = os.environ['AWS_KEY']\n"}, "remove", "2024-01-03T00:00:00Z"
    )
    git(r, "checkout", "-q", "-b", "feature", c["init"])
    c["branch"] = commit(r, {"deploy/ci.yml": f"env:\n  key: {KEY}\n"}, "ci", "2024-01-04T00:00:00Z")
    git(r, "checkout", "-q", "main")
    c["readd"] = commit(r, {"app.py": f'# app\nAWS_KEY = "{KEY}"\n'}, "re-add", "2024-01-05T00:00:00Z")
    c["edit"] = commit(r, {"app.py": f'# app v2\n\nAWS_KEY = "{KEY}"\n'}, "edit", "2024-01-06T00:00:00Z")
    return r, c


def test_one_finding_with_first_introducing_commit_per_path(repo):
    r, c = repo
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    (finding,) = [s for s in res.secrets.values() if s.rule.id == "aws.access-key-id"]
    locs = [
        (loc["path"].split("repo/", 1)[1], loc["line"], loc["commit"]) for loc in finding.sorted_locations()
    ]
    assert locs == [("app.py", 2, c["add"]), ("deploy/ci.yml", 2, c["branch"])]
    assert res.inputs[0]["format"] == "git"


def test_each_blob_is_read_once(repo):
    r, _ = repo
    hist = read_history(r)
    assert len(hist.blobs) == len(set(hist.blobs))
    # app.py with the key appears in two commits ("add" and "re-add") but is one blob, listed once
    key_blobs = [oid for oid, where in hist.blobs.items() if any(p == "app.py" for p, _ in where)]
    assert len(key_blobs) == 3  # with key, without key, edited with key
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    assert res.blobs == len(hist.blobs) + len(hist.commit_order)  # and each commit's message


def test_parallel_scan_gives_the_same_answer(repo, monkeypatch):
    from nightowl.secrets import scan

    r, _ = repo
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "BATCH_ITEMS", 1)
    one = scan_paths([str(r)], ScanOptions(jobs=1))
    two = scan_paths([str(r)], ScanOptions(jobs=2))
    a = {k: v.sorted_locations() for k, v in one.secrets.items()}
    b = {k: v.sorted_locations() for k, v in two.secrets.items()}
    assert a == b


def test_an_error_in_the_parent_stops_the_workers_instead_of_waiting_for_them(tmp_path, monkeypatch):
    """The parent stops reading results (an exception, Ctrl-C) while more batches wait than may be in
    flight: the pool is terminated and the error comes out (before, closing the pool waited forever for
    the batches nobody would collect)."""
    from nightowl.secrets import scan

    r = tmp_path / "many"
    r.mkdir()
    git(r, "init", "-q")
    commit(r, {f"f{i}.env": f"N={i}\n" for i in range(40)}, "forty files", "2024-01-01T00:00:00")
    monkeypatch.setattr(scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "BATCH_ITEMS", 1)

    def progress(_n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan_paths([str(r)], ScanOptions(jobs=2), progress=progress)
    assert scan_paths([str(r)], ScanOptions(jobs=2)).blobs == 41  # the next scan runs: 40 files, 1 message


HOOK = "https://hooks.slack.com/services/" + "TN7ZD7IOH/BE0QTMZMKRV/KORDnohhInnchHFXaDu9yuPh"  # fake


def test_commit_tag_and_note_messages_are_scanned_and_located_by_commit(repo):
    """A webhook pasted in a commit message, a password in a tag message and a key in a note are
    found and located at the commit they belong to, with part "message", "tag message" or "note"."""
    r, c = repo
    msg = f"rotate alerts webhook\n\nthe old one ({HOOK}) is revoked now"
    c["hook"] = commit(r, {"NEWS": "rotated\n"}, msg, "2024-01-07T00:00:00Z")
    git(r, "tag", "-a", "v1", c["add"], "-m", "release v1\n\nthe staging password is Qm7#vTx2LpR9 for now")
    git(r, "notes", "add", "-m", f"deploy key was {KEY}", c["init"])
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    where = {
        (s.rule.id, loc.get("part")): (loc["path"], loc["line"], loc["commit"], loc.get("tag"))
        for s in res.secrets.values()
        for loc in s.sorted_locations()
    }
    assert where[("slack.webhook-url", "message")] == (str(r), 3, c["hook"], None)
    assert where[("human.password-is", "tag message")] == (str(r), 3, c["add"], "v1")
    assert where[("aws.access-key-id", "note")] == (str(r), 1, c["init"], None)
    # the note is reported at the commit it annotates, not again as a file of refs/notes/commits
    aws = [s for s in res.secrets.values() if s.rule.id == "aws.access-key-id"]
    assert all(loc.get("part") in (None, "note") for s in aws for loc in s.sorted_locations())
    assert not any(len(loc["path"].rsplit("/", 1)[-1]) == 40 for s in aws for loc in s.sorted_locations())


def test_gitleaks_small_repository(tmp_path):
    bundle = dataset("secrets/gitleaks_small_repo.bundle")
    expected = json.loads(dataset("secrets/gitleaks_small_repo.expected.json").read_text())[
        "expected_findings"
    ]
    dest = tmp_path / "small"
    subprocess.run(["git", "clone", "-q", str(bundle), str(dest)], check=True)
    res = scan_paths([str(dest)], ScanOptions(jobs=1))
    aws = [s for s in res.secrets.values() if s.rule.id == "aws.access-key-id"]
    assert len(aws) == 1  # one deduplicated finding
    locs = {
        (loc["path"].split("small/", 1)[1], loc["line"], loc["commit"]) for loc in aws[0].locations.values()
    }
    for e in expected:
        assert (e["file"], e["line"], e["commit"]) in locs
    first = aws[0].sorted_locations()[0]
    assert first["commit"] == "1b6da43b82b22e4eaa10bcf8ee591e91abbfc587"


def test_broken_repository_is_a_problem_not_a_crash(repo):
    r, _ = repo
    objects = r / ".git" / "objects"
    for d in objects.iterdir():
        if len(d.name) == 2:
            for f in d.iterdir():
                f.write_bytes(b"garbage")
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    assert res.secrets == {}
    assert res.problems and all("git" in p.reason for p in res.problems)


def test_empty_repository(tmp_path):
    r = tmp_path / "empty"
    r.mkdir()
    git(r, "init", "-q")
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    assert res.secrets == {} and res.problems == [] and res.blobs == 0


def test_blob_sizes_come_for_every_blob_in_many_asks(tmp_path):
    """The history index asks git for sizes in slices while it parses the log (1,100 blobs: three slices)."""
    r = tmp_path / "many"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    files = {f"d{i % 7}/f{i}.txt": "x" * (i % 50) + f"{i}\n" for i in range(1100)}
    commit(r, files, "many", "2024-01-01T00:00:00Z")
    hist = read_history(r)
    assert len(hist.blobs) == len(set(files.values())) and not hist.missing
    by_path = {where[0][0]: oid for oid, where in hist.blobs.items()}
    assert {p: hist.sizes[by_path[p]] for p in files} == {p: len(t.encode()) for p, t in files.items()}


def _history_tuple(hist, asked):
    return list(hist.blobs.items()), list(hist.commit_order.items()), asked


def test_the_log_parsed_as_git_writes_it_reads_as_one_whole_output(repo):
    """read_history parses the log in the pieces the pipe hands over: cut anywhere (inside a commit id, a
    raw entry, a path, between an entry and its path), the index is the one of the whole output."""
    from nightowl.secrets import git as g

    r, _ = repo
    commit(r, {"dir with space/é.txt": "x\n", "b.txt": "y\n"}, "names", "2024-01-07T00:00:00Z")
    git(r, "mv", "b.txt", "c.txt")
    commit(r, {}, "rename", "2024-01-08T00:00:00Z")
    out = g._git(r, *g._LOG_ARGS)
    whole, asked = g.History(), []
    g._parse_log(out, whole, asked.append)
    assert len(whole.blobs) == 7 and len(whole.commit_order) == 8
    for size in (1, 2, 3, 7, 40, 41, 64, len(out)):
        got, asked_now = g.History(), []
        g._parse_log_chunks((out[k : k + size] for k in range(0, len(out), size)), got, asked_now.append)
        assert _history_tuple(got, asked_now) == _history_tuple(whole, asked), size
    got = read_history(r)
    assert _history_tuple(got, []) == _history_tuple(whole, [])
    assert set(got.sizes) == set(whole.blobs)


def test_a_log_that_fails_while_streamed_is_read_whole(repo, monkeypatch):
    """git log failing mid-stream: the index is read again from the whole output (which names git's error
    when it fails again); a partial index is never used."""
    from nightowl.secrets import git as g

    r, _ = repo
    expected = read_history(r)

    def half_then_fail(repo_path, hist, new_blob_seen):
        hist.blobs["0" * 40] = [("partial", "")]
        return False

    monkeypatch.setattr(g, "_stream_log", half_then_fail)
    got = read_history(r)
    assert list(got.blobs.items()) == list(expected.blobs.items()) and got.sizes == expected.sizes
    monkeypatch.setattr(g, "_LOG_ARGS", ("log", "--no-such-option"))
    with pytest.raises(g.GitError, match="no-such-option"):
        read_history(r)


def test_a_missing_blob_is_reported_with_its_path_and_commit(repo):
    r, c = repo
    readme = git(r, "rev-parse", f"{c['init']}:README.md")
    (r / ".git" / "objects" / readme[:2] / readme[2:]).unlink()
    hist = read_history(r)
    assert hist.missing == [readme] and readme not in hist.sizes
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    assert [p.reason for p in res.problems if p.path.endswith("README.md")] == [
        f"git object {readme[:12]} missing (commit {c['init'][:12]})"
    ]
    assert [s.rule.id for s in res.secrets.values()] == ["aws.access-key-id"]  # the rest is still scanned


def test_messages_that_cannot_be_read_are_one_problem_and_the_files_are_still_scanned(repo, monkeypatch):
    """The messages are read on a thread while the blobs are scanned; its error reaches the report."""
    import nightowl.secrets.scan as scan
    from nightowl.secrets.git import GitError

    def broken(repo_path, commits):
        raise GitError("cat-file stopped")
        yield  # pragma: no cover - a generator, as read_messages is

    monkeypatch.setattr(scan, "read_messages", broken)
    r, _ = repo
    res = scan_paths([str(r)], ScanOptions(jobs=1))
    assert [p.reason for p in res.problems] == ["git messages could not be read: cat-file stopped"]
    assert [s.rule.id for s in res.secrets.values()] == ["aws.access-key-id"]


@pytest.mark.parametrize("enabled", [True, False])
def test_a_history_scan_leaves_the_cycle_collector_as_it_found_it(repo, enabled):
    """The collector is paused while the history is indexed (on a thread) and scanned, then restored: on
    if it was on, off if the caller had turned it off; the regions nest across the two threads."""
    import gc
    import threading

    from nightowl.secrets.git import no_cyclic_gc

    r, _ = repo
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        res = scan_paths([str(r)], ScanOptions(jobs=1))
        assert [s.rule.id for s in res.secrets.values()] == ["aws.access-key-id"]
        assert gc.isenabled() is enabled
        inside, release = threading.Event(), threading.Event()

        def other() -> None:
            with no_cyclic_gc():
                inside.set()
                release.wait(10)

        t = threading.Thread(target=other)
        t.start()
        inside.wait(10)
        with no_cyclic_gc():
            assert not gc.isenabled()
            release.set()
            t.join(10)
            assert not gc.isenabled()  # the other thread left first: still paused for this one
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
