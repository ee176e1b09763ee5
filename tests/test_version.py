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


def test_secrets_runs_without_the_other_commands_modules(tmp_path):
    """A pre-commit hook starts ``nightowl secrets`` at every commit: DuckDB, pyarrow and the other
    commands are not imported, and the answer (exit code, JSON) is the full command line's."""
    import json
    import subprocess
    import sys

    f = tmp_path / "app.env"
    f.write_text('DB_PASSWORD="Kp7#rVw2qLx9"\n')
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: sys.stderr.write('HEAVY=' + ','.join(m for m in ('duckdb', 'pyarrow', 'jinja2',"
        " 'nightowl.cli.app', 'nightowl.cli.common') if m in sys.modules) + '\\n'))\n"
        f"sys.argv = ['nightowl', 'secrets', {str(f)!r}, '--format', 'json']\n"
        "from nightowl.launch import main; main()\n"
    )
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert fast.returncode == 1, fast.stderr
    assert "HEAVY=\n" in fast.stderr, (
        "nightowl secrets loaded other commands' modules: if the command moved (nightowl.cli.secrets), point"
        " nightowl.launch._secrets at it and keep nightowl/cli/__init__.py from importing every command"
    )
    full = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nightowl.cli import main; main()",
            "secrets",
            str(f),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert full.returncode == 1
    strip = lambda doc: [(x["detection"], x["secret_sha256"]) for x in json.loads(doc)["findings"]]  # noqa: E731
    assert strip(fast.stdout) == strip(full.stdout) and strip(fast.stdout)
