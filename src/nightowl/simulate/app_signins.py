"""Service principal sign-ins (Graph beta ``signIns``, ``signInEventTypes`` servicePrincipal): the
tenant's own applications and the attacker's use of the credentials it added.

Benign apps run from fixed infrastructure: a handful of addresses in one cloud network, a steady
token request every few hours, and a secret rotation during the month after which the new key id
is used from the same addresses (one of them is the chain's app whose secret an admin rotates in
the audit log). The attacker signs in as the legacy test app with the secret the compromised
account added, and as the app it created with that app's first secret, from the spray's
infrastructure, between the credential additions and the mailbox reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from nightowl.simulate.population import Tenant, uuid4
from nightowl.simulate.truth import iso

HOUR = 3600
RESOURCES = (
    "Microsoft Graph",
    "Office 365 Exchange Online",
    "Azure Key Vault",
    "Windows Azure Service Management API",
)
RESOURCE_IDS = {
    "Microsoft Graph": "00000003-0000-0000-c000-000000000000",
    "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000",
    "Azure Key Vault": "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    "Windows Azure Service Management API": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
}
BENIGN_NAMES = ("Payroll Export", "Ticketing Connector", "SIEM Collector", "Backup Agent", "Teams Bot")


@dataclass
class AppSignInsOut:
    records: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _record(rng, tn: Tenant, t: float, app_id: str, name: str, sp_id: str, key: str | None, ip: str,
            resource: str, country: str | None) -> dict[str, Any]:  # fmt: skip
    """One Graph beta signIn of a service principal, fields as the signIn resource documents them."""
    return {
        "id": uuid4(rng),
        "createdDateTime": iso(t),
        "userDisplayName": None,
        "userPrincipalName": None,
        "userId": "",
        "appId": app_id,
        "appDisplayName": name,
        "ipAddress": ip,
        "correlationId": uuid4(rng),
        "isInteractive": False,
        "resourceDisplayName": resource,
        "resourceId": RESOURCE_IDS[resource],
        "resourceTenantId": tn.tenant_id,
        "homeTenantId": tn.tenant_id,
        "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
        "location": {"city": None, "state": None, "countryOrRegion": country, "geoCoordinates": None},
        "servicePrincipalId": sp_id,
        "servicePrincipalName": name,
        "servicePrincipalCredentialKeyId": key,
        "servicePrincipalCredentialThumbprint": "",
        "signInEventTypes": ["servicePrincipal"],
        "clientCredentialType": "clientSecret",
        "authenticationProtocol": "none",
        "userAgent": "",
    }


def run_app_signins(tn: Tenant, seed: int, chain: dict[str, Any] | None, spray_ips: list[str],
                    start: float, end: float) -> AppSignInsOut:  # fmt: skip
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1700]))
    out = AppSignInsOut()
    recs = out.records
    benign: list[dict[str, Any]] = []
    keys = (chain or {}).get("app_keys") or {}
    if chain and keys.get("benign"):
        b = keys["benign"]
        benign.append({"appId": b["appId"], "name": chain["benign_app_with_credential_rotation"],
                       "keys": [b["old"], b["new"]], "rotated_at": _epoch(b["rotated_at"])})  # fmt: skip
    span = max(end - start, 2.0)
    lo, hi = start + min(3 * 86400, span / 3), end - min(86400, span / 3)
    for name in BENIGN_NAMES[: int(rng.integers(2, 5))]:  # the app rotates its own secret
        benign.append({"appId": uuid4(rng), "name": name, "keys": [uuid4(rng), uuid4(rng)],
                       "rotated_at": float(rng.uniform(lo, hi))})  # fmt: skip
    for app in benign:
        sp_id, octets = uuid4(rng), rng.integers(1, 250, 3)
        net = f"{int(rng.choice([20, 40, 52, 13]))}.{octets[0]}.{octets[1]}"
        ips = [f"{net}.{int(o)}" for o in rng.integers(1, 250, int(rng.integers(1, 4)))]
        resource = str(rng.choice(RESOURCES))
        t = start + float(rng.uniform(0, 6 * HOUR))
        while t < end:
            key = app["keys"][0] if t < app["rotated_at"] else app["keys"][1]
            recs.append(
                _record(
                    rng, tn, t, app["appId"], app["name"], sp_id, key, str(rng.choice(ips)), resource, "US"
                )
            )
            t += float(rng.uniform(1, 6)) * HOUR
    out.truth = {"benign_apps": sorted(a["appId"] for a in benign), "attacker_apps": [], "attacker_ips": []}
    if not chain or not keys.get("legacy"):
        recs.sort(key=lambda r: r["createdDateTime"])
        return out
    steps = {s["action"]: _epoch(s["time"]) for s in chain["steps"]}
    infra = sorted(set(spray_ips)) or chain["attacker_ips"]
    used: set[str] = set()
    for role, app, added in (
        ("legacy", chain["legacy_app"], steps["credential_added_to_legacy_app"]),
        ("malicious", chain["malicious_app"], steps["credential_added_to_new_app"]),
    ):
        sp_id = app.get("servicePrincipalId") or uuid4(rng)
        t = added + float(rng.uniform(300, 2 * HOUR))
        for _ in range(int(rng.integers(2, 6))):
            ip = str(rng.choice(infra))
            used.add(ip)
            recs.append(_record(rng, tn, min(t, end - 1), app["appId"], app["displayName"], sp_id, keys[role], ip,
                                "Office 365 Exchange Online" if role == "malicious" else "Microsoft Graph", None))  # fmt: skip
            t += float(rng.uniform(60, 3 * HOUR))
    out.truth.update(
        attacker_apps=sorted({chain["legacy_app"]["appId"], chain["malicious_app"]["appId"]}),
        attacker_ips=sorted(used),
    )
    recs.sort(key=lambda r: r["createdDateTime"])
    return out
