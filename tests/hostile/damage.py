"""Every reader's fixtures cut into records, damaged record by record, with the true count known.

A :class:`Fixture` is a file of the reader's format written as ``prefix + sep.join(units) + suffix``
(one unit per record: a line, a CSV row, an element of a JSON array or of a page's records array),
built from the repository's fixtures (vendor-documented schemas). :func:`damaged` draws one damage
(a cut, bytes flipped or inserted in one record, a garbage or junk record inserted, a record
repeated, a huge field, blank lines) plus, independently, a BOM and CRLF line endings, and says what
a correct reader must report: the true record count, the records left undamaged (their rows must
all be in the store, compared with a clean file of only those records) and how many rows the
damaged records may add at most.

:data:`FIXTURES` names the fixtures of every reader by its ``--input-format`` name; the property in
``test_damage.py`` is parametrised over the source registry, so a new reader without an entry here
fails there.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.hostile.formats import _TRAIL_HEADER, _TRAIL_ROW, CsvFormat, csv_rows

FIX = Path(__file__).resolve().parents[1] / "fixtures"
_SLOT = "__nightowl_records__"
BOM = b"\xef\xbb\xbf"
NO_BREAKS = [b for b in range(256) if b not in (0x0A, 0x0D)]  # damage never adds a record boundary


@dataclass(frozen=True)
class Fixture:
    """A reader's fixture as records: ``kind`` is "lines", "csv" or "json"; ``records`` the parsed
    records (a line, a CSV row as a list, a JSON value), ``encode`` one record as its unit's bytes."""

    label: str
    kind: str
    prefix: bytes
    records: tuple[Any, ...]
    sep: bytes
    suffix: bytes
    encode: Callable[[Any], bytes]
    # does a record carry its own id (a repeated record is a duplicate, not a second event)?
    ids: Callable[[Any], bool] = lambda _: True
    # sshd pairs a process's lines (Invalid user, PAM, then Failed): a damaged line that still reads
    # may pair differently with the other lines of its process, so rows of that session_id are not
    # compared (the count still is). None: records are read alone.
    session: Callable[[Any], str] | None = None

    @property
    def units(self) -> list[bytes]:
        return [self.encode(r) for r in self.records]

    def file(self, keep: list[int] | None = None) -> bytes:
        """The clean file of the records ``keep`` (all by default), in their order."""
        units = self.units
        chosen = [units[i] for i in (range(len(units)) if keep is None else keep)]
        return self.prefix + self.sep.join(chosen) + self.suffix

    def huge(self, record: Any, size: int) -> bytes:
        """One record with a field of ``size`` bytes: a JSON key added, a CSV cell replaced, text
        appended to a log line."""
        big = "A" * size
        if self.kind == "xml":  # a Data value of the event: the record stays one element
            return self.encode(
                record.replace("</EventData>", f'<Data Name="nightowlHugeField">{big}</Data></EventData>')
            )
        if self.kind == "json" or (self.kind == "lines" and isinstance(record, dict)):
            return self.encode({**record, "nightowlHugeField": big} if isinstance(record, dict) else record)
        if self.kind == "csv":
            return self.encode([big, *record[1:]] if len(record) == 1 else [*record[:-1], big])
        return self.encode(f"{record} {big}")


def _text(relpath: str) -> str:
    return (FIX / relpath).read_text(encoding="utf-8-sig")


def lines(relpath: str) -> Fixture:
    """One record per line: NDJSON, syslog, journal JSON."""
    recs: list[Any] = [ln for ln in _text(relpath).splitlines() if ln.strip()]
    if all(r.lstrip().startswith("{") for r in recs):
        recs = [json.loads(r) for r in recs]
        if "__CURSOR" not in recs[0]:
            return Fixture(relpath, "lines", b"", tuple(recs), b"\n", b"\n", lambda r: json.dumps(r).encode())
        return Fixture(  # a journal entry's id is its __CURSOR; one without is like a syslog line
            relpath, "lines", b"", tuple(recs), b"\n", b"\n", lambda r: json.dumps(r).encode(),
            ids=lambda r: "__CURSOR" in r,
            session=lambda r: f"{r.get('_HOSTNAME', '-')}:sshd[{r.get('SYSLOG_PID') or r.get('_PID')}]",
        )  # fmt: skip
    # a syslog line has no id: the same line twice is two attempts (sshd logs one connection's
    # failures with the same pid and port, and a second apart)
    return Fixture(
        relpath, "lines", b"", tuple(recs), b"\n", b"\n", lambda r: r.encode(),
        ids=lambda _: False, session=_syslog_session,
    )  # fmt: skip


