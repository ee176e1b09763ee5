"""Ingest speed on Entra Graph NDJSON sign-ins, next to DuckDB's own JSON reader of the same file.

    python benchmarks/bench_ingest.py --file /work/benchdata/signins-1000000.jsonl --runs 3

Each measured step runs in a fresh subprocess so its peak memory (max RSS) and CPU time (user + sys)
are its own. The reference is DuckDB's ``read_json`` of the same file selecting the fields
nightowl's schema reads (nested ones as STRUCTs) into a table; ``read_json_auto`` of every field is
shown too, and the reference with each record's line numbered by ``row_number() OVER ()`` (what
nightowl's ``record_ref`` needs: DuckDB's JSON reader has no line-number column, and that window
keeps its scan on one thread). All write to the same kind of database (a temporary file for a large
input, as ``nightowl ingest`` without --store). Each round runs the readers one after the other;
medians of ``--runs`` rounds, and the median of the rounds' ratios.

Memory limits: nightowl runs under its own default (384 MB, what keeps a 16M-event hunt's memory
flat) and DuckDB's reader under DuckDB's default (80% of RAM), the comparison as shipped; and each
also under the other's limit, so the two same-limit pairs show what nightowl's work costs apart from
how much memory DuckDB is given. ``--memory-limit`` replaces nightowl's default wherever it is used.
Without ``--file`` a benign tenant of ``--events`` sign-ins is simulated into benchmarks/data/.
The hunt's scaling table is benchmarks/bench_scale.py."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).resolve().parent / "data"

STEP = r"""
import json, resource, sys, time
kind, path, limit = sys.argv[1], sys.argv[2], sys.argv[4]
t0 = time.perf_counter()
findings = t_ingest = None
from nightowl.launch import quiet_blas
quiet_blas()  # every step: the references import numpy too (nightowl.store), whose idle BLAS threads spin
if kind in ("duckdb", "read_json", "read_json_numbered", "read_json_parts"):
    import duckdb, tempfile, os
    from nightowl.store import SCRATCH_INPUT_BYTES
    # the same kind of database nightowl ingest writes to: a file for a large input, else memory
    tmp = tempfile.mkdtemp() if os.path.getsize(path) > SCRATCH_INPUT_BYTES else None
    con = duckdb.connect(os.path.join(tmp, "ref.duckdb") if tmp else ":memory:")
    if limit:
        con.execute("SET memory_limit = ?", [limit])
    con.execute("SET preserve_insertion_order = false")
    if kind == "duckdb":
        scan = f"read_json_auto('{path}', format='newline_delimited')"
    else:
        scan = f"read_json('{path}', format='newline_delimited', columns={sys.argv[3]})"
    if kind == "read_json_parts":  # the file in parts through nightowl's file system, lines numbered
        from nightowl.sources.records.byte_ranges import parts_for, served_parts
        with served_parts(con, path, parts_for(con)) as parts:
            query = " UNION ALL ".join(
                f"SELECT row_number() OVER () + {before} AS line, * FROM "
                f"read_json($p{n}, format='newline_delimited', columns={sys.argv[3]})"
                for n, (_, before) in enumerate(parts)
            )
            con.execute("CREATE TABLE t AS " + query, {f"p{n}": url for n, (url, _) in enumerate(parts)})
    else:
        line = "row_number() OVER () AS line, " if kind == "read_json_numbered" else ""
        con.execute(f"CREATE TABLE t AS SELECT {line}* FROM {scan}")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    if tmp:
        import shutil
        shutil.rmtree(tmp)
else:
    from nightowl.ingest import ingest_paths
    from nightowl.store import Store
    with Store.for_hunt(None, [path], limit or None) as store:  # what `nightowl ingest FILE` opens
        reports = ingest_paths(store, [path], input_format="entra-graph-json")
        rows = sum(r.tally.normalized for r in reports)
        t_ingest = time.perf_counter() - t0
        if kind == "hunt":
            from nightowl.detections.runner import run_all
            findings = len(run_all(store))
