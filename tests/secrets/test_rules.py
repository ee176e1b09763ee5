"""Every rule's own examples: positives capture exactly the marked secret, negatives stay quiet."""

from __future__ import annotations

import re
import tomllib

import pytest

from nightowl.findings import SEVERITIES
from nightowl.secrets.rules import RuleError, example_text, load_rules, rule_files

RULES = load_rules(validate=True, examples=True)
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


def _rule_file(tmp_path, fragments: str, regex: str, prefilter: str = ""):
    f = tmp_path / "frag.toml"
    pf = f"prefilter = '{prefilter}'\n" if prefilter else ""
    f.write_text(
        f'[fragments]\n{fragments}\n\n[[rule]]\nid = "x.y"\ntitle = "t"\nfamily = "f"\n'
        f'severity = "high"\nkeywords = ["pw"]\nregex = \'{regex}\'\n{pf}'
    )
    return f


def test_fragments_are_expanded_in_regex_and_prefilter_and_may_nest(tmp_path):
    f = _rule_file(
        tmp_path,
        "sp = '[ \\t]'\nword = '(?:pw|pwd)'\nlabel = '{{word}}{{sp}}*:'",
        "{{label}}{{sp}}*(?P<secret>[a-z0-9]{3,8})",
        "{{word}}:",
    )
    (rule,) = load_rules([f])
    assert rule.regex == "(?:pw|pwd)[ \\t]*:[ \\t]*(?P<secret>[a-z0-9]{3,8})"
    assert rule.prefilter == "(?:pw|pwd):"
    assert rule.compiled.search(b"pwd: abc123").group("secret") == b"abc123"


def test_unknown_or_circular_fragments_name_the_rule(tmp_path):
    with pytest.raises(RuleError, match=r"x\.y: unknown fragment \{\{nope\}\}"):
        load_rules([_rule_file(tmp_path, "a = 'b'", "{{nope}}(?P<secret>x)")])
    with pytest.raises(RuleError, match=r"x\.y: circular fragment a -> b -> a"):
        load_rules([_rule_file(tmp_path, "a = '{{b}}'\nb = '{{a}}'", "{{a}}(?P<secret>x)")])


def test_phrasing_rules_name_their_shared_pieces_once():
    """No stretch of 80 characters of regex source is pasted into two rules of one file: a word list
    or separator used twice is a [fragments] entry (a fix then reaches every rule that uses it)."""
    for path in rule_files():
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        owner: dict[str, str] = {}
        for data in doc.get("rule", []):
            for key in ("regex", "prefilter"):
                text = data.get(key, "")
                for i in range(len(text) - 79):
                    chunk = text[i : i + 80]
                    other = owner.setdefault(chunk, data["id"])
                    assert other == data["id"], f"{path.name}: {data['id']} repeats {chunk!r} from {other}"
