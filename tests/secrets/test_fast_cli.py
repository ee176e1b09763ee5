"""``nightowl secrets`` without Typer (``secrets.command.parse``) reads a command line exactly as the
Typer command does, and hands everything else (help, usage errors) to Typer.

The option list is derived from the Typer command's own parameters, so an option added to
``nightowl.cli.secrets.secrets_command`` and not to the fast reading fails here.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from enum import Enum
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import nightowl.cli.secrets as cli_secrets
from nightowl.secrets.command import FLAGS, VALUED, SecretsArgs, parse

app = typer.Typer(add_completion=False)  # as nightowl.launch builds it
app.command()(cli_secrets.secrets_command)
COMMAND = typer.main.get_command(app)
OPTIONS = [p for p in COMMAND.params if p.param_type_name == "option" and p.name != "help"]


def typer_reading(argv: list[str], monkeypatch) -> SecretsArgs | int:
    """What the Typer command hands to the body, or its exit code when it stops before."""
    seen: list[SecretsArgs] = []
    monkeypatch.setattr(cli_secrets, "run", lambda args: seen.append(args) or 0)
    result = CliRunner().invoke(app, argv)
    return seen[0] if seen else result.exit_code


def samples(option) -> list[str]:
    """Plain values of the option's declared type (from the Typer parameter), written as users write them."""
    kind = option.type_descriptor.annotation
    if isinstance(kind, type) and issubclass(kind, Enum):
        return [m.value for m in kind]
    if kind is int:
        return ["0", "1", "3", "64", "123456"]
    if kind is float:
        assert (option.min, option.max) == (0.0, 1.0)
        return ["0", "1", "0.5", "0.85", "1.0", "0.333333"]
    assert kind is Path, f"{option.name}: a parameter type the fast reading does not know ({kind})"
    return ["base.json", "dir//sub/./b.json", "/tmp/x y.json", "../up/b.json"]


def test_the_fast_reading_knows_every_option_and_default_of_the_typer_command():
    typer_names = {name for p in OPTIONS for name in (*p.opts, *p.secondary_opts)}
    assert typer_names == set(FLAGS) | set(VALUED)
    fields = {f.name: f for f in dataclasses.fields(SecretsArgs)}
    params = {p.name for p in COMMAND.params}
    assert params - {"help"} == set(fields), "SecretsArgs must carry every parameter of secrets_command"
    defaults = SecretsArgs()
    for p in OPTIONS:
        default = getattr(p.default, "value", p.default)
        assert getattr(defaults, p.name) == default, p.name
        for name in p.opts:
            assert (FLAGS if p.is_flag else VALUED)[name] == p.name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda p: p.name)
def test_each_option_gives_the_body_what_typer_gives_it(option, monkeypatch):
    lines: list[list[str]] = []
    for name in option.opts:
        if option.is_flag:
            lines += [[name, "a.env"], ["a.env", name], ["a.env", name, name]]
            continue
        for value in samples(option):
            lines += [
                [name, value, "a.env"],
                ["a.env", name, value],
                [name, "x" if value == "0" else value, "a.env", name, value],
            ]
            if name.startswith("--"):
                lines.append([f"{name}={value}", "a.env"])
            else:
                lines.append([f"{name}{value}", "a.env"])
    assert lines
    for argv in lines:
        fast = parse(argv)
        if fast is None:  # left to Typer: allowed only where Typer does not read it as valid either
            assert typer_reading(argv, monkeypatch) == 2, argv
            continue
        assert fast == typer_reading(argv, monkeypatch), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["a.env"],
        ["a.env", "b//c/", "./d"],
        ["-f", "json", "a.env", "--include-tests", "b"],
        ["--", "-odd-name.env", "--format"],
        ["a.env", "-j", "2", "--jobs=4", "--min-confidence", "0.7", "--no-git", "--debug", "--show-secrets"],
        ["--baseline", "b.json", "--write-baseline", "w.json", "--max-file-size", "1", "x"],
    ],
)
def test_whole_command_lines_read_the_same(argv, monkeypatch):
    assert parse(argv) == typer_reading(argv, monkeypatch)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["a.env", "--bogus"],
        ["-j", "x", "a.env"],
        ["--jobs", "-1", "a.env"],
        ["--min-confidence", "2", "a.env"],
        ["--min-confidence", ".5", "a.env"],
        ["-f", "xml", "a.env"],
        ["-f", "JSON", "a.env"],
        ["a.env", "--baseline"],
        ["--show-secrets=1", "a.env"],
        ["-"],
        [""],
        ["--jobs", "007", "a.env"],
    ],
)
def test_what_the_fast_reading_leaves_to_typer(argv, monkeypatch):
    """None = Typer reads it (help, usage errors with their exit code 2, or a rare spelling)."""
    assert parse(argv) is None
    reading = typer_reading(argv, monkeypatch)
    assert reading in (0, 2) or isinstance(reading, SecretsArgs)


