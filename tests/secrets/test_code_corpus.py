"""The development half of the labelled code corpus (tests/fixtures/code_corpus/dev.jsonl): every
credential written in one of the common code and config syntaxes is found, and none of the hard
negatives (references, placeholders, wrong-password words, ciphertext, paginator and object-key
names, header names, pagination tokens, Markdown reference links) is reported. The held-out half
is scored by benchmarks/eval_code_corpus.py (README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import load_rules
from nightowl.secrets.scan import ScanOptions, scan_paths
from nightowl.secrets.score import confidence, value_confidence

CORPUS = Path(__file__).parents[1] / "fixtures" / "code_corpus" / "dev.jsonl"
LINES = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rules())


@pytest.mark.parametrize("item", LINES, ids=[x["id"] for x in LINES])
def test_dev_corpus_line(item, engine):
    hits = engine.scan(item["text"].encode(), path=f"snippet.{item['ext']}")
    found = {h.secret.decode() for h in hits}
    for secret in item["secrets"]:
        assert any(secret == f or (secret in f and len(secret) >= 0.6 * len(f)) for f in found), (
            f"missed {secret!r}"
        )
    labelled = item["secrets"] + item["maybe"]
    extra = [f for f in found if not any(f == x or f in x or x in f for x in labelled)]
    assert not extra, f"false hits {extra}"


def test_confidence_ranks_generated_values_above_weak_passwords_above_words():
    generated = value_confidence(b"q8ZtR2mW9vLx4NcP7kHs3bYd")
    chosen = value_confidence(b"Kp7#rVw2qLx9")
    weak = value_confidence(b"admin123")
    word = value_confidence(b"whiteKnight")
    number = value_confidence(b"123456")
    assert generated > weak > word and chosen > weak > number
    assert generated >= 0.8 and word <= 0.3


def test_format_rules_are_confident_whatever_the_value(engine):
    (hit,) = engine.scan(b'key = "AKIA' + b'Q3RZ7XKW2MPL5VNT"\n', path="a.env")
    assert confidence(hit.rule, hit.secret) >= 0.9


def test_min_confidence_drops_weak_findings(tmp_path):
    (tmp_path / "app.env").write_text("DB_PASSWORD=admin123\nAPI_SECRET=q8ZtR2mW9vLx4NcP7kHs3bYd\n")
    every = scan_paths([str(tmp_path)], ScanOptions(jobs=1))
    sure = scan_paths([str(tmp_path)], ScanOptions(jobs=1, min_confidence=0.6))
    assert len(every.secrets) == 2 and len(sure.secrets) == 1
    (kept,) = sure.secrets.values()
    assert kept.confidence >= 0.6 and kept.to_finding().to_dict()["confidence"] == kept.confidence


def test_a_generic_value_that_reads_past_a_specific_one_on_its_line_is_dropped(engine):
    line = b"oauth_token=7295011-Kq8Lm2Wz&oauth_token_secret=Zp4Lq9Wm2Xv7Kt3Nc8Hr5Bd\n"
    assert {h.rule.id: h.secret for h in engine.scan(line, path="notes.txt")} == {
        "generic.query-token": b"Zp4Lq9Wm2Xv7Kt3Nc8Hr5Bd"
    }
