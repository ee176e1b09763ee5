"""The version the code reports is the one the package is installed as."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import nightowl


def test_version_matches_pyproject_and_the_installed_metadata():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert nightowl.__version__ == project["version"] == version("nightowl")


def test_version_answers_without_loading_the_command_line():
    """``nightowl --version`` (scripts and hooks ask it) must not import the commands' modules."""
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['nightowl', '--version']\n"
        "from nightowl.launch import main; main()\n"
        "heavy = [m for m in ('typer', 'rich', 'duckdb', 'pyarrow', 'nightowl.cli') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"nightowl {nightowl.__version__}"
