"""Git history as blobs: every commit on every ref, each unique blob read once.

``git log --all --date-order --reverse --raw`` lists, oldest first, each commit's added or changed
files with their blob ids (merges diffed against their first parent, so a blob introduced while
resolving a conflict is seen). For every blob we keep, per path, the first commit that put it
there: that is where a secret in the blob was introduced at that path. Blob contents come from one
``git cat-file --batch`` read by the parent, never one process per object.

Messages are text a developer typed too: every commit message, annotated tag message and note
(``refs/notes/*``) is read by :func:`read_messages` and scanned like a file. Note blobs are left out
of the file history (``--exclude=refs/notes/*``) so a secret in a note is reported once, at the
commit it annotates.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ZERO = "0" * 40
FILE_MODES = {
    "100644",
    "100755",
    "100664",
}  # regular files; symlinks (120000) and submodules (160000) skipped


class GitError(RuntimeError):
    """The repository cannot be read (broken, not a repository, git missing)."""


@dataclass
class History:
    """Where each blob appears: blob id -> [(path, commit)] in history order, one entry per path."""

    blobs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    commit_order: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """A commit, tag or note message. ``commit`` is the commit it belongs to (a tag's target, the
    commit a note annotates); ``part`` is "message", "tag message" or "note"; ``tag`` names a tag."""

    commit: str
    part: str
    text: bytes
    tag: str | None = None


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cycle collector paused while a history is indexed and its batches planned: tens of thousands of
    small tuples and lists, none in a cycle (reference counting frees them), whose allocation would start
    ~60 collections, some of them full ones over every object of the process. Nestable and usable from
    two threads at once (the history thread, then the scan): the last one out restores the collector."""
    import gc

    with _GC_PAUSE_LOCK:
        if _GC_PAUSE[0] == 0:
            _GC_PAUSE[1] = gc.isenabled()
            gc.disable()
        _GC_PAUSE[0] += 1
    try:
        yield
    finally:
        with _GC_PAUSE_LOCK:
            _GC_PAUSE[0] -= 1
            if _GC_PAUSE[0] == 0 and _GC_PAUSE[1]:
                gc.enable()


_GC_PAUSE_LOCK = threading.Lock()
_GC_PAUSE = [0, True]  # [regions open, whether the collector ran before the first one]


