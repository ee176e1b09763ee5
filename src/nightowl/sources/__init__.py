"""The registry of sign-in log formats and format auto-detection.

Each module listed in :data:`SOURCE_MODULES` exposes ``SOURCES: list[Source]``. Order matters
for sniffing: more specific formats come first.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache

import pyarrow as pa

from nightowl.sources.base import InputError, InputFile, ReadOptions, Source, Tally, UnknownFormat

SOURCE_MODULES = (
    "windows_evtx",
    "entra_audit",
    "github_audit",
    "entra_diagnostic",
    "office_activity",
    "entra_accounts",
    "entra_portal_csv",
    "entra_loganalytics",
    "entra_powershell",
    "entra_graph",
    "okta",
    "windows_securityevent_csv",
    "windows_security_json",
    "windows_security_xml",
    "aws_cloudtrail",
    "sshd_journal",
    "sshd",
)


@cache
def all_sources() -> tuple[Source, ...]:
    found: list[Source] = []
    for mod_name in SOURCE_MODULES:
        module = importlib.import_module(f"nightowl.sources.{mod_name}")
        found.extend(module.SOURCES)
    return tuple(found)


def by_name(name: str) -> Source:
    for src in all_sources():
        if src.name == name:
            return src
    known = ", ".join(s.name for s in all_sources())
    raise InputError(f"unknown input format {name!r} (known: {known})")


class Unreadable:
    """What an input that cannot be read at all (a corrupt zip member) is read as: one quarantined
    record with the reason, so the run goes on and the report says what was lost."""

    name = "unreadable"
    title = "An input that could not be read"
    export_hint = ""

    def sniff(self, head: bytes, name: str) -> bool:
        return False

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        tally.reject("file", inp.problem or "unreadable")
        return iter(())


UNREADABLE = Unreadable()


def detect(inp: InputFile) -> Source:
    """The first source whose sniff accepts the file; InputError naming the formats tried."""
    if inp.problem is not None:
        return UNREADABLE
    head = inp.head()
    if not head.strip():
        raise UnknownFormat(f"{inp.name}: empty file")
    for src in all_sources():
        try:
            if src.sniff(head, inp.name):
                return src
        except Exception:  # a sniff must never take the run down
            continue
    tried = ", ".join(s.name for s in all_sources())
    raise UnknownFormat(f"{inp.name}: matches no known format (tried {tried}); force one with --input-format")
