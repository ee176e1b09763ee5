"""Exchange Online mailbox audit records -> the ``mail_access`` table.

Formats, all carrying the same unified-audit record (Microsoft's "Office 365 Management Activity
API schema": Common + ExchangeMailbox fields): the Management Activity API / Purview JSON, the
Purview audit search CSV or JSON export (the record sits in an ``AuditData`` JSON column), the Log
Analytics ``OfficeActivity`` table (JSON or CSV; ``Client_IPAddress``, ``Logon_Type``,
``OfficeWorkload``, nested fields as JSON text), and Defender XDR ``CloudAppEvents`` rows, whose
``RawEventData`` is the record (the application's display name comes from ``ActivityObjects``).

Only mailbox operations are kept (``MailItemsAccessed`` above all: which application read which
mailbox, through which API); every other operation is counted as ignored with its name. The
record's own ``Id`` is the event uid in every shape, so the same access exported twice (say from
OfficeActivity and from CloudAppEvents) is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from nightowl import audit_schema
from nightowl.sources.base import InputFile, ReadOptions, Tally, json_head
from nightowl.sources.records.csv_rows import header_line, keyed_records
from nightowl.sources.records.fields import boolean, dyn, first, lower, text
from nightowl.sources.records.json_python import RecordError, json_records, read_rows
from nightowl.sources.records.times import parse_time

FAMILY = "office365-audit"

# Operations recorded against a mailbox (Exchange mailbox auditing, "Mailbox actions for user
# mailboxes and shared mailboxes") and the admin cmdlets that open a mailbox to someone else.
MAILBOX_OPERATIONS = frozenset(
    {
        "MailItemsAccessed", "Send", "SendAs", "SendOnBehalf", "Create", "Update", "Copy", "Move",
        "MoveToDeletedItems", "SoftDelete", "HardDelete", "FolderBind", "MessageBind", "MailboxLogin",
        "UpdateInboxRules", "UpdateFolderPermissions", "AddFolderPermissions", "ModifyFolderPermissions",
        "RemoveFolderPermissions", "SearchQueryInitiatedExchange", "New-InboxRule", "Set-InboxRule",
        "Add-MailboxPermission", "Add-RecipientPermission", "Add-MailboxFolderPermission",
        "Set-Mailbox", "New-ManagementRoleAssignment",
    }
)  # fmt: skip
LOGON_TYPES = {"0": "Owner", "1": "Admin", "2": "Delegate", "3": "Transport", "4": "SystemService",
               "5": "BestAccess", "6": "DelegatedAdmin"}  # fmt: skip
USER_TYPES = {"0": "Regular", "1": "Reserved", "2": "Admin", "3": "DcAdmin", "4": "System",
              "5": "Application", "6": "ServicePrincipal", "7": "CustomPolicy", "8": "SystemPolicy"}  # fmt: skip
_PS_PATH = re.compile(r"Path=([^;}]*)")


def _unwrap(rec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the unified-audit record, the CloudAppEvents row around it if any)."""
    if "AuditData" in rec:  # Purview / Search-UnifiedAuditLog export
        inner = dyn(rec.get("AuditData"))
        if not isinstance(inner, dict):
            raise RecordError("AuditData is not a JSON object")
        return inner, None
    if "ActionType" in rec and ("RawEventData" in rec or "ReportId" in rec):
        raw = dyn(rec.get("RawEventData"))
        return (raw if isinstance(raw, dict) else {}), rec
    return rec, None


def _folders(value: Any) -> tuple[list[str], int | None]:
    """Folder paths and the number of items listed (None when the record does not list them)."""
    value = dyn(value)
    paths: list[str] = []
    items: int | None = None
    for folder in value if isinstance(value, list) else []:
        if isinstance(folder, dict):
            path = text(first(folder, "Path", "path"), 512)
            if path:
                paths.append(path)
            folder_items = folder.get("FolderItems")
            if isinstance(folder_items, list):
                items = (items or 0) + len(folder_items)
        elif isinstance(folder, str):  # PowerShell-stringified: "@{Id=...; Path=\Inbox; FolderItems=...}"
            m = _PS_PATH.search(folder)
            if m:
                paths.append(m.group(1).strip()[:512])
    return sorted(set(paths)), items


def _op_props(value: Any) -> dict[str, str]:
    value = dyn(value)
    out: dict[str, str] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and item.get("Name"):
            out[str(item["Name"])] = text(item.get("Value"), 256) or ""
        elif isinstance(item, str):  # "@{Value=Bind; Name=MailAccessType}"
            name = re.search(r"Name=([^;}]*)", item)
            val = re.search(r"Value=([^;}]*)", item)
            if name:
                out[name.group(1).strip()] = val.group(1).strip() if val else ""
    return out


def _app_name(row: dict[str, Any] | None, client_app_id: str | None) -> str | None:
    """The calling application's name from a CloudAppEvents row (its actor object, or the account)."""
    if row is None:
        return None
    objects = dyn(row.get("ActivityObjects"))
    for obj in objects if isinstance(objects, list) else []:
        if (
            isinstance(obj, dict)
            and obj.get("Role") == "Actor"
            and client_app_id
            and lower(obj.get("Id")) == client_app_id
        ):
            return text(obj.get("Name"), 256)
    if client_app_id and lower(row.get("AccountObjectId")) == client_app_id:
        return text(row.get("AccountDisplayName"), 256)
    return None


