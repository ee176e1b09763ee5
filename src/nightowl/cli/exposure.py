"""``nightowl exposure``: which accounts are exposed (no MFA, weak admin MFA, test/legacy/service,
dormant but active, guests), and which of them the sign-in logs say were attacked.

The command is registered in ``nightowl.cli``; it ingests account exports (registration
details, users with signInActivity) and, when given, sign-in logs, runs the identity detections
on the latter so sprayed and compromised accounts rank first, and prints a table or the findings
contract (``--format json``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nightowl.cli.common import ConfigOpt, FailOnOpt, FormatOpt, OutputFormat, StoreOpt, out, print_json
from nightowl.detections.catalog import read_config
from nightowl.detections.runner import run_all
from nightowl.exposure import exposure_findings, exposure_rows
from nightowl.findings import at_or_above, document
from nightowl.ingest import ingest_paths
from nightowl.store import Store
from nightowl.textsafe import term

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def exposure_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Account exports (userRegistrationDetails, users with signInActivity) and sign-in logs."
        ),
    ],
    store: StoreOpt = None,
    input_format: FormatOpt = None,
    config: ConfigOpt = None,
    fail_on: FailOnOpt = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table for people, json for machines")
    ] = OutputFormat.table,
) -> None:
    """Report exposed accounts: enabled without MFA, admins without phishing-resistant MFA, test/legacy/
    service accounts, dormant accounts still signing in, guests; worse when the sign-in logs show an attack."""
    cfg = read_config(config)
    with Store(store) as st:
        reports = ingest_paths(st, paths, input_format=input_format)
        inputs = [r.to_contract() for r in reports]
        attacks = run_all(st, cfg) if st.event_count() else []
        findings = exposure_findings(st, attacks, cfg)
        rows = exposure_rows(st, attacks, cfg)
    if fmt is OutputFormat.json:
        print_json(document(findings, inputs))
    else:
        if not rows:
            out.print(
                "[green]No exposed accounts.[/]"
                if any(r.tally.normalized for r in reports)
                else "No accounts read."
            )
        else:
            out.print(exposure_table(rows))
    if fail_on and at_or_above(findings, fail_on.value):
        raise typer.Exit(1)


def exposure_table(rows: list[dict]) -> Table:
    """The exposure table: every value from the data goes through ``term`` (attacker-controlled text)."""
    table = Table(title="Exposed accounts", show_lines=False)
    for col in ("severity", "account", "exposure", "MFA", "last sign-in", "sign-in logs"):
        table.add_column(col, overflow="fold")
    for r in rows:
        logs = []
        if r["compromised"]:
            logs.append("[bold red]compromised[/]")
        elif r["sprayed"]:
            logs.append("[red]sprayed[/]")
        if r["single_factor_sign_ins"]:
            logs.append(f"{r['single_factor_sign_ins']} single-factor")
        if r["legacy_sign_ins"]:
            logs.append(f"{r['legacy_sign_ins']} legacy")
        table.add_row(
            f"[{SEVERITY_STYLE[r['severity']]}]{r['severity']}[/]",
            term(r["account"], 80) + (" [dim](admin)[/]" if r["admin"] else ""),
            term(", ".join(r["exposure"]), 120),
            term(r["mfa"] if r["mfa"] != "yes" else ", ".join(r["methods"]), 80),
            term(r["last_seen_sign_in"] or r["last_sign_in_status"], 32),
            ", ".join(logs) or "-",
        )
    return table
