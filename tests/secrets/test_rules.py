"""Every rule's own examples: positives capture exactly the marked secret, negatives stay quiet."""

from __future__ import annotations

import re

import pytest

from nightowl.findings import SEVERITIES
from nightowl.secrets.rules import RuleError, example_text, load_rules

RULES = load_rules(validate=True)
IDS = [r.id for r in RULES]


def test_rule_set_is_large_and_well_formed():
    assert len(RULES) >= 150
    assert len(set(IDS)) == len(IDS)
    for r in RULES:
        assert r.severity in SEVERITIES
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", r.id), r.id
        assert r.positive and r.negative, f"{r.id} needs positive and negative examples"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_positive_examples_capture_the_secret(rule, engine):
    for example in rule.positive:
        text, want = example_text(example)
        assert want, f"{rule.id}: positive example without a «marked» secret"
        hits = engine.scan(text.encode(), path=rule.example_path, dedupe=False)
        got = [h.secret.decode() for h in hits if h.rule.id == rule.id]
        assert got == want, f"{rule.id}: {text!r}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_negative_examples_do_not_match(rule, engine):
    for text in rule.negative:
        hits = [
            h
            for h in engine.scan(text.encode(), path=rule.example_path, dedupe=False)
            if h.rule.id == rule.id
        ]
        assert not hits, f"{rule.id} matched its negative example {text!r}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_every_positive_secret_is_reported_by_the_whole_engine(rule, engine):
    """With cross-rule dedupe on, the value is still reported (maybe by a more specific rule)."""
    for example in rule.positive:
        text, want = example_text(example)
        found = {h.secret.decode() for h in engine.scan(text.encode(), path=rule.example_path)}
        assert set(want) <= found, f"{rule.id}: {text!r}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_keywords_cover_the_positives(rule):
    """The pure-Python fallback only looks where a keyword is: each positive must contain one."""
    for example in rule.positive:
        text, _ = example_text(example)
        assert any(k in text.lower() for k in rule.keywords), f"{rule.id}: no keyword in {text!r}"


def test_bad_rule_files_are_rejected(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[rule]]\nid = "x.y"\ntitle = "t"\nfamily = "f"\nseverity = "high"\nkeywords = ["a"]\nregex = "a(b"\n'
    )
    with pytest.raises(RuleError, match="bad regex"):
        load_rules([bad])
    bad.write_text(
        '[[rule]]\nid = "x.y"\ntitle = "t"\nfamily = "f"\nseverity = "high"\nkeywords = ["a"]\nregex = "ab"\n'
    )
    with pytest.raises(RuleError, match="secret"):
        load_rules([bad])
    bad.write_text(
        '[[rule]]\nid = "x.y"\ntitle = "t"\nfamily = "f"\nseverity = "severe"\nkeywords = ["a"]\nregex = "(?P<secret>ab)"\n'
    )
    with pytest.raises(RuleError, match="severity"):
        load_rules([bad])


def test_file_defaults_apply_to_every_rule_unless_it_sets_its_own(tmp_path):
    f = tmp_path / "phrasing.toml"
    rule = 'title = "t"\nfamily = "f"\nseverity = "high"\nkeywords = ["a"]\nregex = "(?P<secret>ab)"\n'
    f.write_text(
        "[defaults]\npaths = '\\.txt$'\nspan = 64\n\n"
        f'[[rule]]\nid = "x.one"\n{rule}\n[[rule]]\nid = "x.two"\npaths = \'\\.md$\'\n{rule}'
    )
    one, two = load_rules([f])
    assert (one.paths, one.span, two.paths, two.span) == ("\\.txt$", 64, "\\.md$", 64)
    assert one.applies_to("notes.txt") and not one.applies_to("notes.md") and two.applies_to("notes.md")
