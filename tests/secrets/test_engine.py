"""The engine: Hyperscan and the pure-Python fallback agree; line numbers, dedupe and filters."""

from __future__ import annotations

import json

import pytest
from tests.conftest import dataset

from nightowl.secrets.engine import Engine
from nightowl.secrets.filters import (
    Candidate,
    FilterConfig,
    entropy,
    generic_path,
    is_test_path,
    password_key,
)
from nightowl.secrets.rules import example_text, load_rules

RULES = load_rules(examples=True)
GH = "ghp_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4"


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    hs = Engine(RULES, use_hyperscan=True)
    if hs.backend != "hyperscan":
        pytest.skip("hyperscan cannot load here")
    return hs, Engine(RULES, use_hyperscan=False)


def _key(hits):
    return sorted((h.rule.id, h.secret, h.line) for h in hits)


def test_env_variable_forces_the_fallback(monkeypatch):
    monkeypatch.setenv("NIGHTOWL_NO_HYPERSCAN", "1")
    assert Engine(RULES[:3]).backend == "python"


def test_backends_agree_on_every_rule_example(engines):
    hs, py = engines
    for rule in RULES:
        for ex in (*rule.positive, *rule.negative):
            text = example_text(ex)[0].encode()
            assert _key(hs.scan(text, path=rule.example_path)) == _key(
                py.scan(text, path=rule.example_path)
            ), rule.id


def test_backends_agree_on_real_example_sets(engines):
    hs, py = engines
    path = dataset("secrets/noseyparker_rule_examples.jsonl")
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines()]
    path = dataset("secrets/gitleaks_rule_examples.jsonl")
    texts += [json.loads(line)["text"] for line in path.read_text().splitlines()]
    found = 0
    for text in texts:
        data = text.encode("utf-8", "surrogateescape")
        a, b = _key(hs.scan(data, path="x.txt")), _key(py.scan(data, path="x.txt"))
        assert a == b, text[:200]
        found += bool(a)
    assert found > 100  # the comparison is not vacuous


def test_line_numbers_and_offset(engines):
    hs, _ = engines
    data = f"a = 1\n\n# comment\nGITHUB_TOKEN={GH}\n".encode()
    (hit,) = [h for h in hs.scan(data) if h.rule.id == "github.pat-classic"]
    assert hit.line == 4 and hit.secret == GH.encode()
    (hit,) = [h for h in hs.scan(data, line_offset=100) if h.rule.id == "github.pat-classic"]
    assert hit.line == 104


def test_one_value_is_reported_once_per_line_by_the_most_specific_rule(engines):
    hs, _ = engines
    hits = hs.scan(f'api_token = "{GH}"\n'.encode(), path="settings.yaml")
    assert [h.rule.id for h in hits] == ["github.pat-classic"]
    assert {
        h.rule.id for h in hs.scan(f'api_token = "{GH}"\n'.encode(), path="settings.yaml", dedupe=False)
    } == {
        "github.pat-classic",
        "generic.secret-assignment",
    }


def test_multiline_private_key_found_across_lines(engines):
    hs, py = engines
    body = "\n".join(["MIIEowIBAAKCAQEAx4h3Z9ZkLmN0pQrStUvWxYz0123456789+/ABCDEFGHIJKLMNOP"] * 5)
    text = f"header\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n".encode()
    for eng in (hs, py):
        (hit,) = eng.scan(text)
        assert hit.rule.id == "private-key.rsa" and hit.line == 2


def test_huge_single_line_is_confirmed_once(engines):
    hs, _ = engines
    data = b"x" * 2_000_000 + f" {GH} ".encode() + b"y" * 2_000_000
    assert [h.rule.id for h in hs.scan(data)] == ["github.pat-classic"]


def test_generic_rules_skip_lock_files_and_tests_unless_asked():
    cand = Candidate(secret=b"Zk29xQ!p", line=b"", path="tests/fixtures/app.yml")
    assert generic_path(cand, FilterConfig(), "")
    assert generic_path(cand, FilterConfig(include_tests=True), "") is None
    assert generic_path(Candidate(secret=b"x", line=b"", path="web/package-lock.json"), FilterConfig(), "")
    assert (
        is_test_path("pkg/foo_test.go") and is_test_path("src/test_app.py") and not is_test_path("src/app.py")
    )


