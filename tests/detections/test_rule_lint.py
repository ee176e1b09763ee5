"""Lint every detection the way Elastic lints its rules: metadata complete, ATT&CK ids valid,
every threshold anchored and used, every parameter declared, every rule runs against the
real schema (so a misspelled column fails here, not in a user's hunt), the evidence keys each rule
declares are the ones its SQL produces, and every evidence key incidents read is declared by a rule."""

from __future__ import annotations

import importlib
import re

import pyarrow as pa
import pytest

from nightowl.audit_schema import ACCOUNTS_SCHEMA, DIRECTORY_AUDIT_SCHEMA, MAIL_ACCESS_SCHEMA
from nightowl.categories import CATEGORIES
from nightowl.detections.catalog import builtin_texts, load_all, load_detection
from nightowl.detections.runner import (
    execute_rule,
    prepare,
    register_findings,
    register_flagged,
    run_detection,
)
from nightowl.engines import used_params
from nightowl.findings import SEVERITY_RANK
from nightowl.incidents.contract import EVIDENCE_FALLBACKS, EVIDENCE_READ
from nightowl.store import Store
from tests.conftest import REPO

DETECTIONS = load_all()
ATTACK_ID = re.compile(r"^T\d{4}(\.\d{3})?$")


@pytest.mark.parametrize("det", DETECTIONS, ids=[d.id for d in DETECTIONS])
def test_metadata_is_complete(det):
    assert det.title and det.category and det.description
    assert det.severity in SEVERITY_RANK
    assert all(ATTACK_ID.match(t) for t in det.attack), det.attack
    if not det.id.startswith("noise."):
        assert det.attack, "attack detections name their ATT&CK technique"
    for name, t in det.thresholds.items():
        assert t.anchor, f"threshold {name} has no anchor"


@pytest.mark.parametrize("det", DETECTIONS, ids=[d.id for d in DETECTIONS])
def test_parameters_and_thresholds_match(det):
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", det.sql_body))
    declared = set(det.thresholds) | set(det.settings)  # its own thresholds, and [prepare] settings it reads
    assert used <= declared, f"undeclared parameters {used - declared}"
    assert set(det.settings) <= used, f"unused settings {set(det.settings) - used}"
    hooked = {"merge_jaccard", "campaign_gap_hours"} if det.python else set()
    assert set(det.thresholds) <= used | hooked, f"unused thresholds {set(det.thresholds) - used - hooked}"


def test_ids_are_unique():
    ids = [d.id for d in DETECTIONS]
    assert len(ids) == len(set(ids))


@pytest.fixture(scope="module")
def empty_store():
    """A store with every table a rule reads, empty, prepared as the runner prepares it."""
    with Store() as store:
        for name, schema in (
            ("directory_audit", DIRECTORY_AUDIT_SCHEMA),
            ("mail_access", MAIL_ACCESS_SCHEMA),
            ("accounts", ACCOUNTS_SCHEMA),
        ):
            store.ensure_table(name, schema)
        prepare(store)
        register_findings(store, [])
        register_flagged(store, [], [])
        yield store


def test_every_rule_runs_against_the_schema_on_an_empty_store(empty_store):
    for det in DETECTIONS:
        assert run_detection(empty_store, det) == [], det.id


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")  # empty results: no copy worth avoiding
@pytest.mark.parametrize("det", DETECTIONS, ids=[d.id for d in DETECTIONS])
def test_declared_evidence_keys_are_the_ones_the_sql_produces(empty_store, det):
    assert det.evidence is not None, "declare the evidence keys in the metadata block (evidence = [...])"
    engine, final = execute_rule(empty_store, det)
    schema = engine.con.execute(final, used_params(final, det.params)).to_arrow_table().schema
    produced = []
    if "evidence" in schema.names:
        evidence = schema.field("evidence").type
        assert pa.types.is_struct(evidence), f"evidence is {evidence}, not a struct"
        produced = [evidence.field(i).name for i in range(evidence.num_fields)]
    assert produced == det.evidence


def test_every_evidence_key_incidents_read_is_declared_by_a_rule():
    declared = {key for det in DETECTIONS for key in det.evidence or []}
    assert declared >= EVIDENCE_READ, f"incidents read undeclared keys {EVIDENCE_READ - declared}"
    assert not EVIDENCE_FALLBACKS & declared  # a fallback a rule produces belongs in EVIDENCE_READ


def test_every_rule_category_is_registered():
    categories = {d.category for d in DETECTIONS} | {"credential_stuffing", "account_enumeration"}
    assert categories <= set(CATEGORIES), categories - set(CATEGORIES)


def test_a_rule_without_its_metadata_block_is_refused():
    path, text = builtin_texts()[0]
    with pytest.raises(ValueError, match="metadata"):
        load_detection(text.split("*/", 1)[1], path)


def behaviour_marks() -> dict[str, set[bool]]:
    """detection id -> the sides (fires / stays quiet) that marked behavioural tests prove."""
    proved: dict[str, set[bool]] = {}
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
        for name, fn in vars(module).items():
            for mark in getattr(fn, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "detection":
                    proved.setdefault(mark.args[0], set()).add(mark.kwargs["fires"])
    return proved


def test_every_detection_has_a_positive_and_a_negative_behavioural_test():
    proved = behaviour_marks()
    ids = [d.id for d in DETECTIONS] + [v for d in DETECTIONS for v in d.variants]
    missing = {i: {True, False} - proved.get(i, set()) for i in ids}
    assert not {i: sides for i, sides in missing.items() if sides}, (
        "mark tests @pytest.mark.detection(id, fires=...)"
    )
    assert set(proved) <= set(ids), f"marks name unknown detections {set(proved) - set(ids)}"


def _calls(sql: str, name: str) -> list[str]:
    """The argument text of every ``name(...)`` call in ``sql``."""
    args = []
    for m in re.finditer(rf"\b{name}\(", sql, flags=re.IGNORECASE):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        args.append(sql[m.end() : i - 1])
    return args


def test_every_mode_breaks_ties_on_the_value():
    """``mode(x)`` picks among tied values by thread timing on DuckDB and freely on Spark, and a
    session's fingerprint decides which operation it joins: every mode is ``mode(x ORDER BY x)``."""
    texts = dict(builtin_texts())
    for name in ("prepare.sql", "profiles.sql", "secret_use.sql"):
        texts[name] = (REPO / "src" / "nightowl" / "detections" / name).read_text()
    bare = [
        f"{name}: mode({arg})"
        for name, text in texts.items()
        for arg in _calls(text, "mode")
        if not re.fullmatch(r"(.+) ORDER BY \1", arg.strip(), flags=re.DOTALL)
    ]
    assert not bare, bare