def _launch(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from nightowl.launch import main; sys.argv = ['nightowl', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def _full(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from nightowl.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def typer_message(argv: list[str]) -> str:
    """The message of the usage error the Typer command raises for ``argv``."""
    try:
        app(args=argv, prog_name="nightowl secrets", standalone_mode=False)
    except typer.TyperException as exc:
        return exc.format_message()
    raise AssertionError(f"no usage error for {argv}")


@pytest.mark.parametrize(
    "argv",
    [[], ["--jobs", "x", "a.env"], ["--bogus", "a.env"], ["-f", "xml", "a.env"], ["a.env", "--baseline"]],
)
def test_a_usage_error_is_typers_own_message_on_one_line_with_exit_code_2(argv):
    fast = _launch("secrets", *argv)
    assert fast.returncode == 2 == _full("secrets", *argv).returncode
    assert fast.stdout == ""
    assert fast.stderr == f"nightowl secrets: {typer_message(argv)} (see nightowl secrets --help)\n"


def test_help_is_typers(tmp_path):
    fast = _launch("secrets", "--help")
    assert fast.returncode == 0 and "Usage: nightowl secrets [OPTIONS]" in fast.stdout
    assert "--min-confidence" in fast.stdout and "--write-baseline" in fast.stdout


def test_a_spelling_left_to_typer_still_scans_with_the_same_exit_codes(tmp_path):
    (tmp_path / "app.env").write_text('DB_PASSWORD="Kp7#rVw2qLx9"\n')
    (tmp_path / "clean.txt").write_text("nothing here\n")
    found = _launch("secrets", "--jobs", "007", "-f", "json", str(tmp_path / "app.env"))
    assert found.returncode == 1 and len(json.loads(found.stdout)["findings"]) == 1
    assert _launch("secrets", "--jobs", "007", str(tmp_path / "clean.txt")).returncode == 0


def test_the_fast_path_imports_neither_typer_nor_pydantic_and_answers_as_the_full_command_line(tmp_path):
    (tmp_path / "app.env").write_text(
        'DB_PASSWORD="Kp7#rVw2qLx9"\nGITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conf.py").write_text('password = "Wq8#kd2LmZx7"\n')
    args = ["secrets", str(tmp_path), "-f", "json", "--include-tests", "--min-confidence=0.5", "-j1"]
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: sys.stderr.write('LOADED=' + ','.join(m for m in ('typer', 'pydantic', 'click',"
        " 'nightowl.cli') if m in sys.modules) + '\\n'))\n"
        f"sys.argv = ['nightowl', *{args!r}]\n"
        "from nightowl.launch import main; main()\n"
    )
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    full = _full(*args)
    assert "LOADED=\n" in fast.stderr
    assert fast.returncode == full.returncode == 1

    def comparable(out: str) -> dict:
        doc = json.loads(out)
        doc["summary"].pop("seconds")
        doc.pop("generated_at", None)
        return {"findings": doc["findings"], "summary": doc["summary"], "inputs": doc.get("inputs")}

    assert comparable(fast.stdout) == comparable(full.stdout)
    assert len(json.loads(fast.stdout)["findings"]) == 3
