"""Azure Monitor diagnostic-settings exports of Entra ID sign-ins (storage account or Event Hub).

Organisations that keep sign-ins longer than 30 days stream them with a diagnostic setting. Each
record is Azure Monitor's common envelope -- ``time``, ``category``, ``operationName``,
``resultType``, ``callerIpAddress``, ``identity``, ``location``, ``tenantId`` -- around a
``properties`` object that is the Graph (beta) ``signIn`` itself (Microsoft's "Azure Monitor
resource log schema", and "Stream Microsoft Entra logs" / "Archive logs to a storage account").
Categories read here: ``SignInLogs``, ``NonInteractiveUserSignInLogs``,
``ServicePrincipalSignInLogs``, ``ManagedIdentitySignInLogs`` (and ``ADFSSignInLogs``); the
``AuditLogs`` category belongs to the ``entra-audit`` reader, any other is ignored with a reason.

Layouts: ``{"records": [...]}`` blobs (pretty-printed or on one line), one record per line (the
newer blob format and Event Hub captures), and a folder in the storage layout
``insights-logs-signinlogs/tenantId=.../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`` as one input
(every blob in it is a file of this format).

The ``properties`` object is mapped by the Graph reader's own column mapping, so a sign-in gives
the same normalized row whether it was exported from Graph or from a diagnostic setting; the
envelope fills what an older ``properties`` lacks (time, error code, caller address). Where
``properties`` and the envelope disagree, ``properties`` wins: it is the sign-in as Entra wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from nightowl.sources import entra_codes
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.entra_graph import GRAPH_PATHS, signin_columns
from nightowl.sources.records.json_duckdb import (
    JsonFormat,
    read_json_records,
    stage_json_records,
    unstage_json_records,
)
from nightowl.sources.records.sql import in_list, sql_str

SIGNIN_CATEGORIES = (
    "signinlogs",
    "noninteractiveusersigninlogs",
    "serviceprincipalsigninlogs",
    "managedidentitysigninlogs",
    "adfssigninlogs",
)
AUDIT_CATEGORY = "auditlogs"

ENVELOPE_PATHS: dict[str, str] = {
    "env_time": "$.time",
    "env_category": "$.category",
    "env_result": "$.resultType",
    "env_ip": "$.callerIpAddress",
    "env_correlation": "$.correlationId",
    "env_tenant": "$.tenantId",
    "env_operation": "$.operationName",
}
# the signIn fields, read from properties
DIAG_PATHS: dict[str, str] = {
    **{k: "$.properties." + path[2:] for k, path in GRAPH_PATHS.items()},
    **ENVELOPE_PATHS,
}


def _diag_extract() -> str:
    f = {k: f"f[{i + 1}]" for i, k in enumerate(DIAG_PATHS)}
    cols = signin_columns(f)
    cat = f"lower({f['env_category']})"
    cols["time_raw"] = f"coalesce({f['time_raw']}, {f['env_time']})"
    cols["code"] = f"coalesce({f['code']}, {f['env_result']})"
    cols["ip"] = f"coalesce(nullif({f['ip']}, ''), nullif({f['env_ip']}, ''))"
    cols["correlation"] = f"coalesce({f['correlation']}, {f['env_correlation']})"
    cols["tenant"] = f"coalesce({f['tenant']}, {f['env_tenant']})"
    # the category is the authoritative word for who signed in (interactive or not, user or app)
    cols["actor_kind"] = f"coalesce({f['env_category']}, {cols['actor_kind']})"
    cols["interactive"] = f"coalesce({f['is_interactive']}, {f['env_category']}, {cols['interactive']})"
    cols["ign"] = f"""CASE
        WHEN {cat} = {sql_str(AUDIT_CATEGORY)}
          THEN 'AuditLogs record: read it as entra-audit (--input-format entra-audit)'
        WHEN {cat} IS NOT NULL AND NOT list_contains([{in_list(SIGNIN_CATEGORIES)}], {cat})
          THEN 'not a sign-in category (diagnostic settings)'
        WHEN try(json_type(rec, '$.properties')) IS DISTINCT FROM 'OBJECT'
          THEN 'diagnostic record without a properties object'
      END"""
    return entra_codes.extract_select(cols)


DIAGNOSTIC = JsonFormat(
    paths=tuple(DIAG_PATHS.values()),
    normalize=lambda records: entra_codes.normalize_sql(
        records,
        "entra-diagnostic-json",
        _diag_extract(),
        "try(json_extract_string(rec, '$.properties.authenticationDetails'))",
    ),
    envelope="records",
)

_CATEGORY_MARKS = tuple(
    f'"category":{sp}"{c}"'.encode()
    for c in (
        "SignInLogs",
        "NonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "ADFSSignInLogs",
    )
    for sp in ("", " ")
)


class DiagnosticSignIns:
    name = "entra-diagnostic-json"
    title = "Microsoft Entra ID sign-ins (Azure Monitor diagnostic settings: storage blobs, Event Hub)"
    export_hint = (
        "Entra admin center > Diagnostic settings > stream SignInLogs, NonInteractiveUserSignInLogs, "
        "ServicePrincipalSignInLogs, ManagedIdentitySignInLogs to a storage account; download the "
        "insights-logs-* containers (az storage blob download-batch) and pass the folder"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:65536]
        return b'"properties"' in text and any(m in text for m in _CATEGORY_MARKS)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_json_records(inp, tally, opts, DIAGNOSTIC)

    def stage(
        self, con: duckdb.DuckDBPyConnection, inp: InputFile, tally: Tally, opts: ReadOptions
    ) -> str | None:
        return stage_json_records(con, inp, tally, opts, DIAGNOSTIC)

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        unstage_json_records(con)


SOURCES = [DiagnosticSignIns()]
