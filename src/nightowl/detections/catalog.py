"""Load detections: one ``.sql`` file each, whose leading ``/* nightowl-detection ... */`` comment is
a TOML metadata block (id, title, category, severity, ATT&CK, description, thresholds with the
anchor each came from, known false positives, the ``evidence`` keys its findings carry, and the
``variants``: other detection ids the same SQL reports under, e.g. ``stuffing``). Thresholds can be
overridden from a TOML config, which is checked whole before anything runs::

    [detections."spray.single_source"]
    min_users = 8
    enabled = false
    [prepare]
    session_gap_minutes = 240
    [exposure]
    dormant_days = 60
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nightowl.findings import SEVERITY_RANK
from nightowl.sources.base import InputError

_HEADER = re.compile(r"\A\s*/\*\s*nightowl-(detection|prepare)\s*\n(?P<toml>.*?)\*/", re.S)
RULES_PACKAGE = "nightowl.detections"


@dataclass(frozen=True)
class Threshold:
    name: str
    default: float | int | str
    anchor: str


@dataclass
class Detection:
    id: str
    title: str
    category: str
    severity: str
    attack: list[str]
    description: str
    false_positives: list[str]
    thresholds: dict[str, Threshold]
    sql: str
    path: str
    stage: int = 1  # detections of stage 2 read the findings of stage 1 (compromise after attack)
    python: str | None = None  # optional "module:function" run after the setup statements (graph grouping)
    tables: list[str] = field(default_factory=lambda: ["auth_events"])  # skipped when these are empty
    variants: dict[str, list[str]] = field(default_factory=dict)  # variant id -> the thresholds it owns
    evidence: list[str] | None = None  # the keys of its findings' evidence (None: not declared)
    settings: list[str] = field(default_factory=list)  # the [prepare] settings its SQL reads too
    enabled: bool = True
    disabled_variants: set[str] = field(default_factory=set)
    params: dict[str, Any] = field(default_factory=dict)  # effective threshold values

    def config_keys(self, variant: str | None = None) -> dict[str, Any]:
        """What ``[detections."<id>"]`` may set, with default values (their type is the one expected)."""
        names = self.variants[variant] if variant else list(self.thresholds)
        return {"enabled": True} | {name: self.thresholds[name].default for name in names}

    @property
    def sql_body(self) -> str:
        return _HEADER.sub("", self.sql, count=1).strip()


def parse(text: str, path: str) -> tuple[dict[str, Any], str]:
    match = _HEADER.match(text)
    if not match:
        raise ValueError(f"{path}: missing /* nightowl-detection ... */ metadata block")
    return tomllib.loads(match.group("toml")), text


def _thresholds(meta: dict[str, Any]) -> dict[str, Threshold]:
    return {
        name: Threshold(name, spec["default"], spec.get("anchor", ""))
        for name, spec in meta.get("thresholds", {}).items()
    }


def load_detection(text: str, path: str) -> Detection:
    meta, sql = parse(text, path)
    det = Detection(
        id=meta["id"],
        title=meta["title"],
        category=meta["category"],
        severity=meta["severity"],
        attack=list(meta.get("attack", [])),
        description=meta.get("description", "").strip(),
        false_positives=list(meta.get("false_positives", [])),
        thresholds=_thresholds(meta),
        sql=sql,
        path=path,
        stage=int(meta.get("stage", 1)),
        python=meta.get("python"),
        tables=list(meta.get("tables", ["auth_events"])),
        variants={k: list(v.get("thresholds", [])) for k, v in meta.get("variants", {}).items()},
        evidence=list(meta["evidence"]) if "evidence" in meta else None,
        settings=list(meta.get("settings", [])),
    )
    if det.severity not in SEVERITY_RANK:
        raise ValueError(f"{path}: unknown severity {det.severity!r}")
    for variant, names in det.variants.items():
        if unknown := [n for n in names if n not in det.thresholds]:
            raise ValueError(f"{path}: variant {variant!r} names unknown thresholds {unknown}")
    det.params = {name: t.default for name, t in det.thresholds.items()}
    return det


def builtin_texts() -> list[tuple[str, str]]:
    """(path, text) of every bundled detection, sorted by file name."""
    folder = resources.files(RULES_PACKAGE) / "rules"
    return sorted(
        (f"rules/{f.name}", f.read_text(encoding="utf-8"))
        for f in folder.iterdir()
        if f.name.endswith(".sql")
    )


PREPARE_FILES = ("prepare.sql", "profiles.sql")  # shared facts, then the per-identity sign-in profiles
PROFILES_FILE = "profiles.sql"  # only the account_takeover rules read it


def prepare_text(profiles: bool = True) -> tuple[str, dict[str, Threshold]]:
    parts, thresholds = [], {}
    for name in PREPARE_FILES if profiles else tuple(n for n in PREPARE_FILES if n != PROFILES_FILE):
        text = (resources.files(RULES_PACKAGE) / name).read_text(encoding="utf-8")
        meta, _ = parse(text, name)
        parts.append(_HEADER.sub("", text, count=1))
        thresholds |= _thresholds(meta)
    return "\n".join(parts), thresholds


def load_all(config: dict[str, Any] | None = None, source: str = "config") -> list[Detection]:
    """Every bundled detection with the ``[detections]`` overrides of ``config`` applied (checked
    first: an unknown id, key or a value of the wrong type is an InputError naming ``source``)."""
    detections = [load_detection(text, path) for path, text in builtin_texts()]
    overrides = (config or {}).get("detections", {})
    _check_detections(overrides, detections, source)
    shared = {name: t.default for name, t in prepare_text()[1].items()} | (config or {}).get("prepare", {})
    for det in detections:  # one setting, set in one place ([prepare]), for every rule that reads it
        if unknown := [name for name in det.settings if name not in shared]:
            raise ValueError(f"{det.path}: settings names unknown [prepare] settings {unknown}")
        det.params |= {name: shared[name] for name in det.settings}
    by_id = {d.id: (d, None) for d in detections} | {v: (d, v) for d in detections for v in d.variants}
    for det_id, values in overrides.items():
        det, variant = by_id[det_id]
        for key, value in values.items():
            if key == "enabled" and variant:
                if not value:
                    det.disabled_variants.add(variant)
            elif key == "enabled":
                det.enabled = bool(value)
            else:
                det.params[key] = value
    return detections


# -- the --config file ----------------------------------------------------------------------------
def read_config(path: Path | None) -> dict[str, Any]:
    """The TOML config, every table checked against what exists (see :func:`check_config`)."""
    if path is None:
        return {}
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable TOML config ({exc})") from exc
    check_config(config, str(path))
    return config


def config_tables() -> dict[str, dict[str, Any]]:
    """The tables a config may hold besides ``[detections."<id>"]``: key -> default value. A module
    with its own settings adds its table here."""
    from nightowl.exposure import ExposureConfig

    return {
        "prepare": {name: t.default for name, t in prepare_text()[1].items()},
        "exposure": ExposureConfig.defaults(),
    }


def check_config(config: dict[str, Any], source: str = "config") -> None:
    """Refuse (InputError, one line naming ``source`` and the key, with the closest valid name) any
    table, detection id or key that does not exist, and any value whose type is not the default's."""
    tables = config_tables()
    for table, values in config.items():
        if table != "detections" and table not in tables:
            what = f"table [{table}]" if isinstance(values, dict) else f"key {table!r}"
            raise InputError(f"{source}: unknown {what}{_hint(table, ['detections', *tables], '[{}]')}")
        if not isinstance(values, dict):
            raise InputError(f"{source}: {table} must be a table ([{table}]), not a value")
        if table == "detections":
            _check_detections(values, [load_detection(text, path) for path, text in builtin_texts()], source)
        else:
            _check_table(f"[{table}]", values, tables[table], source)
    for pattern in ("test_pattern", "service_pattern"):
        value = config.get("exposure", {}).get(pattern)
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise InputError(
                    f"{source}: [exposure] {pattern} is not a valid regular expression ({exc})"
                ) from None


