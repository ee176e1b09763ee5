"""What every source module implements, and the bookkeeping that makes sure no record is lost.

A source is a module-level object with a ``name``, a cheap ``sniff`` on the first bytes of a
file (plaso-style auto-detection) and a ``read`` that yields Arrow record batches in
:data:`nightowl.schema.AUTH_SCHEMA`. Every input record ends up in exactly one bucket:
normalized (a row in a batch), ignored (not an authentication event), or quarantined (could
not be read; kept with its position, reason and a short excerpt).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import pyarrow as pa

SNIFF_BYTES = 64 * 1024
EXCERPT_CHARS = 200
BOM = b"\xef\xbb\xbf"
MAX_QUARANTINE_KEPT = 10_000  # per input; beyond this only the count grows


STREAM_BROKEN = "compressed stream is corrupt or truncated: the rest of the file is unreadable"
OVERSIZED = "line longer than max_line_bytes"


class InputError(Exception):
    """A whole input cannot be read (unreadable, no format matched). One line, names the file."""


class UnknownFormat(InputError):
    """No reader recognises the file (or it is empty): skipped inside a folder, an error when named."""


# Decompression limits (gzip inputs; zip members have theirs in inputs.py): past RATIO_CHECK_AFTER
# decompressed bytes, a stream expanding more than MAX_GZIP_RATIO times its compressed size is a
# bomb (real logs compress 10-50x; a gzip of newlines 1000x); nothing expands past MAX_EXPANDED.
MAX_GZIP_RATIO = 500
RATIO_CHECK_AFTER = 32 << 20
MAX_EXPANDED_BYTES = 64 << 30


class _Inflation(io.RawIOBase):
    """Counts what a decompressor produces and stops a bomb early with one clear line."""

    def __init__(self, inner: IO[bytes], raw: IO[bytes], compressed: int, name: str) -> None:
        super().__init__()
        self.inner = inner
        self.raw = raw
        self.compressed = max(compressed, 1)
        self.name_ = name
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def, override]
        data = self.inner.read1(len(buf))  # type: ignore[attr-defined]  # read1: what is there, so a
        n = len(data)  # truncated stream still gives every byte before the damage
        buf[:n] = data
        self.total += n
        if self.total > MAX_EXPANDED_BYTES or (
            self.total > RATIO_CHECK_AFTER and self.total > MAX_GZIP_RATIO * self.compressed
        ):
            raise InputError(
                f"{self.name_}: refused, decompresses to more than {self.total // self.compressed}x its "
                f"size ({self.compressed} bytes to over {self.total}): a decompression bomb? "
                f"(limits: {MAX_GZIP_RATIO}x, {MAX_EXPANDED_BYTES >> 30} GiB)"
            )
        return n

    def close(self) -> None:
        self.inner.close()
        self.raw.close()  # GzipFile leaves the file it was given open
        super().close()


@dataclass(frozen=True)
class InputFile:
    """One logical input: a plain or gzip file on disk (zip members and stdin are spooled).

    ``name`` is what the user sees (``logs.zip/signins.json``); ``path`` is where the bytes are.
    """

    name: str
    path: Path
    gzip: bool = False
    in_folder: bool = False  # found by walking a folder (or an archive), not named by the user
    problem: str | None = None  # why it cannot be read at all (a corrupt zip member): one quarantine

    def __post_init__(self) -> None:
        # a file name with bytes that are not UTF-8 (decoded with surrogate escapes) is shown, stored
        # and named in record_ref with U+FFFD for each: DuckDB, Arrow and JSON take UTF-8 text only
        try:
            self.name.encode("utf-8")
        except UnicodeEncodeError:
            shown = self.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            object.__setattr__(self, "name", shown)

    def open(self) -> IO[bytes]:
        """Binary stream of the decompressed content; a gzip stream that expands like a bomb ends
        with an InputError naming the file (see :class:`_Inflation`)."""
        raw = open(self.path, "rb")  # noqa: SIM115 - caller closes
        if self.gzip:
            size = os.fstat(raw.fileno()).st_size
            return io.BufferedReader(_Inflation(gzip.GzipFile(fileobj=raw), raw, size, self.name), 1 << 20)
        return raw

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        """First ``n`` decompressed bytes (for sniffing). Empty on a corrupt gzip stream."""
        try:
            with self.open() as fh:
                return fh.read(n)
        except (OSError, EOFError, gzip.BadGzipFile):
            return b""

    def document_bytes(
        self, limit: int, too_big: str = "convert it to one record per line (jq -c '.[]')"
    ) -> bytes:
        """The whole decompressed file, for formats that must be parsed whole (pretty-printed JSON).
        Refuses, with a one-line error that ends with the ``too_big`` advice, beyond ``limit``."""
        try:
            with self.open() as fh:
                data = fh.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise InputError(f"{self.name}: unreadable ({exc.__class__.__name__})") from exc
        if len(data) > limit:
            raise InputError(f"{self.name}: pretty-printed JSON larger than {limit >> 30} GiB; {too_big}")
        return data

    def document_text(self, limit: int) -> str:
        """The whole decompressed file as UTF-8 text (BOM dropped, bad bytes replaced)."""
        return self.document_bytes(limit).decode("utf-8", errors="replace").removeprefix("\ufeff")


@dataclass(frozen=True)
class ReadOptions:
    """Reader options a user can set on the command line."""

    year: int | None = None  # syslog has no year: override the inferred one
    timezone: str | None = None  # syslog local time zone (IANA name); UTC when unset
    max_line_bytes: int = 1 << 20  # longer lines are quarantined, not parsed


@dataclass
class Quarantined:
    position: str  # "line 12", "record 887106", "row 4"
    reason: str
    excerpt: str


@dataclass
class Tally:
    """Counts for one input; the reader reports ignored/quarantined, the pipeline counts rows."""

    normalized: int = 0
    ignored: int = 0
    quarantined: int = 0
    ignored_reasons: Counter = field(default_factory=Counter)
    quarantine: list[Quarantined] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.normalized + self.ignored + self.quarantined

    def ignore(self, reason: str = "not an authentication event", n: int = 1) -> None:
        self.ignored += n
        self.ignored_reasons[reason] += n

    def merge(self, other: Tally) -> None:
        """Add another tally's ignored and quarantined records (a reader's trial run that succeeded)."""
        self.ignored += other.ignored
        self.ignored_reasons.update(other.ignored_reasons)
        self.quarantined += other.quarantined
        room = MAX_QUARANTINE_KEPT - len(self.quarantine)
        self.quarantine.extend(other.quarantine[: max(room, 0)])

    def reject(self, position: str, reason: str, raw: str | bytes | None = None) -> None:
        """Quarantine one record: it could not be read."""
        self.quarantined += 1
        if len(self.quarantine) < MAX_QUARANTINE_KEPT:
            self.quarantine.append(Quarantined(position, reason, excerpt(raw)))


def json_head(head: bytes) -> bytes:
    """The sniff window of a JSON file: BOM and leading blanks dropped; empty when the file does not
    start like JSON (an object or an array)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:SNIFF_BYTES] if text[:1] in (b"{", b"[") else b""


