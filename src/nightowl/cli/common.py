"""What every command shares: the Typer app, the two consoles, the shared options, progress, JSON out.

Conventions every command keeps: machine output (``--format json``) is the only thing on stdout;
progress and messages go to stderr; a bad input is one line naming the file and exit code 2
(a traceback only with ``--debug``); ``--fail-on`` gives exit code 1 for scheduled jobs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from nightowl import __version__
from nightowl.ingest import InputReport, ingest_paths
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
PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away


def closed_pipe() -> NoReturn:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do. stdout goes to
    /dev/null first so the interpreter's final flush does not complain either."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(PIPE_CLOSED)


out.on_broken_pipe = closed_pipe  # type: ignore[method-assign]  # Rich's default exits 1, the --fail-on code


class State:
    debug = False


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


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
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file overriding detection thresholds (see README).")
]
FailOnOpt = Annotated[
    Severity | None, typer.Option("--fail-on", help="Exit 1 when any finding is at or above this severity.")
]


@contextmanager
def progress_bar(total_files: int):
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


def ingest_with_progress(
    store: Store,
    paths: list[str],
    input_format: str | None,
    year: int | None,
    timezone: str | None,
    strict: bool,
) -> list[dict]:
    """Ingest ``paths`` with a progress bar; the inputs part of the findings contract."""
    opts = ReadOptions(year=year, timezone=timezone)
    with progress_bar(len(paths)) as advance:
        reports = ingest_paths(store, paths, input_format=input_format, opts=opts, on_file=advance)
    inputs = [r.to_contract() for r in reports]
    quarantined = sum(r.tally.quarantined for r in reports)
    if strict and quarantined:
        bad = next(r for r in reports if r.tally.quarantined)
        raise InputError(f"{bad.path}: {bad.tally.quarantined} record(s) quarantined and --strict is set")
    return inputs


@contextmanager
def status(message: str):
    """A spinner on stderr while work runs (silent off a terminal); yields a function to update it."""
    if err.is_terminal:
        with err.status(message) as spinner:
            yield lambda m: spinner.update(term(m, 100))
    else:
        yield lambda m: None


def print_json(doc: dict) -> None:
    """The document on stdout, and nothing else there (a reader that went away: a quiet exit)."""
    try:
        sys.stdout.buffer.write(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
        )
        sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    except BrokenPipeError:  # before Typer sees it: it would exit 1, the --fail-on code
        closed_pipe()
