"""Load detections: one ``.sql`` file each, whose leading ``/* nightowl-detection ... */`` comment is
a TOML metadata block (id, title, category, severity, ATT&CK, description, thresholds with the
anchor each came from, known false positives). Thresholds can be overridden from a TOML config::

    [detections."spray.single_source"]
    min_users = 8
    enabled = false
"""

from __future__ import annotations

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
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)  # effective threshold values

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
    )
    if det.severity not in SEVERITY_RANK:
        raise ValueError(f"{path}: unknown severity {det.severity!r}")
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


def prepare_text() -> tuple[str, dict[str, Threshold]]:
    text = (resources.files(RULES_PACKAGE) / "prepare.sql").read_text(encoding="utf-8")
    meta, _ = parse(text, "prepare.sql")
    return _HEADER.sub("", text, count=1), _thresholds(meta)


def load_all(config: dict[str, Any] | None = None) -> list[Detection]:
    """Every bundled detection with config overrides applied (unknown names are an error)."""
    detections = [load_detection(text, path) for path, text in builtin_texts()]
    overrides = (config or {}).get("detections", {})
    known = {d.id: d for d in detections}
    for det_id, values in overrides.items():
        if det_id not in known:
            raise InputError(f"config: unknown detection {det_id!r} (known: {', '.join(sorted(known))})")
        det = known[det_id]
        for key, value in values.items():
            if key == "enabled":
                det.enabled = bool(value)
            elif key in det.thresholds:
                det.params[key] = value
            else:
                raise InputError(
                    f"config: {det_id} has no threshold {key!r} (has: {', '.join(det.thresholds)})"
                )
    return detections


def read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable TOML config ({exc})") from exc
