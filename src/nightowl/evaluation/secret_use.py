"""Scoring ``secret_used``: did nightowl name the secrets the simulated attacker used, and only those?

A simulated tenant with the post-compromise chain writes a GitHub audit log and CloudTrail in which
the attacker uses two of the secrets it read in the mail and every owner uses theirs as usual; its
truth lists the SHA-256 of each secret used by the attacker (``chain.secret_use.used_by_attacker``).
A ``secret_used`` finding is true when its secret is one of them; recall is over the secrets used.
"""

from __future__ import annotations

from typing import Any

from nightowl.detections.secret_use import secret_use
from nightowl.findings import Finding
from nightowl.ingest import ingest_paths
from nightowl.store import Store

LOG_FILES = ("github_audit", "cloudtrail")


def truth_used(truth: dict[str, Any]) -> set[str] | None:
    """SHA-256 of every secret the attacker used; None when the tenant has no such logs."""
    chain = truth.get("chain") or {}
    used = (chain.get("secret_use") or {}).get("used_by_attacker")
    return None if used is None else {u["sha256"] for u in used}


def run_secret_use(store: Store, files: dict[str, Any], findings: list[Finding]) -> list[Finding]:
    """Ingest the tenant's credential logs, scan the mail the attacker read, join: the secret_used findings."""
    from nightowl.secrets.scan import ScanOptions, scan_paths

    ingest_paths(store, [str(files[k]) for k in LOG_FILES if k in files])
    scan = scan_paths([str(files["mail"])], ScanOptions())
    secrets = [s.to_finding() for s in scan.secrets.values()]
    return secret_use(store, findings + secrets)


def score_secret_use(found: list[Finding], truth: dict[str, Any]) -> dict[str, int] | None:
    """Secrets used, how many a finding named, findings naming a secret the attacker did not use."""
    true = truth_used(truth)
    if true is None:
        return None
    named = {str(f.extra.get("secret_sha256")) for f in found if f.category == "secret_used"}
    return {"secrets_used": len(true), "found": len(true & named), "false_findings": len(named - true)}


def add_up(parts: list[dict[str, int] | None]) -> dict[str, int] | None:
    """The per-case counts summed (None when no case had credential logs)."""
    real = [p for p in parts if p]
    if not real:
        return None
    return {k: sum(p[k] for p in real) for k in real[0]}


def markdown(total: dict[str, int] | None) -> str:
    if not total:
        return ""
    return (
        "| secret_used | secrets the attacker used | found | findings on secrets it did not use |\n"
        "|---|---|---|---|\n"
        f"| nightowl | {total['secrets_used']} | {total['found']} | {total['false_findings']} |"
    )
