"""The Azure portal's sign-in CSV download (Sign-in logs -> Download -> CSV), plus the CSV
helpers the Log Analytics CSV reader shares.

Headers are matched after normalization (trim, collapse spaces, case-fold), because the portal
writes "Application ID " and "Resource ID " with a trailing space, "Autonomous system  number"
with two spaces, "Incoming token type" twice, and adds or drops columns over time. Each row is
turned into a JSON object of the canonical Entra columns and goes through the same query as
the Graph reader, so the mapping (codes, legacy protocols, MFA) is the one in entra_codes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime

import orjson
import pyarrow as pa

from nightowl.sources import entra_codes
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.entra_graph import JsonFormat, Split, read_split_records

# ---------------------------------------------------------------------------------------------
# CSV helpers (shared with the Log Analytics CSV reader)
# ---------------------------------------------------------------------------------------------


def norm_header(name: str) -> str:
    """'Application ID ' -> 'application id'; 'TimeGenerated [UTC]' -> 'timegenerated'."""
    name = name.replace("\ufeff", "")
    name = re.sub(r"\s*\[(utc|local)\]\s*$", "", name, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", name).strip().casefold()


def first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].rstrip("\r")


def header_names(head: bytes) -> list[str]:
    """Normalized header names of a CSV's first line (empty when it does not parse)."""
    try:
        row = next(csv.reader([first_line(head)]))
    except (csv.Error, StopIteration):
        return []
    return [norm_header(h) for h in row]


_US = re.compile(
    r"^\s*(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*([AaPp][Mm])?\s*$"
)


def slash_date_order(values: Iterator[str]) -> str:
    """'mdy' or 'dmy' for exports that write local dates ("4/21/2025, 9:45:54.000 AM" or
    "21/04/2025, 09:45:54.000"): decided once per file from any unambiguous day > 12; failing
    that, a 12-hour clock suggests en-US month-first and a 24-hour clock day-first."""
    ampm = None
    for v in values:
        m = _US.match(v or "")
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 >= b:
            return "dmy"
        if b > 12 >= a:
            return "mdy"
        ampm = ampm if ampm is not None else bool(m.group(8))
    return "mdy" if ampm in (None, True) else "dmy"


def iso_time(value: str | None, order: str) -> str | None:
    """ISO 8601 text for DuckDB; slash dates converted with the file's ``order`` (UTC assumed:
    both exports label the column UTC). Anything else is passed through for DuckDB to judge."""
    if not value:
        return value
    m = _US.match(value)
    if not m:
        return value.strip()
    a, b, year, hh, mm, ss, frac, ampm = m.groups()
    month, day = (int(a), int(b)) if order == "mdy" else (int(b), int(a))
    hour = int(hh)
    if ampm:
        if not 1 <= hour <= 12:
            return value  # garbled: DuckDB will not parse it and the row is quarantined
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        dt = datetime(int(year), month, day, hour, int(mm), int(ss or 0))
    except ValueError:
        return value
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac}Z" if frac else f"{text}Z"


def csv_rows(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line where the row starts, raw header, cells) for every data row; damage is quarantined.

    The csv module's field limit is raised to the per-line cap (it is process-wide; raising it
    is harmless), so a giant cell is read, not fatal, and then rejected by the record checks.
    """
    if csv.field_size_limit() < opts.max_line_bytes:
        csv.field_size_limit(opts.max_line_bytes)
    line = 0
    try:
        with inp.open() as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            header = next(reader, None)
            if header is None:
                return
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    tally.reject(f"line {start}", f"unreadable CSV ({exc})", None)
                    return
                line = start
                if not any(cell.strip() for cell in row):
                    continue
                yield start, header, row
    except (OSError, EOFError) as exc:
        tally.reject(f"line {line + 1}", f"unreadable from here on ({exc.__class__.__name__})", None)


def rows_as_json(
    inp: InputFile,
    tally: Tally,
    opts: ReadOptions,
    to_record: Callable[[dict[str, str]], dict[str, str | None]],
    time_headers: tuple[str, ...],
    time_fields: tuple[str, ...],
) -> Iterator[Split]:
    """CSV rows -> JSON object texts of canonical fields (duplicate headers: first non-empty).

    Two passes: the first only decides the file's slash-date order (month or day first) from
    the ``time_headers`` cells; ``time_fields`` of each record are then rewritten as ISO 8601."""
    order = slash_date_order(
        next((c for k in time_headers if (c := _cell(_index(header), row, k))), "")
        for _, header, row in csv_rows(inp, Tally(), opts)
    )
    for line, header, row in csv_rows(inp, tally, opts):
        rec = to_record(_by_name(_index(header), row))
        for key in time_fields:
            rec[key] = iso_time(rec.get(key), order)
        yield line, orjson.dumps(rec).decode(), None, None


_index_cache: dict[tuple[str, ...], dict[str, list[int]]] = {}


def _index(header: list[str]) -> dict[str, list[int]]:
    key = tuple(header)
    idx = _index_cache.get(key)
    if idx is None:
        idx = {}
        for i, h in enumerate(header):
            idx.setdefault(norm_header(h), []).append(i)
        if len(_index_cache) < 64:
            _index_cache[key] = idx
    return idx


def _by_name(idx: dict[str, list[int]], row: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, positions in idx.items():
        for i in positions:
            if i < len(row) and row[i].strip():
                out[name] = row[i].strip()
                break
    return out


def _cell(idx: dict[str, list[int]], row: list[str], name: str) -> str:
    for i in idx.get(name, ()):
        if i < len(row) and row[i].strip():
            return row[i].strip()
    return ""


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
