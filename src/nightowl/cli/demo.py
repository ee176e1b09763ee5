"""``demo``, ``simulate`` and ``evaluate``: the simulated tenant, hunted end to end or scored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nightowl.cli.common import ConfigOpt, OutputFormat, err, out, print_json, status
from nightowl.detections.catalog import read_config
from nightowl.reports import terminal
from nightowl.sources.base import InputError
from nightowl.textsafe import term


def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the report and the simulated tenant.")
    ] = Path("."),
    seed: Annotated[int, typer.Option("--seed")] = 7,
    users: Annotated[int | None, typer.Option("--users", help="Tenant size (default 1,500).")] = None,
    days: Annotated[int | None, typer.Option("--days", help="Days simulated (default 30).")] = None,
    keep_tenant: Annotated[
        bool,
        typer.Option(
            "--keep-tenant", help="Keep the simulated tenant (about 1 GB) in --out to hunt it yourself."
        ),
    ] = False,
) -> None:
    """Simulate a Midnight Blizzard-style month, hunt it end to end and write the HTML report."""
    from nightowl.pipeline import run_demo

    out_dir.mkdir(parents=True, exist_ok=True)
    with status("demo") as say:
        result = run_demo(out_dir, seed=seed, users=users, days=days, say=say, keep_tenant=keep_tenant)
    incidents = result.incidents
    out.print(
        f"[bold]nightowl demo[/]: {result.signins:,} sign-ins, {len(incidents)} incident(s), "
        f"{len(result.findings):,} findings ({terminal.severity_counts(result.findings)}), "
        f"{result.secrets} secret(s) in the mail the attacker read"
    )
    if incidents:
        top = incidents[0]
        out.print(f"\n[bold red]{term(top.title, 200)}[/]")
        for sentence in top.story:
            out.print(term(sentence, 600))
        out.print()
        for step in top.steps[:14]:
            when = (step.when or "")[:16].replace("T", " ")
            out.print(f"  {when:16}  [bold]{step.stage_label:>18}[/]  {term(step.finding.title, 100)}")
    out.print(f"\nreport: [bold]{result.report.resolve()}[/]")
    if result.tenant:
        out.print(
            f"simulated tenant: [bold]{term(str(result.tenant))}[/] (try: nightowl hunt {term(str(result.tenant))})"
        )
    else:
        out.print(
            "[dim]the simulated tenant was removed; --keep-tenant keeps it (about 1 GB) to hunt yourself[/]"
        )


def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the simulated tenant.")] = Path(
        "nightowl-sim"
    ),
    preset: Annotated[
        str,
        typer.Option("--preset", help="demo, benign, mixed, takeover, takeover_benign, or one attack kind."),
    ] = "mixed",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    users: Annotated[int | None, typer.Option("--users")] = None,
    days: Annotated[int | None, typer.Option("--days")] = None,
    portal_csv: Annotated[
        bool, typer.Option("--portal-csv", help="Also write the Azure portal CSV.")
    ] = False,
    target_events: Annotated[
        int | None, typer.Option("--target-events", help="Scale to about N sign-ins.")
    ] = None,
) -> None:
    """Write a realistic labelled tenant (Entra sign-ins, directory exports, truth.json) for testing."""
    from nightowl.simulate import SimConfig
    from nightowl.simulate import simulate as run_simulation

    over: dict = {
        k: v for k, v in {"users": users, "days": days, "target_events": target_events}.items() if v
    }
    if portal_csv:
        over["formats"] = ("graph", "csv")
    try:
        config = SimConfig.preset(preset, seed=seed, **over)
    except ValueError as exc:
        raise InputError(f"simulate: {exc}") from exc
    with status(f"simulating {preset}"):
        result = run_simulation(config, out)
    err.print(
        f"{result.signin_count:,} sign-ins in {result.seconds:.1f} s, {len(result.truth.campaigns)} campaign(s)"
    )
    for name, path in sorted(result.files.items()):
        print(f"{name:>14}  {path}")


def evaluate(
    seeds: Annotated[
        str, typer.Option("--seeds", help="Comma-separated seeds (use ones you did not tune on).")
    ] = "101,202,303",
    users: Annotated[int, typer.Option("--users")] = 3000,
    presets: Annotated[str, typer.Option("--presets")] = "mixed,benign",
    days: Annotated[int, typer.Option("--days")] = 14,
    config: ConfigOpt = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Precision and recall of every detection on simulated tenants, next to Sentinel/Splunk/Elastic logic."""
    from nightowl.evaluation.run import Case, category_markdown, markdown
    from nightowl.evaluation.run import evaluate as run_evaluation

    cases = [Case(p.strip(), int(s), users, days) for p in presets.split(",") for s in seeds.split(",")]
    results, summary = run_evaluation(
        cases, read_config(config), progress=lambda c: err.print(f"done {c.name}")
    )
    if fmt is OutputFormat.json:
        print_json(
            {
                "cases": [{"case": c.name, **{k: v.to_dict() for k, v in sc.items()}} for c, sc in results],
                "summary": summary,
            }
        )
    else:
        print(markdown(summary))
        print()
        print(category_markdown(summary, summary["nightowl"]["user_weeks"]))
        if summary["nightowl"]["takeover"] and any(
            c.preset.startswith("takeover") for c, _ in results
        ):  # only when takeover tenants were asked for: the default table stays as it was
            from nightowl.evaluation.takeover import markdown as takeover_markdown

            print()
            print(takeover_markdown(summary["nightowl"]["takeover"]))
        if summary["nightowl"]["secret_use"]:
            from nightowl.evaluation.secret_use import markdown as secret_use_markdown

            print()
            print(secret_use_markdown(summary["nightowl"]["secret_use"]))
        if summary["nightowl"]["app_signin"]:
            from nightowl.evaluation.app_signin import markdown as app_signin_markdown

            print()
            print(app_signin_markdown(summary["nightowl"]["app_signin"]))
