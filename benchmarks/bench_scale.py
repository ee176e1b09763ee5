"""Does the default hunt keep flat memory and linear time as the input grows? One table from 1M sign-ins up.

    python benchmarks/bench_scale.py --sizes 1000000,4000000,16000000 --runs 3 --large-runs 1

Each run is ``nightowl hunt FILE --format json`` (no ``--store``: a large input goes to a temporary
on-disk store) in a fresh child process; ``os.wait4`` gives that child's own peak memory (max RSS)
and CPU time (user + sys). The machine is shared, so CPU seconds per event is the fairer measure
of time; wall time is reported too. Sizes are run round-robin (1M, 4M, 16M, 1M, ...) so every
ratio compares runs made under the same load, in this one invocation. Medians per size.

``--cache cold`` (the default) evicts the input file's pages from the page cache before each run
(``posix_fadvise(DONTNEED)``; no privileges needed), so every size reads its file from disk as a hunt
of a fresh export does. A 26 GB file cannot stay cached on this machine while a 1.7 GB one does, so
with ``--cache warm`` the ratios mix the cost of growing data with the cost of the disk.

Data: ``DATA/signins-N.jsonl``, a benign tenant written by ``nightowl simulate --preset benign
--seed 4242 --target-events N`` (generated here when missing, ``--generate``). Files live outside
the repository (default /work/benchdata; ``--data``): 16M sign-ins are about 25 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def dataset(data: Path, events: int, generate: bool) -> Path:
    """The benign tenant of about ``events`` Graph sign-ins (simulated once when ``generate``)."""
    target = data / f"signins-{events}.jsonl"
    if target.exists():
        return target
    if not generate:
        raise SystemExit(f"{target}: missing (run with --generate to simulate it)")
    data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sim-", dir=data) as tmp:
        t0 = time.perf_counter()
        simulate = ["simulate", "--preset", "benign", "--seed", "4242", "--target-events", str(events)]
        subprocess.run(
            [sys.executable, "-m", "nightowl", *simulate, "--out", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        os.replace(Path(tmp) / "signins.jsonl", target)
    print(f"simulated {target} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return target


def evict(path: Path) -> None:
    """Drop the file's clean pages from the page cache, so the next read comes from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def hunt_once(path: Path, extra: list[str], cold: bool = True) -> dict:
    """One ``nightowl hunt`` in a fresh child: wall and CPU seconds, peak RSS, events, findings."""
    if cold:
        evict(path)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "nightowl", "hunt", str(path), "--format", "json", *extra],
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"hunt {path} failed ({proc.returncode}):\n{err.read()[-2000:].decode()}")
        out.seek(0)
        doc = json.load(out)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "disk_gb": usage.ru_inblock * 512 / 1e9,  # what the child read from the disk, not the page cache
        "events": sum(i.get("normalized") or 0 for i in doc["inputs"]),
        "findings": len(doc["findings"]),
    }


def _limit(hunt_args: list[str]) -> str:
    """The memory limit the hunts ran under: ``--memory-limit`` among the hunt options, else the default."""
    from nightowl.store import default_memory_limit

    for i, arg in enumerate(hunt_args):
        if arg == "--memory-limit" and i + 1 < len(hunt_args):
            return hunt_args[i + 1]
        if arg.startswith("--memory-limit="):
            return arg.split("=", 1)[1]
    return f"{default_memory_limit()} (the default)"


def summarise(runs: list[dict]) -> dict:
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "peak_mb", "disk_gb")}
    return med | {"events": runs[0]["events"], "findings": runs[0]["findings"], "runs": runs}


def table(sizes: list[int], results: dict[int, dict]) -> list[str]:
    base = results[sizes[0]]
    lines = [
        "| sign-ins | file GB | runs | wall s | CPU s | CPU µs/event | wall µs/event | peak RSS MB "
        "| memory vs 1st | CPU/event vs 1st | wall/event vs 1st | read from disk GB | findings |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        r = results[n]
        cpu_ev, wall_ev = r["cpu"] / r["events"] * 1e6, r["wall"] / r["events"] * 1e6
        base_cpu, base_wall = base["cpu"] / base["events"] * 1e6, base["wall"] / base["events"] * 1e6
        lines.append(
            f"| {r['events']:,} | {r['gb']:.1f} | {len(r['runs'])} | {r['wall']:,.1f} | {r['cpu']:,.1f} | "
            f"{cpu_ev:.1f} | {wall_ev:.1f} | {r['peak_mb']:,.0f} | {r['peak_mb'] / base['peak_mb']:.2f}x | "
            f"{cpu_ev / base_cpu:.2f}x | {wall_ev / base_wall:.2f}x | {r['disk_gb']:.1f} | {r['findings']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,4000000,16000000", help="comma-separated sign-in counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per size")
    parser.add_argument(
        "--large-runs", type=int, default=None, help="runs for sizes above 4M (default --runs)"
    )
    parser.add_argument("--data", type=Path, default=Path("/work/benchdata"))
    parser.add_argument("--generate", action="store_true", help="simulate missing data files")
    parser.add_argument("--hunt-args", default="", help="extra hunt options, e.g. '--memory-limit 1GB'")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.md")
    parser.add_argument(
        "--cache",
        choices=("cold", "warm"),
        default="cold",
        help="cold: evict each input file from the page cache before its run (default); warm: leave it",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    paths = {n: dataset(args.data, n, args.generate) for n in sizes}
    planned = {n: args.runs if n == sizes[0] or args.large_runs is None else args.large_runs for n in sizes}
    runs: dict[int, list[dict]] = {n: [] for n in sizes}
    started = datetime.now(UTC)
    for round_ in range(max(planned.values())):
        for n in sizes:
            if round_ < planned[n]:
                r = hunt_once(paths[n], args.hunt_args.split(), cold=args.cache == "cold")
                runs[n].append(r)
                print(f"{n:>12,} run {round_ + 1}: " + json.dumps(r), file=sys.stderr, flush=True)
    results = {n: summarise(runs[n]) | {"gb": paths[n].stat().st_size / 1e9} for n in sizes}
    command = "python benchmarks/bench_scale.py " + " ".join(sys.argv[1:])
    limit = _limit(args.hunt_args.split())
    lines = [
        f"Command: `{command}`",
        "",
        f"Started {started:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores shared with other users (load "
        f"average at the end {os.getloadavg()[0]:.1f}); free disk {shutil.disk_usage(args.data).free / 1e9:.0f} GB.",
        "Each run: `nightowl hunt FILE --format json "
        + args.hunt_args
        + f"` in a fresh process (no --store; DuckDB memory limit {limit}; input file "
        + (
            "evicted from the page cache before each run"
            if args.cache == "cold"
            else "left in the page cache"
        )
        + "); "
        "medians of its runs; sizes run round-robin so ratios compare runs under the same load.",
        "",
        *table(sizes, results),
        "",
        "Runs (wall s / CPU s / peak MB): "
        + "; ".join(
            f"{n:,}: " + ", ".join(f"{r['wall']:.0f}/{r['cpu']:.0f}/{r['peak_mb']:.0f}" for r in runs[n])
            for n in sizes
        ),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
