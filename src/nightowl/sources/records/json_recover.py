"""Split a JSON document into records and recover from damage record by record.

Real downloads are cut or damaged in the middle, and the records after the damage are good. A
document is split into its top-level values; a top-level array, and the records array of a
container object (a Graph page's ``value``, CloudTrail's ``Records``, Azure Monitor's ``records``,
lookup-events' ``Events``), are split element by element. An element that does not parse is
quarantined alone (with its character offset), and reading resumes at the next record boundary:

* pretty-printed arrays: the next ``{`` that starts a line at the indentation of the first element;
* one-line arrays: the next ``{`` after a ``,`` whose object parses, is followed by ``,`` or ``]`` and
  shares at least half its keys with the records read so far (nested objects do not);
* a file cut inside a record: only that last record is quarantined.

Every position returned is a character offset into the text; :class:`Lines` turns offsets into line
numbers and byte offsets cheaply when positions grow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

CONTAINER_KEYS = ("value", "Records", "records", "Events")
DAMAGED = "invalid JSON record (damaged); the records around it are read"
TRUNCATED = "invalid JSON record: the file ends inside it (cut download?)"
MAX_CANDIDATES = 100_000  # resync attempts per damaged record (bounds hostile input)
_WS = " \t\r\n"
_CONTAINER_AT = re.compile(r'"(' + "|".join(CONTAINER_KEYS) + r')"\s*:\s*\[')
_DEC = json.JSONDecoder()


@dataclass(frozen=True)
class Piece:
    """One value cut out of a document: a top-level value, or an element of a records array."""

    offset: int  # character offset where it starts
    text: str  # its text (for a damaged one: up to the next record boundary)
    value: Any  # the parsed value; None when damaged
    problem: str | None  # why it cannot be read (None when it parsed)
    element: bool  # True: an element of an array or container (a record, not to be expanded again)
    index: int | None = None  # an element's 1-based place in its array


class Lines:
    """Line numbers and UTF-8 byte offsets of increasing character offsets, counted incrementally."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pos = 0
        self._line = 1
        self._byte = 0

    def at(self, pos: int) -> tuple[int, int]:
        """(line number, byte offset) of character offset ``pos``; ``pos`` must not go backwards
        (if it does, counting restarts from the top)."""
        if pos < self._pos:
            self._pos, self._line, self._byte = 0, 1, 0
        chunk = self.text[self._pos : pos]
        self._line += chunk.count("\n")
        self._byte += len(chunk.encode("utf-8", errors="replace"))
        self._pos = pos
        return self._line, self._byte


@dataclass(frozen=True)
class Located:
    """A piece with a position a person can find: ``where`` is "line 12" or "line 12 record 3"
    (``ref`` the same as ``12:3``); ``reason`` is the quarantine reason with the byte offset."""

    where: str
    ref: str
    piece: Piece
    reason: str | None


def located(text: str, at_line: int | None = None, *, open_containers: bool = False) -> Iterator[Located]:
    """:func:`split_values` with positions: lines counted in ``text``, or all ``at_line`` when
    ``text`` is one line of a file (byte offsets are then within the line)."""
    lines = Lines(text)
    found = False
    for piece in split_values(text, open_containers=open_containers):
        found = True
        line, byte = lines.at(piece.offset)
        ln = at_line if at_line is not None else line
        where = f"line {ln}" + (f" record {piece.index}" if piece.index else "")
        ref = f"{ln}" + (f":{piece.index}" if piece.index else "")
        reason = None
        if piece.problem is not None:
            reason = f"{piece.problem} (at byte {byte}{' of the line' if at_line is not None else ''})"
        yield Located(where, ref, piece, reason)
    if not found and text.strip(_WS) and _decode(text, _skip(text, 0)) is None:  # "[" alone, say
        ln = at_line if at_line is not None else 1
        yield Located(
            f"line {ln}", f"{ln}", Piece(0, text[:4096], None, "invalid JSON", False), "invalid JSON"
        )


