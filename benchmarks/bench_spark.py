"""Spark and DuckDB on the same sign-ins: the same findings, and what each costs here.

    python benchmarks/bench_spark.py --data /work/benchdata/sim-1000000/signins.jsonl --runs 1

Every run is ``nightowl hunt ... --format json`` in a fresh child process, one after the other in
this one invocation (so all runs share the machine's load of the moment):

* ``duckdb``: ``nightowl hunt FILE`` (the default: read, normalize, detect on this machine);
* ``duckdb store``: ``nightowl hunt --store S`` on a store ingested beforehand (detection only);
* ``spark lake local[2]``: ``--engine spark --master local[2]`` on the Parquet lake written by
  ``nightowl ingest --parquet`` (detection only, as DuckDB's store run);
* ``spark raw local[2]``: the same on the raw NDJSON file (Spark reads and normalizes it);
* ``spark lake local-cluster[2,1,2048]``: two executor processes of one core and 2 GB each, so
  nothing relies on one JVM (skipped with ``--no-cluster``).

Wall time, and CPU time of the child *and of its JVM* (Spark's driver JVM is not waited for by
Python, so its CPU is read from /proc while it runs). Findings are compared as (id, category,
severity, users, addresses, compromised users); a difference fails the benchmark. Spark settings
come from Spark's own configuration (``PYSPARK_SUBMIT_ARGS`` here: driver memory, shuffle
partitions); medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SPARK_ARGS = "--driver-memory 4g --conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions={p}"


def _descendants_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of every live descendant of ``root``, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    out = {}
    for pid in cpu:
        p = parent.get(pid)
        while p and p != root and p in parent:
            p = parent[p]
        if p == root:
            out[pid] = cpu[pid]
    return out


def hunt(args: list[str], env_extra: dict[str, str] | None = None) -> dict:
    """One ``nightowl hunt ... --format json`` in a fresh child: wall, CPU (child + its JVM), findings."""
    env = {**os.environ, **(env_extra or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "nightowl", "hunt", *args, "--format", "json"],
            stdout=out,
            stderr=err,
            env=env,
        )
        seen: dict[int, float] = {}
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.5):
                seen.update(_descendants_cpu(proc.pid))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        poller.join()
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            raise SystemExit(f"hunt {' '.join(args)} failed ({code}):\n{err.read()[-3000:].decode()}")
        out.seek(0)
        doc = json.load(out)
    keys = sorted(
        (f["id"], f["category"], f["severity"], tuple(sorted(f.get("users") or [])),
         tuple(sorted(f.get("source_ips") or [])), tuple(sorted(f.get("compromised_users") or [])))
        for f in doc["findings"]
    )  # fmt: skip
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime + sum(seen.values()),
        "events": (doc.get("overview") or {}).get("events")
        or sum(i.get("normalized") or 0 for i in doc["inputs"]),
        "findings": len(keys),
        "keys": keys,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="Graph sign-in NDJSON (e.g. 1M sign-ins)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="folder for the store and the lake")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--no-cluster", action="store_true", help="skip the local-cluster run")
    parser.add_argument("--no-raw", action="store_true", help="skip Spark on the raw NDJSON")
    parser.add_argument("--out", type=Path, default=RESULTS / "spark.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-spark-", dir=args.work))
    store, lake = work / "store.duckdb", work / "lake"
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nightowl", "ingest", str(args.data), "--store", str(store), "--parquet", str(lake)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ingest_s = time.perf_counter() - t0
    spark_env = {"PYSPARK_SUBMIT_ARGS": SPARK_ARGS.format(p=args.shuffle_partitions) + " pyspark-shell"}
    plan = [
        ("duckdb (read + detect)", [str(args.data)], None),
        ("duckdb store (detect)", ["--store", str(store)], None),
        ("spark lake local[2] (detect)", ["--engine", "spark", "--master", "local[2]", str(lake)], spark_env),
    ]
    if not args.no_raw:
        plan.append(
            ("spark raw local[2] (read + detect)", ["--engine", "spark", "--master", "local[2]", str(args.data)],
             spark_env)
        )  # fmt: skip
    if not args.no_cluster:
        plan.append(
            ("spark lake local-cluster[2,1,2048] (detect)",
             ["--engine", "spark", "--master", "local-cluster[2,1,2048]", str(lake)], spark_env)
        )  # fmt: skip
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in plan}
    for i in range(args.runs):
        for name, hunt_args, env in plan:
            r = hunt(hunt_args, env)
            runs[name].append(r)
            print(f"{name} run {i + 1}: wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, "
                  f"{r['events']:,} events, {r['findings']} findings", file=sys.stderr, flush=True)  # fmt: skip
    reference = runs[plan[0][0]][0]["keys"]
    same = {name: all(r["keys"] == reference for r in rs) for name, rs in runs.items()}
    command = "python benchmarks/bench_spark.py " + " ".join(sys.argv[1:])
    lines = [
        f"Command: `{command}`",
        "",
        f"Started {started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores shared with other users (load average "
        f"at the end {os.getloadavg()[0]:.1f}). Input: {args.data.name}, {args.data.stat().st_size / 1e9:.2f} GB. "
        f"Store + lake written once beforehand by `nightowl ingest --store --parquet` in {ingest_s:.0f} s. "
        f"Spark: `PYSPARK_SUBMIT_ARGS='{spark_env['PYSPARK_SUBMIT_ARGS']}'`. Medians of {args.runs} run(s); "
        "CPU is the child's plus its JVM's (user + system).",
        "",
        "| run | events | wall s | CPU s | findings | same findings as duckdb |",
        "|---|---|---|---|---|---|",
    ]
    for name, rs in runs.items():
        lines.append(
            f"| {name} | {rs[0]['events']:,} | {statistics.median(r['wall'] for r in rs):,.1f} | "
            f"{statistics.median(r['cpu'] for r in rs):,.1f} | {rs[0]['findings']} | {'yes' if same[name] else 'NO'} |"
        )
    lines += ["", "Runs (wall s / CPU s): " + "; ".join(
        f"{n}: " + ", ".join(f"{r['wall']:.0f}/{r['cpu']:.0f}" for r in rs) for n, rs in runs.items())]  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not all(same.values()):
        raise SystemExit("findings differ between engines")


if __name__ == "__main__":
    main()
