"""``nightowl secrets PATH...``: the command's Typer signature (registered on the main Typer app).

Options, defaults and help live here; the body is ``nightowl.secrets.command.run``, which
``nightowl.launch`` also calls without Typer for a plain command line (a pre-commit hook). Exit codes:
0 nothing new found, 1 unsuppressed findings, 2 bad usage or an argument that cannot be read.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nightowl.secrets.command import SecretsArgs, run


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


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
    args = SecretsArgs(
        paths=[str(p) for p in paths],
        format=format.value,
        show_secrets=show_secrets,
        baseline=None if baseline is None else str(baseline),
        write_baseline_to=None if write_baseline_to is None else str(write_baseline_to),
        jobs=jobs,
        max_file_size=max_file_size,
        include_tests=include_tests,
        min_confidence=min_confidence,
        no_git=no_git,
        debug=debug,
    )
    raise typer.Exit(run(args))
