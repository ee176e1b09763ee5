"""Entra ID account inventories -> the ``accounts`` table (one row per account per export).

Two exports, merged by UPN at query time (``exposure.py``):

* ``userRegistrationDetails`` (``GET /reports/authenticationMethods/userRegistrationDetails``,
  JSON pages; or the portal's / PowerShell's CSV): isAdmin, isMfaRegistered, isMfaCapable,
  methodsRegistered, userType. Says who has MFA, and which kind.
* Graph ``users`` with ``accountEnabled`` and ``signInActivity`` (``GET /users?$select=...``, JSON
  or a CSV with the same names, dotted or not): says who is enabled, and who still signs in.

CSV headers are matched by name without case, spaces or punctuation, so ``isMfaRegistered``,
``IsMfaRegistered`` and ``MFA registered`` are one column. Records have no id that changes with
their content, so the event uid is a hash of the record: the same export read twice is stored
once, a newer export adds rows (the newest wins when merged).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from nightowl import audit_schema
from nightowl.sources.base import InputFile, ReadOptions, Tally, json_head
from nightowl.sources.records.csv_rows import header_line, keyed_records
from nightowl.sources.records.fields import boolean, content_uid, dyn, lower, text
from nightowl.sources.records.json_python import RecordError, json_records, read_rows
from nightowl.sources.records.times import parse_time

FAMILY = "entra-accounts"

# normalized header / key -> column; keys are lowercased with everything but letters and digits removed
ALIASES: dict[str, str] = {
    "userprincipalname": "upn", "upn": "upn", "userprincipal": "upn",
    "id": "user_id", "objectid": "user_id", "userid": "user_id",
    "userdisplayname": "display_name", "displayname": "display_name", "name": "display_name",
    "usertype": "user_type",
    "accountenabled": "account_enabled", "enabled": "account_enabled",
    "blockcredential": "blocked", "blocksignin": "blocked",
    "isadmin": "is_admin", "admin": "is_admin",
    "ismfaregistered": "is_mfa_registered", "mfaregistered": "is_mfa_registered",
    "multifactorauthenticationregistered": "is_mfa_registered",
    "ismfacapable": "is_mfa_capable", "mfacapable": "is_mfa_capable",
    "multifactorauthenticationcapable": "is_mfa_capable",
    "ispasswordlesscapable": "is_passwordless_capable", "passwordlesscapable": "is_passwordless_capable",
    "isssprregistered": "is_sspr_registered", "ssprregistered": "is_sspr_registered",
    "selfservicepasswordresetregistered": "is_sspr_registered",
    "methodsregistered": "methods_registered", "registeredmethods": "methods_registered",
    "authenticationmethods": "methods_registered",
    "defaultmfamethod": "default_mfa_method", "defaultmethod": "default_mfa_method",
    "userpreferredmethodforsecondaryauthentication": "preferred_method",
    "createddatetime": "created", "created": "created", "whencreated": "created",
    "lastsignindatetime": "last_sign_in", "signinactivitylastsignindatetime": "last_sign_in",
    "lastinteractivesignin": "last_sign_in", "lastsignin": "last_sign_in",
    "lastnoninteractivesignindatetime": "last_non_interactive_sign_in",
    "signinactivitylastnoninteractivesignindatetime": "last_non_interactive_sign_in",
    "lastsuccessfulsignindatetime": "last_successful_sign_in",
    "signinactivitylastsuccessfulsignindatetime": "last_successful_sign_in",
    "onpremisessyncenabled": "on_premises_sync", "directorysynced": "on_premises_sync",
    "dirsyncenabled": "on_premises_sync",
    "passwordpolicies": "password_policies",
    "jobtitle": "job_title", "department": "department",
    "lastupdateddatetime": "report_time",
}  # fmt: skip
MARKERS = ("ismfaregistered", "methodsregistered", "ismfacapable", "accountenabled", "signinactivity",
           "lastsignindatetime", "mfaregistered", "multifactorauthenticationregistered")  # fmt: skip
BOOLS = ("account_enabled", "blocked", "is_admin", "is_mfa_registered", "is_mfa_capable",
         "is_passwordless_capable", "is_sspr_registered", "on_premises_sync")  # fmt: skip
TIMES = ("created", "last_sign_in", "last_non_interactive_sign_in", "last_successful_sign_in", "report_time")


def norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _flatten(rec: dict[str, Any]) -> dict[str, Any]:
    """Graph nests signInActivity; exports may dot it (signInActivity.lastSignInDateTime)."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if not isinstance(key, str):
            continue
        nested = dyn(value) if norm(key) == "signinactivity" else value
        if isinstance(nested, dict) and norm(key) == "signinactivity":
            for inner_key, inner in nested.items():
                out.setdefault(ALIASES.get(norm(str(inner_key)), ""), inner)
            continue
        column = ALIASES.get(norm(key))
        if column and out.get(column) in (None, ""):
            out[column] = value
    out.pop("", None)
    return out


