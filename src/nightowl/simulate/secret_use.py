"""The last step of the story: the attacker uses secrets it read in the mail; their owners use theirs as always.

Writes a GitHub enterprise audit log (the streaming format: one event per line) and CloudTrail (an S3
trail file, ``{"Records": [...]}``) for the whole period. Every GitHub token and AWS access key the
mailboxes carry is used by its owner (the mailbox owner) on working days, from their office or home
address, and an automation host; other developers and roles add routine traffic. After the attacker
read the mail, it uses two of those secrets (the first classic GitHub token and the first AWS key id in
the mail) from a few of the password spray's proxy addresses: it clones repositories with the token and
explores S3 with the key, some calls refused. The truth lists the secrets used and from where.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.population import Tenant, User
from nightowl.simulate.writers import write_json, write_jsonl

DAY = 86400
GITHUB_FAMILIES = ("github_pat", "github_fine_grained_pat")
ACCESS_TYPE = {
    "github_pat": "Personal access token (classic)",
    "github_fine_grained_pat": "Fine-grained personal access token",
}
GIT_UA = ["git/2.43.0", "git/2.45.2", "git/2.39.3 (Apple Git-146)", "JGit/6.9.0"]
AWS_UA = [
    "aws-cli/2.22.10 md/awscrt#0.22.0 ua/2.0 os/linux#6.8",
    "Boto3/1.35.76 md/Botocore#1.35.76",
    "terraform/1.9.8",
]


@dataclass
class SecretUseOut:
    github: list[dict[str, Any]] = field(default_factory=list)
    cloudtrail: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


class _Log:
    """Event builders for both logs, sharing the tenant's names and one random stream."""

    def __init__(self, rng: np.random.Generator, tn: Tenant) -> None:
        self.rng, self.tn = rng, tn
        self.org = tn.domain.split(".")[0].lower()
        self.account = str(int(rng.integers(10**11, 10**12)))
        self.repos = sorted(
            {
                f"{self.org}/{C.pick(rng, C.WORDS)}-{C.pick(rng, ['api', 'web', 'infra', 'etl', 'sdk', 'docs'])}"
                for _ in range(40)
            }
        )
        self.buckets = [f"{self.org}-{w}" for w in ("builds", "backups", "data-lake", "terraform-state")]
        self.out = SecretUseOut()

    def uid(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    def github(
        self, t: float, action: str, login: str, ip: str, repo: str | None, token: dict | None, ua: str
    ) -> None:
        ms = int(t * 1000)
        ev: dict[str, Any] = {
            "@timestamp": ms,
            "_document_id": base64.urlsafe_b64encode(self.rng.bytes(16)).decode().rstrip("="),
            "action": action,
            "actor": login,
            "actor_id": 10_000 + sum(map(ord, login)),
            "actor_ip": ip,
            "business": self.org + "-enterprise",
            "org": self.org,
            "created_at": ms,
            "operation_type": "access" if action.startswith("git.") else "modify",
            "user_agent": ua,
        }
        if repo:
            ev |= {"repo": repo, "repository_public": False}
        if action.startswith("git."):
            ev["transport_protocol_name"] = "http"
        if token:
            ev |= {
                "programmatic_access_type": token["type"],
                "hashed_token": token["hash"],
                "token_id": token["id"],
                "token_scopes": "repo,read:org",
            }
        self.out.github.append(ev)

    def aws(
        self,
        t: float,
        name: str,
        source: str,
        ip: str,
        identity: dict,
        ua: str,
        params: dict | None,
        error: str | None = None,
    ) -> None:
        ev: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "eu-west-1",
            "sourceIPAddress": ip,
            "userAgent": ua,
            "requestParameters": params,
            "responseElements": None,
            "requestID": self.uid(),
            "eventID": self.uid(),
            "readOnly": name.startswith(("Get", "List", "Describe")),
            "eventType": "AwsApiCall",
            "managementEvent": source != "s3.amazonaws.com" or name == "ListBuckets",
            "recipientAccountId": self.account,
        }
        if error:
            ev |= {"errorCode": error, "errorMessage": f"User is not authorized to perform: {name}"}
        self.out.cloudtrail.append(ev)

    def iam_user(self, name: str, key_id: str) -> dict[str, Any]:
        return {
            "type": "IAMUser",
            "principalId": "AIDA" + base64.b32encode(self.rng.bytes(10)).decode()[:16],
            "arn": f"arn:aws:iam::{self.account}:user/{name}",
            "accountId": self.account,
            "accessKeyId": key_id,
            "userName": name,
        }


