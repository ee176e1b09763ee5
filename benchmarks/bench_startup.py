"""Time one-shot commands the way a pre-commit hook runs them: a new process each time.

In the same run, next to a bare ``python -c pass`` (the floor any Python tool pays), it times
``nightowl --version`` and ``nightowl secrets FILE`` on a one-line file (exit 1: one finding), the
caches warm (one untimed run first fills the compiled-rules and Hyperscan caches). Reported:
median, min and max wall time over ``--repeat`` runs, and the 1-minute load average before each
command's runs, and the median CPU time (user + sys) of the runs (on a shared machine the neighbours' load moves every figure; the bare-Python row
shows by how much, and each command's median is also given in bare-Python starts).

    python benchmarks/bench_startup.py [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + sys of the child) seconds of each run: on a shared machine the
    neighbours stretch the wall clock, far less the CPU a run needs."""
    subprocess.run(cmd, capture_output=True, check=False)  # warm: caches, page cache
    wall, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        wall.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    exe = shutil.which("nightowl") or sys.exit("nightowl is not on PATH (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "app.env"
        one.write_text('DB_PASSWORD="Kp7#rVw2qLx9"\n')
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "nightowl --version": [exe, "--version"],
            "nightowl secrets FILE": [exe, "secrets", str(one)],
        }
        print("| command | median s | x bare python | min s | max s | median CPU s | load before | runs |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        bare = None
        for name, cmd in runs.items():
            load = os.getloadavg()[0]
            t, cpu = timed(cmd, args.repeat)
            med = statistics.median(t)
            bare = bare or med  # the first row is the bare interpreter: the floor the others are measured in
            print(
                f"| `{name}` | {med:.3f} | {med / bare:.1f} | {min(t):.3f} | {max(t):.3f} "
                f"| {statistics.median(cpu):.3f} | {load:.1f} | {len(t)} |"
            )


if __name__ == "__main__":
    main()