seconds = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": rows, "seconds": seconds, "cpu": use.ru_utime + use.ru_stime,
                  "user": use.ru_utime, "sys": use.ru_stime, "faults": use.ru_minflt,
                  "peak_mb": use.ru_maxrss / 1024, "findings": findings, "ingest_seconds": t_ingest}))
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


def schema_columns() -> str:
    """DuckDB ``read_json`` columns for exactly the Graph fields nightowl's schema reads (nested
    fields as STRUCTs), as a SQL struct literal: the reference a JSON reader cannot beat by much.
    These are the paths nightowl's own read selects (``GRAPH.read_paths``: the mapped fields and
    ``authenticationDetails``, which the MFA column needs), built as the fast path builds them."""
    from nightowl.sources.entra_graph import GRAPH
    from nightowl.sources.records.json_fast import read_json_columns

    return read_json_columns(GRAPH.read_paths)


def step(kind: str, path: Path, memory_limit: str = "") -> dict:
    return run_step(STEP, [kind, str(path), schema_columns(), memory_limit])


def run_step(code: str, args: list[str]) -> dict:
    """``code`` run in a fresh Python with ``args`` (the first names the step); its last line of JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{args[0]} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(results: list[dict]) -> dict:
    """The median run by wall time, with the medians of CPU and memory and every run's seconds."""
    best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    return best | {
        "cpu": statistics.median(r["cpu"] for r in results),
        "peak_mb": statistics.median(r["peak_mb"] for r in results),
        "runs": [round(r["seconds"], 1) for r in results],
        "cpu_runs": [round(r["cpu"], 1) for r in results],
    }


def paired_ratio(ours: list[dict], ref: list[dict], key: str) -> float:
    """The median over rounds of ours / ref, each round's two runs taken one right after the other.
    On a shared machine whose speed drifts over minutes, a round's two runs share its speed; the
    ratio of the two medians can pair a slow minute of one reader with a fast one of the other."""
    return statistics.median(o[key] / r[key] for o, r in zip(ours, ref, strict=True))


class Reader(NamedTuple):
    """One step of a round: a reader under a memory limit (``ours``: nightowl's, ``duckdb``: DuckDB's)."""

    name: str
    kind: str
    limit: str
    title: str


def fastest_ratio(ours: list[dict], ref: list[dict], key: str) -> float:
    """Ours / ref of each one's fastest run: on a shared machine noise only adds time, so the fastest
    runs are the nearest to what each reader costs alone (timeit's reasoning)."""
    return min(o[key] for o in ours) / min(r[key] for r in ref)


READERS = [
    Reader("ingest", "ingest", "ours", "nightowl ingest, its default limit (as shipped)"),
    Reader(
        "read_json",
        "read_json",
        "duckdb",
        "DuckDB `read_json` of the schema's fields, DuckDB's default limit (the reference)",
    ),
    Reader("read_json@ours", "read_json", "ours", "the same `read_json`, under nightowl's limit"),
    Reader("ingest@duckdb", "ingest", "duckdb", "nightowl ingest under DuckDB's default limit"),
    Reader(
        "read_json_numbered",
        "read_json_numbered",
        "duckdb",
        "`read_json`, each line numbered (`row_number() OVER ()`), DuckDB's default",
    ),
    Reader("duckdb", "duckdb", "duckdb", "DuckDB `read_json_auto` of every field, DuckDB's default"),
]
# (nightowl's step, the reference it is compared with, what the pair shows)
PAIRS = [
    ("ingest", "read_json", "as shipped: nightowl under its limit, `read_json` under DuckDB's"),
    ("ingest", "read_json@ours", "both under nightowl's limit"),
    ("ingest@duckdb", "read_json", "both under DuckDB's default limit"),
]


