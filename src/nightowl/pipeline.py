"""The whole investigation in one place: store -> detections (+ exposure) -> incidents -> report.

``hunt`` and ``report`` call :func:`detect`; ``demo`` calls :func:`run_demo`, which simulates a
Midnight Blizzard-like tenant, ingests every file it wrote, scans the mailboxes the attacker read
for secrets, and writes the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nightowl.detections.profile_history import ProfileHistory
from nightowl.detections.runner import run_all
from nightowl.detections.secret_use import secret_use
from nightowl.exposure import exposure_findings
from nightowl.findings import Finding, sort_findings
from nightowl.ingest import InputReport, ingest_paths
from nightowl.store import Store

DEMO_FILES = (
    "signins",
    "app_signins",
    "audit",
    "mail_access",
    "users",
    "registration",
    "github_audit",
    "cloudtrail",
)


def detect(
    store: Store,
    config: dict[str, Any] | None = None,
    secrets: list[Finding] | None = None,
    history: ProfileHistory | None = None,
) -> list[Finding]:
    """Every detection whose data is in the store, plus account exposure when accounts were given, plus
    (given secret findings) whether each secret was used: the secrets come back annotated with ``use``.
    ``history``: the takeover profiles an incremental hunt carries in its state folder."""
    findings = run_all(store, config, history)
    findings += exposure_findings(store, findings, config)
    if secrets:
        findings += secrets + secret_use(store, findings + secrets)
    return sort_findings(findings)


@dataclass
class DemoResult:
    report: Path
    findings: list[Finding]
    incidents: list[Any]
    inputs: list[dict[str, Any]]
    signins: int
    secrets: int
    tenant: Path | None = None  # the simulated tenant when kept


def run_demo(
    out_dir: Path,
    seed: int = 7,
    users: int | None = None,
    days: int | None = None,
    say: Callable[[str], None] = lambda _m: None,
    keep_tenant: bool = False,
) -> DemoResult:
    """Simulate, hunt, scan and report. The simulated tenant (about 1 GB of logs and mail) goes to a
    temporary folder removed at the end, unless ``keep_tenant`` writes it to ``out_dir``."""
    import tempfile

    if keep_tenant:
        return _run_demo(out_dir, out_dir / "nightowl-demo-tenant", seed, users, days, say)
    with tempfile.TemporaryDirectory(prefix="nightowl-demo-") as tmp:
        result = _run_demo(out_dir, Path(tmp) / "nightowl-demo-tenant", seed, users, days, say)
    result.tenant = None
    return result


def _run_demo(
    out_dir: Path,
    tenant: Path,
    seed: int,
    users: int | None,
    days: int | None,
    say: Callable[[str], None],
) -> DemoResult:
    from nightowl.incidents import build_incidents
    from nightowl.overview import overview
    from nightowl.reports.html import build_report, write_report
    from nightowl.reports.report_data import from_store
    from nightowl.secrets.scan import ScanOptions, scan_paths
    from nightowl.simulate import SimConfig, simulate

    over = {k: v for k, v in {"users": users, "days": days}.items() if v}
    say("simulating a month of a tenant under a Midnight Blizzard-style attack")
    sim = simulate(SimConfig.demo(seed=seed, **over), tenant)
    with Store() as store:
        say(f"ingesting {sim.signin_count:,} sign-ins, the audit and mailbox logs, and the account exports")
        reports: list[InputReport] = ingest_paths(
            store, [str(sim.files[k]) for k in DEMO_FILES if k in sim.files]
        )
        say("hunting")
        findings = detect(store)
        say("scanning the mailboxes the attacker read for secrets")
        scan = scan_paths([str(sim.files["mail"])], ScanOptions())
        secrets = [s.to_finding() for s in scan.secrets.values()]
        say("checking the GitHub audit log and CloudTrail for uses of those secrets")
        findings = sort_findings(findings + secrets + secret_use(store, findings + secrets))
        incidents = build_incidents(findings)
        inputs = [r.to_contract() for r in reports] + scan.inputs
        data = from_store(store, findings, overview(store))
    html = build_report(
        findings,
        data=data,
        inputs=inputs,
        title="nightowl demo: a Midnight Blizzard-style month",
        incidents=incidents,
    )
    report = out_dir / "nightowl-report.html"
    write_report(report, html)
    return DemoResult(report, findings, incidents, inputs, sim.signin_count, len(secrets), tenant)