def looks_like_container(head: str) -> bool:
    """True when text that does not parse starts like an array or a records container (worth
    splitting record by record rather than quarantining whole)."""
    head = head[:65536].lstrip(_WS + "\ufeff")
    return head[:1] == "[" or (head[:1] == "{" and _CONTAINER_AT.search(head) is not None)


def _skip(text: str, pos: int, chars: str = _WS) -> int:
    n = len(text)
    while pos < n and text[pos] in chars:
        pos += 1
    return pos


def _prev_char(text: str, pos: int) -> str:
    pos -= 1
    while pos >= 0 and text[pos] in _WS:
        pos -= 1
    return text[pos] if pos >= 0 else ""


def _decode(text: str, pos: int) -> tuple[Any, int] | None:
    try:
        return _DEC.raw_decode(text, pos)
    except (ValueError, RecursionError):
        return None


def split_values(text: str, *, open_containers: bool = False) -> Iterator[Piece]:
    """Every top-level value of ``text``, arrays and damaged containers split into their records;
    ``open_containers`` splits every container into its records without parsing it whole first
    (for a page of hundreds of megabytes)."""
    n = len(text)
    pos = _skip(text, 0)
    while pos < n:
        if text[pos] == "[":
            pos = yield from _elements(text, pos)
            continue
        if open_containers and text[pos] == "{":
            inner = _container_array(text, pos)
            if inner is not None:
                after = yield from _elements(text, inner)
                pos = _skip(text, _object_end(text, after))
                continue
        got = _decode(text, pos)
        if got is not None:
            value, end = got
            yield Piece(pos, text[pos:end], value, None, False)
            pos = _skip(text, end)
            continue
        if text[pos] == "{":
            inner = _container_array(text, pos)
            if inner is not None:
                after = yield from _elements(text, inner)
                pos = _skip(text, _object_end(text, after))
                continue
        end = _next_top_level(text, pos + 1)
        yield Piece(pos, text[pos:end], None, TRUNCATED if end >= n else DAMAGED, False)
        pos = _skip(text, end)


def _elements(text: str, start: int) -> Iterator[Piece]:
    """The elements of the array opening at ``start``; returns the position after its ``]``."""
    n = len(text)
    pos = _skip(text, start + 1)
    if pos < n and text[pos] == "]":
        after = _skip(text, pos + 1)
        if after >= n or text[after] in ',}]["-' or text[after].isalnum():
            return after  # an empty array, and what follows it could be JSON
        pos = after  # a stray ']' before the first record ("[]{...}", "[]\x00{...}"): records follow it
    first_line_start = text.rfind("\n", start, pos)
    indent = text[first_line_start + 1 : pos] if first_line_start != -1 else None
    if indent is not None and pos < n and text[pos] != "{":
        # damage at the first record's start: its line's indentation may be damage too
        indent = _least_object_indent(text, pos)
    boundary = re.compile(r"\n" + re.escape(indent) + r"\{") if indent is not None else None
    ref_keys: set[str] | None = None
    k = 0
    while pos < n:
        if text[pos] == ",":  # stray separators ("[,{", "}, ,, {", "}, ,]") hold no record
            pos = _skip(text, pos, _WS + ",")
            if pos >= n:
                return n
            if text[pos] == "]":
                return _skip(text, pos + 1)
        k += 1
        got = _decode(text, pos)
        search = pos + 1
        if got is not None:
            value, end = got
            nxt = _skip(text, end)
            if nxt < n and text[nxt] == "{" and not isinstance(value, dict):
                # no object and no comma before a record ('[0{...'): damage glued to its front
                k -= 1
                pos = nxt
                continue
            if nxt >= n or text[nxt] in "],{":
                yield Piece(pos, text[pos:end], value, None, True, k)
                if ref_keys is None and isinstance(value, dict):
                    ref_keys = set(value)
                if nxt >= n:
                    return n
                if text[nxt] == "]":
                    return _skip(text, nxt + 1)
                pos = _skip(text, nxt + 1) if text[nxt] == "," else nxt  # "{": a missing comma
                continue
            # garbage after a value: the element (value and garbage) is damaged. Anything but an
            # object where a record belongs is damage in front of records that may sit inside it
            # (a stray '[' swallowed the records after it; a stray '"' made '", {"' a string): resume
            # inside it
            search = nxt + 1 if isinstance(value, dict) else pos + 1
        bad_from = pos
        resume = _resync(text, search, boundary, ref_keys, start)
        if resume is None:
            if text[bad_from:].strip():
                yield Piece(bad_from, text[bad_from:], None, TRUNCATED, True, k)
            return n
        cut = resume - 1
        while cut > bad_from and text[cut] in _WS + ",":
            cut -= 1
        yield Piece(bad_from, text[bad_from : cut + 1], None, DAMAGED, True, k)
        pos = resume
    return n


