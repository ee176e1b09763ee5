"""End to end from a Graph v1.0 export built here, not by nightowl's simulator: v1.0 ``signIn``
records carry no user agent, ASN, authentication requirement or MFA detail, so the only fingerprint
left is the application and the client, which a spray tool shares with Outlook desktop.

The tenant: people at home and behind the office NAT (typos, a Monday of stale passwords on the
NAT), travellers on hotel networks with Outlook desktop and MFA, a distributed spray from rotating
residential proxies that rotates the application too, and one legacy test account without MFA
whose password the spray found (then used from more proxies)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.store import Store
from tests.detections.events import by_detection

START = datetime(2025, 11, 3, tzinfo=UTC)  # a Monday
DOMAIN = "fabrikam-labs.example"
APPS = ["Office 365 Exchange Online", "Microsoft Teams", "SharePoint Online", "Azure Portal"]
DESKTOP = "Mobile Apps and Desktop clients"
OFFICE_NAT = ["203.0.113.10", "203.0.113.11"]
REASONS = {0: "Other.", 50126: "Error validating credentials due to invalid username or password."}


def write_tenant(path: Path, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    people = [f"user{i:04d}@{DOMAIN}" for i in range(600)]
    test_account = f"qa-legacy-test@{DOMAIN}"
    home = {u: f"198.51.{rnd.randrange(100)}.{rnd.randrange(1, 250)}" for u in people}
    lines: list[str] = []

    def signin(t: datetime, upn: str, ip: str, code: int, client: str = "Browser", mfa: bool = True) -> None:
        lines.append(
            json.dumps(
                {
                    "id": str(uuid.UUID(int=rnd.getrandbits(128))),
                    "createdDateTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "userPrincipalName": upn,
                    "userId": str(uuid.uuid5(uuid.NAMESPACE_DNS, upn)),
                    "appDisplayName": rnd.choice(APPS),
                    "ipAddress": ip,
                    "clientAppUsed": client,
                    "correlationId": str(uuid.UUID(int=rnd.getrandbits(128))),
                    "isInteractive": True,
                    "status": {
                        "errorCode": code,
                        "failureReason": REASONS[code],
                        "additionalDetails": "MFA requirement satisfied by claim in the token"
                        if mfa and not code
                        else None,
                    },
                    "location": {"city": "Seattle", "countryOrRegion": "US"},
                }
            )
        )

    for day in range(7):
        for u in people:
            t = START + timedelta(days=day, hours=rnd.uniform(7, 20))
            ip = rnd.choice(OFFICE_NAT) if day < 5 and rnd.random() < 0.7 else home[u]
            if rnd.random() < 0.04:
                signin(t, u, ip, 50126, mfa=False)
            signin(t + timedelta(seconds=30), u, ip, 0)
    for u in rnd.sample(people, 60):  # Monday: the weekend's password change, phones retrying on the NAT
        for k in range(3):
            signin(
                START + timedelta(hours=8, minutes=5 * k), u, OFFICE_NAT[0], 50126, client=DESKTOP, mfa=False
            )
    targets = [*rnd.sample(people, 200), test_account]
    proxies: list[str] = []
    for wave in range(3):
        for u in targets:
            ip = f"{rnd.choice([45, 77, 91, 146, 178])}.{rnd.randrange(1, 255)}.{rnd.randrange(1, 255)}.{rnd.randrange(1, 255)}"
            proxies.append(ip)
            t = START + timedelta(days=1 + 2 * wave, seconds=rnd.randrange(36 * 3600))
            if u == test_account and wave == 2:  # the spray's password works: no MFA on a test account
                signin(t, u, ip, 0, client=DESKTOP, mfa=False)
                for k in range(4):
                    ip = f"91.{rnd.randrange(1, 255)}.{rnd.randrange(1, 255)}.{rnd.randrange(1, 255)}"
                    signin(t + timedelta(hours=2 + 3 * k), u, ip, 0, client=DESKTOP, mfa=False)
                continue
            signin(t, u, ip, 50126, client=DESKTOP, mfa=False)
    travellers = rnd.sample([u for u in targets if u != test_account], 30)
    for u in travellers:  # targeted people on a hotel network, Outlook desktop, MFA claim in the token
        t = START + timedelta(days=rnd.randint(2, 6), hours=rnd.randrange(6, 20))
        signin(
            t,
            u,
            f"100.{rnd.randrange(64, 128)}.{rnd.randrange(255)}.{rnd.randrange(1, 255)}",
            0,
            client=DESKTOP,
        )
    rnd.shuffle(lines)  # no order to lean on
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"proxies": set(proxies), "compromised": test_account, "travellers": set(travellers)}


def test_v1_export_spray_found_its_one_compromise_named_and_no_traveller_called_compromised(tmp_path):
    path = tmp_path / "signIns-v1.jsonl"
    truth = write_tenant(path)
    with Store() as store:
        (report,) = ingest_paths(store, [str(path)])
        findings = run_all(store)
    assert report.format == "entra-graph-json" and not report.tally.quarantine
    (campaign,) = by_detection(findings, "spray.distributed")
    named = set(campaign.source_ips)
    assert len(named & truth["proxies"]) >= 0.95 * len(truth["proxies"])
    assert not named & set(OFFICE_NAT)
    assert "network" not in campaign.summary  # v1.0 has no ASN to count networks by
    compromises = by_detection(findings, "compromise.after_attack")
    assert [c.compromised_users for c in compromises] == [[truth["compromised"]]]
    assert compromises[0].severity == "critical"
    assert not {u for f in findings for u in f.compromised_users} & truth["travellers"]
