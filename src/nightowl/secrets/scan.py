"""Orchestration: paths -> blobs -> engine -> one aggregated finding per unique secret.

A path is a git repository (its whole history), a mail archive (handed to ``secrets.mail``), a
directory or a file. Work is cut into batches of a few MB and spread over the machine's cores with
a fork-started process pool: the Hyperscan database is built once in the parent and inherited.
Workers return hashes, redacted forms and line numbers only; plaintext crosses the process
boundary only when the user asked to see secrets. In a git history the parent builds the index
(which blob sits at which paths, first commit); blobs are then read in sorted-id order, by the
parent when scanning inline, or by each worker for its own batches when running in parallel, so
blob bytes never cross a process boundary and git's work is split across the cores too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from nightowl.secrets.blob import Blob, Problem
from nightowl.secrets.engine import Engine
from nightowl.secrets.files import (
    BINARY_SUFFIXES,
    FileJob,
    WalkLimits,
    decode_text,
    file_blobs,
    is_mail_path,
    iter_files,
)
from nightowl.secrets.filters import FilterConfig
from nightowl.secrets.git import (
    CatFile,
    GitError,
    is_git_repo,
    no_cyclic_gc,
    read_history,
    read_messages,
    stream_blobs,
)
from nightowl.secrets.report import SecretFinding, redact, sha256_hex
from nightowl.secrets.rules import Rule, attach_compiled, load_rules
from nightowl.secrets.score import confidence

log = logging.getLogger(__name__)
BATCH_BYTES = 8 * 1024 * 1024
BATCH_ITEMS = 4000
GIT_BATCH_BYTES = 2 * 1024 * 1024  # smaller batches keep both cores busy to the end of a history
WORKER_GIT_BATCH_BYTES = 4 * 1024 * 1024  # per-worker batches read through the worker's own cat-file
PARALLEL_MIN_BYTES = 16 * 1024 * 1024  # below this, process start-up costs more than it saves

# (rule id, sha256, redacted, line, plaintext or None, confidence)
HitTuple = tuple[str, str, str, int, str | None, float]


@dataclass
class ScanOptions:
    show_secrets: bool = False
    jobs: int = 0  # 0 = all cores
    git_history: bool = True  # a repository path means its history (False: scan the work tree)
    limits: WalkLimits = field(default_factory=WalkLimits)
    filters: FilterConfig = field(default_factory=FilterConfig)
    use_hyperscan: bool | None = None
    min_confidence: float = 0.0  # findings below this confidence (secrets.score) are not reported


@dataclass
class ScanResult:
    secrets: dict[tuple[str, str], SecretFinding] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    blobs: int = 0
    bytes: int = 0
    seconds: float = 0.0
    backend: str = ""
    rules: list[Rule] = field(default_factory=list)


# -- worker side ---------------------------------------------------------------------------------
_ENGINE: Engine | None = None
_SHOW = False
_LIMITS = WalkLimits()
_CATS: dict[str, CatFile] = {}  # per worker process: its own long-lived cat-file per repository


def _worker_init() -> None:
    """A forked worker must not share the parent's cat-file pipes: it starts its own when needed,
    and waits for it on exit (so git's CPU time is accounted to the scan, and no orphan is left)."""
    import gc
    from multiprocessing.util import Finalize

    gc.enable()  # forked inside a history scan, which pauses the cycle collector in the parent only
    _CATS.clear()
    Finalize(None, _close_cats, exitpriority=10)


def _close_cats() -> None:
    for cat in _CATS.values():
        cat.close()
    _CATS.clear()


def _setup(engine: Engine, show: bool, limits: WalkLimits) -> None:
    global _ENGINE, _SHOW, _LIMITS
    _ENGINE, _SHOW, _LIMITS = engine, show, limits


def _scan_bytes(data: bytes, rel: str, line_offset: int = 0) -> list[HitTuple]:
    assert _ENGINE is not None
    out = []
    for h in _ENGINE.scan(data, path=rel, line_offset=line_offset):
        text = h.secret.decode("utf-8", "replace")
        out.append(
            (
                h.rule.id,
                sha256_hex(h.secret),
                redact(text),
                h.line,
                text if _SHOW else None,
                confidence(h.rule, h.secret),
            )
        )
    return out


def _rel(shown: str, root: str) -> str:
    if root and shown.startswith(root.rstrip("/") + "/"):
        return shown[len(root.rstrip("/")) + 1 :]
    return shown.rsplit("/", 1)[-1]


BlobOut = tuple[Blob, list[HitTuple]]


def _task_files(jobs: list[FileJob]) -> tuple[list[tuple[dict, list[HitTuple]]], list[Problem], int, int]:
    """Read and scan a batch of files. Returns ([(location base, hits)], problems, blobs, bytes)."""
    results, problems, n, size = [], [], 0, 0
    for job in jobs:
        for item in file_blobs(job, _LIMITS):
            if isinstance(item, Problem):
                problems.append(item)
                continue
            n += 1
            size += len(item.data)
            hits = _scan_bytes(item.data, _rel(item.path, job.root), item.line_offset)
            if hits:
                results.append(({"path": item.path}, hits))
    return results, problems, n, size


def _task_blobs(blobs: list[Blob]) -> tuple[list[tuple[dict, list[HitTuple]]], list[Problem], int, int]:
    """Scan ready-made blobs (mail parts)."""
    results, n, size = [], 0, 0
    for b in blobs:
        n += 1
        size += len(b.data)
        hits = _scan_bytes(b.data, b.name or b.path.rsplit("/", 1)[-1], b.line_offset)
        if hits:
            loc = {"path": b.path}
            if b.commit:
                loc["commit"] = b.commit
            if b.tag:
                loc["tag"] = b.tag
            if b.message_id is not None:
                loc["message_id"] = b.message_id
            if b.part is not None:
                loc["part"] = b.part
            if b.date is not None:
                loc["date"] = b.date
            results.append((loc, hits))
    return results, [], n, size


def _task_git_read(
    args: tuple[str, list[tuple[str, str]]],
) -> tuple[list[tuple[str, list[HitTuple]]], list[tuple[str, str]], int, int, list[str]]:
    """A worker reads its batch of blobs from git itself (no blob bytes cross the process boundary)."""
    repo, items = args
    paths = dict(items)
    got: list[str] = []

    def blobs() -> Iterator[tuple[str, str, bytes]]:
        for oid, data in cat.read([oid for oid, _ in items]):
            got.append(oid)
            yield oid, paths[oid], data

    try:
        cat = _CATS.get(repo)
        if cat is None:
            cat = _CATS[repo] = CatFile(Path(repo))
        # each blob is scanned as it arrives: git inflates the next ones meanwhile, on the other core
        scanned = _task_git(blobs())
    except GitError as exc:  # the batch's results are dropped: every blob of it is reported, as before
        _CATS.pop(repo, None)
        return [], [(oid, f"broken git repository: {exc}") for oid in paths], 0, 0, list(paths)
    return (*scanned, got)


def _task_git(
    items: Iterable[tuple[str, str, bytes]],
) -> tuple[list[tuple[str, list[HitTuple]]], list[tuple[str, str]], int, int]:
    """Scan a batch of (blob id, path, content) read from git."""
    results, bad, n, size = [], [], 0, 0
    for oid, path, data in items:
        text = decode_text(data)
        if text is None:
            bad.append((oid, "binary file: not scanned"))
            continue
        n += 1
        size += len(text)
        hits = _scan_bytes(text, path)
        if hits:
            results.append((oid, hits))
    return results, bad, n, size


# -- parent side ---------------------------------------------------------------------------------
def _batches(
    items: Iterable[Any], size_of: Callable[[Any], int], max_bytes: int = BATCH_BYTES
) -> Iterator[list[Any]]:
    batch, total = [], 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= max_bytes or len(batch) >= BATCH_ITEMS:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _guided_batches(
    items: list[Any], sizes: list[int], jobs: int, max_bytes: int, min_bytes: int = 256 * 1024
) -> Iterator[list[Any]]:
    """Batches of up to ``max_bytes`` (``sizes[k]`` is the size of ``items[k]``) that shrink to a share of
    what is left (``remaining / 2 jobs``) near the end, so that no core idles while another finishes a
    last big batch."""
    remaining = sum(sizes)
    batch, total = [], 0
    limit = max(min_bytes, min(max_bytes, remaining // (2 * jobs)))
    for item, size in zip(items, sizes, strict=True):
        batch.append(item)
        total += size
        if total >= limit or len(batch) >= BATCH_ITEMS:
            yield batch
            remaining -= total
            batch, total = [], 0
            limit = max(min_bytes, min(max_bytes, remaining // (2 * jobs)))
    if batch:
        yield batch


class _Runner:
    """Runs tasks inline or on a pool, created on first need and shared by every path."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool: Any = None
        self._stopped = False
        self._gates: list[threading.Semaphore] = []  # one per parallel map: bounds the batches in flight

    def parallel(self, total_bytes: int) -> bool:
        return self.jobs > 1 and total_bytes >= PARALLEL_MIN_BYTES

    def map(self, fn: Callable, tasks: Iterable[Any], total_bytes: int) -> Iterator[Any]:
        """Results of ``fn`` over ``tasks`` (a list, or a generator read lazily with back-pressure)."""
        if self.jobs <= 1 or total_bytes < PARALLEL_MIN_BYTES or (isinstance(tasks, list) and len(tasks) < 2):
            for t in tasks:
                yield fn(t)
            return
        if self.pool is None:
            if _ENGINE is not None and not all(r._compiled for r in _ENGINE.rules):
                # a regex-cache miss: compile the confirm regexes once (and store them), before the fork
                # shares them. On a hit each rule holds a builder (microseconds): each worker builds the
                # few its blobs need, nothing is built serially before the workers start
                attach_compiled(_ENGINE.rules, compile_missing=True)
            import multiprocessing  # only here: a small scan never starts a pool, nor pays for the import

            self.pool = multiprocessing.get_context("fork").Pool(self.jobs, initializer=_worker_init)
        # the pool's feeder thread would read a generator to its end: bound the batches in flight
        slots = threading.Semaphore(2 * self.jobs + 2)
        self._gates.append(slots)

        def bounded() -> Iterator[Any]:
            for t in tasks:
                slots.acquire()
                if self._stopped:  # terminate() woke the feeder: hand over nothing more
                    return
                yield t

        for out in self.pool.imap_unordered(fn, bounded()):
            slots.release()
            yield out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()

    def terminate(self) -> None:
        """Stop the workers at once: after an error (or Ctrl-C) in the parent, batches still in flight
        would never be collected and ``close`` would wait for them forever. A worker's cat-file sees its
        pipe close and exits."""
        if self.pool is not None:
            # the pool's feeder thread may be waiting for a slot in ``bounded`` (nobody collects results any
            # more): wake it, or terminating the pool waits for that thread forever
            self._stopped = True
            for gate in self._gates:
                gate.release()
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def _mail_reader():
    try:
        from nightowl.secrets import mail  # the mail helper's package
    except ImportError:
        return None
    if not hasattr(mail, "iter_mail_blobs"):
        return None
    return mail


def scan_paths(
    paths: list[str],
    options: ScanOptions | None = None,
    rules: list[Rule] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Scan every path; ``progress`` is called with bytes scanned as batches finish."""
    opts = options or ScanOptions()
    started = time.perf_counter()
    early = _history_in_background(paths[0], opts) if paths else None  # git works while the rules load
    rules = rules if rules is not None else load_rules()
    engine = Engine(rules, opts.filters, use_hyperscan=opts.use_hyperscan)
    _setup(engine, opts.show_secrets, opts.limits)
    res = ScanResult(backend=engine.backend, rules=rules)
    by_id = {r.id: r for r in rules}
    runner = _Runner(opts.jobs or os.cpu_count() or 1)
    mail = _mail_reader()

    def add(hits: list[HitTuple], loc: dict, key_extra: tuple = (), order: tuple = (0,)) -> None:
        for rid, sha, red, line, plain, conf in hits:
            if conf < opts.min_confidence:
                continue
            sf = res.secrets.get((rid, sha))
            if sf is None:
                sf = res.secrets[(rid, sha)] = SecretFinding(
                    rule=by_id[rid], sha256=sha, redacted=red, plaintext=plain, confidence=conf
                )
            location = {**loc, "line": line}
            key = (
                (loc["path"], *key_extra)
                if key_extra
                else (loc["path"], line, loc.get("message_id"), loc.get("part"))
            )
            sf.add(location, key, order)

    def account(n: int, size: int) -> None:
        res.blobs += n
        res.bytes += size
        if progress:
            progress(size)

    try:
        for k, shown in enumerate(paths):
            before = (res.blobs, res.bytes, len(res.problems), len(res.secrets))
            p = Path(shown)
            kind = _scan_one(p, shown, opts, runner, mail, res, add, account, early if k == 0 else None)
            res.inputs.append(
                {
                    "path": shown,
                    "format": kind,
                    "blobs": res.blobs - before[0],
                    "bytes": res.bytes - before[1],
                    "problems": len(res.problems) - before[2],
                    "new_secrets": len(res.secrets) - before[3],
                }
            )
    except BaseException:
        runner.terminate()
        raise
    finally:
        runner.close()
    res.seconds = time.perf_counter() - started
    return res


def _scan_one(
    p: Path,
    shown: str,
    opts: ScanOptions,
    runner: _Runner,
    mail,
    res: ScanResult,
    add,
    account,
    early: _Background | None = None,
) -> str:
    if p.is_dir() and opts.git_history and is_git_repo(p):
        with no_cyclic_gc():  # (the pool's workers turn it back on: _worker_init)
            _scan_git(p, shown, runner, res, add, account, opts.limits, early)
        return "git"
    if p.is_file() and mail is not None and _is_mail(mail, p):
        _scan_mail(mail, p, shown, runner, res, add, account)
        return "mail"
    jobs: list[FileJob] = []
    mails: list[FileJob] = []
    for item in iter_files(p, shown):
        if isinstance(item, Problem):
            res.problems.append(item)
        elif mail is not None and is_mail_path(item.path):
            mails.append(item)
        else:
            jobs.append(item)
    total = sum(j.size for j in jobs)
    tasks = list(_batches(jobs, lambda j: min(j.size, opts.limits.max_file_size)))
    for results, problems, n, size in runner.map(_task_files, tasks, total):
        res.problems.extend(problems)
        account(n, size)
        for loc, hits in results:
            add(hits, loc)
    for m in mails:
        _scan_mail(mail, m.path, m.shown, runner, res, add, account)
    return "directory" if p.is_dir() else "file"


def _is_mail(mail, p: Path) -> bool:
    try:
        return bool(mail.is_mail_archive(p))
    except Exception:  # the sniffing of a hostile file must not stop the scan
        return is_mail_path(p)


def _scan_mail(mail, p: Path, shown: str, runner: _Runner, res: ScanResult, add, account) -> None:
    blobs: list[Blob] = []
    try:
        for item in mail.iter_mail_blobs(p, shown):
            if isinstance(item, Problem):
                res.problems.append(item)
            else:
                blobs.append(item)
    except Exception as exc:  # a reader bug on one archive is reported, the scan goes on
        res.problems.append(
            Problem(shown, f"mail archive could not be read: {exc.__class__.__name__}: {exc}")
        )
    total = sum(len(b.data) for b in blobs)
    for results, _problems, n, size in runner.map(
        _task_blobs, list(_batches(blobs, lambda b: len(b.data))), total
    ):
        account(n, size)
        for loc, hits in results:
            add(hits, loc)


class _Background:
    """A call run on a thread; ``result`` waits for it and returns its value or raises its error."""

    def __init__(self, fn: Callable[[], Any]):
        self._out: list[Any] = []
        self._err: list[BaseException] = []

        def work() -> None:
            try:
                self._out.append(fn())
            except BaseException as exc:  # handed to the caller of result()
                self._err.append(exc)

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._err:
            raise self._err[0]
        return self._out[0]


def _history_in_background(first: str, opts: ScanOptions) -> _Background | None:
    """When the first path is a repository, its history index (``git log`` and the blob sizes: git's
    work, on the other core) starts before the rules and the Hyperscan database load. Only the first
    path: it is scanned before any process pool forks, so no thread is running at a fork."""
    p = Path(first)
    if not (opts.git_history and p.is_dir() and is_git_repo(p)):
        return None
    return _Background(lambda: read_history(p))


def _scan_git(
    repo: Path,
    shown: str,
    runner: _Runner,
    res: ScanResult,
    add,
    account,
    limits: WalkLimits,
    early: _Background | None = None,
) -> None:
    try:
        hist = early.result() if early is not None else read_history(repo)
    except GitError as exc:
        res.problems.append(Problem(shown, f"broken git repository: {exc}"))
        return
    base = shown.rstrip("/")
    for oid in hist.missing:
        for path, commit in hist.blobs.get(oid, []):
            res.problems.append(
                Problem(f"{base}/{path}", f"git object {oid[:12]} missing (commit {commit[:12]})")
            )
    items: list[tuple[str, str]] = []
    total = 0
    for oid, where in hist.blobs.items():
        size = hist.sizes.get(oid)
        if size is None:
            continue
        if size > limits.max_file_size:
            path, commit = where[0]
            res.problems.append(
                Problem(
                    f"{base}/{path}",
                    f"larger than the {limits.max_file_size // (1024 * 1024)} MiB cap in commit {commit[:12]}: not scanned",
                )
            )
            continue
        if where[0][0].lower().endswith(BINARY_SUFFIXES):
            path, commit = where[0]
            res.problems.append(
                Problem(f"{base}/{path}", f"binary file: not scanned (blob {oid[:12]}, commit {commit[:12]})")
            )
            continue
        items.append((oid, where[0][0]))
        total += size
    paths = dict(items)
    seen: set[str] = set()
    failure: list[str] = []

    def batches() -> Iterator[list[tuple[str, str, bytes]]]:
        batch: list[tuple[str, str, bytes]] = []
        size = 0
        try:
            for oid, data in stream_blobs(repo, set(paths)):
                seen.add(oid)
                batch.append((oid, paths[oid], data))
                size += len(data)
                if size >= GIT_BATCH_BYTES or len(batch) >= BATCH_ITEMS:
                    yield batch
                    batch, size = [], 0
        except GitError as exc:
            failure.append(str(exc))
        if batch:
            yield batch

    def report(oid: str, reason: str) -> None:
        path, commit = hist.blobs[oid][0]
        res.problems.append(Problem(f"{base}/{path}", f"{reason} (blob {oid[:12]}, commit {commit[:12]})"))

    if runner.parallel(total):
        # workers read their own share: no blob bytes are pickled. Versions of one path go to the same
        # batch (sorted by path, then id): their delta chains are inflated by one worker's cat-file, not
        # by both (Django's history: 0.29 s of git CPU split by id, 0.20 s split by path; one reader: same)
        ordered = sorted(items, key=itemgetter(1, 0))
        sizes = [hist.sizes[oid] for oid, _ in ordered]
        tasks = [(str(repo), b) for b in _guided_batches(ordered, sizes, runner.jobs, WORKER_GIT_BATCH_BYTES)]

        def worker_results():
            for results, bad, n, size, got in runner.map(_task_git_read, tasks, total):
                seen.update(got)
                yield results, bad, n, size

        stream = worker_results()
    else:
        stream = runner.map(_task_git, batches(), total)
    messages: _Background | None = None
    for results, bad, n, size in stream:
        if messages is None:  # the pool (if any) has forked: git reads the messages meanwhile, not after
            messages = _Background(lambda: _message_blobs(repo, shown, hist))
        account(n, size)
        for oid, reason in bad:
            report(oid, reason)
        for oid, hits in results:
            for path, commit in hist.blobs[oid]:
                order = (hist.commit_order.get(commit, 0),)
                add(hits, {"path": f"{base}/{path}", "commit": commit}, key_extra=("git",), order=order)
    why = f"broken git repository: {failure[0]}" if failure else "object missing or unreadable"
    for oid in paths:
        if oid not in seen:
            report(oid, why)
    _scan_messages(repo, shown, hist, runner, res, add, account, messages)


# the names git itself gives these texts: rules and filters read them as prose, not code
MESSAGE_NAMES = {"message": "COMMIT_EDITMSG", "tag message": "TAG_EDITMSG", "note": "NOTES_EDITMSG"}


def _message_blobs(repo: Path, shown: str, hist) -> list[Blob]:
    base = shown.rstrip("/")
    return [
        Blob(base, m.text, commit=m.commit, part=m.part, name=MESSAGE_NAMES[m.part], tag=m.tag)
        for m in read_messages(repo, list(hist.commit_order))
        if m.text.strip()
    ]


def _scan_messages(
    repo: Path, shown: str, hist, runner: _Runner, res: ScanResult, add, account, reading: _Background | None
) -> None:
    """Commit, tag and note messages, located by commit with ``part`` (one location per kind: the
    earliest commit, like a file's). ``reading`` already reads them on a thread (joined here, before
    any pool could fork for them)."""
    try:
        blobs = reading.result() if reading is not None else _message_blobs(repo, shown, hist)
    except GitError as exc:
        res.problems.append(Problem(shown, f"git messages could not be read: {exc}"))
        return
    total = sum(len(b.data) for b in blobs)
    for results, _problems, n, size in runner.map(
        _task_blobs, list(_batches(blobs, lambda b: len(b.data))), total
    ):
        account(n, size)
        for loc, hits in results:
            order = (hist.commit_order.get(loc["commit"], 0),)
            add(hits, loc, key_extra=("git", loc["part"], loc.get("tag")), order=order)
