"""One invalid UTF-8 byte in a large Graph NDJSON file: does it cost the whole file the slow path?

    python benchmarks/bench_bad_byte.py --events 200000 --runs 3
    python benchmarks/bench_bad_byte.py --events 200000 --runs 3 --gzip   # the same, gzip-compressed

Two files of the same generated sign-ins (the repository's Graph fixture record, ids varied): a
clean one (the reference, in the same run) and a copy with one 0xFF byte inside a user agent in
the middle of the file. Each ingest runs in a fresh subprocess (so its peak RSS is its own); the
medians of ``--runs`` runs of wall time, CPU time (user + system) and peak RSS are printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
FIXTURE = ROOT / "tests" / "fixtures" / "entra" / "graph_v1.jsonl"

STEP = r"""
import json, resource, sys, time
from nightowl.ingest import ingest_paths
from nightowl.store import Store
t0, c0 = time.perf_counter(), time.process_time()
with Store() as store:
    (report,) = ingest_paths(store, [sys.argv[1]], input_format="entra-graph-json")
t = report.tally
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "normalized": t.normalized, "quarantined": t.quarantined}))
"""


def make(events: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    clean, bad = DATA / f"graph_{events}.jsonl", DATA / f"graph_{events}_badbyte.jsonl"
    if clean.exists() and bad.exists():
        return clean, bad
    base = json.loads(FIXTURE.read_text().splitlines()[0])
    with open(clean, "wb") as fc, open(bad, "wb") as fb:
        for i in range(events):
            rec = dict(base, id=f"bench-{i:09d}", userPrincipalName=f"user{i % 5000}@contoso.com")
            line = json.dumps(rec).encode() + b"\n"
            fc.write(line)
            if i == events // 2:
                line = line.replace(b'"userPrincipalName": "', b'"userPrincipalName": "\xff', 1)
            fb.write(line)
    return clean, bad


def _gzipped(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    if not out.exists():
        with open(path, "rb") as src, gzip.open(out, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
    return out


def measure(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout[out.stdout.rindex('{"seconds"') :])  # after any progress bar


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--gzip", action="store_true", help="read gzip-compressed copies of both files")
    args = ap.parse_args()
    clean, bad = make(args.events)
    if args.gzip:
        clean, bad = _gzipped(clean), _gzipped(bad)
    print(f"{args.events} sign-ins, {clean.stat().st_size / 1e6:.0f} MB on disk; medians of {args.runs} runs")
    for label, path in (("clean (reference)", clean), ("one bad byte", bad)):
        runs = [measure(path) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("seconds", "cpu", "peak_mb")}
        last = runs[-1]
        print(
            f"{label:18} wall {med['seconds']:6.1f} s  cpu {med['cpu']:6.1f} s  peak {med['peak_mb']:6.0f} MB"
            f"  normalized {last['normalized']}  quarantined {last['quarantined']}"
        )


if __name__ == "__main__":
    main()
