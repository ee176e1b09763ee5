"""Does a learned value classifier earn its place next to the rules and filters? (an experiment)

A logistic regression (scikit-learn, ``pip install scikit-learn``) over the shape of a value found by a
name-based rule (length, character classes, entropy, word / identifier / number shapes, words that
name or stand in for a secret, test and example context on the line). Training data is what the
repository has: every name-based rule's own positive and negative examples and the development code
corpus (tests/fixtures/code_corpus/dev.jsonl), each regex candidate labelled by whether it is a
marked / labelled secret. Deterministic (liblinear, fixed data order).

The learned probability then gates the rules' findings (a name-based finding below ``--threshold`` is
dropped) and each corpus given is scored with and without the gate, the same way as
benchmarks/eval_code_corpus.py:

    python benchmarks/value_model.py tests/fixtures/code_corpus/dev.jsonl HELDOUT.jsonl [--threshold 0.5]

README (Secrets in code) has the figures and why no model ships.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from pathlib import Path

from eval_code_corpus import Score, same

from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import example_text, load_rules
from nightowl.secrets.score import NAME_BASED

DEV = Path(__file__).parents[1] / "tests" / "fixtures" / "code_corpus" / "dev.jsonl"
STAND_IN = re.compile(
    rb"(?i)test|example|sample|dummy|fake|mock|changeme|change[-_]?me|your|placeholder|secret|passw|token|key"
)
TEST_LINE = re.compile(rb"(?i)\b(?:test|tests|spec|mock|fake|dummy|example|assert|expect)\b")
FEATURES = (
    "log_len", "lower", "upper", "digit", "symbol", "classes", "entropy", "digit_share", "alpha_share",
    "all_digits", "identifier", "word_digits", "longest_word_share", "spaces", "stand_in", "test_line",
    "quoted", "key_password", "key_token",
)  # fmt: skip
_WORD = re.compile(rb"[A-Za-z]+")
_IDENT = re.compile(rb"_*[a-z]+(?:[_\-.][a-z0-9]+)+|_*[a-z]+(?:[A-Z][a-z0-9]+)+|(?:[A-Z][a-z]+){2,}")
_WORD_DIGITS = re.compile(rb"[A-Za-z]{2,12}[0-9]{1,6}[!@#$%&*?.]?")


def features(value: bytes, key: bytes | None, line: bytes, quoted: bool) -> list[float]:
    s = value.strip() or value
    n = len(s) or 1
    counts = Counter(s)
    ent = -sum(c / n * math.log2(c / n) for c in counts.values())
    lower = any(97 <= b <= 122 for b in s)
    upper = any(65 <= b <= 90 for b in s)
    digit = any(48 <= b <= 57 for b in s)
    symbol = any(not (chr(b).isalnum()) for b in s)
    longest = max((len(m) for m in _WORD.findall(s)), default=0)
    k = (key or b"").lower()
    return [
        math.log(n),
        float(lower),
        float(upper),
        float(digit),
        float(symbol),
        float(lower + upper + digit + symbol),
        ent,
        sum(48 <= b <= 57 for b in s) / n,
        sum(chr(b).isalpha() for b in s) / n,
        float(s.isdigit()),
        float(bool(_IDENT.fullmatch(s))),
        float(bool(_WORD_DIGITS.fullmatch(s))),
        longest / n,
        float(s.count(b" ")),
        float(bool(STAND_IN.search(s))),
        float(bool(TEST_LINE.search(line))),
        float(quoted),
        float(b"pass" in k or b"pwd" in k),
        float(b"token" in k or b"key" in k or b"secret" in k),
    ]


def _line_of(data: bytes, start: int) -> bytes:
    ls = data.rfind(b"\n", 0, start) + 1
    le = data.find(b"\n", start)
    return data[ls : le if le >= 0 else len(data)]


def candidates(engine: Engine, text: str) -> list[tuple[bytes, list[float]]]:
    """Every name-based rule's regex candidate in ``text`` (before filters), with its features."""
    data = text.encode()
    out = []
    for i, rule in enumerate(engine.rules):
        if rule.family not in NAME_BASED:
            continue
        raw: list = []
        engine._confirm(i, rule, data, 0, len(data), raw)
        for start, _i, _rule, secret, key, quoted in raw:
            out.append((secret, features(secret, key, _line_of(data, start), quoted)))
    return out


def training_set(engine: Engine) -> tuple[list[list[float]], list[int]]:
    xs, ys = [], []

    def add(text: str, secrets: list[str], maybe: list[str]) -> None:
        for value, f in candidates(engine, text):
            v = value.decode("utf-8", "replace")
            if any(same(v, s) for s in secrets):
                xs.append(f)
                ys.append(1)
            elif not any(same(v, m) for m in maybe):
                xs.append(f)
                ys.append(0)

    for rule in engine.rules:
        if rule.family not in NAME_BASED:
            continue
        for ex in rule.positive:
            text, marked = example_text(ex)
            add(text, marked, [])
        for ex in rule.negative:
            add(ex, [], [])
    for raw in DEV.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        add(item["text"], item["secrets"], item["maybe"])
    return xs, ys


def probability(model, f: list[float]) -> float:
    return float(model.predict_proba([f])[0][1])


def score(path: Path, engine: Engine, model, threshold: float) -> Score:
    s = Score()
    for raw in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        data = item["text"].encode()
        values = {}
        for h in engine.scan(data, path=f"snippet.{item['ext']}"):
            if model is not None and h.rule.family in NAME_BASED:
                line = _line_of(data, h.offset)
                f = features(h.secret, None, line, True)
                if probability(model, f) < threshold:
                    continue
            values[h.secret.decode("utf-8", "replace")] = h.rule.id
        s.positives += len(item["secrets"])
        s.found += sum(any(same(v, lab) for v in values) for lab in item["secrets"])
        for value in values:
            s.reports += 1
            if not any(same(value, lab) for lab in item["secrets"] + item["maybe"]):
                s.false_hits += 1
    return s


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--threshold", type=float, default=0.5)
    args = ap.parse_args()
    engine = Engine(load_rules())
    xs, ys = training_set(engine)
    model = LogisticRegression(solver="liblinear", C=1.0, max_iter=1000).fit(xs, ys)
    print(f"training candidates: {len(ys)} ({sum(ys)} secrets) from rule examples and {DEV.name}")
    print("| corpus | gate | found | recall | false hits | precision | F1 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in args.corpora:
        for name, m in (("rules only", None), (f"rules + model >= {args.threshold}", model)):
            s = score(path, engine, m, args.threshold)
            print(
                f"| {path.name} | {name} | {s.found}/{s.positives} | {s.recall:.1%} | {s.false_hits} | "
                f"{s.precision:.1%} | {s.f1:.2f} |"
            )


if __name__ == "__main__":
    main()
