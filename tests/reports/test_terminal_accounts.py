"""A finding's detail names its accounts, or says the log does not name them (an enumeration of
unknown accounts from pam_unix or AWS's masked names), never "accounts (0)"; attacker-written text
stays escaped on the terminal."""

from __future__ import annotations

import io

from nightowl.findings import Finding, stable_id
from nightowl.reports import terminal

HOSTILE_HOST = "host:evil\x1b[2J[bold red]pwned[/].example"


def _detail(f: Finding) -> str:
    buf = io.StringIO()
    terminal.print_finding_detail(terminal.console(file=buf), f)
    return buf.getvalue()


def _finding(users: list[str], counts: dict, sources: list[str]) -> Finding:
    return Finding(
        id=stable_id("enum", len(users)), detection="enumeration.single_source", category="account_enumeration",
        severity="medium", title="Account enumeration from 1 source(s): 1 sessions, 22 attempts on unknown accounts",
        first_seen="2005-06-15T12:12:34Z", last_seen="2005-06-15T14:53:36Z", users=users, source_ips=sources,
        counts=counts,
    )  # fmt: skip


def test_unnamed_accounts_are_said_to_be_unnamed_not_counted_as_none():
    text = _detail(_finding([], {"attempts": 22, "unnamed_attempts": 22}, [HOSTILE_HOST]))
    assert "accounts (0)" not in text
    assert "accounts not named in the log (22 attempts on them)" in text
    assert "\x1b" not in text and "[bold red]pwned[/]" in text  # shown as text, not as markup or a control


def test_no_accounts_line_without_accounts_and_named_accounts_counted():
    text = _detail(_finding([], {"attempts": 3}, []))
    assert not any(line.startswith(("accounts", "sources")) for line in text.splitlines())
    text = _detail(_finding(["root", "admin"], {"attempts": 12, "unnamed_attempts": 6}, ["218.188.2.4"]))
    assert "accounts (2) root, admin" in text and "sources (1) 218.188.2.4" in text
