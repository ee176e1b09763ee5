"""The compiled-rules cache: a hit gives the same rules, and a corrupt, read-only or contended cache
folder never changes an answer (it only costs the parse again)."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat

import pytest

from nightowl.secrets import cache
from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import load_rules, rule_files

TEXT = b'DB_PASSWORD="Kp7#rVw2qLx9"\nAWS_KEY=AKIA' + b"Q3RZ7XKW2MPL5VNT\n"


def _answer(rules) -> list[tuple[str, bytes]]:
    return [(h.rule.id, h.secret) for h in Engine(rules, use_hyperscan=False).scan(TEXT, path="a.env")]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NIGHTOWL_NO_CACHE", raising=False)
    return tmp_path / "nightowl"


def _entries(home) -> list:
    return sorted(p for p in home.glob("rules-*.json"))


def test_second_load_comes_from_the_cache_and_is_the_same(home, monkeypatch):
    first = load_rules()
    (entry,) = _entries(home)
    import tomllib

    monkeypatch.setattr(tomllib, "loads", lambda *_: pytest.fail("parsed the TOML again"))
    again = load_rules()
    assert again == first and [r.regex for r in again] == [r.regex for r in first]
    assert _answer(again) == _answer(first) and _answer(first)
    assert _entries(home) == [entry]


def test_a_changed_rule_file_misses(home, tmp_path):
    src = rule_files()[0]
    mine = tmp_path / src.name
    mine.write_bytes(src.read_bytes())
    load_rules([mine])
    mine.write_bytes(src.read_bytes() + b"\n# an edit\n")
    load_rules([mine])
    assert len(_entries(home)) == 2


@pytest.mark.parametrize(
    "damage", [b"", b"{not json", b'{"format": "nightowl-rules/1", "rules": [{"id": 1}]}']
)
def test_a_corrupt_entry_is_rebuilt(home, damage):
    good = _answer(load_rules())
    (entry,) = _entries(home)
    entry.write_bytes(damage)
    assert _answer(load_rules()) == good
    assert entry.read_bytes() != damage  # rewritten whole


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_folder_is_only_a_miss(home):
    home.mkdir(parents=True)
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _answer(load_rules()) and not _entries(home)
    finally:
        home.chmod(stat.S_IRWXU)


def test_an_unusable_cache_location_is_only_a_miss(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir fails: as for a read-only home
    assert _answer(load_rules())
    assert not list(tmp_path.glob("**/rules-*.json"))


def _load_in_child(q) -> None:
    q.put(_answer(load_rules()))


def test_scans_starting_at_once_agree_and_leave_one_whole_entry(home):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(q,)) for _ in range(4)]
    for p in procs:
        p.start()
    answers = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=120)
    assert all(a == answers[0] and a for a in answers)
    (entry,) = _entries(home)
    assert not list(home.glob(".*.tmp"))  # every writer renamed or removed its temporary file
    assert _answer(load_rules()) == answers[0]
    assert entry.exists()


def test_no_cache_env_turns_it_off(home, monkeypatch):
    monkeypatch.setenv("NIGHTOWL_NO_CACHE", "1")
    assert cache.cache_dir() is None
    load_rules()
    assert not home.exists()
