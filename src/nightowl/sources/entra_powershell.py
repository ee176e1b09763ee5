"""Microsoft Graph PowerShell SDK sign-ins: ``Get-MgAuditLogSignIn -All | ConvertTo-Json -Depth 10``
(or ``Get-MgBetaAuditLogSignIn``), from Windows PowerShell 5.1 or PowerShell 7.

The SDK's ``MicrosoftGraphSignIn`` objects carry the Graph REST data with PascalCase property
names (``CreatedDateTime``, ``IPAddress``, ``Status.ErrorCode``, ...) and an
``AdditionalProperties`` bag for whatever the SDK model does not declare. Each record is turned
back into the Graph REST shape (camelCase keys, ``AdditionalProperties`` folded in, dates as ISO
8601) and handed to the Graph reader's own query (:data:`entra_graph.GRAPH`), so a PowerShell
export gives exactly the rows the REST export of the same sign-ins gives, ``source_format``
included (``entra-graph-json``): the two are one family, and the store deduplicates an event
found in both by its Graph id.

What ConvertTo-Json and the shell do to the file, and how each is handled:

* Windows PowerShell 5.1's ``>`` writes UTF-16 LE with a BOM; PowerShell 7 writes UTF-8. The
  encoding is taken from the BOM (or, without one, from the NUL bytes of UTF-16 ASCII).
* 5.1 writes a DateTime as ``"\\/Date(1704449472000)\\/"`` (milliseconds since the epoch, UTC; an
  optional ``+hhmm`` suffix is only a display hint); 7 writes ISO 8601. Both become ISO 8601 UTC.
  5.1 keeps milliseconds only, so sub-millisecond digits of the REST value are lost there.
* ``-Depth`` defaults to 2: deeper objects are written as their .NET type name
  (``"Microsoft.Graph.PowerShell.Models.MicrosoftGraphSignInStatus"``). A record whose fields the
  normalization reads were cut that way is quarantined with the fix (re-export with ``-Depth 10``);
  a file where every record was cut is refused as a whole with that message. Cuts in fields that
  are not read (``Location.GeoCoordinates``, ``AppliedConditionalAccessPolicies``) change no row.
* One sign-in is written as an object, several as an array; ``-Compress`` puts it on one line;
  one ``ConvertTo-Json -Compress`` per sign-in gives one object per line. 5.1 sometimes wraps an
  array as ``{"value": [...], "Count": n}``. All are split into records the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pyarrow as pa

from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally
from nightowl.sources.entra_graph import GRAPH, GRAPH_PATHS
from nightowl.sources.records import json_duckdb
from nightowl.sources.records.json_duckdb import DOCUMENT_MAX_BYTES, Split

NAME = "entra-graph-powershell"
EXPORT_COMMAND = "Get-MgAuditLogSignIn -All | ConvertTo-Json -Depth 10 > signins.json"
DEPTH_FIX = "re-export with ConvertTo-Json -Depth 10"

_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_TYPE_NAME = re.compile(r"(Microsoft\.Graph\.PowerShell\.Models\.|System\.)[\w.`\[\]]+")

# SDK property names the generic PascalCase -> camelCase rule does not give back.
_SPECIAL_KEYS = {"riskeventtypesv2": "riskEventTypes_v2"}

# Fields the Graph normalization reads that are objects or lists: a string there is a -Depth cut.
_READ_OBJECTS = tuple(dict.fromkeys(p.split(".")[1] for p in GRAPH_PATHS.values() if p.count(".") > 1))
_READ_LISTS = ("authenticationDetails", "signInEventTypes")  # authenticationDetails decides is_mfa

# Sniff: the SDK's property names (PascalCase, so never a REST export), and sign-in-only ones.
_SNIFF_TIME = '"CreatedDateTime"'
_SNIFF_SIGNIN = (
    '"ClientAppUsed"',
    '"ConditionalAccessStatus"',
    '"AppliedConditionalAccessPolicies"',
    '"RiskLevelDuringSignIn"',
    '"IsInteractive"',
)
_SNIFF_NOT = ('"ResultType"', '"TimeGenerated"')  # Log Analytics SigninLogs, also PascalCase
_SNIFF_TRUNCATED = "Microsoft.Graph.PowerShell.Models.MicrosoftGraphSignIn"


# ---------------------------------------------------------------------------------------------
# Encoding and splitting
# ---------------------------------------------------------------------------------------------


def bom_encoding(data: bytes) -> tuple[str, int]:
    """(codec, BOM length): UTF-16 by BOM or by the NUL bytes of ASCII text, else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if data.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if data.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    pairs = [(data[i], data[i + 1]) for i in range(0, min(len(data), 128) - 1, 2)]
    if pairs and sum(1 for a, b in pairs if a and not b) * 4 >= len(pairs) * 3:
        return "utf-16-le", 0  # most pairs are an ASCII byte and a NUL (one stray NUL is damage)
    if pairs and sum(1 for a, b in pairs if b and not a) * 4 >= len(pairs) * 3:
        return "utf-16-be", 0
    return "utf-8", 0


