"""The ``nightowl`` executable: answer what needs no command machinery before loading it.

Scripts and hooks ask ``nightowl --version``, and a pre-commit hook runs ``nightowl secrets`` at
every commit; importing the whole command line (every command's modules: DuckDB, pyarrow, Jinja2,
the report) costs far more than either needs. A plain ``secrets`` command line is read without Typer
(``nightowl.secrets.command.parse``: Typer's import and parameter coercion cost several times the scan
of a few files) and runs the command's body; help and anything ``parse`` does not read exactly as Typer
would go to a one-command Typer app, so usage errors are Typer's own messages (on one line, exit 2). Both keep the conventions of
``nightowl.cli.main`` (exit 3 and one line for a bug, the traceback with ``--debug``); everything else
goes to ``nightowl.cli.main``.
"""

from __future__ import annotations

import os
import sys


def quiet_blas() -> None:
    """One OpenBLAS thread for this process unless the user chose a number (call it before numpy is
    imported). numpy's OpenBLAS starts a thread per core at import and each spins before it sleeps:
    about 0.1 s of CPU per extra core at every command, and nightowl never calls BLAS (numpy only
    counts bytes). Only the executable calls this: a notebook importing nightowl keeps its threads."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    quiet_blas()
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
        from nightowl.secrets.command import parse, run
    except ImportError:  # the command lives elsewhere now: the full command line knows where
        return False
    try:
        parsed = parse(args)
        if parsed is not None:
            sys.exit(run(parsed))
        _typer_secrets(args)
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


def _typer_secrets(args: list[str]) -> None:
    """``--help`` and what ``parse`` leaves alone go to the Typer command. A usage error is Typer's own
    message, on one line (a pre-commit hook's log keeps one line per problem), with exit code 2."""
    import typer

    from nightowl.cli.secrets import secrets_command
    from nightowl.textsafe import printable

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(secrets_command)
    try:
        code = app(args=args, prog_name="nightowl secrets", standalone_mode=False)
    except typer.Abort:  # Ctrl-C while Typer runs the command
        raise KeyboardInterrupt from None
    except typer.TyperException as exc:  # Click's usage errors (bad value, unknown option, missing path)
        message = exc.format_message()  # type: ignore[attr-defined]
        print(f"nightowl secrets: {printable(message, 400)} (see nightowl secrets --help)", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code or 0)
