"""Mailboxes the malicious app read: ordinary mail, and a few messages with fake secrets.

Secrets are random values in the providers' documented shapes (AWS access key pair, GitHub
classic and fine-grained tokens, Azure storage connection string, a password in prose, a .env
file inside a zip, a base64 text attachment). Only their SHA-256 goes into the truth.
"""

from __future__ import annotations

import base64
import hashlib
import io
import mailbox
import zipfile
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import numpy as np

from nightowl.simulate import catalog as C

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

SUBJECTS = [
    "Q{q} planning notes",
    "Re: customer escalation {n}",
    "Team offsite agenda",
    "Updated org chart",
    "Lunch on Thursday?",
    "Invoice {n} approved",
    "Weekly status - week {w}",
    "Re: contract redlines",
    "Board deck draft v{n}",
    "FW: travel itinerary",
    "Reminder: expense reports due",
    "Hiring panel feedback",
    "Re: incident review {n}",
    "Security awareness training",
    "Holiday schedule",
    "Re: vendor onboarding",
]
BODIES = [
    "Hi all,\n\nPlease find the notes from today's meeting below. Let me know if I missed anything.\n\nThanks",
    "Thanks for the quick turnaround. I'll review and get back to you by end of day.",
    "Attaching the latest version. Changes are tracked.\n\nBest regards",
    "Can we move our 1:1 to tomorrow afternoon? Something came up.",
    "Reminder that the password for the wifi in building 2 changed last week; ask the front desk.",
    "The token ceremony for the new badge readers is on Friday; facilities will send details.",
    "FYI - the key metrics dashboard is back online after the maintenance window.",
]


def _rand(rng: np.random.Generator, alphabet: str, n: int) -> str:
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), n))


def _b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def make_secrets(rng: np.random.Generator) -> dict[str, str]:
    entropy = _rand(rng, B62, 30)
    return {
        "aws_access_key_id": "AKIA" + _rand(rng, B32, 16),
        "aws_secret_access_key": _rand(rng, B62 + "/+", 40),
        "github_classic_pat": "ghp_" + entropy + _b62(zlib.crc32(entropy.encode()), 6),
        "github_fine_grained_pat": "github_pat_" + _rand(rng, B62, 22) + "_" + _rand(rng, B62, 59),
        "azure_storage_key": base64.b64encode(rng.bytes(64)).decode(),
        "password": C.pick(rng, C.WORDS).title()
        + str(int(rng.integers(10, 99)))
        + C.pick(rng, ["!", "#", "$", "%"])
        + _rand(rng, B62, 4),
        "db_password": _rand(rng, B62, 18),
    }


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def build_mailboxes(
    out: Path,
    rng: np.random.Generator,
    owners: list[tuple[str, str]],
    colleagues: list[tuple[str, str]],
    domain: str,
    t0: int,
    t1: int,
) -> tuple[list[Path], list[dict[str, Any]], dict[str, list[str]]]:
    """One mbox per owner. Returns paths, secret truth, and each mailbox's Internet message ids."""
    out.mkdir(parents=True, exist_ok=True)
    paths, secrets, msgids = [], [], {}
    carriers = rng.choice(len(owners), size=min(len(owners), 4), replace=False).tolist()
    kinds = ["aws", "github", "azure_storage", "password_prose", "env_zip", "base64_attachment"]
    plan: dict[int, list[str]] = {}
    for j, kind in enumerate(kinds):
        plan.setdefault(carriers[j % len(carriers)], []).append(kind)
    for oi, (upn, name) in enumerate(owners):
        path = out / f"{upn.split('@')[0]}.mbox"
        path.unlink(missing_ok=True)  # re-running into the same directory must not append
        box = mailbox.mbox(str(path), create=True)
        box.lock()
        ids = []
        n = int(rng.integers(15, 45))
        special = plan.get(oi, [])
        for k in range(n + len(special)):
            sender = colleagues[int(rng.integers(0, len(colleagues)))]
            msg = EmailMessage()
            msg["From"] = f"{sender[1]} <{sender[0]}>"
            msg["To"] = f"{name} <{upn}>"
            when = datetime.fromtimestamp(int(rng.integers(t0 - 60 * 86400, t1)), UTC)
            msg["Date"] = format_datetime(when)
            mid = f"<{rng.bytes(10).hex().upper()}@{C.pick(rng, ['mail', 'exch', 'prod'])}.{domain}>"
            msg["Message-ID"] = mid
            ids.append(mid)
            if k < n:
                msg["Subject"] = C.pick(rng, SUBJECTS).format(
                    q=int(rng.integers(1, 5)), n=int(rng.integers(100, 9999)), w=int(rng.integers(1, 52))
                )
                msg.set_content(C.pick(rng, BODIES) + f"\n\n{sender[1]}\n")
            else:
                kind = special[k - n]
                s = make_secrets(rng)
                found = _secret_message(msg, kind, s, domain, rng)
                for family, value, where in found:
                    secrets.append(
                        {
                            "family": family,
                            "sha256": _sha(value),
                            "mailbox": upn,
                            "message_id": mid,
                            "location": where,
                            "kind": kind,
                            "date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            # an access key id is an identifier, not a secret: CloudTrail logs it in clear
                            **({"access_key_id": value} if family == "aws_access_key_id" else {}),
                        }
                    )
            if msg.is_multipart():
                msg.set_boundary(f"==={rng.bytes(12).hex()}===")
            mb = mailbox.mboxMessage(msg)
            mb.set_from(sender[0], when.timetuple())
            box.add(mb)
        box.flush()
        box.unlock()
        box.close()
        paths.append(path)
        msgids[upn] = ids
    return paths, secrets, msgids


