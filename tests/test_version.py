"""The version the code reports is the one the package is installed as."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import nightowl


def test_version_matches_pyproject_and_the_installed_metadata():
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert nightowl.__version__ == project["version"] == version("nightowl")
