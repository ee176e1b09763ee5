"""Log Analytics / Sentinel exports of ``SigninLogs``, ``AADNonInteractiveUserSignInLogs`` and the
applications' own sign-ins (``AADServicePrincipalSignInLogs``, ``AADManagedIdentitySignInLogs``).

JSON (array or NDJSON from ``az monitor log-analytics query`` or the portal's export) and the
Log Analytics UI's CSV export. Columns are PascalCase; ``ResultType`` is a *string*; the dynamic
columns (LocationDetails, DeviceDetail, Status, MfaDetail, AuthenticationDetails) arrive as JSON
objects or as JSON *strings* (always strings in the non-interactive table, and as JSON text in a
CSV cell), so they are parsed a second time in SQL. Other Entra tables in the same export
(AuditLogs, ...) are ignored with a reason, never mistaken for sign-ins. An app's sign-in has no
user: the application is the actor (``actor_type``, ``actor_app_uid``, ``credential_key_id``).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from nightowl.sources import entra_codes
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.csv_rows import csv_json_records, header_names
from nightowl.sources.records.json_duckdb import (
    JsonFormat,
    read_json_records,
    stage_json_records,
    unstage_json_records,
)
from nightowl.sources.records.sql import sql_str

LA_PATHS: dict[str, str] = {
    "event_id": "$.Id",
    "time_generated": "$.TimeGenerated",
    "created": "$.CreatedDateTime",
    "upn": "$.UserPrincipalName",
    "user_id": "$.UserId",
    "user_type": "$.UserType",
    "ip": "$.IPAddress",
    "asn": "$.AutonomousSystemNumber",
    "ua": "$.UserAgent",
    "app": "$.AppDisplayName",
    "client_app": "$.ClientAppUsed",
    "protocol": "$.AuthenticationProtocol",
    "auth_req": "$.AuthenticationRequirement",
    "is_interactive": "$.IsInteractive",
    "category": "$.Category",
    "type": "$.Type",
    "code": "$.ResultType",
    "reason": "$.ResultDescription",
    "correlation": "$.CorrelationId",
    "session": "$.SessionId",
    "tenant": "$.ResourceTenantId",
    "home_tenant": "$.HomeTenantId",
    "aad_tenant": "$.AADTenantId",
    "workspace_tenant": "$.TenantId",
    "location": "$.Location",
    "location_details": "$.LocationDetails",
    "device_detail": "$.DeviceDetail",
    "status": "$.Status",
    "mfa_detail": "$.MfaDetail",
    "auth_details": "$.AuthenticationDetails",
    "operation": "$.OperationName",
    "service_principal": "$.ServicePrincipalId",
    "app_id": "$.AppId",
    "sp_name": "$.ServicePrincipalName",
    "resource": "$.ResourceDisplayName",
    "cred_key_id": "$.ServicePrincipalCredentialKeyId",
}

# Sign-in tables (users, and applications signing in with their own credential); any other
# ``Type`` (AuditLogs, ...) is ignored. Columns of the app tables: Azure Monitor's table reference
# for AADServicePrincipalSignInLogs / AADManagedIdentitySignInLogs (AppId, ServicePrincipalId,
# ServicePrincipalName, ServicePrincipalCredentialKeyId, ResourceDisplayName, IPAddress, ...).
SIGNIN_TABLES = (
    "signinlogs",
    "aadnoninteractiveusersigninlogs",
    "adfssigninlogs",
    "aadserviceprincipalsigninlogs",
    "aadmanagedidentitysigninlogs",
)

# CSV header (normalized) -> JSON key, so CSV rows can go through the same query.
_CSV_KEYS = {path[2:].casefold(): path[2:] for path in LA_PATHS.values()}


def _dyn(f: str, key: str) -> str:
    """A field of a dynamic column that may be a JSON object or a JSON string (or garbage)."""
    return f"try(json_extract_string({f}, '$.{key}'))"


def _la_extract() -> str:
    f = {k: f"f[{i + 1}]" for i, k in enumerate(LA_PATHS)}
    type_k = f"lower({f['type']})"
    cols = {
        "event_id": f["event_id"],
        "time_raw": f"coalesce({f['time_generated']}, {f['created']})",
        "upn": f["upn"],
        "user_id": f["user_id"],
        "user_type": f["user_type"],
        "ip": f["ip"],
        "asn": f["asn"],
        "city": _dyn(f["location_details"], "city"),
        "country": f"coalesce({_dyn(f['location_details'], 'countryOrRegion')}, {f['location']})",
        "lat": _dyn(f["location_details"], "geoCoordinates.latitude"),
        "lon": _dyn(f["location_details"], "geoCoordinates.longitude"),
        "ua": f["ua"],
        "app": f["app"],
        "client_app": f["client_app"],
        "protocol": f["protocol"],
        "auth_req": f["auth_req"],
        "interactive": f"coalesce({f['is_interactive']}, {f['category']}, {f['type']})",
        "code": f"coalesce({f['code']}, {_dyn(f['status'], 'errorCode')})",
        "reason": f"coalesce(nullif({f['reason']}, ''), {_dyn(f['status'], 'failureReason')})",
        "correlation": f["correlation"],
        "session": f["session"],
        "device_id": _dyn(f["device_detail"], "deviceId"),
        "managed": _dyn(f["device_detail"], "isManaged"),
        "mfa_method": _dyn(f["mfa_detail"], "authMethod"),
        "mfa_result": _dyn(f["status"], "additionalDetails"),
        "auth_details": f["auth_details"],
        "tenant": f"coalesce({f['tenant']}, {f['aad_tenant']}, {f['workspace_tenant']})",
        "home_tenant": f["home_tenant"],
        "actor_kind": f"coalesce({f['type']}, {f['category']})",
        "app_id": f["app_id"],
        "sp_name": f["sp_name"],
        "resource": f["resource"],
        "cred_key_id": f["cred_key_id"],
        "ign": f"""CASE
            WHEN {type_k} IS NOT NULL AND NOT list_contains([{", ".join(map(sql_str, SIGNIN_TABLES))}], {type_k})
              THEN 'not a sign-in table (Log Analytics Type)'
            WHEN {f["upn"]} IS NULL AND {f["code"]} IS NULL AND {f["status"]} IS NULL
              THEN CASE WHEN {f["service_principal"]} IS NOT NULL THEN 'service principal sign-in (no user)'
                        ELSE 'not a sign-in record' END
          END""",
    }
    return entra_codes.extract_select(cols)


LA_FORMAT_JSON = JsonFormat(
    paths=tuple(LA_PATHS.values()),
    normalize=lambda records: entra_codes.normalize_sql(records, "entra-la-json", _la_extract()),
)
LA_FORMAT_CSV = JsonFormat(
    paths=tuple(LA_PATHS.values()),
    normalize=lambda records: entra_codes.normalize_sql(records, "entra-la-csv", _la_extract()),
)

# Sniff markers: PascalCase keys only a sign-in table has (AuditLogs has none of them).
_JSON_MARKERS = (b'"ResultType"', b'"UserPrincipalName"')
_JSON_ANY = (b'"AppDisplayName"', b'"IPAddress"', b'"ClientAppUsed"', b'"ConditionalAccessStatus"')


class LogAnalyticsJson:
    name = "entra-la-json"
    title = "Microsoft Entra ID sign-ins (Log Analytics SigninLogs / AADNonInteractiveUserSignInLogs JSON)"
    export_hint = (
        "az monitor log-analytics query -w <workspace> --analytics-query 'SigninLogs | where TimeGenerated "
        "> ago(30d)' > signins.json (or Logs > Export > JSON); same for AADNonInteractiveUserSignInLogs"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:32768]
        if b'"Type":"SigninLogs"' in text or b'"Type": "SigninLogs"' in text:
            return True
        if b"AADNonInteractiveUserSignInLogs" in text and b'"UserPrincipalName"' in text:
            return True
        if b'"ResultType"' in text and (
            b"AADServicePrincipalSignInLogs" in text or b"AADManagedIdentitySignInLogs" in text
        ):
            return True
        return all(m in text for m in _JSON_MARKERS) and any(m in text for m in _JSON_ANY)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_json_records(inp, tally, opts, LA_FORMAT_JSON)

    def stage(
        self, con: duckdb.DuckDBPyConnection, inp: InputFile, tally: Tally, opts: ReadOptions
    ) -> str | None:
        return stage_json_records(con, inp, tally, opts, LA_FORMAT_JSON)

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        unstage_json_records(con)


class LogAnalyticsCsv:
    name = "entra-la-csv"
    title = "Microsoft Entra ID sign-ins (Log Analytics SigninLogs CSV export)"
    export_hint = "Log Analytics > Logs > run 'SigninLogs' > Export > CSV (all columns)"

    def sniff(self, head: bytes, name: str) -> bool:
        headers = set(header_names(head))
        return {"resulttype", "userprincipalname"} <= headers and bool(
            headers & {"timegenerated", "createddatetime"}
        )

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return csv_json_records(
            inp, tally, opts, LA_FORMAT_CSV, _CSV_KEYS, ("TimeGenerated", "CreatedDateTime")
        )


SOURCES = [LogAnalyticsJson(), LogAnalyticsCsv()]
