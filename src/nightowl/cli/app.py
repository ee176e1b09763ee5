"""The whole command line: every command module registered on the Typer app, and ``main``.

A new command is a function in one of the command modules (or a new module) and one line in
``_register`` below, which also fixes the order ``--help`` lists them in.
"""

from __future__ import annotations

import sys

import duckdb

from nightowl.cli import demo, exposure, hunt, report, secrets
from nightowl.cli.common import State, app, closed_pipe, err
from nightowl.collect.cli import collect_app
from nightowl.sources.base import InputError
from nightowl.textsafe import term

OWN_DEBUG_OPTION = {"secrets"}  # commands that take --debug themselves


def _register() -> None:
    app.command()(hunt.ingest)
    app.command()(hunt.hunt)
    app.command()(demo.demo)
    app.command()(demo.simulate)
    app.command()(demo.evaluate)
    app.command()(hunt.formats)
    app.command()(hunt.export)
    app.command("secrets")(secrets.secrets_command)
    app.command("exposure")(exposure.exposure_command)
    app.command("report")(report.report_command)
    app.add_typer(collect_app, name="collect")


_register()


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
    except SystemExit as exc:
        if exc.code == 130:  # Typer turns Ctrl-C into a silent exit 130: say why the run stopped
            err.print("nightowl: interrupted")
        raise
    except BrokenPipeError:
        closed_pipe()
    except (KeyboardInterrupt, duckdb.InterruptException):  # DuckDB turns Ctrl-C in a query into its own
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
