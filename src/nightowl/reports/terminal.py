"""Rich rendering for people at a terminal. Every value that came from a log goes through
:func:`nightowl.textsafe.term`, so attacker-written text cannot inject escape sequences or markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from nightowl.textsafe import term


def inputs_table(inputs: list[dict[str, Any]]) -> Table:
    table = Table(title="Inputs", title_justify="left", show_edge=False)
    for col, justify in [
        ("path", "left"),
        ("format", "left"),
        ("records", "right"),
        ("normalized", "right"),
        ("ignored", "right"),
        ("quarantined", "right"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in inputs:
        quarantined = f"[red]{row['quarantined']:,}[/]" if row["quarantined"] else "0"
        path = term(row["path"], 80) + (" [dim](already ingested)[/]" if row.get("skipped") else "")
        table.add_row(
            path,
            row["format"],
            f"{row['records']:,}",
            f"{row['normalized']:,}",
            f"{row['ignored']:,}",
            quarantined,
        )
    return table


def print_quarantine(console: Console, inputs: list[dict[str, Any]], limit: int = 5) -> None:
    for row in inputs:
        for q in row.get("quarantine_sample", [])[:limit]:
            console.print(
                f"  [yellow]quarantined[/] {term(row['path'], 60)} {term(q['position'])}: "
                f"{term(q['reason'])}  [dim]{term(q['excerpt'], 60)}[/]"
            )


def print_overview(console: Console, ov: dict[str, Any]) -> None:
    if not ov["events"]:
        console.print("[yellow]No authentication events were read.[/]")
        return
    console.print(
        f"[bold]{ov['events']:,}[/] events from [bold]{ov['first_seen']}[/] to [bold]{ov['last_seen']}[/]: "
        f"{ov['users']:,} users, {ov['source_ips']:,} source IPs, "
        f"{ov['failures']:,} failures ({ov['failure_rate']:.1%})"
    )
    per_source = Table(title="Per source", title_justify="left", show_edge=False)
    for col in ("format", "events", "failures", "first", "last"):
        per_source.add_column(col, justify="right" if col in ("events", "failures") else "left")
    for row in ov["per_source"]:
        per_source.add_row(
            row["format"], f"{row['events']:,}", f"{row['failures']:,}", str(row["first"]), str(row["last"])
        )
    console.print(per_source)
    grid = Table.grid(padding=(0, 4))
    grid.add_row(
        _top_table("Top failing source IPs", ov["top_failing_ips"], "ip", "users"),
        _top_table("Top failing users", ov["top_failing_users"], "user", "ips"),
    )
    console.print(grid)


def _top_table(title: str, rows: list[dict[str, Any]], key: str, other: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column(key)
    table.add_column("failures", justify="right")
    table.add_column(f"distinct {other}", justify="right")
    for row in rows:
        table.add_row(term(row[key], 60), f"{row['failures']:,}", f"{row[other]:,}")
    return table


SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
NEXT_STEPS = {
    "password_spray": "Reset any account the spray confirmed, block the sources, and check the targeted accounts for MFA.",
    "credential_stuffing": "Force resets for valid accounts in the list and check them against known breach corpora.",
    "account_enumeration": "Expect a spray next: make sure the enumerated accounts that exist have MFA.",
    "brute_force": "Check the account for a success after the attempts; lockout and MFA settings for it.",
    "account_compromise": "Reset the password, revoke sessions and refresh tokens, review the account's sign-ins, "
    "app consents and mailbox rules since the compromise.",
    "lockout_wave": "Find the spray or brute force that caused it; unlock accounts once the source is blocked.",
    "stale_credentials": "Ask the user to update the password on the device or service; no attack indicated.",
    "password_expiry_wave": "Expected after a password policy change; nothing to do unless failures follow.",
    "app_signin": "Confirm with the app's owner; if unknown, remove the credential it used and block the addresses.",
    "roastable_account": "Require Kerberos pre-authentication for the account, or give it a long random password.",
}


def findings_table(findings: list) -> Table:
    table = Table(title=f"Findings ({len(findings)})", title_justify="left", show_edge=False)
    table.add_column("severity")
    table.add_column("category")
    table.add_column("what")
    table.add_column("sources", justify="right")
    table.add_column("accounts", justify="right")
    table.add_column("compromised", justify="right")
    table.add_column("first seen (UTC)")
    for f in findings:
        table.add_row(
            f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
            f.category,
            term(f.title, 90),
            f"{len(f.source_ips):,}",
            f"{len(f.users):,}",
            f"[bold red]{len(f.compromised_users)}[/]" if f.compromised_users else "0",
            (f.first_seen or "")[:19].replace("T", " "),
        )
    return table


def print_finding_detail(console: Console, f, max_items: int = 8) -> None:
    console.rule(f"[{SEVERITY_STYLE[f.severity]}]{f.severity.upper()}[/] {term(f.title, 100)}", align="left")
    console.print(term(f.summary, 600))
    console.print(
        f"[bold]detection[/] {f.detection}   [bold]ATT&CK[/] {', '.join(f.attack) or '-'}   "
        f"[bold]when[/] {f.first_seen} → {f.last_seen}"
    )
    if f.compromised_users:
        console.print(f"[bold red]compromised[/] {_sample(f.compromised_users, max_items)}")
    console.print(f"[bold]accounts[/] ({len(f.users):,}) {_sample(f.users, max_items)}")
    console.print(f"[bold]sources[/] ({len(f.source_ips):,}) {_sample(f.source_ips, max_items)}")
    ev = f.evidence
    for key in ("top_user_agent", "top_application", "top_client", "asn_org", "country", "via"):
        value = ev.get(key)
        if value:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            console.print(f"[bold]{key.replace('_', ' ')}[/] {term(shown, 150)}")
    refs = ev.get("sample_records") or ev.get("confirming_records")
    if refs:
        console.print(f"[bold]raw records[/] {_sample(refs, 3)}")
    console.print(f"[bold green]next[/] {NEXT_STEPS.get(f.category, 'Review the evidence above.')}")


def _sample(items: list, n: int) -> str:
    shown = ", ".join(term(i, 80) for i in items[:n])
    return shown + (f" … and {len(items) - n:,} more" if len(items) > n else "")
