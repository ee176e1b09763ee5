"""How sure a finding is: a confidence in [0, 1] from the rule's kind and the value's shape.

A provider format (a documented prefix, checksum or structure) says "this is a credential" by itself;
a name-based rule (``password = ...``, a URL's user-info, a phrase in mail) only says "something was
put where a credential goes", so the value has to argue for itself: length, character classes,
entropy, and whether it has the shape of a word, an identifier or a number rather than of something
generated or chosen as a secret. ``--min-confidence`` trades recall for precision with it (the
filters already dropped what is plainly not a secret; this ranks what is left).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from nightowl.secrets.rules import Rule

# families whose rules find a credential by where it is written, not by its format
NAME_BASED = frozenset({"generic", "human", "connection-string", "http", "jenkins"})

_WORDISH = re.compile(rb"[A-Za-z]+")
_IDENTIFIER = re.compile(rb"_*[a-z]+(?:[_\-.][a-z0-9]+)+|_*[a-z]+(?:[A-Z][a-z0-9]+)+|(?:[A-Z][a-z]+){2,}")
_WORD_DIGITS = re.compile(rb"[A-Za-z]{2,12}[0-9]{1,6}[!@#$%&*?.]?")  # admin123, Abc1234, Summer2024!
_DIGITS = re.compile(rb"[0-9]+")


def _entropy(data: bytes) -> float:
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values()) if n else 0.0


def value_confidence(value: bytes) -> float:
    """How much a value looks generated or chosen as a secret (0.1 a word or number .. 0.95 random)."""
    s = value.strip()
    if not s:
        return 0.0
    if _DIGITS.fullmatch(s):
        return 0.3 if len(s) >= 6 else 0.2
    if _IDENTIFIER.fullmatch(s) or (s.isalpha() and len(s) < 16):
        return 0.25
    if _WORD_DIGITS.fullmatch(s):
        return 0.45  # a weak but real password shape
    classes = sum(bool(re.search(p, s)) for p in (rb"[a-z]", rb"[A-Z]", rb"[0-9]", rb"[^A-Za-z0-9]"))
    longest_word = max((len(m) for m in _WORDISH.findall(s)), default=0)
    score = 0.35 + 0.1 * classes + min(0.15, max(0.0, (len(s) - 8) * 0.015))
    if _entropy(s) >= 3.5:
        score += 0.1
    if longest_word >= 8 and longest_word >= len(s) * 0.5:
        score -= 0.15  # mostly one long word: "ai_interviewer_secret"
    return round(max(0.1, min(0.95, score)), 2)


def confidence(rule: Rule, value: bytes) -> float:
    """A finding's confidence: format rules start high, name-based rules lean on the value."""
    if rule.family not in NAME_BASED:
        return 0.95 if not rule.near else round(max(0.7, value_confidence(value)), 2)
    return value_confidence(value)
