"""The ``nightowl`` command line: thin, parses options, calls the pipeline, renders.

Conventions every command keeps: machine output (``--format json``) is the only thing on stdout;
progress and messages go to stderr; a bad input is one line naming the file and exit code 2
(a traceback only with ``--debug``); ``--fail-on`` gives exit code 1 for scheduled jobs.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nightowl import __version__, sources
from nightowl.detections.catalog import read_config
from nightowl.findings import Finding, at_or_above, document
from nightowl.ingest import InputReport, ingest_paths
from nightowl.overview import overview
from nightowl.pipeline import detect
from nightowl.reports import terminal
from nightowl.sources.base import InputError, ReadOptions
from nightowl.store import Store
from nightowl.textsafe import term

app = typer.Typer(
    name="nightowl",
    help="Find a Midnight Blizzard-style breach in your own logs, mail and repositories: offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = terminal.console(stderr=True)  # the terminal's width; piped, lines never wrap
out = terminal.console()


class State:
    debug = False


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _version(value: bool) -> None:
    if value:
        print(f"nightowl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    State.debug = State.debug or debug


# -- shared options ---------------------------------------------------------------------------
OptionalPathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Files, directories, .gz/.zip archives, or - for stdin (optional with --store)."),
]
PathsArg = Annotated[list[str], typer.Argument(help="Files, directories, .gz/.zip archives, or - for stdin.")]
StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="DuckDB file that keeps the events between runs (default: memory)."),
]
FormatOpt = Annotated[
    str | None, typer.Option("--input-format", help="Skip auto-detection; see `nightowl formats`.")
]
YearOpt = Annotated[
    int | None, typer.Option("--year", help="Year for syslog lines (default: from file time).")
]
TzOpt = Annotated[
    str | None, typer.Option("--timezone", help="IANA time zone of syslog lines (default UTC).")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 2) when any record is quarantined.")]


@contextmanager
def _progress(total_files: int):
    """A progress bar on stderr, silent when stderr is not a terminal."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TextColumn("{task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task("ingesting", total=total_files or None, events=0)

        def advance(report: InputReport) -> None:
            progress.update(
                task,
                advance=1,
                events=progress.tasks[0].fields["events"] + report.tally.normalized,
                description=term(report.path, 40),
            )

        yield advance


def _ingest(
    store: Store,
    paths: list[str],
    input_format: str | None,
    year: int | None,
    timezone: str | None,
    strict: bool,
) -> list[dict]:
    opts = ReadOptions(year=year, timezone=timezone)
    with _progress(len(paths)) as advance:
        reports = ingest_paths(store, paths, input_format=input_format, opts=opts, on_file=advance)
    inputs = [r.to_contract() for r in reports]
    quarantined = sum(r.tally.quarantined for r in reports)
    if strict and quarantined:
        bad = next(r for r in reports if r.tally.quarantined)
        raise InputError(f"{bad.path}: {bad.tally.quarantined} record(s) quarantined and --strict is set")
    return inputs


# -- commands ---------------------------------------------------------------------------------
@app.command()
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
        inputs = _ingest(st, paths, input_format, year, timezone, strict)
        if fmt is OutputFormat.json:
            _print_json(document([], inputs))
            return
        err.print(terminal.inputs_table(inputs))
        terminal.print_quarantine(err, inputs)
        err.print(f"{st.event_count():,} events in the store" + (f" ({term(str(store))})" if store else ""))


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file overriding detection thresholds (see README).")
]
FailOnOpt = Annotated[
    Severity | None, typer.Option("--fail-on", help="Exit 1 when any finding is at or above this severity.")
]


