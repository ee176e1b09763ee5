"""The README's quick start is the product's front door: keep it honest."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = _readme().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_quick_start_is_exactly_two_commands_demo_then_tests():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "nightowl demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()
