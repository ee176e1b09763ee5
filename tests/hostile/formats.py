"""Record generators for the hostile-input suite: N distinct, valid records of each reader's format,
built from the repository's fixtures (written from the vendors' documented schemas)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from nightowl.sources import aws_cloudtrail, entra_audit, entra_graph, okta
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