def is_git_repo(path: Path) -> bool:
    """A work tree with ``.git`` or a bare repository."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _git(repo: Path, *args: str, input_: bytes | None = None) -> bytes:
    import subprocess  # a scan of plain files never starts git: no import for it

    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=input_, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(msg[0] if msg else f"git {args[0]} failed ({proc.returncode})")
    return proc.stdout


_LOG_ARGS = (
    "log", "--exclude=refs/notes/*", "--all", "--date-order", "--reverse", "--raw", "--no-abbrev", "--no-renames",
    "--diff-merges=first-parent", "--format=%x00%H", "-z",
)  # fmt: skip
_FILE_MODES_B = frozenset(m.encode() for m in FILE_MODES)
_ZERO_B = ZERO.encode()


def read_history(repo: Path) -> History:
    """Index every blob reachable from any ref, with the first commit that introduced it at each path.

    The log is parsed as git writes it (its diffs and our parse share the wall time), and blob sizes come
    from a ``git cat-file --batch-check`` that is asked for each new blob during the parse: git answers on
    another core instead of after it."""
    hist = History()  # an empty repository (nothing committed yet): git log --all prints nothing
    sizer = _Sizer(repo)
    try:
        with no_cyclic_gc():
            if _stream_log(repo, hist, sizer.ask):
                sizer.finish(hist)
                return hist
    finally:
        sizer.kill()
    # git log failed: read it whole, which names git's error (or reads it, if it now succeeds)
    out = _git(repo, *_LOG_ARGS)
    hist = History()
    sizer = _Sizer(repo)
    try:
        _parse_log(out, hist, sizer.ask)
        sizer.finish(hist)
    finally:
        sizer.kill()
    return hist


def _stream_log(repo: Path, hist: History, new_blob_seen) -> bool:
    """Parse ``git log`` into ``hist`` while it runs; False when git fails (``hist`` is then partial)."""
    import subprocess

    try:
        proc = subprocess.Popen(
            ["git", "-C", str(repo), *_LOG_ARGS], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    try:
        _parse_log_chunks(iter(lambda: os.read(fd, 1 << 20), b""), hist, new_blob_seen)
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.stdout.close()
        returncode = proc.wait()
    return returncode == 0


def _parse_log(out: bytes, hist: History, new_blob_seen) -> None:
    parser = _LogParser(hist, new_blob_seen)
    parser.feed(out.split(b"\0"))
    parser.close()


def _parse_log_chunks(chunks: Iterable[bytes], hist: History, new_blob_seen) -> None:
    """``_parse_log`` of the concatenated chunks, parsed as they come (cut anywhere, even inside a token)."""
    parser = _LogParser(hist, new_blob_seen)
    rest = b""
    for chunk in chunks:
        buf = rest + chunk if rest else chunk
        cut = buf.rfind(b"\0")
        if cut < 0:
            rest = buf
            continue
        parser.feed(buf[:cut].split(b"\0"))  # the whole tokens; the last one may still be growing
        rest = buf[cut + 1 :]
    parser.feed([rest])
    parser.close()


class _LogParser:
    """``git log --raw -z`` tokens (the pieces between NUL bytes) fed in any slices: a commit id, or a raw
    entry (``:<modes> <ids> <status>``) followed by its path. Reads the same as one split of the output."""

    def __init__(self, hist: History, new_blob_seen):
        self.hist = hist
        self.new_blob_seen = new_blob_seen
        self.commit = ""
        self.seen: set[tuple[str, str]] = set()
        self.meta: bytes | None = None  # a raw entry whose path is the next token, not fed yet

    def feed(self, tokens: list[bytes]) -> None:
        i, n = 0, len(tokens)
        if self.meta is not None and n:
            meta, self.meta = self.meta, None
            self._entry(meta, tokens[0])
            i = 1
        order = self.hist.commit_order
        while i < n:
            tok = tokens[i]
            i += 1
            if tok[:1] == b"\n":
                tok = tok.lstrip(b"\n")
            if tok[:1] == b":":
                if i < n:
                    self._entry(tok, tokens[i])
                    i += 1
                else:
                    self.meta = tok
            elif len(tok) == 40:
                self.commit = tok.decode()
                if self.commit not in order:
                    order[self.commit] = len(order)

    def close(self) -> None:
        if self.meta is not None:  # the output ended before this entry's path
            meta, self.meta = self.meta, None
            self._entry(meta, b"")

    def _entry(self, tok: bytes, raw_path: bytes) -> None:
        meta = tok.split(b" ")  # [":" old mode, new mode, old id, new id, status]
        if len(meta) < 5:
            return
        new_blob = meta[3]
        if meta[4][:1] == b"D" or new_blob == _ZERO_B or meta[1] not in _FILE_MODES_B:
            return
        blob, path = new_blob.decode(), raw_path.decode("utf-8", "surrogateescape")
        if (blob, path) in self.seen:
            return
        self.seen.add((blob, path))
        where = self.hist.blobs.get(blob)
        if where is None:
            where = self.hist.blobs[blob] = []
            self.new_blob_seen(blob)
        where.append((path, self.commit))


class _Sizer:
    """``git cat-file --batch-check`` fed blob ids as they are found; a thread collects its answers."""

    FLUSH = 512  # ids per write: git gets to work early, the pipe sees few small writes

    def __init__(self, repo: Path):
        import subprocess

        try:
            self.proc = subprocess.Popen(
                ["git", "-C", str(repo), "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except FileNotFoundError:
            raise GitError("git is not installed") from None
        self.pending: list[str] = []
        self.answer: list[bytes] = []
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self.reader = threading.Thread(target=lambda: self.answer.append(stdout.read()), daemon=True)
        self.reader.start()

    def ask(self, oid: str) -> None:
        self.pending.append(oid)
        if len(self.pending) >= self.FLUSH:
            self._send()

    def _send(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(("\n".join(self.pending) + "\n").encode())
        except BrokenPipeError:
            raise GitError("git cat-file stopped unexpectedly") from None
        self.pending = []

    def finish(self, hist: History) -> None:
        """Every answer read into ``hist.sizes`` (blobs) and ``hist.missing``."""
        assert self.proc.stdin is not None
        if self.pending:
            self._send()
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        self.reader.join()
        if self.proc.wait() != 0 or not self.answer:
            raise GitError(f"git cat-file --batch-check failed ({self.proc.returncode})")
        for line in self.answer[0].decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                hist.sizes[parts[0]] = int(parts[2])
            elif parts and parts[-1] == "missing":
                hist.missing.append(parts[0])

    def kill(self) -> None:
        """After ``finish`` a no-op; after an error, no git process is left behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)