def _check_detections(overrides: Any, detections: list[Detection], source: str) -> None:
    keys = {d.id: d.config_keys() for d in detections} | {
        v: d.config_keys(v) for d in detections for v in d.variants
    }
    if not isinstance(overrides, dict):
        raise InputError(f'{source}: detections must be a table of [detections."<id>"] tables')
    for det_id, values in overrides.items():
        if det_id not in keys:
            raise InputError(f"{source}: [detections] has no detection {det_id!r}{_hint(det_id, keys)}")
        if not isinstance(values, dict):
            raise InputError(f'{source}: detections.{det_id} must be a table ([detections."{det_id}"])')
        _check_table(f'[detections."{det_id}"]', values, keys[det_id], source)


# per-rule keys that became one shared setting: a config that still sets them is told where it went
MOVED_KEYS = {"tenant_common_users": "[prepare] shared_network_users"}


def _check_table(where: str, values: dict[str, Any], spec: dict[str, Any], source: str) -> None:
    for key, value in values.items():
        if key not in spec and key in MOVED_KEYS:
            raise InputError(
                f"{source}: {where} {key} is now {MOVED_KEYS[key]} (one setting for every rule that uses it)"
            )
        if key not in spec:
            raise InputError(f"{source}: {where} has no key {key!r}{_hint(key, spec)}")
        expected = _type_name(spec[key])
        if not _same_type(value, spec[key]):
            raise InputError(f"{source}: {where} {key} must be {expected}, not {value!r}")


def _same_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    return "a string" if isinstance(default, str) else f"a {type(default).__name__}"


def _hint(name: str, valid: Any, fmt: str = "{!r}") -> str:
    """(did you mean 'x'?), or the valid names when none is close."""
    names = sorted(valid)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {fmt.format(close[0])}?)"
    return f" (valid: {', '.join(fmt.format(n) for n in names)})"
