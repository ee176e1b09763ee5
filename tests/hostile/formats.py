"""Record generators for the hostile-input suite: N distinct, valid records of each reader's format,
built from the repository's fixtures (written from the vendors' documented schemas)."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nightowl.sources import (
    aws_cloudtrail,
    entra_accounts,
    entra_audit,
    entra_graph,
    entra_loganalytics,
    entra_portal_csv,
    office_activity,
    okta,
    windows_securityevent_csv,
)
from nightowl.sources.base import InputFile, ReadOptions, Source, Tally

FIX = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class JsonFormat:
    name: str
    source: Source
    container_key: str  # the records array of a page / envelope
    make: Callable[[int], dict[str, Any]]  # record number -> a valid record


def _graph(i: int) -> dict[str, Any]:
    rec = json.loads((FIX / "entra" / "graph_v1.jsonl").read_text().splitlines()[0])
    rec.update(id=f"graph-{i:05d}", userPrincipalName=f"user{i}@contoso.com")
    return rec


def _okta(i: int) -> dict[str, Any]:
    rec = copy.deepcopy(json.loads((FIX / "okta" / "system_log.json").read_text())[0])
    rec["uuid"] = f"okta-{i:05d}"
    rec["actor"]["alternateId"] = f"user{i}@contoso.com"
    return rec


def _audit(i: int) -> dict[str, Any]:
    rec = json.loads((FIX / "cloud" / "graph_directory_audits_benign.jsonl").read_text().splitlines()[0])
    rec["id"] = f"audit-{i:05d}"
    return rec


def _trail(i: int) -> dict[str, Any]:
    rec = copy.deepcopy(json.loads((FIX / "cloudtrail" / "console_logins.json").read_text())["Records"][0])
    rec["eventID"] = f"trail-{i:05d}"
    return rec


GRAPH = JsonFormat("graph", entra_graph.SOURCES[0], "value", _graph)
OKTA = JsonFormat("okta", okta.SOURCES[0], "value", _okta)
AUDIT = JsonFormat("audit", entra_audit.EntraAuditJson(), "value", _audit)
TRAIL = JsonFormat("cloudtrail", aws_cloudtrail.SOURCES[0], "Records", _trail)
JSON_FORMATS = (GRAPH, OKTA, AUDIT, TRAIL)


def read(source: Source, path: Path, opts: ReadOptions | None = None) -> tuple[int, Tally]:
    """(rows normalized, tally) through the source's ``read``."""
    tally = Tally()
    rows = sum(b.num_rows for b in source.read(InputFile(path.name, path), tally, opts or ReadOptions()))
    tally.normalized = rows
    return rows, tally


def stage(source: Source, path: Path, opts: ReadOptions | None = None) -> tuple[int, Tally] | None:
    """(rows, tally) through the source's in-DuckDB ``stage``; None when it has none or declines."""
    if not hasattr(source, "stage"):
        return None
    con = duckdb.connect()
    tally = Tally()
    view = source.stage(con, InputFile(path.name, path), tally, opts or ReadOptions())
    if view is None:
        return None
    rows = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
    tally.normalized = rows
    return rows, tally


def table(source: Source, path: Path) -> pa.Table:
    tally = Tally()
    schema = getattr(source, "schema", None)
    batches = list(source.read(InputFile(path.name, path), tally, ReadOptions()))
    return pa.Table.from_batches(batches, schema=schema or batches[0].schema)


# --------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class CsvFormat:
    name: str
    source: Source
    header: list[str]
    row: list[str]  # one data row that the source reads
    id_column: str  # varied per row, so no two rows are duplicates


def _csv_fixture(path: Path) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1]


def _csv_format(name: str, source: Source, fixture: str, id_column: str) -> CsvFormat:
    header, row = _csv_fixture(FIX / fixture)
    return CsvFormat(name, source, header, row, id_column)


_TRAIL_HEADER = [
    "TimeGenerated [UTC]", "EventName", "EventSource", "AwsEventId", "UserIdentityType",
    "UserIdentityUserName", "SourceIpAddress", "UserAgent", "ResponseElements", "AdditionalEventData",
    "RecipientAccountId",
]  # fmt: skip
_TRAIL_ROW = [
    "2024-07-16T15:49:27Z", "ConsoleLogin", "signin.amazonaws.com", "trail-0", "IAMUser", "alice",
    "192.0.2.10", "Mozilla/5.0", '{"ConsoleLogin": "Failure"}', '{"MFAUsed": "No"}', "111122223333",
]  # fmt: skip

CSV_FORMATS = (
    _csv_format("entra-la-csv", entra_loganalytics.LogAnalyticsCsv(), "entra/la_signinlogs.csv", "Id"),
    _csv_format(
        "entra-portal-csv",
        entra_portal_csv.PortalCsv(),
        "entra/InteractiveSignIns_2024-03-04_2024-03-05.csv",
        "Request ID",
    ),
    _csv_format("entra-audit-csv", entra_audit.EntraAuditCsv(), "cloud/loganalytics_auditlogs.csv", "Id"),
    _csv_format(
        "office365-audit-csv",
        office_activity.OfficeActivityCsv(),
        "cloud/purview_audit_export.csv",
        "RecordId",
    ),
    _csv_format(
        "entra-accounts-csv", entra_accounts.EntraAccountsCsv(), "cloud/user_registration_details.csv", "Id"
    ),
    _csv_format(
        "windows-securityevent-csv",
        windows_securityevent_csv.SOURCES[0],
        "windows/securityevent_failures.csv",
        "EventOriginId",
    ),
    CsvFormat(
        "aws-cloudtrail-csv", aws_cloudtrail.CloudTrailSentinelCsv(), _TRAIL_HEADER, _TRAIL_ROW, "AwsEventId"
    ),
)


def csv_rows(fmt: CsvFormat, n: int) -> list[list[str]]:
    """``n`` copies of the format's row, each with its own id (also inside JSON cells)."""
    at = fmt.header.index(fmt.id_column)
    old = fmt.row[at]
    out = []
    for i in range(n):
        new = f"{old[:-6]}{i:06d}" if len(old) > 6 else f"id-{i:06d}"
        out.append([cell.replace(old, new) if old else cell for cell in fmt.row])
        out[-1][at] = new
    return out


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, newline: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    path.write_text(text, encoding="utf-8", newline="")
    return text