@app.command()
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
        inputs = _ingest(st, paths or [], input_format, year, timezone, strict)
        leaked = _secret_findings(secrets or [])
        with _status("running detections"):
            findings = detect(st, cfg, leaked)
        ov = overview(st)
    if fmt is OutputFormat.json:
        from nightowl.incidents import build_incidents, incidents_document

        _print_json(
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
    from nightowl.report_cli import load_document, merge_documents

    found, _, _ = merge_documents([(p, load_document(p)) for p in paths])
    return [f for f in found if f.category == "secret"]


@contextmanager
def _status(message: str):
    """A spinner on stderr while work runs (silent off a terminal); yields a function to update it."""
    if err.is_terminal:
        with err.status(message) as status:
            yield lambda m: status.update(term(m, 100))
    else:
        yield lambda m: None


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the report and the simulated tenant.")
    ] = Path("."),
    seed: Annotated[int, typer.Option("--seed")] = 7,
    users: Annotated[int | None, typer.Option("--users", help="Tenant size (default 1,500).")] = None,
    days: Annotated[int | None, typer.Option("--days", help="Days simulated (default 30).")] = None,
    keep_tenant: Annotated[
        bool,
        typer.Option(
            "--keep-tenant", help="Keep the simulated tenant (about 1 GB) in --out to hunt it yourself."
        ),
    ] = False,
) -> None:
    """Simulate a Midnight Blizzard-style month, hunt it end to end and write the HTML report."""
    from nightowl.pipeline import run_demo

    out_dir.mkdir(parents=True, exist_ok=True)
    with _status("demo") as status:
        result = run_demo(
            out_dir, seed=seed, users=users, days=days, say=lambda m: status(m), keep_tenant=keep_tenant
        )
    incidents = result.incidents
    out.print(
        f"[bold]nightowl demo[/]: {result.signins:,} sign-ins, {len(incidents)} incident(s), "
        f"{len(result.findings):,} findings ({terminal.severity_counts(result.findings)}), "
        f"{result.secrets} secret(s) in the mail the attacker read"
    )
    if incidents:
        top = incidents[0]
        out.print(f"\n[bold red]{term(top.title, 200)}[/]")
        for sentence in top.story:
            out.print(term(sentence, 600))
        out.print()
        for step in top.steps[:14]:
            when = (step.when or "")[:16].replace("T", " ")
            out.print(f"  {when:16}  [bold]{step.stage_label:>18}[/]  {term(step.finding.title, 100)}")
    out.print(f"\nreport: [bold]{result.report.resolve()}[/]")
    if result.tenant:
        out.print(
            f"simulated tenant: [bold]{term(str(result.tenant))}[/] (try: nightowl hunt {term(str(result.tenant))})"
        )
    else:
        out.print(
            "[dim]the simulated tenant was removed; --keep-tenant keeps it (about 1 GB) to hunt yourself[/]"
        )


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the simulated tenant.")] = Path(
        "nightowl-sim"
    ),
    preset: Annotated[
        str, typer.Option("--preset", help="demo, benign, mixed, or one attack kind.")
    ] = "mixed",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    users: Annotated[int | None, typer.Option("--users")] = None,
    days: Annotated[int | None, typer.Option("--days")] = None,
    portal_csv: Annotated[
        bool, typer.Option("--portal-csv", help="Also write the Azure portal CSV.")
    ] = False,
    target_events: Annotated[
        int | None, typer.Option("--target-events", help="Scale to about N sign-ins.")
    ] = None,
) -> None:
    """Write a realistic labelled tenant (Entra sign-ins, directory exports, truth.json) for testing."""
    from nightowl.simulate import SimConfig
    from nightowl.simulate import simulate as run_simulation

    over: dict = {
        k: v for k, v in {"users": users, "days": days, "target_events": target_events}.items() if v
    }
    if portal_csv:
        over["formats"] = ("graph", "csv")
    try:
        config = SimConfig.preset(preset, seed=seed, **over)
    except ValueError as exc:
        raise InputError(f"simulate: {exc}") from exc
    with _status(f"simulating {preset}"):
        result = run_simulation(config, out)
    err.print(
        f"{result.signin_count:,} sign-ins in {result.seconds:.1f} s, {len(result.truth.campaigns)} campaign(s)"
    )
    for name, path in sorted(result.files.items()):
        print(f"{name:>14}  {path}")


@app.command()
def evaluate(
    seeds: Annotated[
        str, typer.Option("--seeds", help="Comma-separated seeds (use ones you did not tune on).")
    ] = "101,202,303",
    users: Annotated[int, typer.Option("--users")] = 3000,
    presets: Annotated[str, typer.Option("--presets")] = "mixed,benign",
    days: Annotated[int, typer.Option("--days")] = 14,
    config: ConfigOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Precision and recall of every detection on simulated tenants, next to Sentinel/Splunk/Elastic logic."""
    from nightowl.evaluation.run import Case, category_markdown, markdown
    from nightowl.evaluation.run import evaluate as run_evaluation

    cases = [Case(p.strip(), int(s), users, days) for p in presets.split(",") for s in seeds.split(",")]
    results, summary = run_evaluation(
        cases, read_config(config), progress=lambda c: err.print(f"done {c.name}")
    )
    if fmt is OutputFormat.json:
        _print_json(
            {
                "cases": [{"case": c.name, **{k: v.to_dict() for k, v in sc.items()}} for c, sc in results],
                "summary": summary,
            }
        )
    else:
        print(markdown(summary))
        print()
        print(category_markdown(summary, summary["nightowl"]["user_weeks"]))
        if summary["nightowl"]["secret_use"]:
            from nightowl.evaluation.secret_use import markdown as secret_use_markdown

            print()
            print(secret_use_markdown(summary["nightowl"]["secret_use"]))


@app.command()
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


@app.command()
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


from nightowl.collect.cli import collect_app  # noqa: E402  (commands built in their own modules)
from nightowl.exposure_cli import exposure_command  # noqa: E402
from nightowl.report_cli import report_command  # noqa: E402
from nightowl.secrets.cli import secrets_command  # noqa: E402

app.command("secrets")(secrets_command)
app.command("exposure")(exposure_command)
app.command("report")(report_command)
app.add_typer(collect_app, name="collect")
OWN_DEBUG_OPTION = {"secrets"}  # commands that take --debug themselves


def _print_json(doc: dict) -> None:
    sys.stdout.buffer.write(
        orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    )
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()


def main() -> None:
    """Entry point: one-line errors with exit code 2; tracebacks only with --debug (anywhere on the line)."""
    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith("-")), None)
    if "--debug" in args:
        State.debug = True
        if command not in OWN_DEBUG_OPTION:
            args = [a for a in args if a != "--debug"]
    try:
        app(args=args, prog_name="nightowl")
    except InputError as exc:
        if State.debug:
            raise
        err.print(f"nightowl: error: {term(str(exc), 500)}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("nightowl: interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if State.debug:
            raise
        err.print(
            f"nightowl: internal error: {term(type(exc).__name__)}: {term(str(exc), 300)} "
            "(run again with --debug for the traceback)",
            soft_wrap=True,
        )
        sys.exit(3)
