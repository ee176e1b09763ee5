"""Run streams into a folder of gzip NDJSON parts with a checkpoint, then write the manifest.

Layout of ``OUT``::

    manifest.json                      source, range, counts per stream, permissions, request stats
    .nightowl-collect.json             the checkpoint (hidden: ``hunt`` skips dot files)
    entra-signins-interactive/part-000001.ndjson.gz ...

Crash safety: records are buffered in memory and written as one part (temporary name, fsync, rename);
only then is the checkpoint replaced (temporary name, fsync, rename) with the cursor that follows
them. A part numbered beyond the checkpoint's count is the leftover of a crash between the two
renames: it is deleted on resume and its pages fetched again, so nothing is written twice or lost.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from nightowl import __version__
from nightowl.collect.http import Client, CollectError
from nightowl.collect.streams import Stream, TimeRange, missing, needs

STATE_FILE = ".nightowl-collect.json"
MANIFEST_FILE = "manifest.json"
PART_RE = re.compile(r"^part-(\d{6})\.ndjson\.gz$")
FLUSH_RECORDS = 50_000  # records per part: big enough for few files, small enough to lose little on a crash


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of the new content."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def part_name(number: int) -> str:
    return f"part-{number:06d}.ndjson.gz"


def encode_part(records: list[dict[str, Any]]) -> bytes:
    """One record per line, gzip (mtime 0: the same records give the same bytes)."""
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    return gzip.compress(body, compresslevel=6, mtime=0)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Collection:
    """The checkpointed state of one ``collect`` run in ``out``."""

    def __init__(
        self, out: Path, provider: str, span: TimeRange, streams: list[Stream], meta: dict[str, Any]
    ):
        self.out = out
        self.streams = streams
        self.state_path = out / STATE_FILE
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self._check_same(provider, streams)
            self.resumed = True
        else:
            self.state = {
                "provider": provider,
                "range": span.to_json(),
                "meta": meta,
                "started": _now(),
                "complete": False,
                "streams": {
                    s.name: {"cursor": s.start(), "parts": 0, "records": 0, "done": False} for s in streams
                },
            }
            self.resumed = False
        self.span = TimeRange.from_json(self.state["range"])

    def _check_same(self, provider: str, streams: list[Stream]) -> None:
        st = self.state
        if st.get("complete"):
            raise CollectError(
                f"{self.out}: already holds a complete {st['provider']} collection "
                f"({st['range']['since']} to {st['range']['until']}); choose another --out"
            )
        names = sorted(s.name for s in streams)
        if st.get("provider") != provider or sorted(st.get("streams", {})) != names:
            raise CollectError(
                f"{self.out}: holds an unfinished {st.get('provider')} collection of "
                f"{', '.join(sorted(st.get('streams', {})))}; resume it with the same command or choose another --out"
            )

    def save(self) -> None:
        atomic_write(self.state_path, json.dumps(self.state, indent=1).encode())

    def clean(self, stream: Stream) -> None:
        """Delete temporary files and parts the checkpoint does not count (a crash's leftovers)."""
        folder = self.out / stream.name
        folder.mkdir(parents=True, exist_ok=True)
        kept = self.state["streams"][stream.name]["parts"]
        for path in folder.iterdir():
            m = PART_RE.match(path.name)
            if path.name.endswith(".tmp") or (m and int(m.group(1)) > kept):
                path.unlink()

    def write_part(self, stream: Stream, records: list[dict[str, Any]]) -> None:
        entry = self.state["streams"][stream.name]
        atomic_write(self.out / stream.name / part_name(entry["parts"] + 1), encode_part(records))
        entry["parts"] += 1
        entry["records"] += len(records)


def check_permissions(streams: list[Stream], have: set[str] | None, who: str) -> None:
    """Refuse before reading anything when the token lacks a permission a stream needs."""
    if have is None:
        return
    problems = []
    for s in streams:
        lacking = missing(s.permissions, have)
        if lacking:
            problems.append(f"{s.name} needs {needs(tuple(lacking))}")
    if problems:
        shown = ", ".join(sorted(have)) or "none"
        raise CollectError(f"{who} lacks permissions: {'; '.join(problems)} (the token grants: {shown})")


def collect(
    out: Path,
    provider: str,
    span: TimeRange,
    streams: list[Stream],
    client: Client,
    meta: dict[str, Any],
    granted: set[str] | None,
    say: Callable[[str], None] = lambda _m: None,
    flush_records: int = FLUSH_RECORDS,
) -> dict[str, Any]:
    """Collect every stream into ``out`` (resuming a checkpoint there); return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    run = Collection(out, provider, span, streams, meta)
    if run.resumed:
        r = run.state["range"]
        say(f"resuming the collection in {out} ({r['since']} to {r['until']})")
    run.save()
    for stream in streams:
        entry = run.state["streams"][stream.name]
        run.clean(stream)
        if entry["done"]:
            continue
        prepare = getattr(stream, "prepare", None)
        if prepare:
            prepare(client)
        buffer: list[dict[str, Any]] = []
        for records, cursor in stream.pages(client, entry["cursor"]):
            buffer.extend(records)
            if len(buffer) >= flush_records or cursor is None:
                if buffer:
                    run.write_part(stream, buffer)
                    say(f"{stream.name}: {entry['records']:,} records")
                buffer = []
            if not buffer:  # the checkpoint may only move past records that are on disk
                entry["cursor"], entry["done"] = cursor, cursor is None
                run.save()
        if not entry["done"]:  # a listing that ended without saying so (defensive)
            if buffer:
                run.write_part(stream, buffer)
            entry["cursor"], entry["done"] = None, True
            run.save()
    run.state["complete"] = True
    run.state["finished"] = _now()
    manifest = build_manifest(run, client, granted)
    atomic_write(out / MANIFEST_FILE, json.dumps(manifest, indent=2).encode())
    run.save()
    return manifest


def build_manifest(run: Collection, client: Client, granted: set[str] | None) -> dict[str, Any]:
    st = run.state
    streams = {}
    for s in run.streams:
        entry = st["streams"][s.name]
        streams[s.name] = {
            "format": s.format,
            "records": entry["records"],
            "files": [f"{s.name}/{part_name(i)}" for i in range(1, entry["parts"] + 1)],
            "permissions": needs(s.permissions),
        }
    return {
        "tool": f"nightowl {__version__} collect",
        "provider": st["provider"],
        **st["meta"],
        "range": st["range"],
        "started": st["started"],
        "finished": st.get("finished"),
        "complete": st["complete"],
        "records": sum(v["records"] for v in streams.values()),
        "streams": streams,
        "permissions_granted": sorted(granted) if granted is not None else None,
        "requests": vars(client.stats) | {"waited_seconds": round(client.stats.waited_seconds, 1)},
        "next": f"nightowl hunt {run.out}",
    }
