"""What the account-takeover detections cost: the whole hunt (ingest and every detection) of the same
benign tenant with and without them, in turn, in the same run.

    python benchmarks/bench_takeover.py --events 1000000 --runs 3     # the README's takeover figure

"Without" disables the five ``account_takeover`` rules by configuration, which also skips the
per-identity profiles (``profiles.sql``) they read: the hunt as it was before them. Each run is a
fresh subprocess (its peak memory its own); medians of ``--runs`` runs; the data is the labelled
simulator's benign tenant of ``bench_ingest.py`` (benchmarks/data/, ignored by git).

The store is the one ``nightowl hunt FILE`` opens (``Store.for_hunt``: a temporary file for an input
over 256 MB, as the 1M file is). Before 2026-12-07 this benchmark held the events in memory, which
no hunt of a file this large does; ``--store memory`` repeats that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import dataset, summary

STEP = r"""
import json, resource, sys, time
path, disable, in_memory = sys.argv[1], sys.argv[2] == "without", sys.argv[3] == "memory"
from nightowl.detections.catalog import load_all
from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.store import Store
config = None
if disable:
    config = {"detections": {d.id: {"enabled": False} for d in load_all() if d.category == "account_takeover"}}
t0 = time.perf_counter()
with Store() if in_memory else Store.for_hunt(None, [path]) as store:
    ingest_paths(store, [path], input_format="entra-graph-json")
    t_ingest = time.perf_counter() - t0
    findings = run_all(store, config)
seconds = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "cpu": use.ru_utime + use.ru_stime, "peak_mb": use.ru_maxrss / 1024,
                  "detect_seconds": seconds - t_ingest, "findings": len(findings),
                  "takeover_findings": sum(f.category == "account_takeover" for f in findings),
                  "takeover_medium_plus": sum(f.category == "account_takeover"
                                              and f.severity in ("medium", "high", "critical") for f in findings)}))
"""

MODES = {"without": "hunt without the takeover rules (before issue 11)", "with": "hunt with them"}


def step(mode: str, path: Path, store: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", STEP, str(path), mode, store], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--store",
        choices=("hunt", "memory"),
        default="hunt",
        help="hunt: the store `nightowl hunt FILE` opens (default); memory: events held in memory",
    )
    args = parser.parse_args()
    path = dataset(args.events)
    raw: dict[str, list[dict]] = {m: [] for m in MODES}
    for _ in range(args.runs):
        for mode in MODES:  # in turn, so both see the same load
            raw[mode].append(step(mode, path, args.store))
            print(mode, raw[mode][-1], file=sys.stderr, flush=True)
    res = {
        m: summary(v) | {"detect": sorted(r["detect_seconds"] for r in v)[len(v) // 2]}
        for m, v in raw.items()
    }
    before, after = res["without"], res["with"]
    print(f"File: {path.name}; store: {args.store}; median of {args.runs} runs, in turn.\n")
    print("| hunt | wall s | CPU s | detections s | peak memory (MB) | takeover findings (medium+) |")
    print("|---|---|---|---|---|---|")
    for mode, title in MODES.items():
        r = res[mode]
        print(
            f"| {title} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['detect']:.1f} | {r['peak_mb']:,.0f} | "
            f"{r['takeover_findings']} ({r['takeover_medium_plus']}) |"
        )
    print(
        f"\nwith / without: {after['seconds'] / before['seconds']:.2f}x wall, "
        f"{after['cpu'] / before['cpu']:.2f}x CPU, {after['peak_mb'] / before['peak_mb']:.2f}x peak memory"
    )
    print(
        "Runs, wall s (CPU s): "
        + "; ".join(
            f"{m}: " + ", ".join(f"{w} ({c})" for w, c in zip(r["runs"], r["cpu_runs"], strict=True))
            for m, r in res.items()
        )
    )


if __name__ == "__main__":
    main()
