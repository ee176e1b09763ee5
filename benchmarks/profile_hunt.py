"""Where one hunt's CPU goes: ingest, then every detection statement, timed one by one.

    python benchmarks/profile_hunt.py /work/benchdata/scale/signins-16000000.jsonl --top 22
    python benchmarks/profile_hunt.py hunt.duckdb --store --memory-limit 256MB   # detection only
    python benchmarks/profile_hunt.py hunt.duckdb --store --findings out.json     # and its findings
    python benchmarks/profile_hunt.py hunt.duckdb --store --memory-trace           # where the memory goes

Runs like ``nightowl hunt FILE`` (a temporary on-disk store, the default memory limit) in this
process and prints CPU and wall seconds per statement, and CPU microseconds per event, so two sizes
show which statements grow faster than the events.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time

from nightowl.engines import duckdb as engine
from nightowl.ingest import ingest_paths
from nightowl.pipeline import detect
from nightowl.store import Store


def _label(sql: str) -> str:
    """A statement's first 100 characters without its leading comments (they name the previous step)."""
    code = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return " ".join(" ".join(code).split())[:100]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _memory(con) -> str:
    """DuckDB's memory by tag (MB in memory / MB in the temp directory) and its temporary files' size."""
    tags = con.execute(
        "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()"
        " WHERE memory_usage_bytes + temporary_storage_bytes > 0 ORDER BY tag"
    ).fetchall()
    files = con.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()").fetchall()[0][0]
    used = " ".join(f"{tag} {mem >> 20}/{tmp >> 20}" for tag, mem, tmp in tags)
    return f"temp files {files >> 20:,} MB | MB in memory/spilled: {used}"


class SpillWatch:
    """The largest size of DuckDB's temp directory since the last ``take()``, sampled every 0.1 s (it
    also holds what operators spill while a statement runs, which is gone when the statement ends)."""

    def __init__(self, folder: str) -> None:
        self.folder, self.peak = folder, 0
        threading.Thread(target=self._watch, daemon=True).start()

    def _size(self) -> int:
        try:
            return sum(e.stat().st_size for e in os.scandir(self.folder) if e.is_file())
        except OSError:
            return 0

    def _watch(self) -> None:
        while True:
            self.peak = max(self.peak, self._size())
            time.sleep(0.1)

    def take(self) -> int:
        peak, self.peak = max(self.peak, self._size()), 0
        return peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", help="sign-ins to ingest, or with --store an existing store file to hunt")
    ap.add_argument("--store", action="store_true", help="FILE is a store: skip ingest, hunt it read-only")
    ap.add_argument("--top", type=int, default=22)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit (default: the hunt's default)")
    ap.add_argument(
        "--findings", help="also write the findings here as JSON ({'findings': [...]}, to compare runs)"
    )
    ap.add_argument(
        "--memory-trace",
        action="store_true",
        help="after each statement, print DuckDB's memory by tag and its temporary files' size",
    )
    args = ap.parse_args()
    stats: list[tuple[float, float, str]] = []
    peaks: list[tuple[float, float, str]] = []  # statements that raised the process's peak memory
    watch: list[SpillWatch] = []

    def timed(orig):
        def run(self, sql, params=None):
            c, t, m = _cpu(), time.perf_counter(), _peak_mb()
            try:
                out = orig(self, sql, params)
            except Exception:
                print("FAILED:", _label(sql))
                raise
            stats.append((_cpu() - c, time.perf_counter() - t, _label(sql)))
            if _peak_mb() > m:
                peaks.append((m, _peak_mb(), stats[-1][2]))
            if watch:
                print(
                    f"{stats[-1][0]:6.2f} s CPU | temp dir peak {watch[0].take() >> 20:,} MB |"
                    f" {_memory(self.con)} | {stats[-1][2][:60]}",
                    flush=True,
                )
            return out

        return run

    engine.DuckDBEngine.execute = timed(engine.DuckDBEngine.execute)
    engine.DuckDBEngine.fetch = timed(engine.DuckDBEngine.fetch)
    store = Store(args.file, args.memory_limit, read_only=True) if args.store else None
    with store or Store(None, args.memory_limit, scratch=True) as store:
        c0, t0 = _cpu(), time.perf_counter()
        if not args.store:
            ingest_paths(store, [args.file])
        c1, t1, m1 = _cpu(), time.perf_counter(), _peak_mb()
        if args.memory_trace:
            watch.append(
                SpillWatch(store.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
            )
        findings = detect(engine.DuckDBEngine(store), None)
        c2, t2 = _cpu(), time.perf_counter()
        n = store.event_count()
        limit = store.memory_limit
    print(
        f"{n:,} events | ingest CPU {c1 - c0:.1f} s, wall {t1 - t0:.1f} s, {1e6 * (c1 - c0) / n:.2f} µs/event"
        f" | detection CPU {c2 - c1:.1f} s, wall {t2 - t1:.1f} s, {1e6 * (c2 - c1) / n:.2f} µs/event"
        f" | {len(findings)} findings, {len(stats)} statements | memory limit {limit}"
    )
    if args.findings:
        with open(args.findings, "w", encoding="utf-8") as out:
            json.dump({"findings": [f.to_dict() for f in findings]}, out, indent=1)
    for cpu, wall, sql in sorted(stats, reverse=True)[: args.top]:
        print(f"{cpu:7.2f} s CPU {wall:7.2f} s wall {1e6 * cpu / n:6.2f} µs/event  {sql}")
    print(
        f"peak memory: {m1:,.0f} MB after ingest, {_peak_mb():,.0f} MB at the end; detection statements that raised it:"
    )
    for before, after, sql in peaks:
        print(f"  {before:7,.0f} -> {after:7,.0f} MB  {sql}")


if __name__ == "__main__":
    main()
