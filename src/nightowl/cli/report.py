"""``nightowl report``: one self-contained HTML file from findings JSON documents and/or a store.

Inputs: any number of findings documents (``hunt --format json``, ``secrets --format json``, ...),
merged by finding id; and/or ``--store FILE``, whose events give the charts their hourly curve and
source networks (and, when no findings file is given, whose detections are run for the findings).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from nightowl.cli.common import ConfigOpt, err
from nightowl.detections.catalog import read_config
from nightowl.findings import SEVERITY_RANK, Finding
from nightowl.incidents import build_incidents, finding_from_dict
from nightowl.reports.html import build_report, write_report
from nightowl.reports.report_data import from_findings, from_store
from nightowl.sources.base import InputError
from nightowl.textsafe import term

MAX_DOCUMENT_BYTES = 2 * 1024**3  # a findings document larger than this is not one we wrote


def load_document(path: str) -> dict[str, Any]:
    """Read one findings document (``-`` for stdin); InputError naming the file when it is not one."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            p = Path(path)
            if p.stat().st_size > MAX_DOCUMENT_BYTES:
                raise InputError(f"{path}: too large for a findings document")
            raw = p.read_bytes()
        doc = orjson.loads(raw)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise InputError(f"{path}: not a findings document (no 'findings' list; use --format json output)")
    return doc


def merge_documents(docs: list[tuple[str, dict[str, Any]]]) -> tuple[list[Finding], list[dict], dict | None]:
    """Findings of several documents, one per id (the more severe copy wins), their inputs, an overview."""
    by_id: dict[str, Finding] = {}
    inputs: list[dict[str, Any]] = []
    overview = None
    for path, doc in docs:
        for n, item in enumerate(doc["findings"]):
            try:
                f = finding_from_dict(item)
            except ValueError as exc:
                raise InputError(f"{path}: finding {n}: {exc}") from exc
            old = by_id.get(f.id)
            if old is None or SEVERITY_RANK[f.severity] < SEVERITY_RANK[old.severity]:
                by_id[f.id] = f
        inputs += [i for i in doc.get("inputs") or [] if isinstance(i, dict)]
        if overview is None and isinstance(doc.get("overview"), dict):
            overview = doc["overview"]
    return list(by_id.values()), inputs, overview


def make_report(
    findings_files: list[str], store_path: Path | None, title: str, config: dict[str, Any] | None = None
) -> tuple[str, int, int]:
    """The report HTML, the number of findings and of incidents. With a store and no findings files the
    findings come from the same pipeline ``hunt`` runs (detections with ``config``, and exposure)."""
    docs = [(p, load_document(p)) for p in findings_files]
    findings, inputs, overview = merge_documents(docs)
    if store_path is None:
        data = from_findings(findings, overview)
    else:
        from nightowl.overview import overview as store_overview
        from nightowl.store import Store

        if not store_path.exists():
            raise InputError(f"{store_path}: no such store")
        with Store(store_path) as st:
            if not docs:
                from nightowl.pipeline import detect

                findings = detect(st, config)
            data = from_store(st, findings, store_overview(st) if st.event_count() else overview)
    incidents = build_incidents(findings)
    html = build_report(findings, data=data, inputs=inputs, title=title, incidents=incidents)
    return html, len(findings), len(incidents)


def report_command(
    findings_files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Findings JSON documents (hunt/secrets --format json); several are merged. - for stdin."
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="DuckDB store: charts from its events; its detections when no JSON is given."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "nightowl-report.html"
    ),
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "nightowl report",
    config: ConfigOpt = None,
) -> None:
    """Write one self-contained HTML report (opens offline): summary, incidents, charts, every finding."""
    if not findings_files and store is None:
        raise InputError(
            "nothing to report: give findings JSON files (hunt/secrets --format json) or --store"
        )
    if out.is_dir():  # before the work, not an internal error after it
        raise InputError(
            f"{out}: is a folder; give -o the report's file name ({out / 'nightowl-report.html'})"
        )
    html, n_findings, n_incidents = make_report(findings_files or [], store, title, read_config(config))
    write_report(out, html)
    err.print(
        f"wrote {term(str(out))}: {n_findings:,} finding{'s' if n_findings != 1 else ''}, "
        f"{n_incidents:,} incident{'s' if n_incidents != 1 else ''} ({len(html) / 1e6:.1f} MB)"
    )
