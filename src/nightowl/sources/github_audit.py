"""GitHub organisation and enterprise audit logs -> the ``credential_uses`` table.

Shapes (all carry the same event object, GitHub's "audit log events" with ``action``, ``actor``,
``@timestamp`` / ``created_at`` in epoch milliseconds, ``_document_id``):

* the JSON download of the audit log page (a JSON array) and its CSV download (one column per
  field; nested fields such as ``actor_location`` as JSON text or dotted columns);
* REST ``GET /orgs/{org}/audit-log`` and ``GET /enterprises/{enterprise}/audit-log`` pages
  (a JSON array per page; pages saved one per line or concatenated);
* audit-log streaming to Amazon S3 / Azure Blob Storage (gzip'd files of one event per line).

What the secret-use join needs is kept per event: ``hashed_token`` (base64 of the SHA-256 of the
token that made the call; a hex digest is converted to that form), ``token_id``,
``programmatic_access_type``, ``actor``, ``actor_ip``, ``user_agent``, the action and the repository.
Events made in the web UI carry no token: they are kept (the actor's addresses are the history a
token's use is compared with). GitHub logs completed actions, so ``outcome`` is ``success``: a
refused token leaves no audit event, which is one thing this log cannot show.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from nightowl import audit_schema
from nightowl.sources.base import InputFile, ReadOptions, Tally, json_head
from nightowl.sources.records.csv_rows import header_line, keyed_records
from nightowl.sources.records.fields import content_uid, dyn, first, lower, text
from nightowl.sources.records.json_python import RecordError, json_records, read_rows
from nightowl.sources.records.times import parse_time

FAMILY = "github-audit"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_SNIFF_MARKERS = (
    b'"_document_id"',
    b'"hashed_token"',
    b'"programmatic_access_type"',
    b'"org_id"',
    b'"business_id"',
)


def hashed_token(value: Any) -> str | None:
    """The token hash as GitHub writes it (base64 of the raw SHA-256); a hex digest is converted."""
    raw = text(value, 128)
    if not raw:
        return None
    raw = raw.strip()
    if _HEX64.match(raw):
        return base64.b64encode(bytes.fromhex(raw)).decode()
    try:
        if len(base64.b64decode(raw, validate=True)) == 32:
            return raw
    except (binascii.Error, ValueError):
        pass
    raise RecordError("hashed_token is neither base64 nor hex of a SHA-256")


def _nested(rec: dict[str, Any], outer: str, inner: str) -> Any:
    """``rec[outer][inner]`` from JSON, JSON text in a CSV cell, or a dotted CSV column."""
    value = dyn(rec.get(outer))
    if isinstance(value, dict) and value.get(inner) not in (None, ""):
        return value[inner]
    return rec.get(f"{outer}.{inner}")


def use_row(rec: dict[str, Any], ref: str) -> dict[str, Any] | str:
    """One audit event -> a ``credential_uses`` row. Raises RecordError when it cannot be read."""
    action = text(rec.get("action"), 128)
    if not action:
        raise RecordError("no action")
    when = parse_time(_epoch(first(rec, "@timestamp", "created_at", "timestamp")))
    if when is None:
        raise RecordError("no readable @timestamp / created_at")
    repo = text(first(rec, "repo", "repository"), 256)
    account = text(first(rec, "org", "business", "enterprise"), 256)
    return {
        "time": when,
        "source_format": FAMILY,
        "event_uid": text(rec.get("_document_id"), 128) or content_uid(rec),
        "service": "github",
        "credential_type": text(rec.get("programmatic_access_type"), 128),
        "credential_hash": hashed_token(rec.get("hashed_token")),
        "credential_id": text(rec.get("token_id"), 64),
        "token_scopes": text(rec.get("token_scopes"), 512),
        "actor": lower(rec.get("actor")),
        "actor_id": text(rec.get("actor_id"), 64),
        "src_ip": text(rec.get("actor_ip"), 64),
        "src_country": text(_nested(rec, "actor_location", "country_code"), 8),
        "user_agent": text(rec.get("user_agent"), 512),
        "action": action,
        "api": action.split(".", 1)[0],
        "resource": repo.lower() if repo else None,
        "account": account.lower() if account else None,
        "outcome": "success",
        "transport": lower(rec.get("transport_protocol_name")),
    }


def _epoch(value: Any) -> Any:
    """Epoch milliseconds arrive as numbers in JSON and as digit strings in CSV."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # not "²"
        return int(value.strip())
    return value


class GitHubAuditJson:
    name = "github-audit-json"
    title = "GitHub audit log (JSON download, REST audit-log pages, S3 / Azure Blob streaming)"
    export_hint = (
        "Organisation or enterprise Settings > Audit log > Export Git events / Export > JSON; or "
        "gh api --paginate '/orgs/ORG/audit-log?include=all&per_page=100' > audit.json "
        "(enterprises: /enterprises/ENT/audit-log); or the .json.gz files audit-log streaming writes to S3 / Blob"
    )
    table = "credential_uses"
    schema = audit_schema.CREDENTIAL_USES_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        text_ = json_head(head)
        return (
            b'"action"' in text_
            and b'"actor"' in text_
            and (b'"@timestamp"' in text_ or b'"created_at"' in text_)
            and any(m in text_ for m in _SNIFF_MARKERS)
        )

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(json_records(inp, tally, opts), tally, self.schema, use_row)


class GitHubAuditCsv:
    name = "github-audit-csv"
    title = "GitHub audit log (CSV download)"
    export_hint = "Organisation or enterprise Settings > Audit log > Export > CSV"
    table = "credential_uses"
    schema = audit_schema.CREDENTIAL_USES_SCHEMA

    def sniff(self, head: bytes, name: str) -> bool:
        line = header_line(head)
        if not line:
            return False
        cols = {c.strip().strip('"') for c in line.decode("utf-8", "replace").split(",")}
        return {"action", "actor"} <= cols and bool(cols & {"@timestamp", "created_at", "_document_id"})

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return read_rows(keyed_records(inp, tally, opts), tally, self.schema, use_row)


SOURCES = [GitHubAuditJson(), GitHubAuditCsv()]