def decode_head(head: bytes) -> str:
    codec, bom = bom_encoding(head)
    body = head[bom:]
    if codec != "utf-8":
        body = body[: len(body) & ~1]
    return body.decode(codec, errors="replace")


def document_text(inp: InputFile, limit: int = DOCUMENT_MAX_BYTES) -> str:
    """The whole file as text in its own encoding (bad bytes replaced); one-line InputError beyond
    ``limit`` or on an unreadable stream."""
    data = inp.document_bytes(
        limit, 'export in smaller date ranges (Get-MgAuditLogSignIn -Filter "createdDateTime ge ...")'
    )
    codec, bom = bom_encoding(data)
    return data[bom:].decode(codec, errors="replace")


def _split(text: str) -> Iterator[Split]:
    """Top-level values (an array's elements one by one), numbered by the line they start on."""
    if json_duckdb.layout(text[: 1 << 16].encode("utf-8", errors="replace")) == "lines":
        for lineno, line in enumerate(text.split("\n"), 1):
            yield lineno, line.rstrip("\r"), None, None
    else:
        yield from json_duckdb.split_document(text)


# ---------------------------------------------------------------------------------------------
# PowerShell shape -> Graph REST shape
# ---------------------------------------------------------------------------------------------


def camel(key: str) -> str:
    """``IPAddress`` -> ``ipAddress``, ``UserPrincipalName`` -> ``userPrincipalName``, ``Id`` -> ``id``;
    camelCase and ``@odata.type`` keys are left as they are."""
    special = _SPECIAL_KEYS.get(key.lower())
    if special:
        return special
    n = 0
    while n < len(key) and key[n].isupper():
        n += 1
    if n == 0:
        return key
    if n > 1 and n < len(key) and key[n].islower():
        n -= 1  # the last capital starts the next word: IPAddress -> ip + Address
    return key[:n].lower() + key[n:]


def _date(text: str) -> str:
    m = _DATE.fullmatch(text)
    if not m:
        return text
    try:
        when = _EPOCH + dt.timedelta(milliseconds=int(m.group(1)))
    except OverflowError:
        return text  # out of range: left for the query to reject as no parseable time
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_graph(value: object) -> object:
    """One PowerShell value in Graph REST shape (recursively)."""
    if isinstance(value, dict):
        if (
            "DisplayHint" in value
            and "value" in value
            and value.keys() <= {"value", "DisplayHint", "DateTime"}
        ):
            return to_graph(value["value"])  # 5.1's DateTime with its ETS note properties
        out: dict[str, object] = {}
        extra = None
        for key, item in value.items():
            if key == "AdditionalProperties" and isinstance(item, dict):
                extra = item
                continue
            ck = camel(key)
            if out.get(ck) is None:
                out[ck] = to_graph(item)
        # Properties the SDK model does not declare come back in AdditionalProperties, already
        # named as Graph names them; they never override a declared property.
        for key, item in (extra or {}).items():
            ck = camel(key)
            if out.get(ck) is None:
                out[ck] = to_graph(item)
        return out
    if isinstance(value, list):
        return [to_graph(v) for v in value]
    if isinstance(value, str) and value.startswith("/Date("):
        return _date(value)
    return value


def truncation(rec: object) -> str | None:
    """Why a record is unusable because ConvertTo-Json cut it at its -Depth, or None."""
    if isinstance(rec, str) and _TYPE_NAME.fullmatch(rec.strip()):
        return f'the sign-in itself was cut to "{rec[:80]}" by ConvertTo-Json -Depth: {DEPTH_FIX}'
    if not isinstance(rec, dict):
        return None
    for key in (*_READ_OBJECTS, *_READ_LISTS):
        val = rec.get(key)
        if isinstance(val, str):
            return _cut(key, val)
    details = rec.get("authenticationDetails")
    if isinstance(details, list):
        for step in details:
            if isinstance(step, str):
                return _cut("authenticationDetails", step)
    return None


