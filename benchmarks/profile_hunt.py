"""Where one hunt's CPU goes: ingest, then every detection statement, timed one by one.

    python benchmarks/profile_hunt.py /work/benchdata/scale/signins-16000000.jsonl --top 22

Runs like ``nightowl hunt FILE`` (a temporary on-disk store, the default memory limit) in this
process and prints CPU and wall seconds per statement, and CPU microseconds per event, so two sizes
show which statements grow faster than the events.
"""

from __future__ import annotations

import argparse
import resource
import time

from nightowl.engines import duckdb as engine
from nightowl.ingest import ingest_paths
from nightowl.pipeline import detect
from nightowl.store import Store


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=22)
    args = ap.parse_args()
    stats: list[tuple[float, float, str]] = []

    def timed(orig):
        def run(self, sql, params=None):
            c, t = _cpu(), time.perf_counter()
            out = orig(self, sql, params)
            stats.append((_cpu() - c, time.perf_counter() - t, " ".join(sql.split())[:100]))
            return out

        return run

    engine.DuckDBEngine.execute = timed(engine.DuckDBEngine.execute)
    engine.DuckDBEngine.fetch = timed(engine.DuckDBEngine.fetch)
    with Store(None, scratch=True) as store:
        c0, t0 = _cpu(), time.perf_counter()
        ingest_paths(store, [args.file])
        c1, t1 = _cpu(), time.perf_counter()
        findings = detect(engine.DuckDBEngine(store), None)
        c2, t2 = _cpu(), time.perf_counter()
        n = store.event_count()
    print(
        f"{n:,} events | ingest CPU {c1 - c0:.1f} s, wall {t1 - t0:.1f} s, {1e6 * (c1 - c0) / n:.2f} µs/event"
        f" | detection CPU {c2 - c1:.1f} s, wall {t2 - t1:.1f} s, {1e6 * (c2 - c1) / n:.2f} µs/event"
        f" | {len(findings)} findings, {len(stats)} statements"
    )
    for cpu, wall, sql in sorted(stats, reverse=True)[: args.top]:
        print(f"{cpu:7.2f} s CPU {wall:7.2f} s wall {1e6 * cpu / n:6.2f} µs/event  {sql}")


if __name__ == "__main__":
    main()