@pytest.mark.parametrize("include_tests", [False, True])
def test_rules_a_path_filter_silences_are_not_confirmed_there_and_nothing_else_changes(include_tests):
    """The engine skips a rule where a path-only filter (tests, lock files, style sheets) would drop every
    value it found: the answers are those of confirming everything and filtering afterwards."""
    lines = [ex for r in RULES if r.family == "generic" for ex in (*r.positive, *r.negative)]
    text = "\n".join(example_text(ex)[0] for ex in lines).encode() + b"\n" + GH.encode()
    cfg = FilterConfig(include_tests=include_tests)
    skipping, confirming = Engine(RULES, cfg), Engine(RULES, cfg)
    confirming._silencing_groups = []  # the behaviour without the shortcut
    paths = [
        "tests/fixtures/app.yml",
        "pkg/foo_test.go",
        "web/yarn.lock",
        "static/site.min.css",
        "src/app.py",
    ]
    for path in paths:
        assert _key(skipping.scan(text, path)) == _key(confirming.scan(text, path)), path
    quiet = {path: _key(skipping.scan(text, path)) for path in paths}
    assert all(quiet.values()) and any(h[0].startswith("generic.") for h in quiet["src/app.py"])
    assert not any(h[0].startswith("generic.") for h in quiet["web/yarn.lock"])
    generic_in_tests = any(h[0].startswith("generic.") for h in quiet["tests/fixtures/app.yml"])
    assert generic_in_tests == include_tests
    skipped_more = skipping._plan("tests/fixtures/app.yml")[1] > confirming._plan("tests/fixtures/app.yml")[1]
    assert skipped_more != include_tests  # the shortcut was taken (and only when the filter drops)


def test_filters_drop_placeholders_uuids_and_hashes(engines):
    hs, _ = engines
    quiet = [
        'API_KEY="your-api-key-here"',
        'secret_key = "123e4567-e89b-42d3-a456-426614174000"',
        'commit_sha_token = "3f786850e387550fdab836ed7e6dc881de23001b"',
        "password: ${DB_PASSWORD}",
        'password = "changeme"',
        'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    ]
    for line in quiet:
        assert hs.scan(line.encode(), path="config.yaml") == [], line


def test_password_key_filter():
    def ok(key: bytes) -> bool:
        return password_key(Candidate(secret=b"x", line=b"", path="", key=key), FilterConfig(), "") is None

    assert ok(b"DB_PASSWORD") and ok(b"dbpass") and ok(b"pwd") and ok(b"resetUrlPassword")
    assert not ok(b"passenger") and not ok(b"passthrough") and not ok(b"password_min_length")


def test_entropy():
    assert entropy(b"") == 0.0 and entropy(b"aaaa") == 0.0
    assert entropy(b"ab") == 1.0
    assert entropy(GH.encode()) > 4.0


def test_fallback_keywords_match_capitalised_non_ascii_words(tmp_path):
    """bytes.lower() folds ASCII only: the pure-Python prefilter must still see "Пароль" and "ŞİFRE" for
    the keywords "пароль" and "şifre" (Hyperscan's prefilters spell both cases out)."""
    f = tmp_path / "ru.toml"
    f.write_text(
        '[[rule]]\nid = "t.word"\ntitle = "t"\nfamily = "human"\nseverity = "high"\n'
        'keywords = ["пароль", "şifre"]\n'
        "regex = '(?:Пароль|пароль|Şifre|şifre)\\s*:\\s*(?P<secret>\\S+)'\n"
    )
    eng = Engine(load_rules([f]), use_hyperscan=False)
    for text in ("Пароль: Zk4mQ9", "Şifre: Zk4mQ9", "пароль: Zk4mQ9"):
        assert [h.secret for h in eng.scan(text.encode(), path="mail.txt")] == [b"Zk4mQ9"], text


@pytest.mark.parametrize("corpus", ["corpus.jsonl", "corpus2.jsonl", "corpus3.jsonl", "heldout.jsonl"])
def test_both_engines_agree_on_the_mail_corpora(engines, corpus):
    """Every rule's keywords (the fallback prefilter) and Hyperscan prefilter must admit what its confirm
    regex accepts: on ~1,000 mail texts in 26 languages both engines report the same secrets."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "mail_phrasing" / corpus
    hs, py = engines
    for line in path.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"].encode()
        got = [(h.rule.id, h.secret) for h in hs.scan(text, path="mail/body.txt")]
        assert got == [(h.rule.id, h.secret) for h in py.scan(text, path="mail/body.txt")], text[:120]
