"""``nightowl secrets``: the command's body and a fast reading of its command line, without Typer.

A pre-commit hook starts ``nightowl secrets`` at every commit. Typer's import and its parameter
coercion (it builds a pydantic adapter per parameter) cost more than the scan of a few staged files,
so ``nightowl.launch`` reads the arguments with ``parse`` and calls ``run`` directly. ``parse`` only
accepts what it reads exactly as Typer would (the options of ``nightowl.cli.secrets.secrets_command``,
plain values); anything else (``--help``, a bad or unknown option, an odd value) gives None and the
Typer command runs instead, so help, usage errors and their exit code 2 stay Typer's own. A test
derives the option list from the Typer command and holds both readings to the same answer.

Exit codes: 0 nothing new found, 1 unsuppressed findings (a pre-commit hook, CI), 2 bad usage or an
argument that cannot be read at all. Only the document goes to stdout with ``--format json|sarif``;
progress and messages go to stderr.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath

FORMATS = ("table", "json", "sarif")


@dataclass(frozen=True)
class SecretsArgs:
    """The command's parameters, with the defaults ``secrets_command`` declares (a test checks)."""

    paths: list[str] = field(default_factory=list)
    format: str = "table"
    show_secrets: bool = False
    baseline: str | None = None
    write_baseline_to: str | None = None
    jobs: int = 0
    max_file_size: int = 64
    include_tests: bool = False
    min_confidence: float = 0.0
    no_git: bool = False
    debug: bool = False


FLAGS = {
    "--show-secrets": "show_secrets",
    "--include-tests": "include_tests",
    "--no-git": "no_git",
    "--debug": "debug",
}
VALUED = {
    "--format": "format",
    "-f": "format",
    "--baseline": "baseline",
    "--write-baseline": "write_baseline_to",
    "--jobs": "jobs",
    "-j": "jobs",
    "--max-file-size": "max_file_size",
    "--min-confidence": "min_confidence",
}
_COUNT = re.compile(r"0|[1-9][0-9]{0,8}")  # what Typer's int coercion reads the same way
_SHARE = re.compile(r"[01](\.[0-9]{1,17})?")  # a probability written plainly


def _path(text: str) -> str | None:
    return str(PurePath(text)) if text else None  # Typer's Path(); "" (= ".") is left to Typer


def _value(name: str, text: str) -> object | None:
    """The parameter's value as Typer would give it, or None for anything not plainly valid."""
    if name == "format":
        return text if text in FORMATS else None
    if name in ("jobs", "max_file_size"):
        return int(text) if _COUNT.fullmatch(text) else None
    if name == "min_confidence":
        return float(text) if _SHARE.fullmatch(text) and float(text) <= 1.0 else None
    return _path(text)


def parse(argv: list[str]) -> SecretsArgs | None:
    """Read ``nightowl secrets`` arguments as Click does (options anywhere, ``--opt=v``, ``-jN``,
    ``--`` ends options, the last repeat wins), or None when Typer should read them."""
    texts: dict[str, str] = {}  # Click converts only the value that wins (the last one)
    flags: dict[str, bool] = {}
    paths: list[str] = []
    rest = list(argv)
    while rest:
        tok = rest.pop(0)
        if tok == "--":
            paths.extend(rest)
            break
        if tok == "-":
            return None  # Click reads a lone dash as a path; rare enough to leave to Typer
        if not tok.startswith("-"):
            paths.append(tok)
            continue
        if tok in FLAGS:
            flags[FLAGS[tok]] = True
            continue
        if tok.startswith("--") and "=" in tok:
            tok, text = tok.split("=", 1)
        elif tok[:2] in VALUED and not tok.startswith("--") and len(tok) > 2:
            tok, text = tok[:2], tok[2:]
        elif tok in VALUED and rest and not rest[0].startswith("-"):
            text = rest.pop(0)
        else:
            return None  # --help, an unknown option, a missing value: Typer's message
        if tok not in VALUED:
            return None
        texts[VALUED[tok]] = text
    values = {name: _value(name, text) for name, text in texts.items()}
    if not paths or "" in paths or None in values.values():
        return None
    return SecretsArgs(paths=[str(PurePath(p)) for p in paths], **flags, **values)  # type: ignore[arg-type]


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


def _fail(message: str, debug: bool, exc: BaseException | None = None) -> int:
    if debug and exc is not None:
        raise exc
    from nightowl.textsafe import printable

    print(f"nightowl secrets: {printable(message, 400)}", file=sys.stderr)
    return 2


def run(args: SecretsArgs) -> int:
    """Scan, print the findings, and return the exit code."""
    from nightowl.named_paths import named_path_problem
    from nightowl.secrets.baseline import BaselineError, load_baseline, split_suppressed, write_baseline
    from nightowl.secrets.files import WalkLimits
    from nightowl.secrets.filters import FilterConfig
    from nightowl.secrets.report import problems_summary
    from nightowl.secrets.rules import RuleError
    from nightowl.secrets.scan import ScanOptions, scan_paths
    from nightowl.textsafe import printable

    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr)
    for p in args.paths:
        problem = named_path_problem(p)  # the same check as ingest and hunt
        if problem:
            return _fail(problem, args.debug)
    accepted: set[str] = set()
    if args.baseline is not None:
        try:
            accepted = load_baseline(Path(args.baseline))
        except BaselineError as exc:
            return _fail(str(exc), args.debug, exc)
    opts = ScanOptions(
        show_secrets=args.show_secrets,
        jobs=args.jobs,
        git_history=not args.no_git,
        limits=WalkLimits(max_file_size=args.max_file_size * 1024 * 1024),
        filters=FilterConfig(include_tests=args.include_tests),
        min_confidence=args.min_confidence,
    )
    try:
        with _progress() as advance:
            result = scan_paths(list(args.paths), opts, progress=advance)
    except RuleError as exc:
        return _fail(f"rule error: {exc}", args.debug, exc)
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}", args.debug, exc)

    findings = [s.to_finding(args.show_secrets) for s in result.secrets.values()]
    new, suppressed = split_suppressed(findings, accepted)
    if args.write_baseline_to is not None:
        try:
            write_baseline(Path(args.write_baseline_to), findings)
        except OSError as exc:
            return _fail(f"cannot write baseline {args.write_baseline_to}: {exc.strerror}", args.debug, exc)
        print(
            f"baseline: {len(findings)} finding(s) recorded in {printable(args.write_baseline_to)}",
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
    if args.format == "json":
        from nightowl.findings import document

        doc = document(
            new,
            result.inputs,
            summary=summary,
            problems=[{"path": p.path, "reason": p.reason} for p in result.problems],
        )
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "sarif":
        from nightowl.secrets.report import sarif

        sys.stdout.write(
            json.dumps(
                sarif(new, result.rules, result.problems, args.show_secrets), indent=2, ensure_ascii=False
            )
            + "\n"
        )
    else:
        from rich.console import Console

        from nightowl.secrets.report import print_table

        print_table(Console(), new, result.problems, summary, args.show_secrets)
    return 1 if new else 0
