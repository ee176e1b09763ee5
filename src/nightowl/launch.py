"""The ``nightowl`` executable: answer what needs no command machinery before loading it.

Scripts and hooks ask ``nightowl --version``; importing the command line (Typer, Rich, DuckDB,
pyarrow and every command's modules) costs far more than the answer, which needs none of it.
Everything else goes to ``nightowl.cli.main``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from nightowl import __version__

        print(f"nightowl {__version__}")
        return
    from nightowl.cli import main as cli_main

    cli_main()