def mail_row(rec: dict[str, Any], ref: str) -> dict[str, Any] | str:
    """One audit record (any shape) -> a ``mail_access`` row, or the reason it is ignored."""
    audit, cae = _unwrap(rec)
    operation = text(first(audit, "Operation", "Operations"), 128) or (
        text(cae.get("ActionType"), 128) if cae else None
    )
    if operation is None:
        raise RecordError("no Operation")
    operation = operation.strip()
    if operation not in MAILBOX_OPERATIONS:
        return f"not a mailbox operation ({operation[:60]})"
    time = parse_time(first(audit, "CreationTime", "TimeGenerated", "CreationDate")) or (
        parse_time(cae.get("Timestamp")) if cae else None
    )
    if time is None:
        raise RecordError("no readable CreationTime")
    context = dyn(audit.get("AppAccessContext"))
    context = context if isinstance(context, dict) else {}
    client_app_id = lower(first(audit, "ClientAppId") or first(context, "ClientAppId"))
    if cae and not client_app_id:
        client_app_id = lower(cae.get("OAuthAppId"))
    folders, items = _folders(audit.get("Folders"))
    props = _op_props(audit.get("OperationProperties"))
    count = audit.get("OperationCount")
    if items is None and count not in (None, ""):
        try:
            items = int(count)
        except (TypeError, ValueError):
            items = None
    logon = text(first(audit, "LogonType", "Logon_Type"), 32)
    user_type = text(audit.get("UserType"), 32)
    uid = text(first(audit, "Id", "OfficeId", "SourceRecordId"), 256) or (
        text(cae.get("ReportId"), 256) if cae else None
    )
    return {
        "time": time,
        "source_format": FAMILY,
        "event_uid": uid,
        "operation": operation,
        "workload": text(first(audit, "Workload", "OfficeWorkload"), 64),
        "user_id": lower(first(audit, "UserId", "UserIds", "UserId_")),
        "user_type": USER_TYPES.get(user_type or "", user_type),
        "mailbox_owner": lower(first(audit, "MailboxOwnerUPN")),
        "mailbox_guid": lower(audit.get("MailboxGuid")),
        "logon_type": LOGON_TYPES.get(logon or "", logon),
        "app_id": lower(first(audit, "AppId") or first(context, "APIId")),
        "client_app_id": client_app_id,
        "client_app_name": text(first(context, "ClientAppName"), 256) or _app_name(cae, client_app_id),
        "client_info": text(audit.get("ClientInfoString"), 512),
        "client_ip": text(first(audit, "ClientIPAddress", "Client_IPAddress", "ClientIP"), 64)
        or (text(cae.get("IPAddress"), 64) if cae else None),
        "mail_access_type": props.get("MailAccessType") or None,
        "is_throttled": boolean(props.get("IsThrottled")),
        "items": items,
        "folders": folders,
        "result_status": text(audit.get("ResultStatus"), 64),
        "external_access": boolean(audit.get("ExternalAccess")),
        "tenant_id": lower(first(audit, "OrganizationId", "TenantId")),
    }


class OfficeActivityJson:
    name = "office365-audit-json"
    title = "Exchange Online mailbox audit (OfficeActivity, Management Activity API, Purview, CloudAppEvents JSON)"
    export_hint = (
        "Log Analytics OfficeActivity or Defender CloudAppEvents exported as JSON; Purview Audit search "
        "exported as JSON; or the Office 365 Management Activity API content blobs (Audit.Exchange)"
    )
    table = "mail_access"
    schema = audit_schema.MAIL_ACCESS_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        text_ = json_head(head)
        if not text_:
            return False
        cae = b'"ActionType"' in text_ and b'"RawEventData"' in text_
        purview = b'"AuditData"' in text_ and (b'"Operations"' in text_ or b'"RecordType"' in text_)
        office = b'"Operation"' in text_ and (
            b'"OfficeWorkload"' in text_
            or b'"MailboxOwnerUPN"' in text_
            or (b'"Workload"' in text_ and b'"RecordType"' in text_)
        )
        return cae or purview or office

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(json_records(inp, tally, opts), tally, self.schema, mail_row)


class OfficeActivityCsv:
    name = "office365-audit-csv"
    title = "Exchange Online mailbox audit (OfficeActivity, Purview audit search or CloudAppEvents CSV)"
    export_hint = (
        "Purview > Audit > search > Export, or Log Analytics OfficeActivity / CloudAppEvents > Export > CSV"
    )
    table = "mail_access"
    schema = audit_schema.MAIL_ACCESS_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        line = header_line(head)
        if not line:
            return False
        return (
            (b"AuditData" in line and b"Operation" in line)
            or (b"ActionType" in line and b"RawEventData" in line)
            or (b"Operation" in line and (b"OfficeWorkload" in line or b"MailboxOwnerUPN" in line))
        )

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(keyed_records(inp, tally, opts), tally, self.schema, mail_row)


SOURCES = [OfficeActivityJson(), OfficeActivityCsv()]
