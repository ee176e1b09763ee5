"""Git history as blobs: every commit on every ref, each unique blob read once.

``git log --all --date-order --reverse --raw`` lists, oldest first, each commit's added or changed
files with their blob ids (merges diffed against their first parent, so a blob introduced while
resolving a conflict is seen). For every blob we keep, per path, the first commit that put it
there: that is where a secret in the blob was introduced at that path. Blob contents come from one
``git cat-file --batch-all-objects --unordered`` stream read by the parent, never one process per
object.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
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


def is_git_repo(path: Path) -> bool:
    """A work tree with ``.git`` or a bare repository."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _git(repo: Path, *args: str, input_: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=input_, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(msg[0] if msg else f"git {args[0]} failed ({proc.returncode})")
    return proc.stdout


def read_history(repo: Path) -> History:
    """Index every blob reachable from any ref, with the first commit that introduced it at each path."""
    hist = History()
    refs = _git(repo, "for-each-ref", "--format=%(objectname)").split()
    if not refs:
        return hist  # an empty repository: nothing committed yet
    out = _git(
        repo, "log", "--all", "--date-order", "--reverse", "--raw", "--no-abbrev", "--no-renames",
        "--diff-merges=first-parent", "--format=%x00%H", "-z",
    )  # fmt: skip
    commit = ""
    seen: set[tuple[str, str]] = set()
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        tok = tokens[i].lstrip(b"\n")
        i += 1
        if not tok:
            continue
        if tok[:1] == b":":
            meta = tok[1:].split(b" ")
            path = tokens[i].decode("utf-8", "surrogateescape") if i < len(tokens) else ""
            i += 1
            if len(meta) < 5:
                continue
            new_mode, new_blob, status = meta[1].decode(), meta[3].decode(), meta[4][:1]
            if status in (b"D",) or new_blob == ZERO or new_mode not in FILE_MODES:
                continue
            if (new_blob, path) in seen:
                continue
            seen.add((new_blob, path))
            hist.blobs.setdefault(new_blob, []).append((path, commit))
        elif len(tok) == 40:
            commit = tok.decode()
            hist.commit_order.setdefault(commit, len(hist.commit_order))
    if hist.blobs:
        _sizes(repo, hist)
    return hist


def _sizes(repo: Path, hist: History) -> None:
    ids = list(hist.blobs)
    out = _git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
               input_=("\n".join(ids) + "\n").encode())  # fmt: skip
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            hist.sizes[parts[0]] = int(parts[2])
        elif parts and parts[-1] == "missing":
            hist.missing.append(parts[0])


def stream_blobs(repo: Path, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(id, content) of every wanted blob, in pack order, from one ``cat-file --batch-all-objects``.

    Pack order lets git reuse its delta-base cache (much cheaper than asking for blobs one id at a
    time in history order) and the parent alone talks to git, so workers only scan. Objects that are
    not wanted (trees, commits, unreachable or skipped blobs) are read and dropped.
    """
    try:
        proc = subprocess.Popen(
            ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--unordered", "--batch"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, bufsize=1 << 20,
        )  # fmt: skip
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    assert proc.stdout
    out = proc.stdout
    try:
        while True:
            header = out.readline()
            if not header:
                break
            parts = header.split()
            if len(parts) != 3:
                raise GitError(f"git cat-file: unexpected header {header[:80]!r}")
            oid, kind, size = parts[0].decode(), parts[1], int(parts[2])
            if kind == b"blob" and oid in wanted:
                data = out.read(size)
                if len(data) != size:
                    raise GitError("git cat-file stopped unexpectedly")
                yield oid, data
            else:
                left = size
                while left > 0:
                    chunk = out.read(min(left, 1 << 20))
                    if not chunk:
                        raise GitError("git cat-file stopped unexpectedly")
                    left -= len(chunk)
            out.read(1)  # the newline after the content
    finally:
        out.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
