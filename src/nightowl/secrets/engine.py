"""The matching engine: one Hyperscan database over every rule, then a precise confirm pass.

Hyperscan (``HS_FLAG_PREFILTER``) reports where a rule *may* match; only those places are handed to
Python's ``re`` to capture the secret. Line-scope rules confirm on the lines Hyperscan pointed at;
blob-scope rules (multi-line secrets: PEM blocks, service-account JSON, "credentials below" mail)
are flagged once per blob (``HS_FLAG_SINGLEMATCH``) and confirmed over the whole blob.

Fallback: when ``import hyperscan`` fails, the database cannot be compiled on this CPU, or
``NIGHTOWL_NO_HYPERSCAN=1`` is set, the prefilter is each rule's lowercase keywords searched in the
lowercased blob (the lines holding a keyword are confirmed). Same confirm regexes, same filters:
slower, same answers (the tests check both agree).
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass

from nightowl.secrets import cache
from nightowl.secrets.filters import (
    PATH_ONLY_FILTERS,
    Candidate,
    FilterConfig,
    entropy,
    path_silences,
    run_filters,
)
from nightowl.secrets.rules import SECRET_GROUPS, Rule, attach_compiled

log = logging.getLogger(__name__)
WINDOW_CACHE_MAX = 4096  # longer confirm windows (minified lines) are confirmed every time
WINDOW_CACHE_BYTES = 8 * 1024 * 1024  # remembered windows per engine (per worker process); then forgotten


@dataclass(frozen=True)
class Hit:
    """A confirmed secret in one blob. ``secret`` stays in memory only; outputs use its hash."""

    rule: Rule
    secret: bytes
    line: int  # 1-based, already including the blob's line_offset
    offset: int


def _secret_span(m: re.Match[bytes]) -> tuple[int, int, str] | None:
    for name in SECRET_GROUPS:
        try:
            start = m.start(name)
        except IndexError:
            continue
        if start >= 0:
            return start, m.end(name), name
    return None


class Engine:
    """Scans bytes with every rule. Build once per process; ``scan`` is re-entrant per process."""

    def __init__(
        self, rules: list[Rule], config: FilterConfig | None = None, use_hyperscan: bool | None = None
    ):
        self.rules = rules
        attach_compiled(rules, compile_missing=False)  # the confirm regexes, when the cache holds them
        self.config = config or FilterConfig()
        self.backend = "python"
        self._db = None
        self._db_open = None  # the database without path-restricted rules (see _build_open_db)
        self._restricted_ids = [i for i, r in enumerate(rules) if r.path_re is not None]
        groups: dict[tuple[str, int], tuple[re.Pattern[str], list[int]]] = {}
        for i in self._restricted_ids:  # many rules share one path pattern (every prose rule): test each once
            pat = rules[i].path_re
            assert pat is not None
            groups.setdefault((pat.pattern, pat.flags), (pat, []))[1].append(i)
        self._path_groups = [(pat, tuple(ids)) for pat, ids in groups.values()]
        silencing: dict[tuple[str, ...], list[int]] = {}  # rules grouped by their path-only filters
        for i, rule in enumerate(rules):
            specs = tuple(f for f in rule.filters if f.partition(":")[0] in PATH_ONLY_FILTERS)
            if specs:
                silencing.setdefault(specs, []).append(i)
        self._silencing_groups = [(specs, tuple(ids)) for specs, ids in silencing.items()]
        self._plans: dict[str, tuple[object, frozenset[int]]] = {}
        self._plan_shapes: dict[tuple, tuple[object, frozenset[int]]] = {}
        self._hs_rules: set[int] = set()
        if use_hyperscan is None:
            use_hyperscan = os.environ.get("NIGHTOWL_NO_HYPERSCAN", "") not in ("1", "true", "yes")
        if use_hyperscan:
            self._build_hyperscan()
        self._keyword_rules = [i for i in range(len(rules)) if i not in self._hs_rules]
        self._keyword_bytes = {i: _keyword_forms(rules[i].keywords) for i in self._keyword_rules}
        # confirm results per window: a history holds the same lines in many versions of a file
        self._windows: dict[tuple[int, int, bytes], tuple] = {}
        self._window_bytes = 0
        self._verdicts: dict[tuple[int, Candidate], bool] = {}  # and the filters' verdict per candidate
        self._verdict_bytes = 0

    # -- prefilter -------------------------------------------------------------------------------
    def _build_hyperscan(self) -> None:
        try:
            import hyperscan
        except ImportError as exc:  # pragma: no cover - depends on the platform
            log.warning("hyperscan unavailable (%s): using the pure-Python keyword prefilter", exc)
            return
        flags_line = hyperscan.HS_FLAG_PREFILTER
        flags_blob = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH

        def compile_db(indexes: list[int]):
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=[self.rules[i].prefilter.encode() for i in indexes],
                ids=indexes,
                elements=len(indexes),
                flags=[flags_blob if self.rules[i].scope == "blob" else flags_line for i in indexes],
            )
            return db

        good = list(range(len(self.rules)))
        entry = _cache_path(hyperscan, self.rules)
        db = _load_cached(hyperscan, entry)
        if db is not None:
            self._db, self._hs_rules, self.backend = db, set(good), "hyperscan"
            self._build_open_db(hyperscan, compile_db)
            return
        try:
            db = compile_db(good)
        except hyperscan.error:
            good = []  # find the culprits one by one: one bad pattern costs one rule, not the database
            for i, rule in enumerate(self.rules):
                try:
                    compile_db([i])
                    good.append(i)
                except hyperscan.error as exc:
                    log.warning(
                        "rule %s: prefilter rejected by Hyperscan (%s): keyword fallback", rule.id, exc
                    )
            try:
                db = compile_db(good) if good else None
            except hyperscan.error as exc:  # pragma: no cover - e.g. a CPU without SSSE3
                log.warning("hyperscan database failed to compile (%s): pure-Python prefilter", exc)
                db = None
        if db is not None and len(good) == len(self.rules):
            _store_cached(hyperscan, entry, db)
        if db is None:
            return
        self._db = db
        self._hs_rules = set(good)
        self.backend = "hyperscan"
        self._build_open_db(hyperscan, compile_db)

    def _build_open_db(self, hyperscan, compile_db) -> None:
        """A second database without the path-restricted rules, for the files none of them reads.

        Phrasing rules (prose only) and file-specific rules (.htpasswd, .pgpass) cost about half of
        the Hyperscan time; source code, most of a repository, never needs them.
        """
        if not any(i in self._hs_rules for i in self._restricted_ids):
            return
        open_ids = sorted(i for i in self._hs_rules if self.rules[i].path_re is None)
        entry = _cache_path(hyperscan, self.rules, tag="open")  # ids are indexes into the whole list
        db = _load_cached(hyperscan, entry)
        if db is None:
            try:
                db = compile_db(open_ids)
            except hyperscan.error:  # pragma: no cover - the full database compiled with these
                return
            _store_cached(hyperscan, entry, db)
        self._db_open = db

    def _plan(self, path: str) -> tuple[object, frozenset[int]]:
        """The Hyperscan database for ``path`` and the rules not to confirm there: path-restricted rules
        that do not read it, and rules a path-only filter silences there (generic rules in tests). Cached
        per path: a history holds the same path in many blobs."""
        plan = self._plans.get(path)
        if plan is None:
            shape = (
                tuple(k for k, (pat, _) in enumerate(self._path_groups) if pat.search(path)),
                tuple(
                    k
                    for k, (specs, _) in enumerate(self._silencing_groups)
                    if path_silences(specs, path, self.config)
                ),
            )
            plan = self._plan_shapes.get(shape)
            if plan is None:  # a handful of distinct plans in a whole history: build each once
                allowed = {i for k in shape[0] for i in self._path_groups[k][1]}
                skip = {i for i in self._restricted_ids if i not in allowed}
                skip.update(i for k in shape[1] for i in self._silencing_groups[k][1])
                db = self._db if allowed or self._db_open is None else self._db_open
                plan = self._plan_shapes[shape] = (db, frozenset(skip))
            if len(self._plans) >= 65536:
                self._plans.clear()
            self._plans[path] = plan
        return plan

    def _prefilter(self, data: bytes, db: object, skip: frozenset[int] = frozenset()) -> dict[int, list[int]]:
        """Rule index -> offsets (ends of prefilter matches, or keyword starts) to confirm around."""
        hits: dict[int, list[int]] = defaultdict(list)  # first-seen order, as a plain dict keeps it
        lower: bytes | None = None
        if db is not None:

            def on_match(rid: int, start: int, end: int, flags: int, ctx: object) -> None:
                hits[rid].append(end)

            db.scan(data, match_event_handler=on_match)  # type: ignore[attr-defined]
        for i in self._keyword_rules:
            if i in skip:
                continue
            if lower is None:
                lower = data.lower()
            for k in self._keyword_bytes[i]:
                pos = lower.find(k)
                while pos >= 0:
                    hits[i].append(pos + len(k))
                    pos = lower.find(k, pos + 1)
        return hits

    # -- confirm ---------------------------------------------------------------------------------
    def scan(self, data: bytes, path: str = "", line_offset: int = 0, dedupe: bool = True) -> list[Hit]:
        """Every confirmed, unfiltered secret in ``data``. ``path`` feeds path-aware filters.

        With ``dedupe`` a value already claimed on the same line by a more specific rule is not
        reported again by a generic one (the tests turn it off to check each rule on its own).
        """
        raw: list[tuple[int, int, Rule, bytes, bytes | None, bool]] = []
        db, skip = self._plan(path)
        for i, ends in self._prefilter(data, db, skip).items():
            if i in skip:
                continue
            rule = self.rules[i]
            if rule.scope == "blob":
                self._confirm(i, rule, data, 0, len(data), raw)
                continue
            if rule.span:  # long lines (minified code): confirm only the stretches the hits can belong to
                self._confirm_spans(i, rule, data, sorted(ends), raw)
                continue
            done_until = -1
            for end in sorted(ends):
                if end <= done_until and not rule.near:
                    continue
                anchor = max(end - 1, 0)
                ls = data.rfind(b"\n", 0, anchor) + 1
                le = data.find(b"\n", anchor)
                if le < 0:
                    le = len(data)
                for _ in range(rule.near):  # keyword-in-context: the value may sit a few lines away
                    if ls > 0:
                        ls = data.rfind(b"\n", 0, ls - 1) + 1
                    if le < len(data):
                        nxt = data.find(b"\n", le + 1)
                        le = len(data) if nxt < 0 else nxt
                if rule.near and le <= done_until:
                    continue  # this window adds nothing past the previous one
                self._confirm_window(i, rule, data, ls, le, raw)  # overlapping windows: duplicates go below
                done_until = le
        if not raw:
            return []
        if any(r[2].near for r in raw):
            raw = list({(r[0], r[1]): r for r in raw}.values())
        raw.sort(key=lambda r: (r[0], r[2].priority, r[1]))
        out: list[Hit] = []
        claimed: set[tuple[int, bytes]] = set()
        on_line: dict[int, list[tuple[bytes, int]]] = {}
        line, pos = 1 + line_offset, 0
        for start, _index, rule, secret, key, quoted in raw:
            line += data.count(b"\n", pos, start)
            pos = start
            ctx_ls = data.rfind(b"\n", 0, start) + 1
            ctx_le = data.find(b"\n", start)
            context = data[ctx_ls : ctx_le if ctx_le >= 0 else len(data)]
            if rule.entropy and entropy(secret) < rule.entropy:
                continue
            cand = Candidate(
                secret=secret,
                line=context,
                path=path,
                key=key,
                quoted=quoted,
                before=data[max(0, ctx_ls - 4096) : ctx_ls],
            )
            if self._dropped(_index, rule, cand):
                continue
            if dedupe:
                if (line, secret) in claimed:  # a more specific rule already reported this value here
                    continue
                if any(pr < rule.priority and s in secret for s, pr in on_line.get(line, ())):
                    continue  # a phrasing or generic rule read past the end of a value a more specific rule owns
                claimed.add((line, secret))
                on_line.setdefault(line, []).append((secret, rule.priority))
            out.append(Hit(rule=rule, secret=secret, line=line, offset=start))
        if dedupe and len(out) > 1:
            out = _drop_overreach(out)
        return out

    def _dropped(self, index: int, rule: Rule, cand: Candidate) -> bool:
        """Whether the rule's filters drop the candidate, remembered per (rule, candidate): the filters read
        nothing else (the candidate's value, line, path, key, quoting and the 4 KiB before its line)."""
        if len(cand.line) > WINDOW_CACHE_MAX:
            return bool(run_filters(rule.filters, cand, self.config))
        key = (index, cand)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = bool(run_filters(rule.filters, cand, self.config))
            self._verdict_bytes += len(cand.line) + len(cand.before) + len(cand.secret)
            if self._verdict_bytes > WINDOW_CACHE_BYTES:
                self._verdicts.clear()
                self._verdict_bytes = 0
        return verdict

    def _confirm_spans(self, index: int, rule: Rule, data: bytes, ends: list[int], raw: list) -> None:
        """Merge [end - span, end + span] (clipped to the hit's line) and confirm each merged stretch."""
        ws = we = -1
        ls = le = -1  # the line of the previous hit: [ls, le] holds no newline before le
        for end in ends:
            anchor = max(end - 1, 0)
            if not ls <= anchor <= le:  # (sorted ends: many fall on the line just found)
                ls = data.rfind(b"\n", 0, anchor) + 1
                le = data.find(b"\n", anchor)
                if le < 0:
                    le = len(data)
            s, e = max(ls, end - rule.span), min(le, end + rule.span)
            if s <= we and s >= ws:
                we = max(we, e)
                continue
            if we > ws:
                self._confirm_window(index, rule, data, ws, we, raw)
            ws, we = s, e
        if we > ws:
            self._confirm_window(index, rule, data, ws, we, raw)

    def _confirm_window(self, index: int, rule: Rule, data: bytes, ls: int, le: int, raw: list) -> None:
        """``_confirm`` of a line or span window, remembered by the bytes it depends on: the window and the
        ``rule.reach`` bytes before it (``rules.lookbehind_reach``). Same matches, in the same order, as
        confirming again; a version of a file that repeats the previous one's lines costs a lookup."""
        reach = rule.reach
        if reach < 0 or le - ls > WINDOW_CACHE_MAX:
            self._confirm(index, rule, data, ls, le, raw)
            return
        lo = ls - reach if ls > reach else 0
        key = (index, ls - lo, data[lo:le])
        found = self._windows.get(key)
        if found is None:
            got: list = []
            self._confirm(index, rule, data, ls, le, got)
            found = tuple((s - ls, secret, name, quoted) for s, _i, _r, secret, name, quoted in got)
            self._window_bytes += le - lo
            if self._window_bytes > WINDOW_CACHE_BYTES:
                self._windows.clear()
                self._window_bytes = le - lo
            self._windows[key] = found
        for rel, secret, name, quoted in found:
            raw.append((ls + rel, index, rule, secret, name, quoted))

    @staticmethod
    def _confirm(index: int, rule: Rule, data: bytes, ls: int, le: int, raw: list) -> None:
        for m in rule.compiled.finditer(data, ls, le):
            span = _secret_span(m)
            if span is None:
                continue
            s, e, name = span
            if e <= s:
                continue
            gd = m.groupdict()
            key = gd.get("key")
            quoted = name in ("s3", "s4") or (name == "secret" and ("q" not in gd or gd.get("q") is not None))
            raw.append((s, index, rule, data[s:e], key, quoted))


def _drop_overreach(hits: list[Hit]) -> list[Hit]:
    """A later-family rule's value that holds a more specific rule's value found on the same line read past
    it (``oauth_token=abc&oauth_token_secret=XYZ`` read whole by an assignment rule): the specific one stays.
    The check in ``scan`` sees only hits that start earlier; this one sees the whole line."""
    by_line: dict[int, list[Hit]] = {}
    for h in hits:
        by_line.setdefault(h.line, []).append(h)
    return [
        h
        for h in hits
        if not any(
            o is not h and o.rule.priority < h.rule.priority and o.secret in h.secret for o in by_line[h.line]
        )
    ]


def _keyword_forms(keywords: tuple[str, ...]) -> tuple[bytes, ...]:
    """Each keyword as the fallback finds it in ``data.lower()``: bytes.lower() folds ASCII only, so a
    non-ASCII keyword ("пароль", "şifre") is also looked for in its capitalised and upper-case forms."""
    forms: dict[bytes, None] = {}
    for kw in keywords:
        for variant in (kw, kw.capitalize(), kw.upper()) if not kw.isascii() else (kw,):
            forms[variant.encode().lower()] = None
    return tuple(forms)


# -- compiled database cache: compiling ~300 patterns takes about a second, loading a few ms ---------
def _cache_path(hyperscan, rules: list[Rule], tag: str = "") -> str | None:
    """The cache entry's name: a hash of the Hyperscan version and every rule's prefilter and scope. Both
    databases' names share it: computed once per rule list (hashing ~340 prefilters costs ~2 ms)."""
    if cache.cache_dir() is None:
        return None
    version = getattr(hyperscan, "__version__", "")
    same = len(_DIGEST) == 3 and _DIGEST[0] == version and len(_DIGEST[1]) == len(rules)
    if not (same and all(a is b for a, b in zip(_DIGEST[1], rules, strict=True))):  # the same rule objects
        import hashlib

        h = hashlib.sha256(version.encode())
        for r in rules:
            h.update(b"\0" + r.prefilter.encode() + b"\0" + r.scope.encode())
        _DIGEST[:] = [version, list(rules), h.hexdigest()[:24]]  # a copy: a list changed in place differs
    return f"hyperscan-{tag}{_DIGEST[2]}.db"


_DIGEST: list = []  # [Hyperscan version, a copy of the rule list, its digest]


def _load_cached(hyperscan, name: str | None):
    data = cache.read(name) if name else None
    if data is None:
        return None
    try:
        db = hyperscan.loadb(data, mode=hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a deserialised database comes without scratch space
        return db
    except Exception:  # truncated, other CPU or library version: just recompile
        return None


def _store_cached(hyperscan, name: str | None, db) -> None:
    if name:
        cache.write(name, hyperscan.dumpb(db))
