"""Microsoft Graph ``signIn`` JSON (v1.0 and beta): the format check and the field mapping; the
records are read by :mod:`nightowl.sources.records.json_duckdb`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa

from nightowl.sources import entra_codes
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import (
    JsonFormat,
    read_json_records,
    stage_json_records,
    unstage_json_records,
)
from nightowl.sources.records.json_fast import LineFacts, insert_clean_ndjson
from nightowl.sources.records.sql import sql_str

GRAPH_PATHS: dict[str, str] = {
    "event_id": "$.id",
    "time_raw": "$.createdDateTime",
    "upn": "$.userPrincipalName",
    "user_id": "$.userId",
    "user_type": "$.userType",
    "ip": "$.ipAddress",
    "asn": "$.autonomousSystemNumber",
    "city": "$.location.city",
    "country": "$.location.countryOrRegion",
    "lat": "$.location.geoCoordinates.latitude",
    "lon": "$.location.geoCoordinates.longitude",
    "ua": "$.userAgent",
    "app": "$.appDisplayName",
    "client_app": "$.clientAppUsed",
    "protocol": "$.authenticationProtocol",
    "auth_req": "$.authenticationRequirement",
    "is_interactive": "$.isInteractive",
    "event_types": "$.signInEventTypes",
    "code": "$.status.errorCode",
    "reason": "$.status.failureReason",
    "mfa_result": "$.status.additionalDetails",  # "MFA requirement satisfied by claim in the token"
    "correlation": "$.correlationId",
    "session": "$.sessionId",  # beta: links a session's sign-ins, where correlationId is one flow
    "device_id": "$.deviceDetail.deviceId",
    "managed": "$.deviceDetail.isManaged",
    "mfa_method": "$.mfaDetail.authMethod",
    "tenant": "$.resourceTenantId",
    "home_tenant": "$.homeTenantId",
    # service principal / managed identity sign-ins (beta signIn; signInEventTypes says which)
    "app_id": "$.appId",
    "sp_id": "$.servicePrincipalId",
    "sp_name": "$.servicePrincipalName",
    "resource": "$.resourceDisplayName",
    "cred_key_id": "$.servicePrincipalCredentialKeyId",
    "msi_type": "$.managedServiceIdentity.msiType",
}


AUTH_DETAILS_PATH = "$.authenticationDetails"


def _graph_normalize(records: str, f: dict[str, str], auth_details: str) -> str:
    """The normalizing query from ``records``, ``f`` mapping each GRAPH_PATHS key to its SQL."""
    return entra_codes.normalize_sql(
        records, "entra-graph-json", entra_codes.extract_select(signin_columns(f)), auth_details
    )


def signin_columns(f: dict[str, str]) -> dict[str, str]:
    """RAW_COLUMNS from the extracted fields of a Graph ``signIn`` object (``f`` maps each
    GRAPH_PATHS key to its SQL); the diagnostic-settings reader uses it on ``properties``."""
    cols = {c: f.get(c, "CAST(NULL AS VARCHAR)") for c in entra_codes.RAW_COLUMNS}
    # isInteractive (v1.0) or signInEventTypes (beta): ["interactiveUser"] / ["nonInteractiveUser"].
    cols["interactive"] = (
        f"coalesce({f['is_interactive']}, CASE WHEN contains({f['event_types']}, '\"nonInteractiveUser\"') "
        f"THEN 'false' WHEN contains({f['event_types']}, '\"interactiveUser\"') THEN 'true' END)"
    )
    # the actor: signInEventTypes (beta) names servicePrincipal / managedIdentity; without it, a
    # record with a managedServiceIdentity, or a service principal and no user, is an app's own
    cols["actor_kind"] = (
        f"coalesce({f['event_types']}, CASE WHEN lower(coalesce({f['msi_type']}, 'none')) <> 'none' "
        f"THEN 'managedIdentity' WHEN nullif({f['user_id']}, '') IS NULL AND nullif({f['upn']}, '') IS NULL "
        f"AND nullif({f['sp_id']}, '') IS NOT NULL THEN 'servicePrincipal' END)"
    )
    return cols


GRAPH = JsonFormat(
    paths=tuple(GRAPH_PATHS.values()),
    # authenticationDetails is parsed again only for the few successes whose MFA the rest leaves open
    normalize=lambda records: _graph_normalize(
        records,
        {k: f"f[{i + 1}]" for i, k in enumerate(GRAPH_PATHS)},
        f"try(json_extract_string(rec, {sql_str(AUTH_DETAILS_PATH)}))",
    ),
    normalize_read=lambda records, field: _graph_normalize(
        records,
        {k: field(p) for k, p in GRAPH_PATHS.items()} | {"auth_details": field(AUTH_DETAILS_PATH)},
        "auth_details",
    ),
    read_paths=(*GRAPH_PATHS.values(), AUTH_DETAILS_PATH),
)


class GraphSignIns:
    name = "entra-graph-json"
    title = "Microsoft Entra ID sign-ins (Microsoft Graph signIn JSON, v1.0 or beta)"
    export_hint = (
        "GET https://graph.microsoft.com/beta/auditLogs/signIns (or v1.0), following @odata.nextLink; "
        "save the pages, a JSON array, or one signIn per line"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:16384]
        if b"auditLogs/signIns" in text or b"auditLogs%2FsignIns" in text:
            return True
        if b'"properties"' in text and b'"operationName"' in text and b'"category"' in text:
            return False  # signIns inside Azure Monitor's envelope: entra-diagnostic-json
        return (
            b'"createdDateTime"' in text
            and (b'"userPrincipalName"' in text or b'"servicePrincipalId"' in text)
            and (b'"appDisplayName"' in text or b'"clientAppUsed"' in text or b'"status"' in text)
        )

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_json_records(inp, tally, opts, GRAPH)

    def stage(
        self, con: duckdb.DuckDBPyConnection, inp: InputFile, tally: Tally, opts: ReadOptions
    ) -> str | None:
        return stage_json_records(con, inp, tally, opts, GRAPH)

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        unstage_json_records(con)

    def insert_clean(
        self,
        con: duckdb.DuckDBPyConnection,
        inp: InputFile,
        opts: ReadOptions,
        target: str,
        facts: Callable[[], LineFacts],
    ) -> int:
        return insert_clean_ndjson(con, inp, opts, GRAPH, target, facts)


SOURCES = [GraphSignIns()]