def xml_lines(relpath: str) -> Fixture:
    """One XML <Event> element per line (Splunk XmlWinEventLog, Get-WinEvent ToXml); each carries its
    EventRecordID, so a repeated one is a duplicate."""
    recs = tuple(ln for ln in _text(relpath).splitlines() if ln.strip())
    return Fixture(relpath, "xml", b"", recs, b"\n", b"\n", lambda r: r.encode())


def _syslog_session(line: str) -> str:
    m = re.match(r"\S+\s+\d+\s+[\d:]+\s+(\S+)\s+[^\[:]+\[(\d+)\]", line)
    return f"{m.group(1)}:sshd[{m.group(2)}]" if m else ""


def _csv_line(row: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue().encode()


def csv_file(relpath: str | None = None, fmt: CsvFormat | None = None, n: int = 5) -> Fixture:
    """A header row, then one unit per CSV row (quoted line breaks stay inside their row)."""
    if fmt is not None:
        header, rows = fmt.header, csv_rows(fmt, n)
        label = f"{fmt.name} (generated)"
    else:
        header, *rows = list(csv.reader(io.StringIO(_text(relpath or ""), newline="")))
        label = relpath or ""
    rows = [r for r in rows if r]
    return Fixture(label, "csv", _csv_line(header) + b"\n", tuple(rows), b"\n", b"\n", _csv_line)


def json_doc(relpath: str, pretty: bool) -> Fixture:
    """A JSON array, or an envelope with a records array (``value``, ``Records``, ``records``),
    pretty-printed (2 spaces) or on one line."""
    from nightowl.sources.records.json_recover import CONTAINER_KEYS

    doc = json.loads(_text(relpath))
    if isinstance(doc, list):
        recs, shell = doc, [_SLOT]
    else:
        key = next(k for k in CONTAINER_KEYS if isinstance(doc.get(k), list))
        recs, shell = doc[key], {**doc, key: [_SLOT]}
    text = json.dumps(shell, indent=2 if pretty else None)
    at = text.index(f'"{_SLOT}"')
    prefix, suffix = text[:at], text[at + len(_SLOT) + 2 :]
    indent = " " * (len(prefix) - len(prefix.rstrip(" "))) if pretty else ""

    def encode(rec: Any) -> bytes:
        out = json.dumps(rec, indent=2) if pretty else json.dumps(rec)
        return out.replace("\n", "\n" + indent).encode()

    sep = (",\n" + indent) if pretty else ", "
    label = f"{relpath} ({'pretty' if pretty else 'one line'})"
    return Fixture(label, "json", prefix.encode(), tuple(recs), sep.encode(), suffix.encode(), encode)


def json_both(relpath: str) -> list[Callable[[], Fixture]]:
    return [lambda: json_doc(relpath, True), lambda: json_doc(relpath, False)]


_TRAIL_CSV = CsvFormat("aws-cloudtrail-csv", None, _TRAIL_HEADER, _TRAIL_ROW, "AwsEventId")  # type: ignore[arg-type]

EVTX = "evtx"  # binary: see test_damage.py's narrower property
FIXTURES: dict[str, list[Callable[[], Fixture]] | str] = {
    "windows-evtx": EVTX,
    "entra-audit-json": [
        lambda: lines("cloud/graph_directory_audits_benign.jsonl"),
        *json_both("cloud/graph_directory_audits_chain.json"),
        *json_both("cloud/azure_monitor_auditlogs.json"),
    ],
    "entra-audit-csv": [lambda: csv_file("cloud/loganalytics_auditlogs.csv")],
    "github-audit-json": [
        lambda: lines("github/enterprise_stream.jsonl"),
        *json_both("github/org_audit_log_page.json"),
    ],
    "github-audit-csv": [lambda: csv_file("github/audit_log_export.csv")],
    "entra-diagnostic-json": json_both("entra/diagnostic_signins_records.json"),
    "office365-audit-json": [lambda: lines("cloud/management_api_mailitemsaccessed.jsonl")],
    "office365-audit-csv": [lambda: csv_file("cloud/purview_audit_export.csv")],
    "entra-accounts-json": [
        *json_both("cloud/user_registration_details.json"),
        *json_both("cloud/graph_users_signinactivity.json"),
    ],
    "entra-accounts-csv": [lambda: csv_file("cloud/user_registration_details.csv")],
    "entra-portal-csv": [
        lambda: csv_file("entra/InteractiveSignIns_2024-03-04_2024-03-05.csv"),
        lambda: csv_file("entra/NonInteractiveSignIns_2024-03-04_2024-03-05.csv"),
    ],
    "entra-la-json": [lambda: lines("entra/la_signinlogs.jsonl"), *json_both("entra/la_signinlogs_az.json")],
    "entra-la-csv": [lambda: csv_file("entra/la_signinlogs.csv")],
    "entra-graph-powershell": json_both("entra_powershell/signins_ps7.json"),
    "entra-graph-json": [lambda: lines("entra/graph_v1.jsonl"), *json_both("entra/graph_beta_array.json")],
    "okta-system-log": [lambda: lines("okta/system_log.jsonl"), *json_both("okta/system_log.json")],
    "okta-sentinel-json": json_both("okta/sentinel_okta_cl.json"),
    "okta-sentinel-csv": [lambda: csv_file("okta/sentinel_okta_cl.csv")],
    "okta-sentinel-v2-json": json_both("okta/sentinel_oktav2_cl.json"),
    "okta-sentinel-v2-csv": [lambda: csv_file("okta/sentinel_oktav2_cl.csv")],
    "windows-securityevent-csv": [
        lambda: csv_file("windows/securityevent_failures.csv"),
        lambda: csv_file("windows/securityevent_ipless_kerberos.csv"),
    ],
    "windows-security-json": [
        *json_both("windows/securityevent_failures.json"),
        lambda: lines("windows/winlogbeat_security.jsonl"),
    ],
    "windows-security-xml": [lambda: xml_lines("windows/security_xmlwineventlog.xml")],
    "aws-cloudtrail-json": [
        *json_both("cloudtrail/console_logins.json"),
        *json_both("cloudtrail/api_calls.json"),
    ],
    "aws-cloudtrail-csv": [lambda: csv_file(fmt=_TRAIL_CSV)],
    "sshd-journal-json": [lambda: lines("sshd/journal_sshd.json")],
    "sshd-syslog": [lambda: lines("sshd/pam_rhel_secure.log"), lambda: lines("sshd/rollover.log")],
}


@cache
def fixtures(reader: str) -> tuple[Fixture, ...]:
    entry = FIXTURES[reader]
    assert not isinstance(entry, str)
    return tuple(make() for make in entry)


@dataclass(frozen=True)
class Damaged:
    """A damaged file and what a correct reader reports for it."""

    what: str
    data: bytes
    true_count: int  # records in the file: normalized + ignored + quarantined must equal it
    undamaged: tuple[int, ...]  # records of the fixture left whole: every row they give is stored
    damaged: tuple[int, ...]  # records of the fixture damaged (each may still give its rows)
    inserted: int  # records inserted that may give a row (garbage, junk): at most one each
    # one record more may be counted: a one-line JSON array cut right after an array nested in its
    # first record (no record read yet to tell a record from a nested object; README limits)
    slack: int = 0


DAMAGES = ("cut", "garble", "garbage", "junk", "repeat", "huge", "blank")


def _garbage(draw: Any) -> bytes:
    raw = draw(st.binary(min_size=1, max_size=40).map(lambda b: bytes(x for x in b if x in NO_BREAKS)))
    return raw if raw.strip() else b"#garbage"


def _junk(draw: Any, fx: Fixture) -> bytes:
    """A well-formed record of the format that is no event: a JSON object of one unknown key, a CSV
    row of the right width, a log line."""
    text = draw(st.text(max_size=20)).replace("\n", " ").replace("\r", " ")
    if isinstance(fx.records[0], dict):
        return fx.encode({"nightowlJunk": text})
    if fx.kind == "csv":
        return fx.encode([text or "junk"] * len(fx.records[0]))
    return fx.encode(f"junk {text}")


@st.composite
def damaged(draw: Any, fx: Fixture) -> Damaged:
    units = fx.units
    n = len(units)
    what = draw(st.sampled_from(DAMAGES))
    order: list[int | bytes] = list(range(n))  # a fixture record, or the bytes of an inserted one
    true, hurt, inserted = n, [], 0
    sep = fx.sep
    cut: int | None = None
    k = draw(st.integers(0, n - 1))
    at = draw(st.integers(0, n))
    if what == "garble":  # 1-4 bytes flipped or inserted inside one record
        unit = bytearray(units[k])
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(unit) - 1))
            byte = draw(st.sampled_from(NO_BREAKS))
            if draw(st.booleans()):
                unit[i] = byte
            else:
                unit.insert(i, byte)
        order[k], hurt = bytes(unit), [k]
    elif what in ("garbage", "junk"):
        extra = _garbage(draw) if what == "garbage" else _junk(draw, fx)
        order.insert(at, extra)
        true, inserted = n + 1, 1
        in_array = fx.kind == "json" and fx.prefix.rstrip().endswith(b"[")
        if in_array and not extra.strip(b" \t\r\n,"):  # stray separators in an array: no record
            true, inserted = n, 0
    elif what == "repeat":  # after the original, as in overlapping exports joined (0-99, then 50-149)
        order.insert(max(at, k + 1), units[k])
        true, inserted = n + 1, 0 if fx.ids(fx.records[k]) else 1
    elif what == "huge":
        order[k], hurt = fx.huge(fx.records[k], draw(st.sampled_from([40_000, (1 << 20) + 100]))), [k]
    elif what == "blank":
        sep = sep + b"\n" * draw(st.integers(1, 3))
    body = [units[i] if isinstance(i, int) else i for i in order]
    data = fx.prefix + sep.join(body) + fx.suffix
    if what == "cut":  # somewhere after the first record's first byte, before the end
        first = len(fx.prefix)
        cut = draw(st.integers(first + 1, len(data) - 1))
        data = data[:cut]
        true, hurt, start = 0, [], first
        for i, unit in enumerate(units):
            end = start + len(unit)
            if cut >= end:
                true += 1
            elif cut > start:
                true, hurt = true + 1, [i]
            start = end + len(sep)
        order = list(range(true - len(hurt)))
    extras = []
    if _crlf_safe(fx) and draw(st.booleans()):
        extras.append("crlf")
        data = data.replace(b"\n", b"\r\n")
    if draw(st.booleans()):
        extras.append("bom")
        data = BOM + data
    keep = tuple(i for i in order if isinstance(i, int) and i not in hurt)
    slack = int(cut is not None and fx.kind == "json" and b"\n" not in fx.sep and hurt == [0])
    slack = slack and int(data.rstrip().endswith(b"]"))
    return Damaged("+".join([what, *extras]), data, true, keep, tuple(hurt), inserted, slack)


def _crlf_safe(fx: Fixture) -> bool:
    """True when every LF of the file is a line ending (JSON strings and log lines hold no raw line
    break; a CSV cell may, inside quotes, and CRLF there would change the value)."""
    return fx.kind != "csv" or not any("\n" in cell for row in fx.records for cell in row)
