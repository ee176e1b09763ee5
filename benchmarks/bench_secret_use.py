"""GitHub audit log ingest and the secret-use join, next to DuckDB's own read of the same file.

    python benchmarks/bench_secret_use.py --events 500000 --secrets 200 --runs 3

Generates an audit log (streaming NDJSON: ``git.fetch``/``git.clone``/``git.push`` by 2,000 tokens,
a tenth of the events web actions without one) into the temp folder, then, each step in a fresh
subprocess, times: DuckDB materialising the file with ``read_json_auto`` (the reference), nightowl
ingesting it into ``credential_uses``, and the join of ``--secrets`` secret findings (half of them
tokens that appear in the log) against it. Medians of ``--runs`` runs, with peak memory.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(tempfile.gettempdir()) / "nightowl-bench"
TOKENS = 2000

STEP = r"""
import json, resource, sys, time
kind, path, n_secrets = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
if kind == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json_auto('{path}', format='newline_delimited')")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    join_s = None
else:
    import hashlib
    from nightowl.detections.secret_use import secret_use
    from nightowl.findings import Finding
    from nightowl.ingest import ingest_paths
    from nightowl.store import Store
    with Store() as store:
        rows = ingest_paths(store, [path])[0].tally.normalized
        t1 = time.perf_counter()
        secrets = [
            Finding(id=f"s{i}", detection="github.pat-classic", category="secret", severity="high", title="t",
                    extra={"rule": "github.pat-classic",
                           "secret_sha256": hashlib.sha256(f"tok{i * 2 if i % 2 else -i}".encode()).hexdigest(),
                           "locations": [{"path": "m.mbox", "line": 1, "message_id": f"<{i}@x>"}]})
            for i in range(n_secrets)
        ]
        found = secret_use(store, secrets)
        join_s = time.perf_counter() - t1
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0, "join_seconds": join_s,
                  "cpu": use.ru_utime + use.ru_stime,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(path: Path, events: int) -> None:
    rng = random.Random(7)
    hashes = [base64.b64encode(hashlib.sha256(f"tok{i}".encode()).digest()).decode() for i in range(TOKENS)]
    start = 1_722_470_400_000  # 2024-08-01
    with open(path, "w") as fh:
        for n in range(events):
            who = rng.randrange(TOKENS)
            ev = {"@timestamp": start + n * 5000, "_document_id": f"d{n}", "actor": f"dev{who % 500}",
                  "actor_ip": f"198.51.{who % 200}.{rng.randrange(1, 255)}", "org": "corp",
                  "repo": f"corp/repo{rng.randrange(300)}", "created_at": start + n * 5000}  # fmt: skip
            if rng.random() < 0.9:
                ev |= {"action": rng.choice(["git.fetch", "git.clone", "git.push"]), "hashed_token": hashes[who],
                       "programmatic_access_type": "Personal access token (classic)", "token_id": who}  # fmt: skip
            else:
                ev["action"] = "repo.download_zip"
            fh.write(json.dumps(ev) + "\n")


def run(kind: str, path: Path, secrets: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STEP, kind, str(path), str(secrets)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--secrets", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"github_audit_{args.events}.jsonl"
    if not path.exists():
        generate(path, args.events)
    results = {k: [run(k, path, args.secrets) for _ in range(args.runs)] for k in ("duckdb", "nightowl")}
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("seconds", "peak_mb", "cpu")}
        for k, v in results.items()
    }
    join = statistics.median(r["join_seconds"] for r in results["nightowl"])
    rows = results["nightowl"][0]["rows"]
    print(f"| step | median seconds ({args.runs} runs) | events/s | CPU seconds (whole process) | peak MB |")
    print("|---|---|---|---|---|")
    print(f"| DuckDB read_json_auto (reference) | {med['duckdb']['seconds']:.2f} | "
          f"{rows / med['duckdb']['seconds']:,.0f} | {med['duckdb']['cpu']:.1f} | {med['duckdb']['peak_mb']:.0f} |")  # fmt: skip
    ingest = med["nightowl"]["seconds"] - join
    print(f"| nightowl ingest into credential_uses | {ingest:.2f} | {rows / ingest:,.0f} | "
          f"{med['nightowl']['cpu']:.1f} (with the join) | {med['nightowl']['peak_mb']:.0f} |")  # fmt: skip
    print(f"| secret-use join ({args.secrets} secrets) | {join:.2f} | {rows / join:,.0f} | | |")
    print(f"\n{rows:,} events; `python benchmarks/bench_secret_use.py --events {args.events} "
          f"--secrets {args.secrets} --runs {args.runs}`")  # fmt: skip


if __name__ == "__main__":
    main()
