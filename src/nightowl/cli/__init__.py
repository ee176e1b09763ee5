"""The ``nightowl`` command line: thin, parses options, calls the pipeline, renders.

One module per command group (``hunt``: ingest/hunt/formats/export, ``report``, ``exposure``,
``secrets``, ``demo``: demo/simulate/evaluate); what they share lives in ``common``; ``app`` registers
them all. This package file imports nothing, so ``nightowl.launch`` can run ``nightowl.cli.secrets``
alone (a pre-commit hook) without loading the other commands' modules.
"""

from __future__ import annotations


def main() -> None:
    """Entry point of the full command line (see ``nightowl.cli.app.main``)."""
    from nightowl.cli.app import main as run

    run()
