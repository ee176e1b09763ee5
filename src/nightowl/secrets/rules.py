"""Load and validate the secret rules (``rules/*.toml``).

A rule is data: an id, a title, a provider family, a severity, lowercase keywords (the pure-Python
prefilter), a Hyperscan-compatible prefilter pattern (defaults to the confirm regex), a precise
confirm regex whose named group ``secret`` captures the value (alternatives may use ``s2``..``s9``
because Python forbids repeating a group name), an entropy floor, named false-positive filters and
positive / negative examples that the tests run. Positive examples mark the expected secret with
``«...»``. ``near = N`` makes a keyword-in-context rule: the prefilter finds the provider's name and
the confirm regex runs over N lines either side. ``span = B`` bounds the confirm window of a line
rule to B bytes around each prefilter hit (long minified lines stay cheap). A file's ``[defaults]``
table gives every rule of the file a key it does not set itself (the phrasing rules share their
``paths``). A file's ``[fragments]`` table names regex pieces (word lists, separators, value shapes)
once; ``{{name}}`` in a ``regex`` or ``prefilter`` of that file is replaced by the fragment's text, and
fragments may use other fragments. An unknown or circular name is a load error naming the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from nightowl.findings import SEVERITY_RANK

SCOPES = ("line", "blob")
SECRET_GROUPS = ("secret", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9")
MARK_OPEN, MARK_CLOSE = "«", "»"
FRAGMENT_REF = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
# Rules of these families only speak when no specific rule claimed the same value on the same line
# (a Jenkins credential store holds other providers' tokens: the provider rule names them better).
LATE_FAMILIES = {"jenkins": 1, "http": 1, "generic": 2, "human": 3}


class RuleError(ValueError):
    """A rule file is malformed; the message names the rule."""


EXAMPLE_PATH = "config.env"  # the path a rule's examples are scanned under unless it names one


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    family: str
    severity: str
    keywords: tuple[str, ...]
    regex: str
    prefilter: str
    scope: str = "line"
    near: int = 0  # confirm this many lines either side of the prefilter hit (keyword-in-context rules)
    span: int = 0  # a confirm match starts at most this many bytes before the prefilter hit ends (0: any)
    reach: int = -1  # bytes before a confirm window the regex may read (see lookbehind_reach); -1: unknown
    entropy: float = 0.0
    filters: tuple[str, ...] = ()
    paths: str | None = None
    note: str = ""
    example_path: str = EXAMPLE_PATH  # the path the tests scan the examples under
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    path_re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _compiled: list = field(default_factory=list, compare=False, repr=False)

    @property
    def compiled(self) -> re.Pattern[bytes]:
        """The confirm regex, compiled on first use: most rules never fire on a given input."""
        if not self._compiled:
            self._compiled.append(re.compile(self.regex.encode()))
        elif not isinstance(self._compiled[0], re.Pattern):  # a builder from the regex cache: run it once
            self._compiled[0] = self._compiled[0]() or re.compile(self.regex.encode())
        return self._compiled[0]

    @property
    def priority(self) -> int:
        return LATE_FAMILIES.get(self.family, 0)

    def applies_to(self, path: str) -> bool:
        return self.path_re is None or bool(self.path_re.search(path))


def lookbehind_reach(regex: str) -> int:
    """How many bytes before the position a search starts at the regex may read, or -1 (unbounded, unknown).

    Only assertions read behind a position: lookbehinds (their widest width), ``\\b``, ``\\B``, ``^`` and
    ``\\A`` (one byte, or the start of the string). Everything else reads forward from where the match
    starts, and a search never looks past its ``endpos``. So ``finditer(data, ls, le)`` depends only on
    ``data[ls - reach:le]`` and on whether ``ls < reach``. The bound adds up every such assertion (nested
    ones included): generous, never short."""
    try:
        from re import _constants, _parser

        parsed = _parser.parse(regex.encode(), 0)
        ends = (_constants.AT_END, _constants.AT_END_LINE, _constants.AT_END_STRING)
    except Exception:  # does not parse (validated elsewhere), or another regex engine: unknown
        return -1
    total = 0

    def walk(node) -> None:
        nonlocal total
        if isinstance(node, _parser.SubPattern):
            for op, av in node:
                if op in (_constants.ASSERT, _constants.ASSERT_NOT) and av[0] < 0:
                    width = av[1].getwidth()[1]
                    if width >= _constants.MAXREPEAT:
                        raise OverflowError
                    total += width
                elif op is _constants.AT and av not in ends:
                    total += 1
                walk(av)
        elif isinstance(node, (tuple, list)):
            for item in node:
                walk(item)

    try:
        walk(parsed)
    except Exception:  # an unbounded lookbehind, a shape not known here: unknown, never a guess
        return -1
    return total


def example_text(example: str) -> tuple[str, list[str]]:
    """An example without its ``«»`` marks, and the marked secrets."""
    secrets = re.findall(f"{MARK_OPEN}(.*?){MARK_CLOSE}", example, flags=re.S)
    return example.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""), secrets


def default_prefilter(regex: str) -> str:
    """The confirm regex made Hyperscan-friendly: named groups become plain groups."""
    out = re.sub(r"\(\?P<[A-Za-z0-9_]+>", "(", regex)
    return re.sub(r"\(\?P=([A-Za-z0-9_]+)\)", "", out)


def expand_fragments(text: str, fragments: dict[str, str], where: str) -> str:
    """``text`` with every ``{{name}}`` replaced by its fragment, recursively (plain text is untouched:
    ``{2,62}`` and other regex braces never look like a reference)."""

    def expand(piece: str, stack: tuple[str, ...]) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in fragments:
                raise RuleError(f"{where}: unknown fragment {{{{{name}}}}}")
            if name in stack:
                raise RuleError(f"{where}: circular fragment {' -> '.join((*stack, name))}")
            return expand(fragments[name], (*stack, name))

        return FRAGMENT_REF.sub(one, piece)

    return expand(text, ())


def _rule_from(
    data: dict, source: str, validate: bool = True, fragments: dict[str, str] | None = None
) -> Rule:
    from nightowl.secrets.filters import known_filter

    rid = data.get("id", "?")
    fragments = fragments or {}
    try:
        regex = expand_fragments(data["regex"], fragments, f"{source}: rule {rid}")
        compiled = re.compile(regex.encode()) if validate else None
    except KeyError as exc:
        raise RuleError(f"{source}: rule {rid}: missing {exc}") from None
    except re.error as exc:
        raise RuleError(f"{source}: rule {rid}: bad regex: {exc}") from None
    if compiled is not None and "secret" not in compiled.groupindex:
        raise RuleError(f"{source}: rule {rid}: regex has no (?P<secret>...) group")
    severity = data.get("severity", "")
    if severity not in SEVERITY_RANK:
        raise RuleError(f"{source}: rule {rid}: unknown severity {severity!r}")
    scope = data.get("scope", "line")
    if scope not in SCOPES:
        raise RuleError(f"{source}: rule {rid}: scope must be one of {SCOPES}")
    keywords = tuple(data.get("keywords", ()))
    if not keywords or any(k != k.lower() or not k for k in keywords):
        raise RuleError(f"{source}: rule {rid}: keywords must be non-empty and lowercase")
    filters = tuple(data.get("filters", ()))
    for name in filters:
        if not known_filter(name):
            raise RuleError(f"{source}: rule {rid}: unknown filter {name!r}")
    for key in ("id", "title", "family"):
        if not data.get(key):
            raise RuleError(f"{source}: rule {rid}: missing {key}")
    paths = data.get("paths")
    return Rule(
        id=data["id"],
        title=data["title"],
        family=data["family"],
        severity=severity,
        keywords=keywords,
        regex=regex,
        prefilter=expand_fragments(data.get("prefilter") or "", fragments, f"{source}: rule {rid}")
        or default_prefilter(regex),
        scope=scope,
        near=int(data.get("near", 0)),
        span=int(data.get("span", 0)),
        reach=lookbehind_reach(regex),
        entropy=float(data.get("entropy", 0.0)),
        filters=filters,
        paths=paths,
        note=data.get("note", ""),
        example_path=data.get("example_path", EXAMPLE_PATH),
        positive=tuple(data.get("positive", ())),
        negative=tuple(data.get("negative", ())),
        _compiled=[compiled] if compiled is not None else [],
        path_re=re.compile(paths) if paths else None,
    )


def rule_files() -> list[Path]:
    """The shipped rule files (beside this module: importlib.resources would cost a pre-commit hook
    ~5 ms of imports at every start for the same folder)."""
    return sorted(Path(__file__).with_name("rules").glob("*.toml"))


def load_rules(
    paths: list[Path] | None = None, validate: bool | None = None, examples: bool = False
) -> list[Rule]:
    """Every rule, specific rules first (generic and human-phrasing rules last), ids unique.

    Rule files given by the user are validated in full (every confirm regex compiled) at load;
    the shipped rules, which the tests validate, compile each regex on first use instead. The parsed
    rules are cached (``secrets.cache``) under a hash of the files' bytes: parsing ~9,000 lines of
    TOML costs more than the rest of a one-file scan, reading the cached JSON a few ms. A scan needs
    no rule's test examples (``positive``, ``negative``, ``example_path``): they are left out of the
    rules and of the cache (a third of its JSON) unless ``examples`` asks for them, which parses the
    TOML.
    """
    if validate is None:
        validate = paths is not None
    files = [(path, path.read_bytes()) for path in (paths or rule_files())]
    entry = _cache_name(files)
    cached = None if examples else _from_cache(entry, validate)
    if cached is not None:
        return cached
    import tomllib  # only on a cache miss

    rules: list[Rule] = []
    seen: set[str] = set()
    for path, raw in files:
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path.name}: {exc}") from None
        defaults = doc.get("defaults", {})  # keys every rule of the file takes unless it sets its own
        fragments = doc.get("fragments", {})
        if not all(isinstance(v, str) for v in fragments.values()):
            raise RuleError(f"{path.name}: every [fragments] entry must be a string")
        for data in doc.get("rule", []):
            rule = _rule_from({**defaults, **data}, path.name, validate, fragments)
            if rule.id in seen:
                raise RuleError(f"{path.name}: duplicate rule id {rule.id}")
            seen.add(rule.id)
            rules.append(rule)
    rules.sort(key=lambda r: r.priority)
    _to_cache(entry, rules, validate)
    if examples:
        return rules
    return [replace(r, example_path=EXAMPLE_PATH, positive=(), negative=()) for r in rules]


def attach_compiled(rules: list[Rule], compile_missing: bool) -> None:
    """Give every rule its confirm regex from the regex cache (``secrets.regex_cache``): a builder that
    rebuilds it in microseconds on first use. ``compile_missing`` (before a process pool forks) builds
    them all now, compiling and caching them on a miss; without it a miss leaves each regex to be
    compiled on first use, as before."""
    from nightowl.secrets import regex_cache

    todo = [r for r in rules if not r._compiled]
    if todo:
        patterns = [r.regex.encode() for r in todo]
        if compile_missing:
            for rule, pattern in zip(todo, regex_cache.compile_all(patterns), strict=True):
                rule._compiled.append(pattern)
        else:
            for rule, build in zip(todo, regex_cache.loaders(patterns) or (), strict=False):
                rule._compiled.append(build)
    if compile_missing:
        for rule in rules:
            _ = rule.compiled  # builders run here, once, before the fork shares the patterns


# -- parsed-rules cache -------------------------------------------------------------------------
# not the examples: load_rules(examples=True) reads them from the TOML
_CACHED_FIELDS = (
    "id", "title", "family", "severity", "keywords", "regex", "prefilter", "scope", "near", "span", "reach", "entropy",
    "filters", "paths", "note",
)  # fmt: skip
_CACHE_FORMAT = b"nightowl-rules/3"


def _cache_name(files: list[tuple[Path, bytes]]) -> str:
    import hashlib

    h = hashlib.sha256(_CACHE_FORMAT)
    for path, raw in files:
        h.update(b"\0" + path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
    return f"rules-{h.hexdigest()[:32]}.json"


def _from_cache(entry: str, validate: bool) -> list[Rule] | None:
    """The cached rules, or None: no entry, a corrupt one, or one not validated when validation is asked."""
    import json

    from nightowl.secrets import cache

    raw = cache.read(entry)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if doc["format"] != _CACHE_FORMAT.decode() or (validate and not doc["validated"]):
            return None
        rules = []
        for d in doc["rules"]:
            kw = {k: d[k] for k in _CACHED_FIELDS}
            for k in ("keywords", "filters"):
                kw[k] = tuple(kw[k])
            rules.append(Rule(**kw, path_re=re.compile(kw["paths"]) if kw["paths"] else None))
        return rules
    except (ValueError, KeyError, TypeError, re.error):  # a corrupt or foreign entry: parse the TOML again
        return None


def _to_cache(entry: str, rules: list[Rule], validated: bool) -> None:
    import json

    from nightowl.secrets import cache

    doc = {
        "format": _CACHE_FORMAT.decode(),
        "validated": validated,
        "rules": [{k: getattr(r, k) for k in _CACHED_FIELDS} for r in rules],
    }
    cache.write(entry, json.dumps(doc, ensure_ascii=False).encode())
