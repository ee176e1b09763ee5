"""The ``nightowl`` executable: answer what needs no command machinery before loading it.

Scripts and hooks ask ``nightowl --version``, and a pre-commit hook runs ``nightowl secrets`` at
every commit; importing the whole command line (every command's modules: DuckDB, pyarrow, Jinja2,
the report) costs far more than either needs. ``secrets`` runs as a one-command app with the same
conventions as ``nightowl.cli.main`` (exit 3 and one line for a bug, the traceback with ``--debug``);
everything else goes to ``nightowl.cli.main``.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        _main()
    except KeyboardInterrupt:  # Ctrl-C before the command line is loaded (imports take a moment)
        print("nightowl: interrupted", file=sys.stderr)
        sys.exit(130)


def _main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        from nightowl import __version__

        print(f"nightowl {__version__}")
        return
    if args[:1] == ["secrets"] and _secrets(args[1:]):
        return
    from nightowl.cli import main as cli_main

    cli_main()


def _secrets(args: list[str]) -> bool:
    try:
        from nightowl.cli.secrets import secrets_command
    except ImportError:  # the command lives elsewhere now: the full command line knows where
        return False
    import typer

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(secrets_command)
    try:
        app(args=args, prog_name="nightowl secrets")
    except KeyboardInterrupt:
        print("nightowl: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: one line, the traceback with --debug (as nightowl.cli.main)
        if "--debug" in args:
            raise
        from nightowl.textsafe import term

        print(
            f"nightowl: internal error: {term(type(exc).__name__)}: {term(str(exc), 300)} "
            "(run again with --debug for the traceback)",
            file=sys.stderr,
        )
        sys.exit(3)
    return True