def excerpt(raw: str | bytes | None, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a raw record (never the whole of a huge line)."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", errors="replace")
    text = raw[:limit]
    return "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in text)


class Source(Protocol):
    """A log format. Sign-in formats fill ``auth_events``; others may set ``table`` and ``schema``
    (class attributes: the store table name and its Arrow schema) to land in a table of their own."""

    name: str  # e.g. "entra-graph-json"; also the value of --input-format
    title: str  # "Microsoft Entra ID sign-ins (Graph API JSON)"
    export_hint: str  # one line: how to export it from the vendor's console or API

    def sniff(self, head: bytes, name: str) -> bool:
        """True when the first bytes (decompressed) look like this format. Must be cheap."""
        ...

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        """Yield batches in AUTH_SCHEMA; report ignored and quarantined records to ``tally``."""
        ...

    # Optional, for readers that run inside DuckDB:
    #   stage(con, inp, tally, opts) -> str | None
    # runs the reader's query on the store's own connection, before the file's transaction, into
    # a temporary table or view whose columns are named as in the target table, and returns its
    # name; the caller copies from it, then calls ``unstage(con)``. None when it cannot (then
    # ``read`` is used). It saves the Arrow round trip of ``read``, and reports to ``tally`` only
    # when it succeeds.


def bounded_lines(inp: InputFile, max_bytes: int) -> Iterator[tuple[int, bytes, str | None]]:
    """(line number, bytes without line ending, problem). A problem line is not parsed.

    A UTF-8 BOM before the first line is dropped. Oversized lines are skipped without being held in memory (only their first
    ``max_bytes`` are returned, for the quarantine excerpt); a corrupt compressed stream ends
    the iteration with one problem entry.
    """
    lineno = 0
    try:
        with inp.open() as fh:  # both plain and gzip streams are buffered and have readline
            while True:
                line = fh.readline(max_bytes + 1)
                if not line:
                    return
                lineno += 1
                oversized = len(line) > max_bytes and not line.endswith(b"\n")
                if lineno == 1 and line.startswith(BOM):  # a UTF-8 BOM is no part of the first line
                    line = line[len(BOM) :]
                if oversized:
                    while True:  # drain the rest of the oversized line
                        more = fh.readline(1 << 20)
                        if not more or more.endswith(b"\n"):
                            break
                    yield lineno, line[:max_bytes], OVERSIZED
                    continue
                yield lineno, line.rstrip(b"\r\n"), None
    except (OSError, EOFError, zlib.error):
        yield lineno + 1, b"", STREAM_BROKEN


def decode(raw: bytes) -> str:
    """UTF-8, or Latin-1 for lines that are not (logs mix encodings; Latin-1 never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
