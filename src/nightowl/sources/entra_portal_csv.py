"""The Azure portal's sign-in CSV download (Sign-in logs -> Download -> CSV).

The download writes one file per tab: ``InteractiveSignIns_*``, ``NonInteractiveSignIns_*``,
``ApplicationSignIns_*`` (service principal sign-ins) and ``MSISignIns_*`` (managed identity
sign-ins). Headers are matched after normalization (trim, collapse spaces, case-fold), because
the portal writes "Application ID " and "Resource ID " with a trailing space, "Autonomous system
number" with two spaces, "Incoming token type" twice, and adds or drops columns over time. Each
row is turned into a JSON object of the canonical Entra columns and goes through the same query
as the Graph reader, so the mapping (codes, legacy protocols, MFA, the app as the actor) is the
one in entra_codes.

The application files have no user columns: "Service principal ID", "Service principal name",
"Credential key ID", "Credential thumbprint", "Application", "Application ID ", "Resource", ...
(headers of real ApplicationSignIns downloads as published with a public IR tool's schema
reference; Microsoft documents the tabs, not the file). Microsoft does not publish the MSISignIns
headers; public parsers read them like ApplicationSignIns, and the 56-column user download adds
"Managed Identity type" / "Associated Resource Id" / "Federated Token Id" / "Federated Token
Issuer". So the actor is decided, first match wins: the file name the portal gives each tab, a
"Managed Identity type" other than none, a "Service principal ID" on a row without a user.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from nightowl.sources import entra_codes
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.csv_rows import header_names, rows_as_json
from nightowl.sources.records.json_duckdb import JsonFormat, read_split_records

IDENTITY_FORMAT_PATHS = (*(f"$.{c}" for c in entra_codes.RAW_COLUMNS), "$.ign")


def identity_format(source_format: str) -> JsonFormat:
    """A JsonFormat over records that already carry the canonical column names."""
    cols = {c: f"f[{i + 1}]" for i, c in enumerate(entra_codes.RAW_COLUMNS)}
    cols["ign"] = f"f[{len(entra_codes.RAW_COLUMNS) + 1}]"
    extract = entra_codes.extract_select(cols)
    return JsonFormat(
        paths=IDENTITY_FORMAT_PATHS,
        normalize=lambda records: entra_codes.normalize_sql(records, source_format, extract),
    )


# ---------------------------------------------------------------------------------------------
# The portal download
# ---------------------------------------------------------------------------------------------

# canonical column -> normalized portal header(s), first present wins
PORTAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "time_raw": ("date (utc)", "date"),
    "event_id": ("request id", "id"),
    "ua": ("user agent",),
    "correlation": ("correlation id",),
    "session": ("session id",),
    "user_id": ("user id",),
    "upn": ("username", "user principal name", "user"),
    "user_type": ("user type",),
    "protocol": ("authentication protocol",),
    "app": ("application",),
    "ip": ("ip address", "ip address (seen by resource)"),
    "code": ("sign-in error code", "error code"),
    "reason": ("failure reason",),
    "status_text": ("status",),
    "client_app": ("client app",),
    "device_id": ("device id",),
    "managed": ("managed",),
    "mfa_result": ("multifactor authentication result", "mfa result"),
    "auth_req": ("authentication requirement",),
    "asn": ("autonomous system number",),
    "tenant": ("resource tenant id", "tenant id"),
    "home_tenant": ("home tenant id",),
    # applications signing in with their own credential (ApplicationSignIns / MSISignIns)
    "app_id": ("application id",),
    "sp_name": ("service principal name",),
    "resource": ("resource",),
    "cred_key_id": ("credential key id",),
}

# file-name words of the portal's four downloads -> the actor they hold (entra_codes.ACTOR_KINDS)
_APP_FILES = (("msisignins", "managedIdentity"), ("applicationsignins", "servicePrincipal"))
_USER_HEADERS = ("username", "user principal name", "user", "user id")


def split_location(text: str) -> tuple[str | None, str | None]:
    """'Redmond, Washington, US' -> ('Redmond', 'US'); 'US' -> (None, 'US')."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None, None
    if len(parts) == 1:
        return (None, parts[0]) if len(parts[0]) == 2 else (parts[0], None)
    return parts[0], parts[-1]


def portal_record(
    cells: dict[str, str], interactive: str | None, file_actor: str | None = None
) -> dict[str, str | None]:
    rec: dict[str, str | None] = {}
    for col, names in PORTAL_COLUMNS.items():
        rec[col] = next((cells[n] for n in names if cells.get(n)), None)
    rec["city"], rec["country"] = split_location(cells.get("location", ""))
    rec["interactive"] = interactive
    rec["actor_kind"] = file_actor or row_actor(cells)
    return rec


def row_actor(cells: dict[str, str]) -> str | None:
    """The actor of a row from a file whose name does not say (renamed, merged downloads)."""
    if cells.get("managed identity type", "none").strip().casefold() not in ("", "none"):
        return "managedIdentity"
    if cells.get("service principal id") and not any(cells.get(h) for h in _USER_HEADERS):
        return "servicePrincipal"
    return None


def actor_from_name(name: str) -> str | None:
    """ApplicationSignIns_* hold service principal sign-ins, MSISignIns_* managed identity ones."""
    base = name.rsplit("/", 1)[-1].casefold()
    return next((actor for word, actor in _APP_FILES if word in base), None)


def interactive_from_name(name: str) -> str | None:
    """The portal writes interactive and non-interactive sign-ins to separately named files."""
    base = name.rsplit("/", 1)[-1].casefold()
    if "noninteractive" in base or "non-interactive" in base or "non_interactive" in base:
        return "non_interactive"
    if "interactivesignins" in base or "interactive" in base:
        return "interactive"
    return None


_PORTAL_KEY_HEADERS = ("date (utc)", "request id", "correlation id", "ip address")


class PortalCsv:
    name = "entra-portal-csv"
    title = "Microsoft Entra ID sign-ins (Azure portal CSV download)"
    export_hint = (
        "Entra admin center > Monitoring & health > Sign-in logs > Download > CSV "
        "(InteractiveSignIns_*.csv / NonInteractiveSignIns_*.csv); the Service principal and Managed "
        "identity sign-ins tabs download as ApplicationSignIns_*.csv / MSISignIns_*.csv"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        headers = set(header_names(head))
        has_actor = bool(headers & {"username", "user", "user id", "service principal id"})
        return all(h in headers for h in _PORTAL_KEY_HEADERS) and has_actor

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        interactive = interactive_from_name(inp.name)
        file_actor = actor_from_name(inp.name)
        splitter = rows_as_json(
            inp,
            tally,
            opts,
            lambda cells: portal_record(cells, interactive, file_actor),
            ("date (utc)", "date"),
            ("time_raw",),
        )
        return read_split_records(inp, tally, opts, identity_format(self.name), splitter)


SOURCES = [PortalCsv()]
