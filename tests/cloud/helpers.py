"""Ingest and hunt helpers for the cloud tests.

Formats are detected among the source modules that exist in this checkout (other readers land
in parallel), so these tests do not depend on modules they do not test.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from nightowl.detections.runner import run_all
from nightowl.findings import Finding
from nightowl.ingest import InputReport, ingest_file
from nightowl.sources import SOURCE_MODULES
from nightowl.sources.base import InputError, InputFile, ReadOptions, Source
from nightowl.sources.inputs import Spool, expand
from nightowl.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cloud"


def available_sources() -> list[Source]:
    found: list[Source] = []
    for mod in SOURCE_MODULES:
        try:
            module = importlib.import_module(f"nightowl.sources.{mod}")
        except ModuleNotFoundError:
            continue
        found.extend(module.SOURCES)
    return found


def detect(inp: InputFile) -> Source:
    head = inp.head()
    for src in available_sources():
        if src.sniff(head, inp.name):
            return src
    raise InputError(f"{inp.name}: no format")


def ingest(store: Store, *paths: str | Path) -> list[InputReport]:
    reports = []
    with Spool() as spool:
        for inp in expand([str(p) for p in paths], spool):
            reports.append(ingest_file(store, inp, detect(inp), ReadOptions()))
    return reports


def hunt(*paths: str | Path, store: Store | None = None) -> list[Finding]:
    own = store is None
    st = store or Store()
    try:
        ingest(st, *paths)
        return run_all(st)
    finally:
        if own:
            st.close()


def fixture(name: str) -> Path:
    return FIXTURES / name


def by_detection(findings: list[Finding], detection: str) -> list[Finding]:
    return [f for f in findings if f.detection == detection]
