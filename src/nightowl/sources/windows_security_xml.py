"""Windows Security events as XML: ``wevtutil qe Security /f:xml`` (events back to back, or inside
an ``<Events>`` root with ``/e:Events``), PowerShell's ``Get-WinEvent | ForEach-Object ToXml``
(UTF-16 from Windows PowerShell's ``>``) and Splunk's ``XmlWinEventLog`` (one event a line).

The file is read as a stream of ``<Event>...</Event>`` elements, each parsed alone by expat with
every DTD, entity declaration and external reference refused (the text is the attacker's), kept as the
EVTX parser's JSON (``Event.System``, ``Event.EventData``) and mapped like an EVTX record
(:func:`windows_security_json.event_row`). Text between events that is not XML's own furniture
(a declaration, a comment, the ``<Events>`` root) is quarantined as one record; so is an event that
does not parse, one cut short by the next ``<Event``, and one longer than ``max_line_bytes``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from xml.parsers import expat

import pyarrow as pa

from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.entra_powershell import bom_encoding, decode_head
from nightowl.sources.windows_security_json import event_batches

NAME = "windows-security-xml"
CHUNK_CHARS = 1 << 20
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
_START = re.compile(r"<Event[\s>/]")  # not <Events>, <EventID>, <EventData>
_END = "</Event>"
# what may stand between events without being a record: XML's furniture and the /e:Events root
# (XML's whitespace is space, tab, CR and LF only: Python's \s would also take \x1c-\x1f for blank)
_FURNITURE = re.compile(r"[ \t\r\n]+|<\?xml[^>]*\?>|<!--.*?-->|</?Events(?:[ \t\r\n][^>]*)?>", re.S)


class WindowsSecurityXml:
    name = NAME
    title = "Windows Security events as XML (wevtutil qe /f:xml, Get-WinEvent ToXml, Splunk XmlWinEventLog)"
    export_hint = (
        'wevtutil qe Security /q:"*[System[(EventID=4624 or EventID=4625 or EventID=4648 or EventID=4768 '
        'or EventID=4771 or EventID=4776)]]" /f:xml /e:Events > security.xml (on each DC and server)'
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = decode_head(head).lstrip("\ufeff \t\r\n")
        if text.startswith(("{", "[")):  # JSON, whose strings may hold an event's XML
            return False
        return bool(_START.search(text)) and EVENT_NS in text and "<EventID" in text

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return event_batches(_events(inp, tally, opts), tally, opts, NAME)


class _Lines:
    """Line numbers of positions in a buffer, counted forward from the last one asked for."""

    def __init__(self) -> None:
        self.line, self.at = 1, 0

    def of(self, buf: str, i: int) -> int:
        self.line += buf.count("\n", self.at, i)
        self.at = i
        return self.line

    def trim(self, buf: str, cut: int) -> None:
        """The buffer loses its first ``cut`` characters."""
        self.of(buf, cut)
        self.at = 0


def _events(inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[tuple[str, str, dict]]:
    """(position, record_ref, the event as the EVTX parser's JSON) for each readable <Event>."""
    limit = max(int(opts.max_line_bytes), 1 << 16)
    lines = _Lines()
    with inp.open() as raw:
        codec, bom = bom_encoding(raw.peek(128)[:128])
        raw.read(bom)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        buf, eof = "", False
        junk_open = False  # the text before the next event was already reported (one record)
        after = False  # buf[pos] follows an event directly (what is on its line is glued to it)
        skipping = False  # inside an event longer than the limit: drop until its </Event>
        last_line, on_line = 0, 0
        while True:
            chunk = "" if eof else text.read(CHUNK_CHARS)
            eof = eof or not chunk
            buf += chunk
            pos = 0
            while True:
                if skipping:
                    end = buf.find(_END, pos)
                    if end < 0:
                        pos = max(pos, len(buf) - len(_END))
                        break
                    pos, skipping, after = end + len(_END), False, True
                m = _START.search(buf, pos)
                if m is None:
                    if eof:
                        junk_open = _between(buf, pos, len(buf), lines, tally, junk_open, after, False)
                        pos = len(buf)
                    elif len(buf) - pos > limit:  # a long run of text that is no event: report it once
                        cut = len(buf) - 16  # keep a tail that may hold the start of the next event
                        junk_open = _between(buf, pos, cut, lines, tally, junk_open, after, False)
                        pos, after = cut, False
                    break
                s = m.start()
                junk_open = _between(buf, pos, s, lines, tally, junk_open, after, True)
                where = lines.of(buf, s)
                end = buf.find(_END, s)
                nxt = _START.search(buf, m.end())
                if nxt is not None and (end < 0 or nxt.start() < end):
                    tally.reject(
                        f"line {where}", "event cut short (no </Event> before the next)", buf[s : s + 400]
                    )
                    pos, junk_open, after = nxt.start(), False, True
                    continue
                if end < 0:
                    if eof:
                        tally.reject(f"line {where}", "event cut short (no </Event>)", buf[s : s + 400])
                        pos = len(buf)
                    elif len(buf) - s > limit:
                        tally.reject(
                            f"line {where}", f"event longer than {limit} characters", buf[s : s + 400]
                        )
                        pos, skipping = len(buf), True
                    else:
                        pos = s  # wait for the rest of the event
                    break
                if end - s > limit:
                    tally.reject(f"line {where}", f"event longer than {limit} characters", buf[s : s + 400])
                    pos, junk_open, after = end + len(_END), False, True
                    continue
                on_line = on_line + 1 if where == last_line else 1
                last_line = where
                ref = f"{inp.name}:{where}" + (f"/{on_line}" if on_line > 1 else "")
                event = _parsed(buf[s : end + len(_END)], f"line {where}", tally)
                if event is not None:
                    yield f"line {where}", ref, event
                pos, junk_open, after = end + len(_END), False, True
            lines.trim(buf, pos)
            buf = buf[pos:]
            if eof:  # all read; what is left is the tail of an event already reported too long
                break


def _between(
    buf: str, start: int, end: int, lines: _Lines, tally: Tally, junk_open: bool, after: bool, before: bool
) -> bool:
    """Text between events: XML's furniture is nothing, and what shares a line with an event (right
    after its end, or right before its start) is damage glued to that event's record; anything else
    is one quarantined record (unless it continues text already reported). Returns whether junk is
    now open."""
    lo, hi = start, end
    if after:  # the rest of the previous event's line
        nl = buf.find("\n", start, end)
        lo = nl + 1 if nl >= 0 else end
    if before and lo < hi:  # the start of the next event's line
        nl = buf.rfind("\n", lo, end)
        hi = nl + 1 if nl >= 0 else lo
    rest = _FURNITURE.sub("", buf[lo:hi]) if lo < hi else ""
    if not rest:
        return junk_open
    if not junk_open:
        lead = len(buf[lo:hi]) - len(buf[lo:hi].lstrip())
        shown = buf[lo + lead : min(hi, lo + lead + 400)].rstrip()
        tally.reject(f"line {lines.of(buf, lo + lead)}", "text that is not a Windows event", shown)
    return True


class _Refused(Exception):
    """A DTD or entity declaration inside an event: never expanded, the event is quarantined."""


def _refuse(*_: object) -> None:
    raise _Refused


class _Event:
    """Expat callbacks that keep only what the mapping reads: System's EventID, EventRecordID,
    Computer, Channel and TimeCreated, and EventData's named Data values (no tree is built)."""

    SYSTEM = frozenset({"EventID", "EventRecordID", "Computer", "Channel"})

    def __init__(self) -> None:
        self.path: list[str] = []
        self.system: dict = {}
        self.data: dict[str, str] = {}
        self._text: list[str] | None = None
        self._key: tuple[dict, str] | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rsplit(":", 1)[-1] if ":" in tag else tag
        path = self.path
        path.append(name)
        if len(path) != 3:
            return
        parent = path[1]
        if parent == "System":
            if name == "TimeCreated":
                self.system["TimeCreated"] = {"#attributes": attrs}
            elif name in self.SYSTEM:
                self._text, self._key = [], (self.system, name)
        elif parent == "EventData" and name == "Data" and attrs.get("Name"):
            self._text, self._key = [], (self.data, attrs["Name"])

    def end(self, tag: str) -> None:
        if self._key is not None and len(self.path) == 3:
            target, key = self._key
            text = "".join(self._text or ())
            target[key] = text.strip() if target is self.system else text
            self._text = self._key = None
        self.path.pop()

    def chars(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)


def _parsed(span: str, pos: str, tally: Tally) -> dict | None:
    """The event as the EVTX parser's JSON, or None (quarantined) when it does not parse. A span
    starts at its <Event, so no DTD can come before it; one inside is refused all the same, as is
    any entity declaration or external reference (expat, the standard library's parser)."""
    event = _Event()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True  # one call per text node
    parser.StartElementHandler = event.start
    parser.EndElementHandler = event.end
    parser.CharacterDataHandler = event.chars
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(span, True)
    except (expat.ExpatError, _Refused, ValueError) as exc:
        tally.reject(pos, f"unreadable event XML ({type(exc).__name__})", span[:400])
        return None
    return {"Event": {"System": event.system, "EventData": event.data}}


SOURCES = [WindowsSecurityXml()]
