"""``nightowl secrets PATH...``: the command callback (registered on the main Typer app).

Exit codes: 0 nothing new found, 1 unsuppressed findings (so it works as a pre-commit hook and in
CI), 2 bad usage or an argument that cannot be read at all. Only the document goes to stdout with
``--format json|sarif``; progress and messages go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nightowl.findings import document
from nightowl.named_paths import named_path_problem
from nightowl.secrets.baseline import BaselineError, load_baseline, split_suppressed, write_baseline
from nightowl.secrets.files import WalkLimits
from nightowl.secrets.filters import FilterConfig
from nightowl.secrets.report import print_table, problems_summary, sarif
from nightowl.secrets.rules import RuleError
from nightowl.secrets.scan import ScanOptions, scan_paths
from nightowl.textsafe import printable


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


@contextmanager
def _progress() -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal; nothing (and no rich import: a pre-commit hook pays for every
    import at every commit) when stderr is a pipe or a file."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("scanning"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip
    with bar:
        task = bar.add_task("scan", total=None)
        yield lambda n: bar.advance(task, n)


def _fail(message: str, debug: bool, exc: BaseException | None = None) -> typer.Exit:
    if debug and exc is not None:
        raise exc
    print(f"nightowl secrets: {printable(message, 400)}", file=sys.stderr)
    return typer.Exit(2)


def secrets_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, directories, git repositories or mail archives.")
    ],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json (findings contract) or sarif.")
    ] = OutputFormat.table,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print secret values in clear text.")
    ] = False,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Suppress the findings accepted in this file.")
    ] = None,
    write_baseline_to: Annotated[
        Path | None, typer.Option("--write-baseline", help="Record current findings (hashes only).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (0 = all cores).")] = 0,
    max_file_size: Annotated[
        int, typer.Option("--max-file-size", help="MiB; larger files are reported, not scanned.")
    ] = 64,
    include_tests: Annotated[
        bool, typer.Option("--include-tests", help="Keep generic-rule hits in tests and fixtures.")
    ] = False,
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence", min=0.0, max=1.0, help="Report only findings at least this sure (0-1)."
        ),
    ] = 0.0,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Scan a repository's work tree instead of its history.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks and debug logs.")] = False,
) -> None:
    """Find secrets (keys, tokens, passwords) in files, git history and mail archives."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr)
    for p in paths:
        problem = named_path_problem(str(p))  # the same check as ingest and hunt
        if problem:
            raise _fail(problem, debug)
    accepted: set[str] = set()
    if baseline is not None:
        try:
            accepted = load_baseline(baseline)
        except BaselineError as exc:
            raise _fail(str(exc), debug, exc) from None
    opts = ScanOptions(
        show_secrets=show_secrets,
        jobs=jobs,
        git_history=not no_git,
        limits=WalkLimits(max_file_size=max_file_size * 1024 * 1024),
        filters=FilterConfig(include_tests=include_tests),
        min_confidence=min_confidence,
    )
    try:
        with _progress() as advance:
            result = scan_paths([str(p) for p in paths], opts, progress=advance)
    except RuleError as exc:
        raise _fail(f"rule error: {exc}", debug, exc) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or ''}: {exc.strerror or exc}", debug, exc) from None

    findings = [s.to_finding(show_secrets) for s in result.secrets.values()]
    new, suppressed = split_suppressed(findings, accepted)
    if write_baseline_to is not None:
        try:
            write_baseline(write_baseline_to, findings)
        except OSError as exc:
            raise _fail(f"cannot write baseline {write_baseline_to}: {exc.strerror}", debug, exc) from None
        print(
            f"baseline: {len(findings)} finding(s) recorded in {printable(str(write_baseline_to))}",
            file=sys.stderr,
        )
    summary = {
        "findings": len(new),
        "suppressed": len(suppressed),
        "blobs_scanned": result.blobs,
        "bytes_scanned": result.bytes,
        "not_scanned": len(result.problems),
        "seconds": round(result.seconds, 3),
        "engine": result.backend,
        "rules": len(result.rules),
        "not_scanned_by_reason": problems_summary(result.problems),
    }
    if format is OutputFormat.json:
        doc = document(
            new,
            result.inputs,
            summary=summary,
            problems=[{"path": p.path, "reason": p.reason} for p in result.problems],
        )
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif format is OutputFormat.sarif:
        sys.stdout.write(
            json.dumps(sarif(new, result.rules, result.problems, show_secrets), indent=2, ensure_ascii=False)
            + "\n"
        )
    else:
        from rich.console import Console

        print_table(Console(), new, result.problems, summary, show_secrets)
    raise typer.Exit(1 if new else 0)
