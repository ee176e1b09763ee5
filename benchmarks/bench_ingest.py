"""Ingest and hunt speed on generated Entra Graph NDJSON sign-ins, next to DuckDB's own read.

    python benchmarks/bench_ingest.py --events 1000000 --runs 3          # the README's ingest figure
    python benchmarks/bench_ingest.py --scale 100000,1000000,10000000     # the hunt scaling table

Each measured step runs in a fresh subprocess so its peak memory (max RSS) is its own. The
reference is DuckDB materialising the same file with ``read_json_auto`` (every column parsed,
nothing normalized) in the same run. Medians of ``--runs`` runs. Data is generated with the
labelled simulator (benign tenant, scaled by ``target_events``) into benchmarks/data/ (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

STEP = r"""
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if kind == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json_auto('{path}', format='newline_delimited')")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    findings = None
else:
    from nightowl.ingest import ingest_paths
    from nightowl.store import Store
    with Store() as store:
        reports = ingest_paths(store, [path], input_format="entra-graph-json")
        rows = sum(r.tally.normalized for r in reports)
        quarantined = sum(r.tally.quarantined for r in reports)
        t_ingest = time.perf_counter() - t0
        findings = None
        if kind == "hunt":
            from nightowl.detections.runner import run_all
            findings = len(run_all(store))
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_mb, "findings": findings,
                  "ingest_seconds": None if kind == "duckdb" else t_ingest}))
"""


def dataset(events: int) -> Path:
    """Generate (once) a benign tenant of about ``events`` Graph sign-ins."""
    target = DATA / f"signins-{events}.jsonl"
    if target.exists():
        return target
    from nightowl.simulate import SimConfig, simulate

    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"sim-{events}"
    t0 = time.perf_counter()
    result = simulate(SimConfig.benign(seed=4242, users=20, days=7, target_events=events), out)
    os.replace(result.files["signins"], target)
    print(
        f"generated {result.signin_count:,} sign-ins in {time.perf_counter() - t0:.0f} s -> {target}",
        file=sys.stderr,
    )
    return target


def step(kind: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", STEP, kind, str(path)], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_of(kind: str, path: Path, runs: int) -> dict:
    results = [step(kind, path) for _ in range(runs)]
    best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    return best | {"runs": [round(r["seconds"], 2) for r in results]}


def ingest_table(events: int, runs: int) -> str:
    path = dataset(events)
    size_mb = path.stat().st_size / 1e6
    ours = median_of("ingest", path, runs)
    ref = median_of("duckdb", path, runs)
    rate = ours["rows"] / ours["seconds"]
    return "\n".join(
        [
            f"File: {ours['rows']:,} Entra Graph sign-ins, {size_mb:,.0f} MB NDJSON; median of {runs} runs, 2 cores.",
            "",
            "| reader | median seconds | records/s | MB/s | peak memory (MB) |",
            "|---|---|---|---|---|",
            f"| nightowl ingest (normalized, deduplicated, accounted) | {ours['seconds']:.1f} | {rate:,.0f} | "
            f"{size_mb / ours['seconds']:,.0f} | {ours['peak_mb']:,.0f} |",
            f"| DuckDB `read_json_auto` into a table | {ref['seconds']:.1f} | {ref['rows'] / ref['seconds']:,.0f} | "
            f"{size_mb / ref['seconds']:,.0f} | {ref['peak_mb']:,.0f} |",
            "",
            f"nightowl / DuckDB time: {ours['seconds'] / ref['seconds']:.2f}x (runs: ours {ours['runs']}, DuckDB {ref['runs']})",
        ]
    )


def scale_table(sizes: list[int], runs: int) -> str:
    lines = [
        "| sign-ins | ingest s | ingest + all detections s | events/s end to end | peak memory (MB) | findings |",
        "|---|---|---|---|---|---|",
    ]
    for n in sizes:
        r = median_of("hunt", dataset(n), runs if n <= 1_000_000 else 1)
        lines.append(
            f"| {r['rows']:,} | {r['ingest_seconds']:.1f} | {r['seconds']:.1f} | "
            f"{r['rows'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} | {r['findings']} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--scale", type=str, default="", help="comma-separated sizes for the hunt scaling table"
    )
    args = parser.parse_args()
    if args.scale:
        print(scale_table([int(s) for s in args.scale.split(",")], args.runs))
    else:
        print(ingest_table(args.events, args.runs))
    print(
        f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, max RSS of this driver "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )


if __name__ == "__main__":
    main()