_OBJECT_LINE = re.compile(r"\n([ \t]*)\{")


def _least_object_indent(text: str, pos: int) -> str | None:
    """The indentation of a pretty-printed array's records after ``pos``: the least of the lines
    that open an object after a ``,``, ``[`` or ``}`` (nested objects sit deeper); None if none."""
    best: str | None = None
    for m in _OBJECT_LINE.finditer(text, pos):
        if (best is None or len(m.group(1)) < len(best)) and _prev_char(text, m.start() + 1) in (
            ",",
            "[",
            "}",
        ):
            best = m.group(1)
            if not best:
                break
    return best


def _resync(
    text: str, pos: int, boundary: re.Pattern | None, ref_keys: set[str] | None, array: int
) -> int | None:
    """The start of the next record after damage at ``pos``, or None (the array runs to the end).
    Before any record was read (no keys to compare), a candidate must sit directly in the array
    opening at ``array``, not in an object nested in the damaged record; when none does (damage
    that unbalanced the quotes misleads the depth count), the first plausible one whose elements
    run on to the end of the array."""
    if boundary is not None:  # pretty-printed: a record starts a line at the first one's indentation
        for tries, m in enumerate(boundary.finditer(text, pos)):
            brace = m.end() - 1
            if tries >= MAX_CANDIDATES:
                return None
            if _prev_char(text, m.start() + 1) in (",", "[", "}", "") and not _parses_unlike(
                text, brace, ref_keys
            ):
                return brace
        return None
    if ref_keys is None:
        found = _resync_in_array(text, pos, array)
        # damage that unbalanced the quotes can hide the next record from the depth count (a quote
        # inside a later record's string then closes the damaged one): an earlier record whose
        # elements run on to the end of the array is the one to resume at
        limit = len(text) if found is None else found
        earlier = _resync_compact(text, pos, None, _runs_to_the_end, limit)
        if earlier is not None:
            return earlier
        if found is not None and not _runs_to_the_end(text, found):
            # the same misled count can take an object nested in the damaged record for a record
            # (its array closes and the damaged record goes on): the next one that runs on is
            later = _resync_compact(text, found + 1, None, _runs_to_the_end)
            if later is not None:
                return later
        return found
    return _resync_compact(text, pos, ref_keys)


def _runs_to_the_end(text: str, brace: int) -> bool:
    """True when the values from ``brace`` on run as array elements to a ``]`` followed only by
    closing brackets, or to damage further on; False when they reach the end of the text (a file
    cut inside a record) or close an array that the record around it goes on after (nested)."""
    n, pos = len(text), brace
    candidate: Any = None  # the candidate's value, until the element after it is compared with it
    while True:
        got = _decode(text, pos)
        if got is None:  # damage further on, unless the text is cut (it does not end like JSON)
            return text.rstrip(_WS)[-1:] in ("]", "}")
        if pos == brace:
            candidate = got[0]
        elif candidate is not None:
            # the element after a record is a record too: an object the damage cut out of the
            # damaged record ("true,{ "recipientAccountId": ...}, {next record") shares few of its keys
            if (
                isinstance(candidate, dict)
                and isinstance(got[0], dict)
                and got[0]
                and not _like(candidate, set(got[0]))
            ):
                return False
            candidate = None
        nxt = _skip(text, got[1])
        if nxt >= n:
            return False
        if text[nxt] == ":":  # a member name: the value was an object nested in a record that goes on
            return False
        if text[nxt] == "]":
            return not text[nxt + 1 :].strip(_WS + "]}")
        if text[nxt] != ",":
            return True
        pos = _skip(text, nxt + 1)