def _methods(value: Any) -> list[str] | None:
    value = dyn(value)
    if isinstance(value, list):
        items = [text(v, 64) for v in value]
    elif isinstance(value, str):
        if value.strip().startswith("System."):  # PowerShell Export-Csv of an array: contents lost
            return None
        items = re.split(r"[,;|\s]+", value)
    else:
        return None
    return sorted({i.strip() for i in items if i and i.strip()})


def account_row(rec: dict[str, Any], ref: str) -> dict[str, Any] | str:
    fields = _flatten(rec)
    if not any(k in fields for k in ("upn", "user_id")):
        return "not an account record"
    upn = lower(fields.get("upn"))
    if not upn:
        raise RecordError("no userPrincipalName")
    row: dict[str, Any] = {
        "source_format": FAMILY,
        "event_uid": content_uid(rec),
        "upn": upn,
        "user_id": lower(fields.get("user_id")),
        "display_name": text(fields.get("display_name"), 256),
        "user_type": lower(fields.get("user_type")),
        "methods_registered": _methods(fields.get("methods_registered")),
        "default_mfa_method": text(fields.get("default_mfa_method") or fields.get("preferred_method"), 64),
        "password_policies": text(fields.get("password_policies"), 256),
        "job_title": text(fields.get("job_title"), 256),
        "department": text(fields.get("department"), 256),
    }
    for col in BOOLS:
        if col in fields:
            row[col] = boolean(fields[col])
    if row.get("account_enabled") is None and row.get("blocked") is not None:
        row["account_enabled"] = not row["blocked"]
    row.pop("blocked", None)
    for col in TIMES:
        value = fields.get(col)
        if value not in (None, ""):
            ts = parse_time(value)
            if ts is None:
                raise RecordError(f"unreadable {col} {text(value, 40)!r}")
            row[col] = ts
    return row


def _has_markers(head: bytes) -> bool:
    lowered = norm(head[:65536].decode("utf-8", errors="replace"))
    return "userprincipalname" in lowered and any(m in lowered for m in MARKERS)


class EntraAccountsJson:
    name = "entra-accounts-json"
    title = "Microsoft Entra ID accounts (Graph userRegistrationDetails, users with signInActivity; JSON)"
    export_hint = (
        "GET /reports/authenticationMethods/userRegistrationDetails and "
        "GET /users?$select=userPrincipalName,userType,accountEnabled,createdDateTime,signInActivity (save the pages)"
    )
    table = "accounts"
    schema = audit_schema.ACCOUNTS_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        text_ = json_head(head)
        if not text_:
            return False
        if b"userRegistrationDetails" in text_[:4096]:
            return True
        return (
            b'"isMfaRegistered"' in text_
            or b'"methodsRegistered"' in text_
            or (
                b'"userPrincipalName"' in text_
                and (b'"accountEnabled"' in text_ or b'"signInActivity"' in text_)
            )
        )

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(json_records(inp, tally, opts), tally, self.schema, account_row)


class EntraAccountsCsv:
    name = "entra-accounts-csv"
    title = "Microsoft Entra ID accounts (user registration details or users CSV)"
    export_hint = (
        "Entra admin center > Authentication methods > User registration details > Download, or "
        "Users > Download users; or Get-MgReportAuthenticationMethodUserRegistrationDetail | Export-Csv"
    )
    table = "accounts"
    schema = audit_schema.ACCOUNTS_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        line = header_line(head)
        if b"," not in line:
            return False
        return _has_markers(line)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(keyed_records(inp, tally, opts), tally, self.schema, account_row)


SOURCES = [EntraAccountsJson(), EntraAccountsCsv()]
