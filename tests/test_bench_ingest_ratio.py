"""The ingest benchmark's paired ratio (benchmarks/bench_ingest.py): on a machine whose speed drifts,
each round compares two runs taken one right after the other."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bench_ingest", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ingest.py"
)
bench_ingest = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_ingest)


def _runs(seconds: list[float]) -> list[dict]:
    return [{"seconds": s, "cpu": 2 * s} for s in seconds]


def test_a_machine_that_speeds_up_between_rounds_does_not_move_the_paired_ratio():
    # the machine runs at half speed for the first rounds, then full speed: ours is always 1.5x the
    # reference in the same round, but the medians of each series fall in different minutes
    slow = [2.0, 2.0, 2.0, 1.0, 1.0]
    ours, ref = _runs([1.5 * 3 * s for s in slow]), _runs([3 * s for s in slow])
    ref[2]["seconds"] = 3.0  # the reference's middle run already at full speed
    medians = statistics.median(r["seconds"] for r in ours) / statistics.median(r["seconds"] for r in ref)
    assert medians == pytest.approx(3.0)  # 9 s (a slow minute) against 3 s (a fast one)
    assert bench_ingest.paired_ratio(ours, ref, "seconds") == pytest.approx(1.5)
    assert bench_ingest.paired_ratio(ours, ref, "cpu") == pytest.approx(1.5)


def test_rounds_must_pair_up():
    with pytest.raises(ValueError):
        bench_ingest.paired_ratio(_runs([1, 2]), _runs([1]), "seconds")


def test_the_reference_reads_every_field_nightowl_reads():
    # the acceptance compares nightowl with read_json "selecting the fields the schema needs": the
    # reference must select what nightowl's own read selects, no fewer (authenticationDetails included)
    from nightowl.sources.entra_graph import GRAPH

    columns = bench_ingest.schema_columns()
    for path in GRAPH.read_paths:
        for key in path.removeprefix("$.").split("."):
            assert key in columns, path
    assert "'authenticationDetails': 'VARCHAR'" in columns


def test_every_pair_compares_a_nightowl_step_with_a_reference_under_the_limits_it_names():
    # the benchmark reports nightowl against read_json as shipped and under equal limits: each pair
    # must name steps that run, nightowl's ingest first, and the equal-limit pairs must really be equal
    readers = {r.name: r for r in bench_ingest.READERS}
    assert len(readers) == len(bench_ingest.READERS)
    limits = set()
    for ours, ref, _ in bench_ingest.PAIRS:
        assert readers[ours].kind == "ingest" and readers[ref].kind == "read_json"
        limits.add((readers[ours].limit, readers[ref].limit))
    assert limits == {("ours", "duckdb"), ("ours", "ours"), ("duckdb", "duckdb")}


def test_the_fastest_runs_ratio_ignores_a_slow_outlier():
    ours = _runs([4.0, 9.0, 4.2])  # one round hit a busy minute
    ref = _runs([2.5, 2.6, 7.0])
    assert bench_ingest.fastest_ratio(ours, ref, "seconds") == pytest.approx(4.0 / 2.5)
    assert bench_ingest.fastest_ratio(ours, ref, "cpu") == pytest.approx(4.0 / 2.5)
