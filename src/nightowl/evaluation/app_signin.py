"""Scoring ``app_signin``: did nightowl name the applications the simulated attacker signed in as, and
no benign app (steady addresses, secrets rotated) at medium or above?

Every simulated tenant writes service principal sign-ins (``app_signins.jsonl``); a tenant with the
post-compromise chain also has the attacker's sign-ins as the legacy app and the app it created
(truth ``chain.app_signins.attacker_apps``). A medium+ ``app_signin`` finding is true when its app is
one of them; recall is over those apps.
"""

from __future__ import annotations

from typing import Any

from nightowl.detections.runner import run_all
from nightowl.findings import Finding
from nightowl.ingest import ingest_paths
from nightowl.store import Store

FILES = ("app_signins", "audit")
ALERTING = ("critical", "high", "medium")


def truth_apps(truth: dict[str, Any]) -> set[str]:
    return {a.lower() for a in ((truth.get("chain") or {}).get("app_signins") or {}).get("attacker_apps", [])}


def run_app_signin(store: Store, files: dict[str, Any], config: dict[str, Any] | None) -> list[Finding]:
    """Ingest the tenant's app sign-ins (and audit log), hunt again: the app_signin findings."""
    paths = [str(files[k]) for k in FILES if k in files]
    if not paths:
        return []
    ingest_paths(store, paths)
    return [f for f in run_all(store, config) if f.category == "app_signin"]


def score_app_signin(found: list[Finding], truth: dict[str, Any]) -> dict[str, int]:
    true = truth_apps(truth)
    named = {
        str((f.evidence.get("actor") or {}).get("app_id") or "").lower()
        for f in found
        if f.severity in ALERTING
    }
    return {
        "attacker_apps": len(true),
        "found": len(true & named),
        "false_findings": len(named - true),
        "low_findings": sum(1 for f in found if f.severity not in ALERTING),
    }


def markdown(total: dict[str, int] | None) -> str:
    if not total:
        return ""
    return (
        "| app_signin | apps the attacker signed in as | found (medium+) | medium+ findings on other apps | low findings |\n"
        "|---|---|---|---|---|\n"
        f"| nightowl | {total['attacker_apps']} | {total['found']} | {total['false_findings']} | {total['low_findings']} |"
    )
