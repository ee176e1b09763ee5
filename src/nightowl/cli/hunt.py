"""``ingest``, ``hunt``, ``export`` and ``formats``: sign-in logs into the store, and detections over it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nightowl import incremental, sources
from nightowl.cli.common import (
    ConfigOpt,
    FailOnOpt,
    FormatOpt,
    OptionalPathsArg,
    OutputFormat,
    PathsArg,
    State,
    StoreOpt,
    StrictOpt,
    TzOpt,
    YearOpt,
    err,
    ingest_with_progress,
    out,
    print_json,
    status,
)
from nightowl.detections.catalog import read_config
from nightowl.findings import Finding, at_or_above, document
from nightowl.incremental import LOOKBACK_DAYS, HuntState
from nightowl.overview import overview
from nightowl.pipeline import detect
from nightowl.reports import terminal
from nightowl.sources.base import InputError
from nightowl.store import Store
from nightowl.textsafe import term

MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit", help="DuckDB's memory limit, e.g. 1GB (default 384MB, or a quarter of RAM if less)."
    ),
]
GeoipOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--geoip",
        help="Offline GeoLite2/GeoIP2 .mmdb (City, Country, ASN) or IP-to-ASN .tsv: fills ASN and location "
        "where the logs have none (never downloaded). Repeatable.",
    ),
]


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def _open_store(store: Path | None, paths: list[str], memory_limit: str | None) -> Store:
    """The store for ingest/hunt (a temporary file for large inputs without --store); --debug says which."""
    st = Store.for_hunt(store, paths, memory_limit)
    if State.debug:
        err.print(st.describe())
    return st


def ingest(
    paths: PathsArg,
    store: StoreOpt = None,
    input_format: FormatOpt = None,
    year: YearOpt = None,
    timezone: TzOpt = None,
    strict: StrictOpt = False,
    memory_limit: MemoryOpt = None,
    geoip: GeoipOpt = None,
    parquet: Annotated[
        Path | None,
        typer.Option(
            "--parquet",
            help="Also write the normalized tables as Parquet (sign-ins by day) for --engine spark.",
        ),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Read sign-in logs into the normalized store and report what was read, ignored and quarantined."""
    with _open_store(store, paths, memory_limit) as st:
        inputs = ingest_with_progress(st, paths, input_format, year, timezone, strict)
        _enrich(st, geoip)
        if parquet is not None:
            st.write_lake(parquet)
        if fmt is OutputFormat.json:
            print_json(document([], inputs))
            return
        err.print(terminal.inputs_table(inputs))
        terminal.print_quarantine(err, inputs)
        err.print(f"{st.event_count():,} events in the store" + (f" ({term(str(store))})" if store else ""))