def _secret_message(msg: EmailMessage, kind: str, s: dict[str, str], domain: str, rng: np.random.Generator):
    if kind == "aws":
        msg["Subject"] = "Re: deploy credentials for the staging bucket"
        msg.set_content(
            "Here you go, please rotate after the migration:\n\n"
            f"aws_access_key_id = {s['aws_access_key_id']}\naws_secret_access_key = {s['aws_secret_access_key']}\n"
        )
        return [
            ("aws_access_key_id", s["aws_access_key_id"], "body"),
            ("aws_secret_access_key", s["aws_secret_access_key"], "body"),
        ]
    if kind == "github":
        msg["Subject"] = "CI token"
        msg.set_content(
            f"The pipeline uses this token until we move to the app:\n{s['github_classic_pat']}\n\n"
            f"and the fine-grained one for the docs repo: {s['github_fine_grained_pat']}\n"
        )
        return [
            ("github_pat", s["github_classic_pat"], "body"),
            ("github_fine_grained_pat", s["github_fine_grained_pat"], "body"),
        ]
    if kind == "azure_storage":
        account = C.pick(rng, C.WORDS) + "store" + str(int(rng.integers(1, 99)))
        conn = (
            f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={s['azure_storage_key']};"
            "EndpointSuffix=core.windows.net"
        )
        msg["Subject"] = "Storage connection string for the reporting job"
        msg.set_content(f"Use this in the app settings:\n\n{conn}\n")
        return [("azure_storage_account_key", s["azure_storage_key"], "body")]
    if kind == "password_prose":
        msg["Subject"] = "Build server access"
        msg.set_content(
            f"Hi,\n\nthe password for the build server is: {s['password']}\n\nPlease don't share it.\n"
        )
        return [("password_in_text", s["password"], "body")]
    if kind == "env_zip":
        env = (
            f"APP_ENV=production\nDB_HOST=db01.{domain}\nDB_USER=app\nDB_PASSWORD={s['db_password']}\n"
            f"AWS_ACCESS_KEY_ID={s['aws_access_key_id']}\nAWS_SECRET_ACCESS_KEY={s['aws_secret_access_key']}\n"
        )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("config/.env", date_time=(2023, 5, 4, 12, 0, 0))
            z.writestr(info, env)
        msg["Subject"] = "config for the new service"
        msg.set_content("Zipped config attached, the mail filter blocks .env files.\n")
        msg.add_attachment(
            buf.getvalue(), maintype="application", subtype="zip", filename="service-config.zip"
        )
        return [
            ("env_password", s["db_password"], "attachment:service-config.zip/config/.env"),
            ("aws_access_key_id", s["aws_access_key_id"], "attachment:service-config.zip/config/.env"),
            (
                "aws_secret_access_key",
                s["aws_secret_access_key"],
                "attachment:service-config.zip/config/.env",
            ),
        ]
    text = f"# notes\nGITHUB_TOKEN={s['github_classic_pat']}\n"
    msg["Subject"] = "notes from the migration"
    msg.set_content("See attached notes.\n")
    msg.add_attachment(text.encode(), maintype="text", subtype="plain", filename="notes.txt", cte="base64")
    return [("github_pat", s["github_classic_pat"], "attachment:notes.txt")]
