"""What an EVTX file's headers say it holds, so a damaged or cut file's lost records are counted.

The ``evtx`` parser reads what it can and is silent about the rest: a chunk cut short by a
truncated copy is skipped, records after a damaged one in a chunk are not reported, and a chunk of
zeros (preallocated, never written) with one flipped byte is reported as an unreadable chunk. Each
chunk header names its first and last record ids, and the file header the next id to be written;
:class:`Accounting` marks every id the parser read or reported, and :meth:`Accounting.lost` names
the ones the headers declare and nobody saw: quarantined once each, never a record that was not
there (a header whose checksum fails is trusted only when its id range is plausible).
"""

from __future__ import annotations

import bisect
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

FILE_HEADER_BYTES = 4096
CHUNK_BYTES = 65536
CHUNK_HEADER_BYTES = 512
CHUNK_MAGIC = b"ElfChnk\x00"
FILE_MAGIC = b"ElfFile\x00"
MAX_CHUNK_RECORDS = 10_000  # a chunk holds a few hundred; more means a garbage header
MAX_CUT_RECORDS = 10_000_000  # more ids lost past the last chunk than this: the file header is garbage
CUT = "record lost: the file is cut"
DAMAGED = "record lost in a damaged EVTX chunk"


@dataclass
class Chunk:
    number: int
    first: int
    last: int
    seen: bytearray = field(init=False)

    def __post_init__(self) -> None:
        self.seen = bytearray(self.last - self.first + 1)


@dataclass
class Layout:
    chunks: list[Chunk]  # chunks whose header names a plausible id range, by first id
    unknown: set[int]  # chunks neither plausible nor blank: their record count is unknown
    blank: set[int]  # chunks of zeros (never written): no records, whatever the parser says
    next_id: int | None  # the file header's next record id, when its checksum holds
    partial: int | None  # the number of the last chunk when the file is cut inside it


def read_layout(path: Path | str) -> Layout:
    """The headers of ``path`` (reads 512 bytes per 64 KiB chunk)."""
    chunks, unknown, blank = [], set(), set()
    next_id = partial = None
    with open(path, "rb") as fh:
        head = fh.read(FILE_HEADER_BYTES)
        if head[:8] == FILE_MAGIC and len(head) >= 128:
            (crc,) = struct.unpack_from("<I", head, 124)
            if zlib.crc32(head[:120]) == crc:
                next_id = struct.unpack_from("<Q", head, 24)[0]
        size = fh.seek(0, 2)
        number = 0
        while FILE_HEADER_BYTES + number * CHUNK_BYTES + CHUNK_HEADER_BYTES <= size:
            start = FILE_HEADER_BYTES + number * CHUNK_BYTES
            fh.seek(start)
            block = fh.read(CHUNK_HEADER_BYTES)
            if start + CHUNK_BYTES > size:
                partial = number
            ids = _chunk_ids(block)
            if ids is not None:
                chunks.append(Chunk(number, *ids))
            elif _is_blank(fh, start, min(CHUNK_BYTES, size - start)):
                blank.add(number)
            else:
                unknown.add(number)
            number += 1
    chunks.sort(key=lambda c: c.first)
    return Layout(chunks, unknown, blank, next_id, partial)


def _chunk_ids(block: bytes) -> tuple[int, int] | None:
    if block[:8] != CHUNK_MAGIC:
        return None
    numbers = struct.unpack_from("<QQ", block, 8)
    first, last = struct.unpack_from("<QQ", block, 24)
    if not 0 <= last - first < MAX_CHUNK_RECORDS:
        return None
    (crc,) = struct.unpack_from("<I", block, 124)
    if zlib.crc32(block[:120] + block[128:CHUNK_HEADER_BYTES]) == crc:
        return first, last
    # a damaged header: trusted when its two copies of the range (record numbers, ids) agree
    return (first, last) if numbers == (first, last) and first > 0 else None


def _is_blank(fh, start: int, length: int) -> bool:  # type: ignore[no-untyped-def]
    """True when nearly every byte of the chunk is zero (a preallocated chunk, maybe with damage)."""
    fh.seek(start)
    data = fh.read(length)
    return data.count(0) >= len(data) - 64


class Accounting:
    """Every record id the parser read or reported; the ones the headers declare and nobody saw.

    With the file header's next id, every id from the first chunk's first to the last written is
    declared (a chunk damaged beyond naming its ids is a gap in that range); without it, the ids
    each chunk header names."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.starts = [c.first for c in layout.chunks]
        self.outside: set[int] = set()  # ids read that no chunk header names (in a damaged chunk)
        self.strays = 0  # records read twice or without an id (a damaged id: its true id looks lost)
        self.top = 0

    @property
    def spans_gaps(self) -> bool:
        """True when ids missing between and after the chunks are counted (the file header holds)."""
        return self.layout.next_id is not None and bool(self.layout.chunks)

    def saw(self, record_id: object) -> None:
        if not isinstance(record_id, int) or record_id <= 0:
            self.strays += 1
            return
        self.top = max(self.top, record_id)
        i = bisect.bisect_right(self.starts, record_id) - 1
        if i >= 0 and record_id <= self.layout.chunks[i].last:
            chunk = self.layout.chunks[i]
            if chunk.seen[record_id - chunk.first]:
                self.strays += 1
            chunk.seen[record_id - chunk.first] = 1
        elif record_id in self.outside or not self._in_gap(record_id):
            self.strays += 1
        else:
            self.outside.add(record_id)

    def _in_gap(self, record_id: int) -> bool:
        """True when ``record_id`` may belong to a chunk whose header is lost (between the chunks
        that name their ids, or after them up to the file header's last id)."""
        if not self.spans_gaps:
            return False
        return self.layout.chunks[0].first < record_id < self.layout.next_id  # type: ignore[operator]

    def lost(self) -> Iterator[tuple[int, str]]:
        """(record id, reason) of every declared record not seen; one fewer for each stray record
        (its true id is one of these)."""
        skip = self.strays
        for record_id, reason in self._unseen():
            if skip:
                skip -= 1
                continue
            yield record_id, reason

    def _unseen(self) -> Iterator[tuple[int, str]]:
        chunks = self.layout.chunks
        for chunk in chunks:
            reason = CUT if chunk.number == self.layout.partial else DAMAGED
            for offset, seen in enumerate(chunk.seen):
                if not seen:
                    yield chunk.first + offset, reason
        if not self.spans_gaps:
            return
        last = max(c.last for c in chunks)
        end = self.layout.next_id - 1  # type: ignore[operator]
        if not 0 <= end - chunks[0].first <= MAX_CUT_RECORDS:
            return
        for before, after in zip(chunks, [*chunks[1:], None], strict=True):
            stop = after.first if after is not None else end + 1
            for record_id in range(before.last + 1, stop):
                if record_id not in self.outside:
                    yield record_id, CUT if record_id > last and self.layout.partial is not None else DAMAGED
