"""Findings and stores for the report tests: the attack chain of tests/test_incidents.py, a store
of sign-ins around it, and many generated findings for the 10,000-row browser test."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from nightowl.findings import SEVERITIES, Finding, stable_id
from nightowl.schema import STATUS_FAILURE, STATUS_SUCCESS, batch_from_rows
from nightowl.store import Store
from tests.test_incidents import chain, noise

__all__ = ["NEEDLE", "chain", "hostile", "many_findings", "noise", "spray_store"]

XSS = "<script>alert(1)</script>"
NEEDLE = "needle-account@corp.example"


def hostile() -> Finding:
    """A finding whose attacker-written fields try to inject markup and script."""
    return Finding(
        id=stable_id("xss", 1),
        detection="bruteforce.single_account",
        category="brute_force",
        severity="high",
        title=f"Brute force against {XSS}",
        summary=f'Attempts against {XSS} with agent "</script><script>alert(2)</script>"',
        first_seen="2026-01-12T00:00:00Z",
        last_seen="2026-01-12T01:00:00Z",
        users=[f"{XSS}@corp.example", '"><img src=x onerror=alert(3)>'],
        compromised_users=[f"{XSS}@corp.example"],
        source_ips=["203.0.113.9"],
        counts={"attempts": 40},
        evidence={
            "top_user_agent": "</script><svg onload=alert(4)>",
            "asn_org": "<b>Evil ASN</b>",
            "country": "<i>XX</i>",
        },
    )


def many_findings(n: int, seed: int = 7) -> list[Finding]:
    """``n`` varied findings; every 1,000th one names NEEDLE (so a search finds n // 1000 of them)."""
    rng = random.Random(seed)
    cats = [
        "password_spray",
        "brute_force",
        "account_compromise",
        "consent_grant",
        "mailbox_access",
        "stale_credentials",
        "secret",
        "exposure",
        "app_credential",
    ]
    start = datetime(2026, 1, 1)
    out = []
    for i in range(n):
        cat = rng.choice(cats)
        t = start + timedelta(minutes=rng.randrange(60 * 24 * 30))
        users = [f"user{rng.randrange(5000)}@corp.example" for _ in range(rng.randrange(1, 6))]
        if i % 1000 == 0:
            users.append(NEEDLE)
        extra = {}
        if cat == "secret":
            extra = {
                "rule": "generic.password",
                "secret_sha256": f"{i:064x}",
                "redacted": "pa…",
                "locations": [{"path": f"repo/file{i}.py", "line": i % 300 + 1}],
            }
        if cat in ("consent_grant", "mailbox_access", "app_credential"):
            extra["applications"] = [{"id": f"app-{rng.randrange(300)}", "name": f"App {i % 300}"}]
        out.append(
            Finding(
                id=stable_id("many", i),
                detection=f"gen.{cat}",
                category=cat,
                severity=rng.choice(SEVERITIES),
                title=f"Generated {cat.replace('_', ' ')} number {i}",
                summary=f"Synthetic finding {i} for the paging test",
                first_seen=t.isoformat() + "Z",
                last_seen=(t + timedelta(hours=rng.randrange(1, 48))).isoformat() + "Z",
                users=users,
                compromised_users=users[:1] if cat == "account_compromise" else [],
                source_ips=[
                    f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                    for _ in range(rng.randrange(0, 4))
                ],
                counts={"attempts": rng.randrange(1, 500)},
                evidence={
                    "top_user_agent": f"agent/{rng.randrange(50)}",
                    "asn_org": f"AS {rng.randrange(40)}",
                    "sample_records": [f"signins.jsonl:{rng.randrange(10**6)}" for _ in range(3)],
                },
                extra=extra,
            )
        )
    return out


SPRAY_ORGS = [("Residential ISP A", "US"), ("Residential ISP B", "DE"), ("Mobile Carrier C", "BR")]


def spray_store(path: Path) -> Store:
    """A store with the chain's spray (its 40 addresses, failures 2026-01-10 01:00 to 01-12 05:00) and
    ordinary successful sign-ins from an office network every hour of those days."""
    spray = chain()[0]
    rows = []
    t0 = datetime(2026, 1, 10, 1)
    for k in range(300):
        ip = spray.source_ips[k % len(spray.source_ips)]
        org, country = SPRAY_ORGS[k % len(spray.source_ips) % 3]
        rows.append(
            {
                "time": t0 + timedelta(minutes=k * 10),
                "user_name": spray.users[k % 60],
                "src_endpoint_ip": ip,
                "src_asn_org": org,
                "src_country": country,
                "status_id": STATUS_FAILURE,
                "source_format": "test",
                "record_ref": f"t:{k}",
            }
        )
    for h in range(24 * 3):
        rows.append(
            {
                "time": datetime(2026, 1, 10) + timedelta(hours=h, minutes=5),
                "user_name": "office@corp.example",
                "src_endpoint_ip": "192.0.2.10",
                "src_asn_org": "Corp Office",
                "src_country": "GB",
                "status_id": STATUS_SUCCESS,
                "source_format": "test",
                "record_ref": f"o:{h}",
            }
        )
    store = Store(path)
    store.append(batch_from_rows(rows))
    return store
