"""Entra ID directory audit logs -> the ``directory_audit`` table (records read by
:mod:`nightowl.sources.records.json_python` and :mod:`nightowl.sources.records.csv_rows`).

Formats: Microsoft Graph ``directoryAudit`` (``GET /auditLogs/directoryAudits``: pages, arrays,
one record per line), the Log Analytics ``AuditLogs`` table exported as JSON / NDJSON / CSV
(PascalCase columns, ``InitiatedBy`` and ``TargetResources`` as JSON text), and the Azure Monitor
diagnostic envelope (``{"records": [{"category": "AuditLogs", "properties": {...}}]}``).

What a detection needs is decided here, once: the client application an event is about (object
id, appId, name), the resource a permission is granted on, the scopes or app roles a grant adds
(old versus new value), whether a consent is admin/tenant-wide, how many credentials the app had
before and after, and the directory role assigned. Microsoft writes modified-property values as
JSON text (``"\\"True\\""``); they are stored unquoted. Activity names are kept exactly as written
(``Update application – Certificates and secrets management `` has an en dash and a trailing space).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from nightowl import audit_schema
from nightowl.sources.base import InputFile, ReadOptions, Tally, json_head
from nightowl.sources.records.csv_rows import header_line, keyed_records
from nightowl.sources.records.fields import boolean, dyn, first, first_guid, lower, text
from nightowl.sources.records.json_python import RecordError, json_records, read_rows
from nightowl.sources.records.times import parse_time

# ---------------------------------------------------------------------------------------------
# directoryAudit / AuditLogs
# ---------------------------------------------------------------------------------------------

FAMILY = "entra-audit"  # the source_format value: Graph and Log Analytics share record ids

# Application permissions (app roles) by id, for records whose AppRole.Value is empty. Ids from
# Microsoft's "Microsoft Graph permissions reference" and Exchange Online's app roles.
APP_ROLE_NAMES: dict[str, str] = {
    "dc890d15-9560-4a4c-9b7f-a736ec74ec40": "full_access_as_app",  # Exchange Online (EWS), all mailboxes
    "dc50a0fb-09a3-484d-be87-e023b12c6440": "Exchange.ManageAsApp",
    "810c84a8-4a9e-49e6-bf7d-12d183f40d01": "Mail.Read",
    "e2a3a72e-5f79-4c64-b1b1-878b674786c9": "Mail.ReadWrite",
    "b633e1c5-b582-4048-a93e-9f11b44c7e96": "Mail.Send",
    "693c5e45-0940-467d-9b8a-1022fb9d42ef": "Mail.ReadBasic.All",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
    "06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
    "741f803b-c850-494e-b5df-cde7c675a1ca": "User.ReadWrite.All",
    "75359482-378d-4052-8f01-80520e7db3cd": "Files.ReadWrite.All",
    "a82116e5-55eb-4c41-a434-62fe8a61c773": "Sites.FullControl.All",
}

_SCOPE = re.compile(r"Scope:\s*([^,\]]*)")
_CONSENT_TYPE = re.compile(r"ConsentType:\s*(\w+)")
_RESOURCE = re.compile(r"ResourceId:\s*([0-9a-fA-F-]{36})")
_KEY_ID = re.compile(r"KeyIdentifier=([^,\]\"]+)")
_KEY_ENTRY = re.compile(r"KeyIdentifier=([^,\]\"]+)[^\]]*?KeyType=([^,\]\"]+)")
SIGNIN_MARKERS = (
    "SigninLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "AADNonInteractiveUserSignInLogs",
    "AADServicePrincipalSignInLogs",
    "AADManagedIdentitySignInLogs",
    "SignInLogs",
)


def _unquote(value: Any) -> str | None:
    """Modified-property values are JSON text: ``"\\"True\\""`` -> ``True``; arrays stay JSON text."""
    if value is None:
        return None
    if not isinstance(value, str):
        return text(value)
    parsed = dyn(value)
    if isinstance(parsed, str):
        return parsed[:4096]
    return value[:4096]


def _scopes(value: str | None) -> list[str]:
    return sorted({s for s in (value or "").replace(",", " ").split() if s})


def _consent_scopes(value: str | None) -> list[str]:
    return sorted({s for m in _SCOPE.findall(value or "") for s in m.split() if s})


def _props(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, t in enumerate(targets):
        for p in t.get("modifiedProperties") or []:
            if not isinstance(p, dict):
                continue
            name = text(first(p, "displayName", "DisplayName", "Name", "name"), 256)
            if name is None:
                continue
            out.append(
                {
                    "target": i,
                    "name": name,
                    "old_value": _unquote(first(p, "oldValue", "OldValue")),
                    "new_value": _unquote(first(p, "newValue", "NewValue")),
                }
            )
    return out


def _unwrap_envelope(rec: dict[str, Any]) -> dict[str, Any] | str:
    """Azure Monitor diagnostic export: the directoryAudit sits in ``properties``."""
    props = rec.get("properties")
    if isinstance(props, dict) and ("operationName" in rec or "category" in rec):
        category = text(rec.get("category"), 64)
        if category and category.lower() != "auditlogs":
            return f"not a directory audit record (category {category})"
        inner = dict(props)
        inner.setdefault("activityDateTime", rec.get("time"))
        inner.setdefault("activityDisplayName", rec.get("operationName"))
        inner.setdefault("tenantId", rec.get("tenantId"))
        return inner
    return rec


def audit_row(rec: dict[str, Any], ref: str) -> dict[str, Any] | str:
    """One directoryAudit / AuditLogs record -> a ``directory_audit`` row (or an ignore reason)."""
    unwrapped = _unwrap_envelope(rec)
    if isinstance(unwrapped, str):
        return unwrapped
    rec = unwrapped
    kind = text(first(rec, "Type", "type", "category", "Category"), 64) or ""
    if kind in SIGNIN_MARKERS or ("createdDateTime" in rec and "activityDisplayName" not in rec):
        return "a sign-in record, not a directory audit record"
    activity = text(
        first(rec, "activityDisplayName", "ActivityDisplayName", "OperationName", "operationName"), 512
    )
    if activity is None:
        raise RecordError("no activityDisplayName / OperationName")
    time = parse_time(first(rec, "activityDateTime", "ActivityDateTime", "TimeGenerated", "time"))
    if time is None:
        raise RecordError("no readable activityDateTime")

    initiated = dyn(first(rec, "initiatedBy", "InitiatedBy")) or {}
    if not isinstance(initiated, dict):
        initiated = {}
    user = initiated.get("user") if isinstance(initiated.get("user"), dict) else None
    app = initiated.get("app") if isinstance(initiated.get("app"), dict) else None
    actor: dict[str, Any] = {}
    if user and (user.get("userPrincipalName") or user.get("id")):
        actor = {
            "actor_type": "user",
            "actor_upn": lower(user.get("userPrincipalName")),
            "actor_id": lower(user.get("id")),
            "actor_name": text(user.get("displayName"), 256),
            "actor_ip": text(user.get("ipAddress"), 64),
        }
    elif app:
        actor = {
            "actor_type": "app",
            "actor_id": lower(first(app, "servicePrincipalId", "appId")),
            "actor_name": text(first(app, "displayName", "servicePrincipalName"), 256),
            "actor_app_id": lower(app.get("appId")),
            "actor_ip": text(app.get("ipAddress"), 64),
        }

    raw_targets = dyn(first(rec, "targetResources", "TargetResources")) or []
    if isinstance(raw_targets, dict):
        raw_targets = [raw_targets]
    raw_targets = [t for t in raw_targets if isinstance(t, dict)] if isinstance(raw_targets, list) else []
    targets = [
        {
            "id": lower(t.get("id")),
            "name": text(t.get("displayName"), 256),
            "type": text(t.get("type"), 64),
            "upn": lower(t.get("userPrincipalName")),
        }
        for t in raw_targets
    ]
    props = _props(raw_targets)
    details_raw = dyn(first(rec, "additionalDetails", "AdditionalDetails")) or []
    details = [
        {"key": text(d.get("key"), 256), "value": text(d.get("value"), 2048)}
        for d in (details_raw if isinstance(details_raw, list) else [])
        if isinstance(d, dict)
    ]
    detail = {(d["key"] or "").lower(): d["value"] for d in details}

    row: dict[str, Any] = {
        "time": time,
        "source_format": FAMILY,
        "event_uid": text(first(rec, "id", "Id"), 256),
        "activity": activity,
        "operation_type": text(first(rec, "operationType", "AADOperationType"), 64),
        "category": text(first(rec, "category", "Category"), 128),
        "result": lower(first(rec, "result", "Result")),
        "result_reason": text(first(rec, "resultReason", "ResultReason", "ResultDescription"), 1024),
        "logged_by_service": text(first(rec, "loggedByService", "LoggedByService"), 128),
        "correlation_id": lower(first(rec, "correlationId", "CorrelationId")),
        "user_agent": detail.get("user-agent") or text(rec.get("UserAgent"), 1024),
        "targets": targets,
        "modified_properties": props,
        "additional_details": details,
        "tenant_id": lower(first(rec, "tenantId", "TenantId", "AADTenantId")),
        **actor,
    }
    if targets:
        row.update(target_type=targets[0]["type"], target_id=targets[0]["id"], target_name=targets[0]["name"])
    users = [t for t in targets if (t["type"] or "").lower() == "user" and t["upn"]]
    if users:
        row["target_upn"] = users[0]["upn"]
    _facts(row, targets, props, detail)
    return row


def _facts(row: dict[str, Any], targets: list[dict], props: list[dict], detail: dict[str, Any]) -> None:
    """The client app, resource, permissions, consent, credentials and role an event is about."""
    p: dict[str, dict[str, Any]] = {}
    for prop in props:
        p.setdefault(prop["name"], prop)

    def new(name: str) -> str | None:
        return (p.get(name) or {}).get("new_value")

    def old(name: str) -> str | None:
        return (p.get(name) or {}).get("old_value")

    grant = any(n.startswith(("DelegatedPermissionGrant.", "AppRole.")) for n in p)
    if grant:  # target 0 is the resource (Graph, Exchange); the client is ServicePrincipal.* / target 1
        client = targets[1] if len(targets) > 1 else {}
        row["app_object_id"] = lower(new("ServicePrincipal.ObjectID")) or client.get("id")
        row["app_name"] = new("ServicePrincipal.DisplayName") or client.get("name")
        row["app_id"] = first_guid(new("ServicePrincipal.AppId"))
        if targets:
            row["resource_id"], row["resource_name"] = targets[0]["id"], targets[0]["name"]
        row["resource_app_id"] = first_guid(new("TargetId.ServicePrincipalNames"))
    elif targets and (targets[0]["type"] or "").lower() in ("application", "serviceprincipal"):
        row["app_object_id"], row["app_name"] = targets[0]["id"], targets[0]["name"]
        row["app_id"] = (
            first_guid(new("AppId"))
            or first_guid(new("AppPrincipalId"))
            or first_guid(detail.get("appid"))
            or (
                first_guid(new("TargetId.ServicePrincipalNames"))
                if targets[0]["type"] == "ServicePrincipal"
                else None
            )
        )

    if "DelegatedPermissionGrant.Scope" in p:
        now, before = (
            _scopes(new("DelegatedPermissionGrant.Scope")),
            _scopes(old("DelegatedPermissionGrant.Scope")),
        )
        row["permissions"], row["permissions_added"] = now, sorted(set(now) - set(before))
        row["consent_type"] = new("DelegatedPermissionGrant.ConsentType") or old(
            "DelegatedPermissionGrant.ConsentType"
        )
    if "ConsentAction.Permissions" in p:
        value = new("ConsentAction.Permissions") or ""
        before_text, arrow, after_text = value.partition("=>")
        if not arrow:
            before_text, after_text = "", value
        now = _consent_scopes(after_text)
        row["permissions"] = now
        row["permissions_added"] = sorted(set(now) - set(_consent_scopes(before_text)))
        m = _CONSENT_TYPE.search(after_text)
        row["consent_type"] = row.get("consent_type") or (m.group(1) if m else None)
        r = _RESOURCE.search(after_text)
        if r and not row.get("resource_id"):
            row["resource_id"] = r.group(1).lower()
    if "ConsentContext.IsAdminConsent" in p:
        row["is_admin_consent"] = boolean(new("ConsentContext.IsAdminConsent"))
    if "ConsentContext.IsAppOnly" in p:
        row["is_app_only"] = boolean(new("ConsentContext.IsAppOnly"))
    if "AppRole.Id" in p or "AppRole.Value" in p:
        role_id = first_guid(new("AppRole.Id"))
        value = new("AppRole.Value") or APP_ROLE_NAMES.get(role_id or "")
        row["app_role_id"] = role_id
        row["permissions"] = [value] if value else []
        row["permissions_added"] = row["permissions"]

    key = p.get("KeyDescription")
    if key is not None:
        old_ids = set(_KEY_ID.findall(key["old_value"] or ""))
        new_entries = _KEY_ENTRY.findall(key["new_value"] or "")
        if key["old_value"] is not None:
            row["credentials_before"] = len(old_ids)
        if key["new_value"] is not None:
            row["credentials_after"] = len(set(_KEY_ID.findall(key["new_value"])))
        added = set(_KEY_ID.findall(key["new_value"] or "")) - old_ids
        row["credentials_added"] = len(added)
        row["credential_types"] = sorted({t for k, t in new_entries if k in added})
        row["credential_key_ids_added"] = sorted(k.strip().lower() for k in added)

    role_target = next((t for t in targets if (t["type"] or "").lower() == "role"), None)
    row["role_name"] = new("Role.DisplayName") or (role_target or {}).get("name")
    row["role_template_id"] = first_guid(new("Role.TemplateId")) or (role_target or {}).get("id")


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


class EntraAuditJson:
    name = "entra-audit-json"
    title = "Microsoft Entra ID audit logs (Graph directoryAudit, Log Analytics AuditLogs JSON)"
    export_hint = (
        "GET https://graph.microsoft.com/v1.0/auditLogs/directoryAudits (save the pages), or export the "
        "AuditLogs table from Log Analytics as JSON"
    )
    table = "directory_audit"
    schema = audit_schema.DIRECTORY_AUDIT_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        text_ = json_head(head)
        if not text_:
            return False
        if b"auditLogs/directoryAudits" in text_:
            return True
        graph = b'"activityDisplayName"' in text_ and (
            b'"targetResources"' in text_ or b'"initiatedBy"' in text_
        )
        la = (
            b'"ActivityDisplayName"' in text_ or b'"OperationName"' in text_
        ) and b'"TargetResources"' in text_
        return graph or la

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(json_records(inp, tally, opts), tally, self.schema, audit_row)


class EntraAuditCsv:
    name = "entra-audit-csv"
    title = "Microsoft Entra ID audit logs (Log Analytics AuditLogs CSV export)"
    export_hint = "Log Analytics: AuditLogs | where ... then Export > CSV (all columns)"
    table = "directory_audit"
    schema = audit_schema.DIRECTORY_AUDIT_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        line = header_line(head)
        if not line:
            return False
        return b"ActivityDisplayName" in line and (b"TargetResources" in line or b"InitiatedBy" in line)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(keyed_records(inp, tally, opts), tally, self.schema, audit_row)


SOURCES = [EntraAuditJson(), EntraAuditCsv()]
