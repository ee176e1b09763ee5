"""The normalized authentication event: one flat table every sign-in source maps into.

Column names follow OCSF Authentication (class 3002), flattened with ``_``. Detections are
written once against this table and never see a raw log format (see
``shared/docs/auth-event-schema.md``). Columns beyond the OCSF core carry what some sources
have and detections use (ASN organisation, proxy flag, client app, session id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

# OCSF status_id values.
STATUS_SUCCESS = 1
STATUS_FAILURE = 2

# status_detail: one normalized value per event, whatever the source's raw code.
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
USER_DOES_NOT_EXIST = "USER_DOES_NOT_EXIST"
ACCOUNT_LOCKED_OUT = "ACCOUNT_LOCKED_OUT"
PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
MFA_REQUIRED = "MFA_REQUIRED"
MFA_FAILED = "MFA_FAILED"
BLOCKED_BY_POLICY = "BLOCKED_BY_POLICY"
OTHER = "OTHER"
SUCCESS = "SUCCESS"

STATUS_DETAILS = (
    SUCCESS,
    INVALID_CREDENTIALS,
    USER_DOES_NOT_EXIST,
    ACCOUNT_LOCKED_OUT,
    PASSWORD_EXPIRED,
    ACCOUNT_DISABLED,
    MFA_REQUIRED,
    MFA_FAILED,
    BLOCKED_BY_POLICY,
    OTHER,
)

# (name, arrow type, DuckDB type, meaning)
COLUMNS: list[tuple[str, pa.DataType, str, str]] = [
    ("time", pa.timestamp("us"), "TIMESTAMP", "event time, UTC"),
    ("source_format", pa.string(), "VARCHAR", "e.g. entra-graph-json, windows-evtx"),
    ("record_ref", pa.string(), "VARCHAR", "input file + line or record number"),
    ("event_uid", pa.string(), "VARCHAR", "the source's own id for the event, when it has one"),
    ("activity_name", pa.string(), "VARCHAR", "logon, authentication_ticket, explicit_credentials, ..."),
    ("user_name", pa.string(), "VARCHAR", "lowercased; UPN, domain\\user or bare name as the source has it"),
    ("user_exists", pa.bool_(), "BOOLEAN", "false when the source says the account does not exist"),
    ("user_type", pa.string(), "VARCHAR", "member, guest, service, ... when the source says"),
    ("src_endpoint_ip", pa.string(), "VARCHAR", "IPv4/IPv6 as text"),
    ("src_asn", pa.int64(), "BIGINT", "autonomous system number"),
    ("src_asn_org", pa.string(), "VARCHAR", "autonomous system organisation / ISP"),
    ("src_country", pa.string(), "VARCHAR", "ISO country code"),
    ("src_city", pa.string(), "VARCHAR", ""),
    ("src_lat", pa.float64(), "DOUBLE", "latitude, from the vendor or an offline database"),
    ("src_lon", pa.float64(), "DOUBLE", "longitude of the source, same origin as src_lat"),
    ("src_is_proxy", pa.bool_(), "BOOLEAN", "source flagged as proxy/anonymizer by the IdP"),
    ("user_agent", pa.string(), "VARCHAR", ""),
    ("service_name", pa.string(), "VARCHAR", "application signed in to, or target host"),
    ("dst_host", pa.string(), "VARCHAR", "host that recorded the event (DC, sshd host)"),
    ("auth_protocol", pa.string(), "VARCHAR", "ntlm, kerberos, oauth2, ropc, saml, basic, ssh-password, ..."),
    ("client_app", pa.string(), "VARCHAR", "the source's raw client app / protocol label"),
    ("is_legacy_protocol", pa.bool_(), "BOOLEAN", "a protocol that cannot do MFA"),
    ("logon_type", pa.string(), "VARCHAR", "Windows logon type, or interactive/non_interactive"),
    ("status_id", pa.int32(), "INTEGER", "1 success, 2 failure (OCSF)"),
    ("status_code", pa.string(), "VARCHAR", "raw code: 50126, 0xC000006A, 0x18, ..."),
    ("status_detail", pa.string(), "VARCHAR", "one of schema.STATUS_DETAILS"),
    ("password_correct", pa.bool_(), "BOOLEAN", "true on success and interruptions after a correct password"),
    ("is_mfa", pa.bool_(), "BOOLEAN", "multi-factor satisfied; null when unknown"),
    ("device_id", pa.string(), "VARCHAR", ""),
    ("is_managed", pa.bool_(), "BOOLEAN", ""),
    ("session_id", pa.string(), "VARCHAR", "correlation / session id"),
    ("tenant_id", pa.string(), "VARCHAR", ""),
    # The source by name when the event has no address (pam rhost, Windows Workstation).
    ("src_endpoint_hostname", pa.string(), "VARCHAR", "source host name (OCSF src_endpoint.hostname)"),
    # Who signed in: a person, or an application with its own credential (Entra service
    # principal / managed identity sign-ins have no user; the application is the actor).
    ("actor_type", pa.string(), "VARCHAR", "user (null = user), service_principal, managed_identity"),
    ("actor_app_uid", pa.string(), "VARCHAR", "application (client) id of the signing-in app"),
    ("actor_app_name", pa.string(), "VARCHAR", "display name of the signing-in app / identity"),
    ("credential_key_id", pa.string(), "VARCHAR", "key id of the app credential used (secret/cert)"),
]

COLUMN_NAMES: list[str] = [c[0] for c in COLUMNS]
AUTH_SCHEMA: pa.Schema = pa.schema([(name, typ) for name, typ, _, _ in COLUMNS])


def duckdb_table_ddl(table: str = "auth_events") -> str:
    """CREATE TABLE statement for the normalized table."""
    cols = ",\n  ".join(f"{name} {ddb}" for name, _, ddb, _ in COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


def row_batches(
    rows: Iterable[dict], size: int, build: Callable[[list[dict]], pa.RecordBatch] | None = None
) -> Iterator[pa.RecordBatch]:
    """Rows from a Python-side reader as record batches of at most ``size`` rows (``build`` defaults to
    :func:`batch_from_rows`); memory stays bounded by one batch."""
    make = build or batch_from_rows
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield make(chunk)
            chunk = []
    if chunk:
        yield make(chunk)


def batch_from_rows(rows: list[dict]) -> pa.RecordBatch:
    """Build a schema-conformant batch from dicts (missing keys become null).

    For Python-side readers; fast readers build Arrow/DuckDB output directly.
    """
    arrays = [pa.array([r.get(name) for r in rows], type=typ) for name, typ, _, _ in COLUMNS]
    return pa.RecordBatch.from_arrays(arrays, schema=AUTH_SCHEMA)
