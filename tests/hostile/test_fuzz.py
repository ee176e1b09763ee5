"""The fuzz targets of :mod:`tests.hostile.fuzz`, briefly: the kept corpus replayed, then a few
mutations of it per target (bytes flipped, inserted, deleted, spliced, cut). At length:
``NIGHTOWL_FUZZ_EXAMPLES=2000 pytest tests/hostile/test_fuzz.py``, or coverage-guided with atheris
(``python -m tests.hostile.fuzz TARGET``)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.fuzz import corpus, run, targets

EXAMPLES = int(os.environ.get("NIGHTOWL_FUZZ_EXAMPLES", "6"))
TARGETS = targets()


def test_every_reader_has_a_corpus():
    """A new reader needs a seed: a few records of its fixture in tests/hostile/corpus/<its name>/."""
    assert all(corpus(t) for t in TARGETS), [t for t in TARGETS if not corpus(t)]


@pytest.mark.parametrize("target", TARGETS)
def test_the_kept_corpus_replays(tmp_path, target):
    for path in corpus(target):
        run(target, path.read_bytes(), tmp_path)


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice", "cut", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(
                st.binary(max_size=64)
                | st.sampled_from([b'"', b"\r", b"\n", b"\x00", b"{", b"]", b",", b"\xff"])
            )
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 256))]
        elif op == "cut":
            del data[at:]
        elif op == "repeat" and data:
            end = min(len(data), at + draw(st.integers(1, 256)))
            data[at:at] = data[at:end] * draw(st.integers(1, 4))
    return bytes(data)


@pytest.mark.parametrize("target", TARGETS)
def test_mutations_end_accounted_or_in_one_clear_error(tmp_path_factory, target):
    seeds = [p.read_bytes() for p in corpus(target)]

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=mutated(seeds))
    def check(data: bytes) -> None:
        run(target, data, tmp_path_factory.mktemp("fuzz"))

    check()