def duckdb_default_limit() -> str:
    """DuckDB's own default memory limit (80% of RAM) as a size nightowl's --memory-limit takes."""
    import duckdb

    from nightowl.sources.records.sql import duckdb_size_bytes

    setting = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    return f"{duckdb_size_bytes(str(setting)) >> 20}MB"


def ingest_table(path: Path, runs: int, memory_limit: str = "") -> str:
    """The readers run in turn (ours, reference, ours, ...) so each ratio compares runs under the same
    load. ``memory_limit``: nightowl's DuckDB memory limit (default: its own default)."""
    from nightowl.store import default_memory_limit

    limits = {"ours": memory_limit or default_memory_limit(), "duckdb": duckdb_default_limit()}
    size_mb = path.stat().st_size / 1e6
    raw: dict[str, list[dict]] = {r.name: [] for r in READERS}
    loads = [os.getloadavg()[0]]
    for _ in range(runs):
        for r in READERS:
            raw[r.name].append(step(r.kind, path, limits[r.limit]))
            loads.append(os.getloadavg()[0])
            print(r.name, raw[r.name][-1], file=sys.stderr, flush=True)
    res = {k: summary(v) for k, v in raw.items()}
    ours, numbered = res["ingest"], res["read_json_numbered"]
    lines = [
        f"File: {path.name}, {ours['rows']:,} Entra Graph sign-ins, {size_mb:,.0f} MB NDJSON; "
        f"median of {runs} rounds, readers in turn; {os.cpu_count()} cores shared with other users; "
        f"nightowl's memory limit {limits['ours']}{'' if memory_limit else ' (its default)'}, "
        f"DuckDB's default {limits['duckdb']}.",
        "",
        "| reader | wall s | CPU s | records/s (wall) | MB/s (wall) | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in READERS:
        m = res[r.name]
        lines.append(
            f"| {r.title} | {m['seconds']:.1f} | {m['cpu']:.1f} | {m['rows'] / m['seconds']:,.0f} | "
            f"{size_mb / m['seconds']:,.0f} | {m['peak_mb']:,.0f} |"
        )
    lines += [
        "",
        "| nightowl / `read_json` | wall, median of the rounds' ratios | CPU, median of the rounds' ratios | wall / CPU, ratio of the medians | wall / CPU, each reader's fastest run |",
        "|---|---|---|---|---|",
    ]
    for a, b, title in PAIRS:
        paired = {k: paired_ratio(raw[a], raw[b], k) for k in ("seconds", "cpu")}
        lines.append(
            f"| {title} | {paired['seconds']:.2f}x | {paired['cpu']:.2f}x | "
            f"{res[a]['seconds'] / res[b]['seconds']:.2f}x / {res[a]['cpu'] / res[b]['cpu']:.2f}x | "
            f"{fastest_ratio(raw[a], raw[b], 'seconds'):.2f}x / {fastest_ratio(raw[a], raw[b], 'cpu'):.2f}x |"
        )
    lines += [
        "",
        f"nightowl / `read_json` numbering its lines: {ours['seconds'] / numbered['seconds']:.2f}x wall, "
        f"{ours['cpu'] / numbered['cpu']:.2f}x CPU",
        "",
        "Runs, wall s (CPU s): "
        + "; ".join(
            f"{k}: " + ", ".join(f"{w} ({c})" for w, c in zip(r["runs"], r["cpu_runs"], strict=True))
            for k, r in res.items()
        ),
        "",
        f"Load average (1 min, `uptime`) before and after each step: {', '.join(f'{x:.1f}' for x in loads)} "
        f"(median {statistics.median(loads):.1f}) on {os.cpu_count()} cores.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="ingest this Graph NDJSON file instead of a generated one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--memory-limit", default="", help="nightowl's memory limit, e.g. 1GB (default: its default)"
    )
    args = parser.parse_args()
    print(ingest_table(args.file or dataset(args.events), args.runs, args.memory_limit))
    print(
        f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, max RSS of this driver "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )


if __name__ == "__main__":
    main()