def _resync_in_array(text: str, pos: int, array: int) -> int | None:
    """One-line arrays, no record read yet: the next ``{`` at ``pos`` or after, directly inside
    the array opening at ``array`` (one pass over the brackets), that starts a record."""
    depth, tries = 0, 0
    for i, ch in _brackets(text, array, len(text)):
        if ch == "{" and depth == 1 and i >= pos:
            tries += 1
            if _starts_record(text, i, None):
                return i
            if tries >= MAX_CANDIDATES:
                return None
        depth += 1 if ch in "{[" else -1
        if depth <= 0:
            return None
    return None


def _starts_record(text: str, brace: int, ref_keys: set[str] | None) -> bool:
    """True when the ``{`` at ``brace`` follows a ``,`` or ``[``, its object parses, is followed by
    ``,`` or ``]`` (or the end) and looks like the records read so far."""
    if _prev_char(text, brace) not in (",", "["):
        return False
    got = _decode(text, brace)
    if got is None or not isinstance(got[0], dict):
        return False
    after = _skip(text, got[1])
    return (after >= len(text) or text[after] in ",]") and _like(got[0], ref_keys)


def _resync_compact(
    text: str,
    pos: int,
    ref_keys: set[str] | None,
    also: Callable[[str, int], bool] | None = None,
    limit: int | None = None,
) -> int | None:
    """One-line arrays: the next ``{`` before ``limit`` that starts a record (see
    :func:`_starts_record`) and passes ``also``."""
    tries = 0
    brace = text.find("{", pos, limit)
    while brace != -1 and tries < MAX_CANDIDATES:
        tries += 1
        if _starts_record(text, brace, ref_keys) and (also is None or also(text, brace)):
            return brace
        brace = text.find("{", brace + 1, limit)
    return None


def _parses_unlike(text: str, brace: int, ref_keys: set[str] | None) -> bool:
    """True when the ``{`` at ``brace`` opens an object that parses but is no record like the ones
    read so far (a brace the damage inserted, as in ``{}``); a candidate that does not parse may be
    the next record, damaged too."""
    got = _decode(text, brace)
    return got is not None and not (isinstance(got[0], dict) and _like(got[0], ref_keys))


def _like(value: dict, ref_keys: set[str] | None) -> bool:
    if not ref_keys:
        return bool(value)
    return len(ref_keys & set(value)) * 2 >= len(ref_keys)


def _container_array(text: str, start: int) -> int | None:
    """Position of the ``[`` of a records array directly inside the object opening at ``start``."""
    for m in _CONTAINER_AT.finditer(text, start, min(len(text), start + (1 << 20))):
        if _depth(text, start, m.start()) == 1:
            return m.end() - 1
    return None


def _brackets(text: str, start: int, stop: int) -> Iterator[tuple[int, str]]:
    """(position, bracket) of every bracket outside strings in ``text[start:stop]``."""
    in_str = esc = False
    for i in range(start, stop):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[]}":
            yield i, ch


def _depth(text: str, start: int, stop: int) -> int:
    """Bracket depth at ``stop`` scanning from ``start`` (strings skipped)."""
    return sum(1 if ch in "{[" else -1 for _, ch in _brackets(text, start, stop))


def _object_end(text: str, pos: int) -> int:
    """After a container's records array: the position after the object's closing ``}`` (the
    rest of the object, such as ``@odata.nextLink``, holds no records)."""
    depth = 1
    for i, ch in _brackets(text, pos, len(text)):
        depth += 1 if ch in "{[" else -1
        if depth == 0:
            return i + 1
    return len(text)


def _next_top_level(text: str, pos: int) -> int:
    """Where the next top-level value may start after a damaged one: a line beginning with
    ``{`` or ``[``; the end of the text when there is none."""
    m = re.compile(r"\n[\[{]").search(text, pos)
    return m.start() + 1 if m else len(text)
