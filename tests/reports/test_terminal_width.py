"""Terminal output fits an 80-column terminal without splitting names, and piped output never wraps."""

from __future__ import annotations

import io

from rich.console import Console

from nightowl.findings import Finding, stable_id
from nightowl.reports import terminal

LONG_PATH = "exports/2026-01/windows/domain-controllers/dc01.corp.example/Security-bruteforce.evtx"
LONG_TITLE = (
    "Brute force against svc-backup@corp.example: 4,776 attempts from 3 sources that never signed it in, "
    "then a success from one of them"
)


def _findings() -> list[Finding]:
    sev = ["critical", "high", "low", "low", "info"]
    return [
        Finding(id=stable_id("t", i), detection="bruteforce.single_account", category="brute_force",
                severity=s, title=LONG_TITLE, first_seen="2026-01-12T08:00:00Z",
                source_ips=["203.0.113.9"], users=["svc-backup@corp.example"])
        for i, s in enumerate(sev)
    ]  # fmt: skip


INPUTS = [
    {"path": LONG_PATH, "format": "windows-evtx", "records": 12000, "normalized": 11000, "ignored": 1000,
     "quarantined": 0},
    {"path": "tenant/truth.json", "format": None, "records": 0, "normalized": 0, "ignored": 0, "quarantined": 0,
     "skipped": "no known format"},
    {"path": "tenant/notes.txt", "format": None, "records": 0, "normalized": 0, "ignored": 0, "quarantined": 0,
     "skipped": "no known format"},
]  # fmt: skip


def _render(console: Console, *things) -> str:
    for thing in things:
        console.print(thing)
    return console.file.getvalue()


def test_an_80_column_terminal_gets_lines_that_fit_and_names_cut_from_the_left_not_split():
    con = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    text = _render(con, terminal.inputs_table(INPUTS), terminal.findings_table(_findings()))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    evtx = [line for line in lines if "bruteforce.evtx" in line]
    assert len(evtx) == 1 and "…" in evtx[0]  # the file name's end kept, on one line
    assert "first seen" not in text  # dropped to leave the title room
    assert "2 skipped: no known format" in text


def test_piped_output_never_wraps_rows_or_names():
    buf = io.StringIO()
    con = terminal.console(file=buf)
    assert con.width == terminal.PIPED_WIDTH
    text = _render(con, terminal.inputs_table(INPUTS), terminal.findings_table(_findings()))
    assert any(LONG_PATH in line for line in text.splitlines())
    assert sum(LONG_TITLE in line for line in text.splitlines()) == 5  # one line per finding, whole
    assert max(len(line.rstrip()) for line in text.splitlines()) < 400  # sized to content, not padded


def test_the_findings_headline_says_what_the_total_is_made_of():
    con = Console(file=io.StringIO(), width=160, color_system=None)
    text = _render(con, terminal.findings_table(_findings()))
    assert "Findings: 5 (1 critical, 1 high, 2 low, 1 info)" in text


def test_a_finding_heading_is_a_plain_line_when_piped():
    buf = io.StringIO()
    terminal.print_finding_detail(terminal.console(file=buf), _findings()[0])
    first = buf.getvalue().splitlines()[0]
    assert first.startswith("── CRITICAL Brute force") and len(first) < 200
