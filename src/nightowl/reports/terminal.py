"""Rich rendering for people at a terminal. Every value that came from a log goes through
:func:`nightowl.textsafe.term`, so attacker-written text cannot inject escape sequences or markup.

Widths: at a terminal, tables fit its width (narrow terminals drop the least useful columns, and
names are shortened from the left, never split over lines); piped, consoles made with
:func:`console` never wrap, so every row stays one line a script can grep.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from nightowl.categories import category
from nightowl.textsafe import term

PIPED_WIDTH = 1000  # piped output: tables size to their content, sentences stay on one line
NARROW = 120  # below this many columns the findings table drops its less useful columns
SEVERITIES = ("critical", "high", "medium", "low", "info")


def console(stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A console for people: the terminal's width at a terminal, no wrapping when piped."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    try:
        piped = not stream.isatty()
    except (AttributeError, ValueError):
        piped = True
    return Console(stderr=stderr, file=file, highlight=False, width=PIPED_WIDTH if piped else None)


class Fitted:
    """A table built when it is printed, for the width it gets."""

    def __init__(self, build: Callable[[int], Table]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


def left_cut(text: str, limit: int) -> str:
    """``…/folder/file.json``: the end of a path is the part that tells files apart."""
    return text if len(text) <= limit else "\N{HORIZONTAL ELLIPSIS}" + text[-(limit - 1) :]


def severity_counts(findings: list) -> str:
    """``2 critical, 5 high, 290 low``: what a total of findings is made of."""
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]:,} {s}" for s in SEVERITIES if counts[s])


def inputs_table(inputs: list[dict[str, Any]]) -> Fitted:
    return Fitted(lambda width: _inputs_table(inputs, width))


def _inputs_table(inputs: list[dict[str, Any]], width: int) -> Table:
    """One row per file read; files skipped for having no known format are one line under it."""
    unread = [r for r in inputs if r.get("skipped") and not r.get("format")]
    rows = []
    for row in inputs:
        if row in unread:
            continue
        quarantined = f"[red]{row['quarantined']:,}[/]" if row["quarantined"] else "0"
        numbers = [f"{row['records']:,}", f"{row['normalized']:,}", f"{row['ignored']:,}"]
        rows.append((row["path"], " [dim](already ingested)[/]" if row.get("skipped") else "",
                     row["format"], *numbers, quarantined))  # fmt: skip
    headers = ("path", "format", "records", "normalized", "ignored", "quarantined")
    others = sum(
        max([len(headers[i])] + [len(Text.from_markup(r[i + 1]).plain) for r in rows]) + 3
        for i in range(1, 6)
    )
    room = max(16, width - others - 2)
    table = Table(title="Inputs", title_justify="left", show_edge=False, caption_justify="left")
    table.add_column("path", no_wrap=True)
    table.add_column("format", no_wrap=True)
    for col in headers[2:]:
        table.add_column(col, justify="right", no_wrap=True)
    for path, note, *cells in rows:
        table.add_row(term(left_cut(path, room - len(Text.from_markup(note).plain)), room) + note, *cells)
    if unread:
        names = ", ".join(term(left_cut(r["path"], 40), 41) for r in unread[:3])
        more = f" and {len(unread) - 3:,} more" if len(unread) > 3 else ""
        table.caption = f"{len(unread):,} skipped: no known format ({names}{more})"
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


def findings_table(findings: list) -> Fitted:
    return Fitted(lambda width: _findings_table(findings, width))


def _findings_table(findings: list, width: int) -> Table:
    """One row per finding. Under :data:`NARROW` columns the category moves under the title and the
    first-seen column goes, so the title keeps room to wrap between words."""
    wide = width >= NARROW
    title = f"Findings: {len(findings):,}" + (f" ({severity_counts(findings)})" if findings else "")
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("severity", no_wrap=True)
    if wide:
        table.add_column("category", no_wrap=True)
    table.add_column("what", ratio=1, min_width=24, overflow="fold")
    table.add_column("sources", justify="right", no_wrap=True)
    table.add_column("accounts", justify="right", no_wrap=True)
    table.add_column("compromised" if wide else "comp.", justify="right", no_wrap=True)
    if wide:
        table.add_column("first seen (UTC)", no_wrap=True)
    for f in findings:
        cells = [f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]"]
        cells += (
            [f.category, term(f.title, 200)] if wide else [f"{term(f.title, 200)} [dim]({f.category})[/]"]
        )
        cells += [
            f"{len(f.source_ips):,}",
            f"{len(f.users):,}",
            f"[bold red]{len(f.compromised_users)}[/]" if f.compromised_users else "0",
        ]
        if wide:
            cells.append((f.first_seen or "")[:19].replace("T", " "))
        table.add_row(*cells)
    return table


def heading(console: Console, text: str) -> None:
    """A rule across the terminal; a plain line when piped (a rule would be PIPED_WIDTH long)."""
    if console.width >= PIPED_WIDTH:
        console.print(f"── {text}")
    else:
        console.rule(text, align="left")


def print_finding_detail(console: Console, f, max_items: int = 8) -> None:
    heading(console, f"[{SEVERITY_STYLE[f.severity]}]{f.severity.upper()}[/] {term(f.title, 100)}")
    console.print(term(f.summary, 600))
    console.print(
        f"[bold]detection[/] {f.detection}   [bold]ATT&CK[/] {', '.join(f.attack) or '-'}   "
        f"[bold]when[/] {f.first_seen} → {f.last_seen}"
    )
    if f.compromised_users:
        console.print(f"[bold red]compromised[/] {_sample(f.compromised_users, max_items)}")
    if f.users:
        console.print(f"[bold]accounts[/] ({len(f.users):,}) {_sample(f.users, max_items)}")
    elif unnamed := f.counts.get("unnamed_attempts"):  # the log does not name them (pam, AWS masks)
        console.print(f"[bold]accounts[/] not named in the log ({unnamed:,} attempts on them)")
    if f.source_ips:  # as the HTML report: no line for an empty list
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
    console.print(f"[bold green]next[/] {category(f.category).advice or 'Review the evidence above.'}")


def _sample(items: list, n: int) -> str:
    shown = ", ".join(term(i, 80) for i in items[:n])
    return shown + (f" … and {len(items) - n:,} more" if len(items) > n else "")
