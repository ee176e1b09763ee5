"""Confirm results remembered per window: same hits as confirming again, keyed by every byte they depend on."""

from __future__ import annotations

import re

import pytest

from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import example_text, load_rules, lookbehind_reach

RULES = load_rules(examples=True)


@pytest.mark.parametrize(
    ("regex", "reach"),
    [
        (r"(?P<secret>abc)", 0),
        (r"\b(?P<secret>abc)", 1),
        (r"\Babc", 1),
        (r"(?m)^abc", 1),
        (r"^abc", 1),
        (r"\Aabc", 1),
        (r"abc$", 0),
        (r"abc\Z", 0),
        (r"(?<=key=)abc", 4),
        (r"(?<![A-Za-z0-9_])abc", 1),
        (r"(?<=a|bcd)x", 3),
        (r"(?<=a(?<=ba))x", 3),  # nested: a lookbehind inside a lookbehind reads further back
        (r"(?=x(?<=yx))", 2),  # a lookbehind inside a lookahead is counted too
        (r"\b(?:(?<=k:)v|\bw)", 4),
        (r"(?<=a*)x", -1),  # not a valid Python regex (unbounded): unknown
        (r"(?P<secret>", -1),  # does not parse: unknown
    ],
)
def test_lookbehind_reach(regex, reach):
    assert lookbehind_reach(regex) == reach


def test_every_shipped_rule_knows_its_reach():
    """The reach comes with the rules (and their cache): an unknown one would switch the cache off."""
    assert all(r.reach == lookbehind_reach(r.regex) >= 0 for r in RULES)


def _relative(pattern: re.Pattern[bytes], data: bytes, ls: int) -> list[tuple]:
    return [(m.start() - ls, m.end() - ls, m.groupdict()) for m in pattern.finditer(data, ls, len(data))]


def test_a_search_reads_nothing_before_its_reach():
    """What the cache key relies on: from line start ``ls``, every shipped rule's matches in its examples
    depend on ``data[ls - reach:]`` only. Other bytes before that (junk) change nothing; the reach's own
    bytes may (checked on a rule that reads two bytes back)."""
    junk = b"\x00 key=password: \n\xff" * 8
    checked = 0
    for rule in RULES:
        for example in rule.positive:
            data = example_text(example)[0].encode()
            for ls in [0] + [m.end() for m in re.finditer(rb"\n", data)]:
                if ls < rule.reach:
                    continue
                moved = junk + data[ls - rule.reach :]
                got = _relative(rule.compiled, moved, len(junk) + rule.reach)
                assert got == _relative(rule.compiled, data, ls), (rule.id, example)
                checked += 1
    assert checked > 300
    two_back = re.compile(rb"(?<=X\n)(?P<secret>tok[a-z]{5})")
    assert lookbehind_reach(two_back.pattern.decode()) == 2
    assert _relative(two_back, b"X\ntokabcde", 2) != _relative(two_back, b"Y\ntokabcde", 2)


def _rule_file(tmp_path):
    f = tmp_path / "behind.toml"
    f.write_text(
        '[[rule]]\nid = "t.behind"\ntitle = "t"\nfamily = "t"\nseverity = "high"\nkeywords = ["tok"]\n'
        "regex = '(?<=X\\n)(?P<secret>tok[a-z]{5})'\nprefilter = 'tok[a-z]{5}'\n"
    )
    return f


@pytest.mark.parametrize("use_hyperscan", [True, False])
def test_same_window_after_other_bytes_is_confirmed_again(tmp_path, use_hyperscan):
    """The same line after a different previous line: the lookbehind reads that line, so the remembered
    result of the first blob must not be reused for the second."""
    (rule,) = load_rules([_rule_file(tmp_path)])
    assert rule.reach == 2
    eng = Engine([rule], use_hyperscan=use_hyperscan)
    if use_hyperscan and eng.backend != "hyperscan":
        pytest.skip("hyperscan cannot load here")
    first = eng.scan(b"X\ntokabcde\n", path="a.txt")
    assert [(h.secret, h.line) for h in first] == [(b"tokabcde", 2)]
    assert eng._windows  # remembered
    assert eng.scan(b"Y\ntokabcde\n", path="a.txt") == []
    assert [(h.secret, h.line) for h in eng.scan(b"a\nb\nX\ntokabcde\n", path="b.txt")] == [(b"tokabcde", 4)]


def test_remembered_windows_give_the_hits_of_a_fresh_engine():
    """Versions of a file share most lines: the second and third scans reuse the first one's windows and
    still report every hit (rule, value, line, offset) a fresh engine reports."""
    lines = []
    for rule in RULES:
        for example in rule.positive[:2]:
            lines.append(example_text(example)[0])
    text = "\n".join(lines).encode()
    version2 = b"# header added\n" + text.replace(b"\n", b"\n\n", 3)
    warm = Engine(RULES)
    for data, path in ((text, "config.env"), (version2, "config.env"), (text, "notes.txt")):
        expected = [(h.rule.id, h.secret, h.line, h.offset) for h in Engine(RULES).scan(data, path=path)]
        got = [(h.rule.id, h.secret, h.line, h.offset) for h in warm.scan(data, path=path)]
        assert got == expected
        assert len(expected) > 100
    assert warm._windows and warm._verdicts


def test_a_filter_verdict_is_not_reused_when_the_lines_above_differ():
    """The same list item under a password key and under another key: the filter reads the lines above
    (``before``), so the second candidate gets its own verdict, not the first one's."""
    eng = Engine(RULES)
    item = b'  - "Zr8kPq2Lw5"\n'
    assert [(h.rule.id, h.secret) for h in eng.scan(b"passwords:\n" + item, "config.yaml")] == [
        ("generic.password-list-item", b"Zr8kPq2Lw5")
    ]
    assert eng._verdicts
    assert eng.scan(b"passwords:\n  min_length: 12\nservers:\n" + item, "config.yaml") == []
    assert Engine(RULES).scan(b"passwords:\n  min_length: 12\nservers:\n" + item, "config.yaml") == []
    assert [h.secret for h in eng.scan(b"old_passwords:\n" + item, "config.yaml")] == [b"Zr8kPq2Lw5"]
