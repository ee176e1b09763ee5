"""Output files: Graph beta signIn NDJSON and the Azure portal's CSV downloads.

The portal CSV header is reproduced with its quirks: trailing spaces in "Application ID " and
"Resource ID ", two spaces in "Autonomous system  number", and "Incoming token type" twice.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

from nightowl.simulate.catalog import INTERRUPTS

PORTAL_HEADER = [
    "Date (UTC)",
    "Request ID",
    "User agent",
    "Correlation ID",
    "User ID",
    "User",
    "Username",
    "User type",
    "Cross tenant access type",
    "Incoming token type",
    "Authentication Protocol",
    "Unique token identifier",
    "Original transfer method",
    "Client credential type",
    "Token Protection - Sign In Session",
    "Token Protection - Sign In Session StatusCode",
    "Application",
    "Application ID ",
    "App owner tenant ID",
    "Resource",
    "Resource ID ",
    "Resource tenant ID",
    "Resource owner tenant ID",
    "Home tenant ID",
    "Home tenant name",
    "IP address",
    "Location",
    "Status",
    "Sign-in error code",
    "Failure reason",
    "Client app",
    "Device ID",
    "Browser",
    "Operating System",
    "Compliant",
    "Managed",
    "Join Type",
    "Multifactor authentication result",
    "Multifactor authentication auth method",
    "Multifactor authentication auth detail",
    "Authentication requirement",
    "Sign-in identifier",
    "Session ID",
    "IP address (seen by resource)",
    "Through Global Secure Access",
    "Global Secure Access IP address",
    "Autonomous system  number",
    "Flagged for review",
    "Token issuer type",
    "Incoming token type",
    "Token issuer name",
    "Latency",
    "Conditional Access",
    "Managed Identity type",
    "Associated Resource Id",
    "Federated Token Id",
    "Federated Token Issuer",
]
MS_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # owner tenant of Microsoft first-party apps
_TOKEN = {"none": "None", "primaryRefreshToken": "Primary Refresh Token"}
_PROTO = {"none": "None", "ropc": "ROPC", "oAuth2": "OAuth 2.0", "deviceCode": "Device code"}
_CA = {"success": "Success", "failure": "Failure", "notApplied": "Not Applied"}


def portal_row(r: dict[str, Any]) -> list[str]:
    """One Graph signIn dict as a portal CSV row (strings as the portal shows them)."""
    st, dd, loc = r["status"], r["deviceDetail"], r["location"]
    code = st["errorCode"]
    status = "Success" if code == 0 else ("Interrupted" if code in INTERRUPTS else "Failure")
    mfa = r["mfaDetail"] or {}
    mfa_result = ""
    if code == 0 and r["authenticationRequirement"] == "multiFactorAuthentication":
        mfa_result = st["additionalDetails"] or ""
    token = _TOKEN.get(r["incomingTokenType"], "None")
    cc = r["homeTenantId"]
    return [
        r["createdDateTime"],
        r["id"],
        r["userAgent"],
        r["correlationId"],
        r["userId"],
        r["userDisplayName"] or "",
        r["userPrincipalName"],
        "Guest" if r["userType"] == "guest" else "Member",
        "B2B collaboration" if r["crossTenantAccessType"] == "b2bCollaboration" else "None",
        token,
        _PROTO.get(r["authenticationProtocol"], "None"),
        "",
        "",
        "None",
        "",
        "",
        r["appDisplayName"],
        r["appId"],
        MS_TENANT,
        r["resourceDisplayName"],
        r["resourceId"],
        cc,
        MS_TENANT,
        cc,
        "",
        r["ipAddress"],
        ", ".join(x for x in (loc["city"], loc["state"], loc["countryOrRegion"]) if x),
        status,
        str(code),
        "" if code == 0 else st["failureReason"],
        r["clientAppUsed"],
        dd["deviceId"],
        dd["browser"],
        dd["operatingSystem"],
        "Yes" if dd["isCompliant"] else "No",
        "Yes" if dd["isManaged"] else "No",
        dd["trustType"],
        mfa_result,
        mfa.get("authMethod") or "",
        mfa.get("authDetail") or "",
        "Multifactor authentication"
        if r["authenticationRequirement"] == "multiFactorAuthentication"
        else "Single-factor authentication",
        r["userPrincipalName"],
        "",
        "",
        "No",
        "",
        str(r["autonomousSystemNumber"]),
        "No",
        "Azure AD",
        token,
        "",
        "",
        _CA.get(r["conditionalAccessStatus"], "Not Applied"),
        "",
        "",
        "",
        "",
    ]


class SignInSink:
    """Streams sign-in lines (already in time order) to every requested format."""

    def __init__(self, out_dir: Path, formats: tuple[str, ...], label: str) -> None:
        self.paths: dict[str, Path] = {}
        self._graph = None
        self._csv: dict[bool, tuple[io.TextIOWrapper, Any]] = {}
        self.count = 0
        if "graph" in formats:
            self.paths["signins"] = out_dir / "signins.jsonl"
            self._graph = open(self.paths["signins"], "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        if "csv" in formats:
            for inter, name in ((True, "InteractiveSignIns"), (False, "NonInteractiveSignIns")):
                path = out_dir / f"{name}_{label}.csv"
                self.paths[f"csv_{'interactive' if inter else 'noninteractive'}"] = path
                fh = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
                w = csv.writer(fh)
                w.writerow(PORTAL_HEADER)
                self._csv[inter] = (fh, w)

    def write(self, lines: list[bytes]) -> None:
        """``lines`` end with a newline."""
        if not lines:
            return
        self.count += len(lines)
        if self._graph is not None:
            self._graph.writelines(lines)
        if self._csv:
            for line in lines:
                rec = orjson.loads(line)
                self._csv[rec["isInteractive"]][1].writerow(portal_row(rec))

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
        for fh, _ in self._csv.values():
            fh.close()


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with open(path, "wb") as fh:
        for r in records:
            fh.write(orjson.dumps(r) + b"\n")
    return path


def write_json(path: Path, obj: Any) -> Path:
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path