def _cut(key: str, val: object) -> str:
    shown = str(val)[:80]
    return (
        f'{key[:1].upper()}{key[1:]} was cut to "{shown}" by ConvertTo-Json\'s -Depth limit '
        f"(default 2): {DEPTH_FIX}"
    )


# Keys written first, so a quarantine excerpt (the first characters) names the sign-in.
_EXCERPT_FIRST = ("Id", "CreatedDateTime", "UserPrincipalName", "IPAddress", "Status")
_EXCERPT_FIRST_GRAPH = tuple(camel(k) for k in _EXCERPT_FIRST)


def _compact(value: object, first: tuple[str, ...]) -> str:
    if isinstance(value, dict):
        value = {**{k: value[k] for k in first if k in value}, **value}
    return json.dumps(value, separators=(",", ":"))


def graph_records(splits: Iterator[Split], seen: dict[str, int]) -> Iterator[Split]:
    """PowerShell values -> Graph REST JSON records for the Graph query. A value that is not JSON
    passes through unchanged (the query quarantines it); an array or ``{"value": [..]}`` wrapper is
    unpacked here so each sign-in is checked for truncation on its own. ``seen`` counts records and
    truncated ones."""
    per_line: dict[int, int] = {}

    def emit(lineno: int, text: str, bad: str | None, cut: bool = False) -> Split:
        seen["records"] += 1
        seen["truncated"] += cut
        n = per_line[lineno] = per_line.get(lineno, 0) + 1
        return lineno, text, n if n > 1 else None, bad

    for lineno, text, _sub, bad0 in splits:
        if bad0 is not None:
            yield emit(lineno, text, bad0)
            continue
        if not text.strip(" \t\r\n"):
            yield lineno, text, None, None  # blank: the query drops it, it is no record
            continue
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            yield emit(lineno, text, None)  # the query says why (invalid JSON)
            continue
        if isinstance(doc, dict) and isinstance(doc.get("value"), list):
            items = doc["value"]  # a Graph page, or 5.1's {"value": [...], "Count": n}
        elif isinstance(doc, list):
            items = doc
        else:
            items = [doc]
        if not items:
            continue
        for item in items:
            try:
                rec = to_graph(item)
            except RecursionError:
                yield emit(lineno, text if len(items) == 1 else json.dumps(item), None)
                continue
            cut = truncation(rec)
            if cut is not None:
                yield emit(lineno, _compact(item, _EXCERPT_FIRST), cut, cut=True)
            else:
                yield emit(lineno, _compact(rec, _EXCERPT_FIRST_GRAPH), None)


# ---------------------------------------------------------------------------------------------
# The source
# ---------------------------------------------------------------------------------------------


class PowerShellSignIns:
    name = NAME
    title = "Microsoft Entra ID sign-ins (Microsoft Graph PowerShell Get-MgAuditLogSignIn | ConvertTo-Json)"
    export_hint = (
        f"{EXPORT_COMMAND} (or Get-MgBetaAuditLogSignIn; Windows PowerShell 5.1 or PowerShell 7; "
        "keep -Depth 10, the default -Depth 2 cuts Status)"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = decode_head(head).lstrip(" \t\r\n")
        if text[:1] not in ("[", "{"):
            return False
        if any(m in text for m in _SNIFF_NOT):
            return False
        if _SNIFF_TRUNCATED in text:
            return True
        return _SNIFF_TIME in text and any(m in text for m in _SNIFF_SIGNIN)

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        seen = {"records": 0, "truncated": 0}
        splits = graph_records(_split(document_text(inp)), seen)
        yield from json_duckdb.read_split_records(inp, tally, opts, GRAPH, splits)
        if seen["records"] and seen["truncated"] == seen["records"]:
            # Nothing was yielded (every record was quarantined): refuse the file with the fix.
            raise InputError(
                f"{inp.name}: every sign-in was cut by ConvertTo-Json's default -Depth 2 (Status, "
                f"and with it success or failure, is only a type name); re-export with: {EXPORT_COMMAND}"
            )


SOURCES = [PowerShellSignIns()]
