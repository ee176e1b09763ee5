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
