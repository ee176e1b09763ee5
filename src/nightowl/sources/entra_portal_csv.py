"""The Azure portal's sign-in CSV download (Sign-in logs -> Download -> CSV).

Headers are matched after normalization (trim, collapse spaces, case-fold), because the portal
writes "Application ID " and "Resource ID " with a trailing space, "Autonomous system  number"
with two spaces, "Incoming token type" twice, and adds or drops columns over time. Each row is
turned into a JSON object of the canonical Entra columns and goes through the same query as
the Graph reader, so the mapping (codes, legacy protocols, MFA) is the one in entra_codes.
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
}


def split_location(text: str) -> tuple[str | None, str | None]:
    """'Redmond, Washington, US' -> ('Redmond', 'US'); 'US' -> (None, 'US')."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None, None
    if len(parts) == 1:
        return (None, parts[0]) if len(parts[0]) == 2 else (parts[0], None)
    return parts[0], parts[-1]


def portal_record(cells: dict[str, str], interactive: str | None) -> dict[str, str | None]:
    rec: dict[str, str | None] = {}
    for col, names in PORTAL_COLUMNS.items():
        rec[col] = next((cells[n] for n in names if cells.get(n)), None)
    rec["city"], rec["country"] = split_location(cells.get("location", ""))
    rec["interactive"] = interactive
    return rec


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
        "(InteractiveSignIns_*.csv / NonInteractiveSignIns_*.csv)"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        headers = set(header_names(head))
        has_user = bool(headers & {"username", "user", "user id"})
        return all(h in headers for h in _PORTAL_KEY_HEADERS) and has_user

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        interactive = interactive_from_name(inp.name)
        splitter = rows_as_json(
            inp,
            tally,
            opts,
            lambda cells: portal_record(cells, interactive),
            ("date (utc)", "date"),
            ("time_raw",),
        )
        return read_split_records(inp, tally, opts, identity_format(self.name), splitter)


SOURCES = [PortalCsv()]