def hunt(
    paths: OptionalPathsArg = None,
    store: StoreOpt = None,
    input_format: FormatOpt = None,
    year: YearOpt = None,
    timezone: TzOpt = None,
    strict: StrictOpt = False,
    config: ConfigOpt = None,
    fail_on: FailOnOpt = None,
    details: Annotated[int, typer.Option("--details", help="How many top findings to explain in full.")] = 3,
    memory_limit: MemoryOpt = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="duckdb (this machine) or spark (PATHS: Parquet lakes from ingest --parquet, or Entra "
            "sign-in exports: Graph JSON, diagnostic-settings blobs; local, s3a://, abfss://).",
        ),
    ] = Engine.duckdb,
    master: Annotated[
        str | None,
        typer.Option("--master", help="Spark master, e.g. local[4] (default: spark-submit's, or local[*])."),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table for people, json for machines")
    ] = OutputFormat.table,
    geoip: GeoipOpt = None,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secrets",
            help="Secret findings JSON (`nightowl secrets --format json`): say whether and where each was "
            "used, from the GitHub audit log and CloudTrail given.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="YYYY-MM-DD: report what reaches this day or later; Spark reads the sign-in days from "
            "--lookback-days before it (default with --state: the last day the previous run saw).",
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Folder remembering what was reported: a finding is reported once, "
            "again only when it changed.",
        ),
    ] = None,
    lookback_days: Annotated[
        int,
        typer.Option(
            "--lookback-days", help="Days before --since the windows read (slow sprays, baselines)."
        ),
    ] = LOOKBACK_DAYS,
) -> None:
    """Ingest sign-in logs and hunt for password spray, brute force, stuffing and compromised accounts."""
    cfg = read_config(config)
    leaked = _secret_findings(secrets or [])
    state = HuntState.load(state_dir) if state_dir else None
    history = state.profile_history() if state else None
    start, from_day = incremental.window(since, state, lookback_days)
    if engine is Engine.spark:
        from nightowl.engines.spark import hunt_lake

        if not paths:
            raise InputError(
                "hunt --engine spark: give Parquet lake folder(s) (`nightowl ingest --parquet`) "
                "or Entra sign-in exports (files, folders, s3a:// or abfss:// URIs)"
            )
        if geoip:
            raise InputError(
                "hunt --engine spark: --geoip applies at ingest (`nightowl ingest --geoip --parquet`)"
            )
        with status("running detections on Spark"):
            findings, inputs, ov = hunt_lake(paths, cfg, master, leaked, input_format, from_day, history)
    else:
        inputs, findings, ov = _hunt_duckdb(
            paths, store, input_format, year, timezone, strict, cfg, memory_limit, leaked, geoip, history
        )
    for notice in history.notices if history else []:
        err.print(term(notice, 400))
    if start is not None or state is not None:
        findings, repeated = incremental.select(findings, start, state, (ov or {}).get("last_seen"))
        if state is not None:
            state.save()
        if repeated:
            err.print(f"{repeated:,} finding(s) reported by an earlier run and unchanged: left out")
    if fmt is OutputFormat.json:
        from nightowl.incidents import build_incidents, incidents_document

        print_json(
            document(findings, inputs, overview=ov, incidents=incidents_document(build_incidents(findings)))
        )
    else:
        if ov is not None:
            out.print(terminal.inputs_table(inputs))
            terminal.print_quarantine(out, inputs)
            terminal.print_overview(out, ov)
            out.print()
        if findings:
            out.print(terminal.findings_table(findings))
            for f in findings[:details]:
                out.print()
                terminal.print_finding_detail(out, f)
        else:
            out.print("[green]No findings.[/]")
    if fail_on and at_or_above(findings, fail_on.value):
        raise typer.Exit(1)


def _hunt_duckdb(
    paths, store, input_format, year, timezone, strict, cfg, memory_limit, leaked, geoip, history
):
    """Ingest (unless hunting a store as it is) and detect on this machine."""
    if not paths and store is None:
        raise InputError("hunt: give log files to read, or --store FILE to hunt what a store already holds")
    if store is not None and not paths and not store.exists():
        raise InputError(f"{store}: no such store")
    with _open_store(store, paths or [], memory_limit) as st:
        inputs = ingest_with_progress(st, paths or [], input_format, year, timezone, strict)
        _enrich(st, geoip)
        with status("running detections"):
            findings = detect(st, cfg, leaked, history)
        ov = overview(st)
    return inputs, findings, ov


def _enrich(st: Store, geoip: list[Path] | None) -> None:
    """Fill ASN and location the logs lack from the user's offline databases (``--geoip``)."""
    if not geoip:
        return
    from nightowl.enrich import enrich_store

    with status("filling ASN and location from the offline databases"):
        filled = enrich_store(st, geoip)
    err.print(f"geoip: {filled['found']:,} of {filled['addresses']:,} addresses found")


def _secret_findings(paths: list[str]) -> list[Finding]:
    """The secret findings of ``nightowl secrets --format json`` documents."""
    from nightowl.cli.report import load_document, merge_documents

    found, _, _ = merge_documents([(p, load_document(p)) for p in paths])
    return [f for f in found if f.category == "secret"]


def formats() -> None:
    """List every supported input format, with how to export it from the vendor."""
    from rich.table import Table

    table = Table(show_edge=False, show_lines=False)
    table.add_column("--input-format", no_wrap=True)
    table.add_column("what")
    table.add_column("how to export it")
    for src in sources.all_sources():
        table.add_row(src.name, src.title, src.export_hint)
    out.print(table)


def export(
    store: Annotated[Path, typer.Option("--store", help="The DuckDB store to export.")],
    parquet: Annotated[Path, typer.Option("--parquet", help="Folder for the Parquet files.")],
) -> None:
    """Write the store's tables (events, inputs, quarantine) as Parquet for notebooks and SIEMs."""
    if not store.exists():
        raise InputError(f"{store}: no such store")
    with Store(store) as st:
        for path in st.export_parquet(parquet):
            err.print(f"wrote {term(str(path))}")
