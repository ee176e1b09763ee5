"""sshd from the systemd journal exported as JSON: ``journalctl -o json`` (one object a line),
``-o json-seq`` (RFC 7464: each object after an ASCII RS), ``-o json-sse`` (``data: `` lines)
and ``-o json-pretty`` (an object over several lines, ``{`` and ``}`` alone on theirs).

Each entry is one message of a program, handed to the syslog reader's message parser
(:meth:`nightowl.sources.sshd.SshdSyslog.message`), so a journal entry and the syslog line
of the same message give the same row: one source of truth for what an sshd message means.

Fields, as journalctl(1) and systemd.journal-fields(7) document them:

* ``MESSAGE``: the text. journalctl writes a field that is not printable UTF-8 as an array of
  byte values (decoded here as UTF-8, else Latin-1, like a syslog line), a field that has several
  values as an array of them (the first is read), and a field over 4096 bytes as ``null``
  unless ``--all`` was given (quarantined with that fix).
* ``__REALTIME_TIMESTAMP``: microseconds since the epoch, UTC, as a decimal string (the time
  journald received the entry; ``_SOURCE_REALTIME_TIMESTAMP``, the sender's own clock, is
  used when it is missing). No year or zone to guess, unlike syslog.
* ``_HOSTNAME``: the host; ``SYSLOG_IDENTIFIER`` (else ``_COMM``): the program, so
  ``sshd-session`` counts as sshd; ``SYSLOG_PID`` (else ``_PID``): the process whose
  ``Invalid user`` / PAM lines wait for its ``Failed`` line.
* ``__CURSOR``: the entry's unique position in the journal, its ``event_uid``, so an entry
  repeated in overlapping exports (or twice in one file) is stored once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import chain

import orjson
import pyarrow as pa

from nightowl.sources.base import InputFile, ReadOptions, Tally, bounded_lines, decode
from nightowl.sources.sshd import SshdSyslog, _State, _zone, is_sshd

SOURCE_FORMAT = "sshd-journal-json"
EPOCH = datetime(1970, 1, 1)
MAX_MICROS = 253402300799999999  # 9999-12-31T23:59:59.999999: later is no time
RS = b"\x1e"  # json-seq record separator
SSE = b"data: "  # json-sse event line
REPEATED = "journal entry repeated in the file (same __CURSOR)"
MAX_CURSORS = 5_000_000  # cursors remembered per file to drop repeats (about 0.5 GB at most)
TOO_LARGE = "MESSAGE is null: journalctl leaves out fields over 4096 bytes (export with --all)"


def _field_text(value: object) -> str | None:
    """A journal field as text: a string, an array of byte values, or the first of several values."""
    if isinstance(value, list) and value and not all(isinstance(b, int) for b in value):
        value = value[0]  # a field with several values
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in value):
        return decode(bytes(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _time(entry: dict) -> datetime | None:
    for key in ("__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP"):
        text = _field_text(entry.get(key))
        if text is not None and text.isascii() and text.isdigit() and int(text) <= MAX_MICROS:
            return EPOCH + timedelta(microseconds=int(text))
    return None


def journal_entries(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[int, bytes]]:
    """(first line, JSON text) of each entry in any of journalctl's JSON outputs.

    A json-pretty object runs from a ``{`` line to a ``}`` line, its field lines indented; one
    that another unindented line, a damaged line or the end of the file cuts off is quarantined
    once (the line that cut it is read on its own). Damaged lines are quarantined; blank lines
    (json-sse's separators) are no records."""
    pretty: list[bytes] | None = None  # the lines of the json-pretty object being read
    start = size = 0
    for lineno, raw, problem in bounded_lines(inp, opts.max_line_bytes):
        text = raw.lstrip(RS).removeprefix(SSE)
        if pretty is not None and not problem:
            if text[:1] in (b" ", b"\t"):
                size += len(text)
                if size <= opts.max_line_bytes:
                    pretty.append(text)
                elif pretty:  # too long: the rest of its lines are skipped, the object quarantined once
                    tally.reject(
                        f"line {start}", f"JSON object longer than {opts.max_line_bytes} bytes", pretty[0]
                    )
                    pretty.clear()
                continue
            if text.rstrip() == b"}":
                if pretty:
                    yield start, b"\n".join([*pretty, b"}"])
                pretty = None
                continue
        if pretty:  # cut off by this line
            tally.reject(f"line {start}", "JSON object cut off (no closing brace)", pretty[0])
        pretty = None
        if problem:
            tally.reject(f"line {lineno}", problem, raw)
            continue
        stripped = text.strip()
        if not stripped:
            continue
        if stripped == b"{":
            pretty, start, size = [stripped], lineno, 1
        else:
            yield lineno, stripped
    if pretty:
        tally.reject(f"line {start}", "JSON object cut off (no closing brace)", pretty[0])


class SshdJournalJson:
    name = SOURCE_FORMAT
    title = "OpenSSH server log from the systemd journal (journalctl -o json / json-seq / json-pretty)"
    export_hint = "journalctl _COMM=sshd _COMM=sshd-session -o json > sshd.json (add --all for long messages)"

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:16384].lstrip(b"\xef\xbb\xbf \t\r\n" + RS).removeprefix(SSE)
        return text[:1] == b"{" and b'"__REALTIME_TIMESTAMP"' in text and b'"MESSAGE"' in text

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        parser = SshdSyslog()
        st = _State(None, _zone(opts.timezone), SOURCE_FORMAT)
        rows: list[dict] = []
        seen: set[int] = set()  # hashes of the cursors read: a repeated entry is dropped before it
        for lineno, text in journal_entries(inp, tally, opts):  # pairs with the lines around it
            self._entry(parser, lineno, text, inp.name, st, tally, rows, seen)
            if len(rows) >= 50_000:
                yield parser.batch(rows, st, tally)
                rows = []
        yield from parser.finish(rows, st, tally)

    def _entry(
        self, parser: SshdSyslog, lineno: int, text: bytes, shown: str, st: _State, tally: Tally,
        rows: list[dict], seen: set[int],
    ) -> None:  # fmt: skip
        try:
            entry = orjson.loads(text)
        except orjson.JSONDecodeError:
            tally.reject(f"line {lineno}", "not a JSON object", text)
            return
        if not isinstance(entry, dict):
            tally.reject(f"line {lineno}", "not a JSON object", text)
            return
        cursor = _field_text(entry.get("__CURSOR"))
        if cursor:
            if hash(cursor) in seen:
                tally.ignore(REPEATED)
                return
            if len(seen) < MAX_CURSORS:
                seen.add(hash(cursor))
        prog = _field_text(entry.get("SYSLOG_IDENTIFIER")) or _field_text(entry.get("_COMM")) or ""
        if not is_sshd(prog):
            st.ignored["line from another program, not sshd"] += 1
            return
        if "MESSAGE" in entry and entry["MESSAGE"] is None:
            tally.reject(f"line {lineno}", TOO_LARGE, text)
            return
        msg = _field_text(entry.get("MESSAGE"))
        if msg is None:
            tally.reject(f"line {lineno}", "journal entry without a readable MESSAGE", text)
            return
        when = _time(entry)
        if when is None:
            tally.reject(f"line {lineno}", "impossible or unreadable timestamp", text)
            return
        host = _field_text(entry.get("_HOSTNAME")) or ""
        pid = _field_text(entry.get("SYSLOG_PID")) or _field_text(entry.get("_PID"))
        before = len(rows)
        parser.message(lineno, decode(text), when, host, prog, pid, msg, shown, st, tally, rows)
        if cursor:  # the entry's own id: the same entry twice (overlapping exports) is one event
            ref, n = f"{shown}#line {lineno}", 0  # its rows: made now, or held for a later line
            for row in chain(rows[before:], st.pending.values(), st.pam_pending.values()):
                if row.get("record_ref") == ref and "event_uid" not in row:
                    row["event_uid"] = f"{cursor}#{n}" if n else cursor
                    n += 1


SOURCES = [SshdJournalJson()]