def _login(u: User) -> str:
    return u.upn.split("@")[0].replace(".", "-").replace("_", "-").lower()


def _usual_ip(tn: Tenant, u: User) -> str:
    idx = tn.offices[u.office].ips[0] if u.office >= 0 and tn.offices else u.home_ip
    return tn.net.ips[idx].ip


def _workdays(start: float, days: int) -> list[float]:
    return [
        start + d * DAY for d in range(days) if datetime.fromtimestamp(start + d * DAY, UTC).weekday() < 5
    ]


def run_secret_use(
    tn: Tenant, seed: int, chain: dict[str, Any], spray_ips: list[str], start: float, end: float
) -> SecretUseOut:
    """GitHub audit and CloudTrail events for the period, with the attacker's use of two mailed secrets."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1600]))
    log = _Log(rng, tn)
    by_upn = {u.upn.lower(): u for u in tn.users}
    secrets = chain.get("secrets") or []
    tokens = [s for s in secrets if s["family"] in GITHUB_FAMILIES]
    keys = [s for s in secrets if s["family"] == "aws_access_key_id" and s.get("access_key_id")]
    read_at = max(
        (datetime.fromisoformat(st["time"].replace("Z", "+00:00")).timestamp() for st in chain.get("steps", [])
         if st["action"] == "mailboxes_read_via_ews"),
        default=start + (end - start) * 0.7,
    )  # fmt: skip
    ci_host = tn.net.ips[tn.net.new_v4(tn.net.pick_asn("hosting"), kind="hosting")].ip
    days = _workdays(start, int((end - start) // DAY))

    # owners use every mailed token and key as usual, all month (the stolen ones too)
    for s in tokens:
        owner = by_upn.get(s["mailbox"])
        if owner is None:
            continue
        tok = {"type": ACCESS_TYPE[s["family"]], "hash": base64.b64encode(bytes.fromhex(s["sha256"])).decode(),
               "id": int(rng.integers(10**6, 10**8))}  # fmt: skip
        mine = [log.repos[int(i)] for i in rng.choice(len(log.repos), 3, replace=False)]
        ua = C.pick(rng, GIT_UA)
        for d in days:
            for _ in range(int(rng.integers(1, 4))):
                t = d + (owner.start_hour - owner.tz) % 24 * 3600 + float(rng.uniform(0, owner.hours * 3600))
                log.github(t, C.pick(rng, ["git.fetch", "git.push", "git.clone"], [0.6, 0.3, 0.1]), _login(owner),
                           _usual_ip(tn, owner), C.pick(rng, mine), tok, ua)  # fmt: skip
    for s in keys:
        owner = by_upn.get(s["mailbox"])
        if owner is None:
            continue
        ident = log.iam_user("svc-" + _login(owner), s["access_key_id"])
        for d in days:
            for _ in range(int(rng.integers(2, 6))):
                t = d + float(rng.uniform(0, DAY))
                bucket = log.buckets[0]
                log.aws(t, C.pick(rng, ["GetObject", "PutObject", "GetCallerIdentity"]), "s3.amazonaws.com",
                        C.pick(rng, [ci_host, _usual_ip(tn, owner)], [0.7, 0.3]), ident, C.pick(rng, AWS_UA),
                        {"bucketName": bucket, "key": f"release/{int(rng.integers(1, 999))}.tar.gz"})  # fmt: skip
    _routine(log, rng, tn, days, ci_host)

    used = []
    thieves = [spray_ips[int(i)] for i in rng.choice(len(spray_ips), min(len(spray_ips), 4), replace=False)]
    t = min(read_at + float(rng.uniform(2, 20)) * 3600, end - 3 * 3600)
    classic = next((s for s in tokens if s["family"] == "github_pat"), None)
    if classic and thieves:
        tok = {"type": ACCESS_TYPE["github_pat"], "hash": base64.b64encode(bytes.fromhex(classic["sha256"])).decode(),
               "id": int(rng.integers(10**6, 10**8))}  # fmt: skip
        owner = by_upn[classic["mailbox"]]
        first = t
        taken = [log.repos[int(i)] for i in rng.choice(len(log.repos), 12, replace=False)]
        for repo in taken:
            log.github(t, "git.clone", _login(owner), C.pick(rng, thieves[:3]), repo, tok, "git/2.34.1")
            t += float(rng.uniform(20, 240))
        used.append(_label(classic, thieves[:3], first, t, len(taken), taken))
    if keys and thieves:
        key = keys[0]
        owner = by_upn[key["mailbox"]]
        ident = log.iam_user("svc-" + _login(owner), key["access_key_id"])
        t += float(rng.uniform(600, 3600))
        first, ips = t, thieves[2:]
        plan = [("GetCallerIdentity", "sts.amazonaws.com", None, None), ("ListUsers", "iam.amazonaws.com", None, "AccessDenied"),
                ("ListBuckets", "s3.amazonaws.com", None, None)]  # fmt: skip
        plan += [("ListObjects", "s3.amazonaws.com", {"bucketName": b}, None) for b in log.buckets]
        plan += [
            ("GetObject", "s3.amazonaws.com", {"bucketName": log.buckets[1], "key": f"db/{n}.dump"}, None)
            for n in range(6)
        ]
        for name, source, params, error in plan:
            log.aws(
                t,
                name,
                source,
                C.pick(rng, ips),
                ident,
                "aws-cli/2.15.0 Python/3.11.6 Linux/5.15",
                params,
                error,
            )
            t += float(rng.uniform(5, 90))
        used.append(_label(key, ips, first, t, len(plan), log.buckets))
    log.out.github.sort(key=lambda e: e["@timestamp"])
    log.out.cloudtrail.sort(key=lambda e: e["eventTime"])
    log.out.truth = {
        "used_by_attacker": used,
        "used_by_owners": sorted({s["sha256"] for s in tokens + keys}),
        "attacker_ips": sorted({ip for u in used for ip in u["attacker_ips"]}),
    }
    return log.out


def _label(
    s: dict[str, Any], ips: list[str], first: float, last: float, uses: int, resources: list[str]
) -> dict:
    return {
        "family": s["family"],
        "sha256": s["sha256"],
        "message_id": s["message_id"],
        "mailbox": s["mailbox"],
        "attacker_ips": sorted(ips),
        "first": datetime.fromtimestamp(int(first), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last": datetime.fromtimestamp(int(last), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "uses": uses,
        "resources": sorted(resources),
    }


def _routine(log: _Log, rng: np.random.Generator, tn: Tenant, days: list[float], ci_host: str) -> None:
    """Other developers' tokens and web sessions, an admin role's temporary keys: the usual noise."""
    devs = [u for u in tn.users if u.kind == "member"][:25]
    for u in devs:
        tok = {"type": ACCESS_TYPE["github_pat"], "hash": base64.b64encode(rng.bytes(32)).decode(),
               "id": int(rng.integers(10**6, 10**8))}  # fmt: skip
        repos = [log.repos[int(i)] for i in rng.choice(len(log.repos), 4, replace=False)]
        for d in days:
            if rng.random() < 0.8:
                t = d + (u.start_hour - u.tz) % 24 * 3600 + float(rng.uniform(0, u.hours * 3600))
                log.github(
                    t,
                    C.pick(rng, ["git.fetch", "git.push"]),
                    _login(u),
                    _usual_ip(tn, u),
                    C.pick(rng, repos),
                    tok,
                    "git/2.44.0",
                )
            if rng.random() < 0.1:
                t = d + (u.start_hour - u.tz) % 24 * 3600 + float(rng.uniform(0, u.hours * 3600))
                log.github(t, C.pick(rng, ["repo.download_zip", "protected_branch.update", "repo.create"]), _login(u),
                           _usual_ip(tn, u), C.pick(rng, repos), None, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0")  # fmt: skip
    admin = next((u for u in tn.users if u.kind in ("admin", "member")), None)
    if admin is None:
        return
    session = f"arn:aws:sts::{log.account}:assumed-role/Admin/{admin.upn.lower()}"
    for d in days:
        key = "ASIA" + base64.b32encode(rng.bytes(10)).decode()[:16]
        ident = {"type": "AssumedRole", "principalId": f"AROAEXAMPLE:{admin.upn.lower()}", "arn": session,
                 "accountId": log.account, "accessKeyId": key}  # fmt: skip
        for _ in range(int(rng.integers(3, 9))):
            t = d + (admin.start_hour - admin.tz) % 24 * 3600 + float(rng.uniform(0, admin.hours * 3600))
            log.aws(t, C.pick(rng, ["DescribeInstances", "ListBuckets", "GetMetricData", "DescribeAlarms"]),
                    C.pick(rng, ["ec2.amazonaws.com", "s3.amazonaws.com", "monitoring.amazonaws.com"]),
                    _usual_ip(tn, admin), ident, "console.amazonaws.com", None)  # fmt: skip


def write_secret_use(out_dir: Path, out: SecretUseOut) -> dict[str, Path]:
    return {
        "github_audit": write_jsonl(out_dir / "github_audit.jsonl", out.github),
        "cloudtrail": write_json(out_dir / "cloudtrail.json", {"Records": out.cloudtrail}),
    }
