"""Where nightowl's ingest spends the time DuckDB's own ``read_json`` does not: the same file read in
steps, each the one before plus one thing, all under nightowl's memory limit.

    python benchmarks/bench_ingest_steps.py --file /work/benchdata/signins-1000000.jsonl --runs 3

1. ``read_json``: DuckDB's ``read_json`` of the fields nightowl reads, the whole file, DuckDB's own reads;
2. ``read_json_parts``: the file cut into parts served through nightowl's fsspec file system, each part's
   lines numbered by ``row_number() OVER ()`` (one ordered scan per part): what nightowl's read does
   before it normalizes;
3. ``ingest``: nightowl's ingest (normalizing SQL, ``record_ref``, the content key thread, bookkeeping).

The parts without numbering are not a step: DuckDB then reads each part on several threads through the
Python file system, which took more CPU than numbering them (9.1 against 6.9 s on the 1M file), and
nightowl never reads them so.

Each step is bench_ingest.py's program for it, run in a fresh subprocess (its own CPU time, minor
page faults and peak memory), the steps in turn within a round; medians over ``--runs`` rounds.
bench_ingest.py is the comparison the acceptance asks for (nightowl against ``read_json`` with
DuckDB's default limit)."""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

# bench_ingest.py's step programs, in order
STEPS = {
    "read_json": "`read_json` of the fields nightowl reads, the whole file",
    "read_json_parts": "the same, the file in parts served through the Python file system, each part's lines numbered",
    "ingest": "nightowl's ingest",
}


def table(results: dict[str, list[dict]]) -> str:
    """The steps' medians, and each step's CPU beside the step before it."""
    lines = [
        "| step | wall s | CPU s (user + sys) | CPU beside the step before | minor faults | peak MB |",
        "|---|---|---|---|---|---|",
    ]
    before = None
    for kind, runs in results.items():
        med = {
            k: statistics.median(r[k] for r in runs) for k in ("seconds", "user", "sys", "faults", "peak_mb")
        }
        cpu = statistics.median(r["user"] + r["sys"] for r in runs)
        delta = "" if before is None else f"{cpu - before:+.2f} s"
        lines.append(
            f"| {STEPS[kind]} | {med['seconds']:.2f} | {cpu:.2f} ({med['user']:.2f} + {med['sys']:.2f}) | "
            f"{delta} | {med['faults']:,.0f} | {med['peak_mb']:,.0f} |"
        )
        before = cpu
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, required=True, help="a Graph NDJSON file of sign-ins")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="", help="DuckDB memory limit (default: nightowl's)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_ingest import step

    from nightowl.store import default_memory_limit

    limit = args.memory_limit or default_memory_limit()
    results: dict[str, list[dict]] = {k: [] for k in STEPS}
    for _ in range(args.runs):
        for kind in STEPS:
            results[kind].append(step(kind, args.file, limit))
            print(kind, results[kind][-1], file=sys.stderr, flush=True)
    rows = {r["rows"] for runs in results.values() for r in runs}
    if len(rows) != 1:
        raise SystemExit(f"the steps read different numbers of rows: {sorted(rows)}")
    print(
        f"File: {args.file.name}, {rows.pop():,} rows; memory limit {limit}; median of {args.runs} rounds.\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
