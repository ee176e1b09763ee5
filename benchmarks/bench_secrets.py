"""Time ``nightowl secrets`` on a real repository's full history, next to detect-secrets.

The repository is built by committing successive released versions of a large PyPI project's
sdist (Django by default), one commit per version, so history holds many similar blobs, as real
histories do. In the same run detect-secrets (``pip install detect-secrets``) scans the final
work tree. Reported: medians over ``--repeat`` runs.

* nightowl MB/s = bytes of unique text blobs scanned across the whole history / wall time
  (index + read through ``git cat-file --batch`` + Hyperscan + confirm + aggregation);
* detect-secrets MB/s = bytes of the work tree files / wall time of ``detect-secrets scan --all-files``;
* CPU s/MB = (user + sys time of this process and of its reaped children: pool workers and git) per
  MB. On a shared, noisy machine wall time depends on the neighbours; CPU time much less so. On an
  idle machine with ``--jobs`` cores the wall time lies between CPU/cores and CPU, so
  ``MB / (CPU / cores)`` is the best case and ``MB / CPU`` (printed as "single-core MB/s") the
  worst. The 1-minute load average before each run is printed so the neighbours are visible.

    python benchmarks/bench_secrets.py --sdist-dir DIR [--repeat 5] [--ds-repeat 1] [--jobs 0] [--workdir DIR]

``DIR`` holds the sdists, e.g. fetched with
``pip download --no-deps --no-binary :all: django==4.2.16 django==5.0.9 ... -d DIR`` (one per version).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from nightowl.secrets.scan import ScanOptions, scan_paths


def _version_key(p: Path) -> tuple:
    m = re.search(r"-(\d+(?:\.\d+)*)\.tar\.gz$", p.name)
    return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)


def build_repo(sdists: list[Path], repo: Path) -> None:
    """One commit per released version, oldest first, each replacing the whole tree."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}  # fmt: skip
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for sdist in sdists:
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        with tarfile.open(sdist) as tf, tempfile.TemporaryDirectory() as tmp:
            tf.extractall(tmp, filter="data")
            (top,) = list(Path(tmp).iterdir())
            for child in top.iterdir():
                shutil.move(str(child), repo / child.name)
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", sdist.name], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "gc", "-q"], check=True, env=env)  # packed, like any real clone


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_nightowl(repo: Path, jobs: int) -> tuple[float, float, int, int, int]:
    c, t = _cpu(), time.perf_counter()
    res = scan_paths([str(repo)], ScanOptions(jobs=jobs))
    return time.perf_counter() - t, _cpu() - c, res.bytes, res.blobs, len(res.secrets)


def time_detect_secrets(tree: Path) -> float | None:
    exe = shutil.which("detect-secrets") or str(Path(sys.executable).with_name("detect-secrets"))
    if not Path(exe).exists():
        return None
    t = time.perf_counter()
    subprocess.run([exe, "scan", "--all-files", "."], cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sdist-dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--ds-repeat", type=int, default=1, help="detect-secrets runs (it takes minutes each)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the built repository here")
    args = ap.parse_args()
    sdists = sorted(args.sdist_dir.glob("*.tar.gz"), key=_version_key)
    if not sdists:
        sys.exit(f"no sdists in {args.sdist_dir}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="nightowl-bench-"))
    repo = work / "repo"
    if not (repo / ".git").is_dir():
        build_repo(sdists, repo)
    commits = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--all", "--count"], capture_output=True, text=True
    ).stdout.strip()
    tree = tree_bytes(repo)
    print(
        f"repository: {repo} ({commits} commits from {', '.join(s.name for s in sdists)}); work tree {tree / 1e6:.1f} MB"
    )
    print(f"cores: {os.cpu_count()}, jobs: {args.jobs or os.cpu_count()}")

    nightowl, ds, cpus = [], [], []
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        secs, cpu, size, blobs, found = time_nightowl(repo, args.jobs)
        nightowl.append(size / 1e6 / secs)
        cpus.append(cpu / (size / 1e6))
        print(
            f"run {i + 1} (load {load:.1f}): nightowl history {size / 1e6:.1f} MB in {blobs} unique blobs, "
            f"{secs:.2f} s = {nightowl[-1]:.1f} MB/s; CPU {cpu:.2f} s = {1000 * cpus[-1]:.1f} ms/MB "
            f"({found} unique secrets)"
        )
        if i >= args.ds_repeat:
            continue
        dsecs = time_detect_secrets(repo)
        if dsecs is None:
            print("detect-secrets not installed (pip install detect-secrets): comparison skipped")
        else:
            ds.append(tree / 1e6 / dsecs)
            print(
                f"run {i + 1}: detect-secrets work tree {tree / 1e6:.1f} MB, {dsecs:.2f} s = {ds[-1]:.2f} MB/s"
            )
    n_med = statistics.median(nightowl)
    c_med = statistics.median(cpus)
    cores = args.jobs or os.cpu_count() or 1
    print(f"\nmedian nightowl: {n_med:.1f} MB/s (runs: {', '.join(f'{x:.1f}' for x in nightowl)})")
    print(
        f"median CPU: {1000 * c_med:.1f} ms/MB: single-core {1 / c_med:.0f} MB/s; "
        f"{cores} idle cores at best {cores / c_med:.0f} MB/s"
    )
    if ds:
        d_med = statistics.median(ds)
        print(f"median detect-secrets: {d_med:.2f} MB/s; ratio {n_med / d_med:.0f}x")


if __name__ == "__main__":
    main()
