"""The cache folder does not grow without end: a write removes the entries nothing used for a day
(a Hyperscan database is ~1 MB, one per rule set and library version ever used), keeps what another
process uses (a hit marks its entry), and the parsed-rules entry carries no rule's test examples."""

from __future__ import annotations

import json
import os
import time

import pytest

from nightowl.secrets import cache
from nightowl.secrets.rules import load_rules

DAY = 24 * 3600


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NIGHTOWL_NO_CACHE", raising=False)
    folder = tmp_path / "nightowl"
    folder.mkdir()
    return folder


def aged(path, seconds: float, data: bytes = b"x"):
    path.write_bytes(data)
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def test_a_write_removes_stale_entries_and_keeps_the_rest(home):
    stale = [
        aged(home / "hyperscan-0123456789abcdef01234567.db", 2 * DAY),
        aged(home / "hyperscan-open0123456789abcdef01234567.db", 2 * DAY),
        aged(home / "rules-00112233445566778899aabbccddeeff.json", 30 * DAY),
        aged(home / "regex-00112233445566778899aabbccddeeff.json", 2 * DAY),
        aged(home / ".hyperscan-dead.db.k3j4h5.tmp", 2 * DAY),  # a crashed writer's leftover
    ]
    kept = [
        aged(home / "hyperscan-fedcba9876543210fedcba98.db", 3600),  # another version, used an hour ago
        aged(home / ".hyperscan-live.db.a1b2c3.tmp", 5),  # a writer at work
        aged(home / "notes.txt", 30 * DAY),  # not the cache's
    ]
    cache.write("hyperscan-new.db", b"db")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept) and (home / "hyperscan-new.db").read_bytes() == b"db"


def test_a_hit_marks_its_entry_used_so_the_next_write_keeps_it(home):
    used = aged(home / "hyperscan-used.db", 3 * DAY, b"compiled")
    recent = aged(home / "regex-recent.json", 1800, b"{}")
    before = recent.stat().st_mtime
    assert cache.read("hyperscan-used.db") == b"compiled"
    assert time.time() - used.stat().st_mtime < 60
    assert cache.read("regex-recent.json") == b"{}" and recent.stat().st_mtime == before  # at most hourly
    cache.write("rules-new.json", b"{}")
    assert used.exists() and recent.exists()


def test_an_entry_removed_while_another_process_reads_it_costs_nothing_but_a_miss(home, monkeypatch):
    entry = aged(home / "hyperscan-old.db", 2 * DAY, b"x" * 100_000)
    with open(entry, "rb") as held:  # another process has it open
        cache.write("hyperscan-new.db", b"db")
        assert not entry.exists() and len(held.read()) == 100_000
    assert cache.read("hyperscan-old.db") is None  # a miss: that process recompiles and writes it again
    # a file another process pruned first, or one the folder does not let us remove: skipped
    aged(home / "hyperscan-gone.db", 2 * DAY)
    monkeypatch.setattr(os, "unlink", lambda *_: (_ for _ in ()).throw(FileNotFoundError()))
    cache.write("hyperscan-newer.db", b"db")
    assert (home / "hyperscan-newer.db").exists()


def test_the_rules_entry_holds_no_examples_and_examples_are_still_there_for_who_asks(home):
    rules = load_rules()
    (entry,) = home.glob("rules-*.json")
    doc = json.loads(entry.read_text())
    assert doc["rules"] and not any({"positive", "negative", "example_path"} & set(r) for r in doc["rules"])
    assert all(r.positive == () and r.negative == () for r in rules)
    assert load_rules() == rules  # the cached load: the same rules
    with_examples = load_rules(examples=True)
    assert [r.id for r in with_examples] == [r.id for r in rules]
    assert sum(len(r.positive) for r in with_examples) > 300 and all(r.positive for r in with_examples)
