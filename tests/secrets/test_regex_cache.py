"""The compiled-regex cache: patterns rebuilt from it behave as ``re.compile``'s, and a missing,
corrupt or tampered entry only costs the compile again (never a crash, never a different answer)."""

from __future__ import annotations

import json
import re

import pytest

from nightowl.secrets import regex_cache
from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import attach_compiled, example_text, load_rules

RULES = load_rules(examples=True)
PATTERNS = [r.regex.encode() for r in RULES]
# each rule's own examples, the text its pattern must answer the same on
EXAMPLES = [b"\n".join(example_text(ex)[0].encode() for ex in (*r.positive, *r.negative)) for r in RULES]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NIGHTOWL_NO_CACHE", raising=False)
    return tmp_path / "nightowl"


def _entry(home):
    (entry,) = home.glob("regex-*.json")
    return entry


def _same_as_re(compiled: list[re.Pattern[bytes]]) -> None:
    assert len(compiled) == len(PATTERNS)
    for got, pattern, text in zip(compiled, PATTERNS, EXAMPLES, strict=True):
        want = re.compile(pattern)
        assert (got.pattern, got.flags, got.groups, got.groupindex) == (
            want.pattern,
            want.flags,
            want.groups,
            want.groupindex,
        )
        assert [m.regs for m in got.finditer(text)] == [m.regs for m in want.finditer(text)]


def test_a_miss_compiles_and_stores_and_the_hit_rebuilds_the_same_patterns(home, monkeypatch):
    assert regex_cache.cached(PATTERNS) is None
    _same_as_re(regex_cache.compile_all(PATTERNS))
    assert _entry(home).stat().st_size > 0
    monkeypatch.setattr(regex_cache, "_compile_parts", lambda p: pytest.fail("compiled again"))
    _same_as_re(regex_cache.cached(PATTERNS))
    _same_as_re(regex_cache.compile_all(PATTERNS))


@pytest.mark.parametrize("damage", ["truncate", "not json", "bad code", "bad base64", "other patterns"])
def test_a_corrupt_or_tampered_entry_is_a_miss(home, damage):
    regex_cache.compile_all(PATTERNS)
    entry = _entry(home)
    raw = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "not json":
        entry.write_bytes(b"\x00" + raw)
    else:
        doc = json.loads(raw)
        first = doc["patterns"][0]
        if damage == "bad code":  # opcodes _sre's validator refuses
            first[1] = "////AP///wD/////"
        elif damage == "bad base64":
            first[1] = "not base64!"
        else:
            doc["patterns"] = doc["patterns"][1:]
        entry.write_text(json.dumps(doc))
    assert regex_cache.cached(PATTERNS) is None
    fresh = load_rules()
    attach_compiled(fresh, compile_missing=False)  # what a one-file scan does: builders, run on first use
    _same_as_re([r.compiled for r in fresh])  # a damaged piece falls back to re.compile
    _same_as_re(regex_cache.compile_all(PATTERNS))  # compiled again and stored whole
    _same_as_re(regex_cache.cached(PATTERNS))


def test_no_cache_means_plain_re_and_nothing_written(home, monkeypatch):
    monkeypatch.setenv("NIGHTOWL_NO_CACHE", "1")
    assert regex_cache.cached(PATTERNS) is None
    _same_as_re(regex_cache.compile_all(PATTERNS))
    assert not home.exists()


def test_an_engine_takes_its_regexes_from_the_cache_and_answers_the_same(home):
    text = b'DB_PASSWORD="Kp7#rVw2qLx9"\nurl = "postgres://app:W1nter-Sea-42@db.internal/app"\n'
    fresh = load_rules()  # a load of its own: nothing compiled yet
    assert not any(r._compiled for r in fresh)
    plain = [(h.rule.id, h.secret) for h in Engine(fresh, use_hyperscan=False).scan(text, "a.env")]
    attach_compiled(load_rules(), compile_missing=True)  # fills the cache
    again = load_rules()
    Engine(again, use_hyperscan=False)
    assert all(r._compiled for r in again)  # attached at start, not compiled one by one
    got = [(h.rule.id, h.secret) for h in Engine(again, use_hyperscan=False).scan(text, "a.env")]
    assert got == plain and len(plain) == 2
