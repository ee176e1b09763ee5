"""Score the secret rules on labelled lines of code (JSON Lines: ext, text, secrets, maybe).

Each line is scanned as a file ``snippet.<ext>`` with every rule and filter (the defaults a user
gets). A reported value counts as found when it equals a labelled secret (or one holds the other and
the shorter is at least 60% of the longer: ``user:pass`` against ``pass``); a report that matches a
``maybe`` value is scored neither way; every other report is a false hit.

    python benchmarks/eval_code_corpus.py tests/fixtures/code_corpus/dev.jsonl [HELDOUT.jsonl] [--misses]
    python benchmarks/eval_code_corpus.py CORPUS.jsonl --min-confidence 0.5

The development half (``tests/fixtures/code_corpus/dev.jsonl``) was written for this repository and
the rules were tuned on it; the held-out half (lines of public repositories, labelled by hand before
any scan, kept outside the repository) was scored once, after the rules were final (README).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import load_rules
from nightowl.secrets.score import confidence


@dataclass
class Score:
    positives: int = 0
    found: int = 0
    reports: int = 0
    false_hits: int = 0
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 0.0

    @property
    def precision(self) -> float:
        scored = self.found + self.false_hits
        return self.found / scored if scored else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def same(found: str, label: str) -> bool:
    if found == label:
        return True
    short, long_ = sorted((found, label), key=len)
    return short in long_ and len(short) >= 0.6 * len(long_)


def score(path: Path, engine: Engine, min_confidence: float = 0.0) -> Score:
    s = Score()
    for raw in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(raw)
        hits = engine.scan(item["text"].encode(), path=f"snippet.{item['ext']}")
        values = {
            h.secret.decode("utf-8", "replace"): h.rule.id
            for h in hits
            if confidence(h.rule, h.secret) >= min_confidence
        }
        s.positives += len(item["secrets"])
        for label in item["secrets"]:
            if any(same(v, label) for v in values):
                s.found += 1
            else:
                s.misses.append(f"{item['id']}: {label!r} in {item['text'][:120]!r}")
        for value, rule in values.items():
            s.reports += 1
            if any(same(value, lab) for lab in item["secrets"] + item["maybe"]):
                continue
            s.false_hits += 1
            s.false.append(f"{item['id']}: {rule} {value!r} in {item['text'][:120]!r}")
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+", type=Path)
    ap.add_argument("--min-confidence", type=float, default=0.0)
    ap.add_argument("--misses", action="store_true", help="list misses and false hits on stderr")
    args = ap.parse_args()
    engine = Engine(load_rules())
    print("| corpus | lines | secrets | found | recall | reports | false hits | precision | F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in args.corpora:
        s = score(path, engine, args.min_confidence)
        lines = sum(1 for _ in path.open(encoding="utf-8"))
        print(
            f"| {path.name} | {lines} | {s.positives} | {s.found} | {s.recall:.1%} | {s.reports} | "
            f"{s.false_hits} | {s.precision:.1%} | {s.f1:.2f} |"
        )
        if args.misses:
            for m in s.misses:
                print(f"  miss  {m}", file=sys.stderr)
            for f in s.false:
                print(f"  false {f}", file=sys.stderr)


if __name__ == "__main__":
    main()
