"""``ingest``, ``hunt``, ``export`` and ``formats``: sign-in logs into the store, and detections over it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nightowl import sources
from nightowl.cli.common import (
    ConfigOpt,
    FailOnOpt,
    FormatOpt,
    OptionalPathsArg,
    OutputFormat,
    PathsArg,
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
from nightowl.overview import overview
from nightowl.pipeline import detect
from nightowl.reports import terminal
from nightowl.sources.base import InputError
from nightowl.store import Store
from nightowl.textsafe import term


def ingest(
    paths: PathsArg,
    store: StoreOpt = None,
    input_format: FormatOpt = None,
    year: YearOpt = None,
    timezone: TzOpt = None,
    strict: StrictOpt = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Read sign-in logs into the normalized store and report what was read, ignored and quarantined."""
    with Store(store) as st:
        inputs = ingest_with_progress(st, paths, input_format, year, timezone, strict)
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
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table for people, json for machines")
    ] = OutputFormat.table,
    secrets: Annotated[
        list[str] | None,
        typer.Option(
            "--secrets",
            help="Secret findings JSON (`nightowl secrets --format json`): say whether and where each was "
            "used, from the GitHub audit log and CloudTrail given.",
        ),
    ] = None,
) -> None:
    """Ingest sign-in logs and hunt for password spray, brute force, stuffing and compromised accounts."""
    cfg = read_config(config)
    if not paths and store is None:
        raise InputError("hunt: give log files to read, or --store FILE to hunt what a store already holds")
    if store is not None and not paths and not store.exists():
        raise InputError(f"{store}: no such store")
    with Store(store) as st:
        inputs = ingest_with_progress(st, paths or [], input_format, year, timezone, strict)
        leaked = _secret_findings(secrets or [])
        with status("running detections"):
            findings = detect(st, cfg, leaked)
        ov = overview(st)
    if fmt is OutputFormat.json:
        from nightowl.incidents import build_incidents, incidents_document

        print_json(
            document(findings, inputs, overview=ov, incidents=incidents_document(build_incidents(findings)))
        )
    else:
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
