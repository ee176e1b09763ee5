"""Time variants of detection statements against each other, in one process, on one store.

    python benchmarks/statement_ab.py STORE travel_legs old_rule.sql new_rule.sql --runs 3
    python benchmarks/statement_ab.py STORE signin_firsts,signin_combos old.sql new.sql --memory-limit 128MB

Runs the hunt's detections on STORE (read-only) up to the first statement that creates one of the
named TEMP tables; there it runs, alternately and ``--runs`` times, each SQL file's statements that
create those tables (a variant may build them in fewer statements), prints each run's CPU seconds
(user + sys of this process) and the medians, and stops. Every variant reads the same tables (each run
replaces the tables the run before built), so the noise of a shared machine and the cost of the
statements before cancel out more than across separate hunts. Each
run also prints the last table's row count and an order-independent hash of its rows: equal hashes
mean the variants built the same table (when they give it the same columns).
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
from pathlib import Path

from nightowl.detections.runner import split_statements
from nightowl.engines import duckdb as engine
from nightowl.pipeline import detect
from nightowl.store import Store


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Done(Exception):
    pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", help="a store file (nightowl ingest --store)")
    ap.add_argument("tables", help="comma-separated TEMP tables the variants create")
    ap.add_argument("files", nargs="+", help="SQL files (a rule or prepare/profiles script), one per variant")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory limit (default: the hunt's default)")
    args = ap.parse_args()
    tables = args.tables.split(",")
    creates = re.compile(r"TEMP TABLE (" + "|".join(map(re.escape, tables)) + r") AS")
    variants = {
        f: [s for s in split_statements(Path(f).read_text(encoding="utf-8")) if creates.search(s)]
        for f in args.files
    }
    for f, statements in variants.items():
        if not statements:
            ap.error(f"{f} creates none of {args.tables}")
    original = engine.DuckDBEngine.execute
    times: dict[str, list[float]] = {f: [] for f in variants}

    def execute(self, sql, params=None):
        if not creates.search(sql):
            return original(self, sql, params)
        for run in range(args.runs):
            for f, statements in variants.items():
                before = _cpu()
                for statement in statements:
                    original(self, statement, params)
                times[f].append(_cpu() - before)
                rows, digest = self.con.execute(
                    f"SELECT count(*), sum(hash(t)) FROM {tables[-1]} t"
                ).fetchone()
                print(
                    f"run {run + 1} {f}: {times[f][-1]:.2f} s CPU, {rows:,} rows, hash {digest}", flush=True
                )
        raise Done

    engine.DuckDBEngine.execute = execute
    with Store(args.store, args.memory_limit, read_only=True) as store:
        try:
            detect(engine.DuckDBEngine(store), None)
        except Done:
            pass
        else:
            raise SystemExit(f"no statement created {args.tables}")
        print(f"memory limit {store.memory_limit}, {store.event_count():,} events")
    for f, xs in times.items():
        print(f"{f}: median {statistics.median(xs):.2f} s CPU ({', '.join(f'{x:.2f}' for x in xs)})")


if __name__ == "__main__":
    main()