def _body(raw: bytes) -> bytes:
    """The message of a raw commit or tag object (after the headers' blank line)."""
    _head, sep, body = raw.partition(b"\n\n")
    return body if sep else b""


def read_messages(repo: Path, commits: list[str]) -> Iterator[Message]:
    """Every commit message of ``commits``, then every annotated tag's and every note's message."""
    tags: dict[str, tuple[str, str]] = {}  # tag object id -> (name, peeled commit)
    for line in _git(
        repo,
        "for-each-ref",
        "refs/tags",
        "--format=%(objectname) %(objecttype) %(*objectname) %(refname:short)",
    ).splitlines():
        parts = line.decode("utf-8", "surrogateescape").split(" ", 3)
        if len(parts) == 4 and parts[1] == "tag":
            tags[parts[0]] = (parts[3], parts[2])
    notes: dict[str, str] = {}  # note blob id -> annotated object
    for ref in _git(repo, "for-each-ref", "refs/notes", "--format=%(refname)").split():
        for line in _git(repo, "notes", f"--ref={ref.decode()}", "list").splitlines():
            blob, _, target = line.decode().partition(" ")
            notes.setdefault(blob, target)
    cat = CatFile(repo)
    try:
        for oid, kind, raw in cat.read_objects([*commits, *tags, *notes]):
            if kind == b"commit":
                yield Message(oid, "message", _body(raw))
            elif kind == b"tag" and oid in tags:
                name, target = tags[oid]
                yield Message(target, "tag message", _body(raw), tag=name)
            elif kind == b"blob" and oid in notes:
                yield Message(notes[oid], "note", raw)
    finally:
        cat.close()


def stream_blobs(repo: Path, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(id, content) of every wanted blob that exists, from one ``git cat-file --batch``.

    Only the parent talks to git, so workers only scan. Ids are asked for in sorted order, which
    measured cheapest for git (its delta-base cache is reused more than in history or pack order).
    """
    cat = CatFile(repo)
    try:
        yield from cat.read(sorted(wanted))
    finally:
        cat.close()


class CatFile:
    """A long-lived ``git cat-file --batch`` for one process (a pool worker reads many batches).

    Keeping one process keeps git's delta-base cache warm from batch to batch: a new process per
    batch measured almost twice the git CPU time on a real history.
    """

    def __init__(self, repo: Path):
        import subprocess

        try:
            self.proc = subprocess.Popen(
                ["git", "-C", str(repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 20,
            )  # fmt: skip
        except FileNotFoundError:
            raise GitError("git is not installed") from None

    def read(self, ids: list[str]) -> Iterator[tuple[str, bytes]]:
        """(id, content) for each id that is a blob, in order; missing ids are skipped."""
        for oid, kind, data in self.read_objects(ids):
            if kind == b"blob":
                yield oid, data

    def read_objects(self, ids: list[str]) -> Iterator[tuple[str, bytes, bytes]]:
        """(id, type, content) for each id, in order; missing ids are skipped."""
        assert self.proc.stdin and self.proc.stdout
        stdin, out = self.proc.stdin, self.proc.stdout

        def feed() -> None:
            try:
                stdin.write(("\n".join(ids) + "\n").encode())
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

        feeder = threading.Thread(target=feed, daemon=True)  # git never waits on us to ask
        feeder.start()
        try:
            for _ in ids:
                header = out.readline()
                if not header:
                    raise GitError("git cat-file stopped unexpectedly")
                parts = header.split()
                if len(parts) != 3:  # "<id> missing": reported by the caller as not seen
                    continue
                size = int(parts[2])
                data = out.read(size)
                if len(data) != size:
                    raise GitError("git cat-file stopped unexpectedly")
                out.read(1)  # the newline after the content
                yield parts[0].decode(), parts[1], data
        except BaseException:
            self.kill()  # a reader that stopped early or failed leaves git mid-answer: this process is spent
            raise
        finally:
            feeder.join(timeout=10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is not None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        import subprocess

        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
