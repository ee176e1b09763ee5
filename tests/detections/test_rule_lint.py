"""Lint every detection the way Elastic lints its rules: metadata complete, ATT&CK ids valid,
every threshold anchored and used, every parameter declared, and every rule runs against the
real schema (so a misspelled column fails here, not in a user's hunt)."""

from __future__ import annotations

import re

import pytest

from nightowl.audit_schema import ACCOUNTS_SCHEMA, DIRECTORY_AUDIT_SCHEMA, MAIL_ACCESS_SCHEMA
from nightowl.detections.catalog import builtin_texts, load_all, load_detection
from nightowl.detections.runner import prepare, register_findings, register_flagged, run_detection
from nightowl.findings import SEVERITY_RANK
from nightowl.store import Store

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
    assert used <= set(det.thresholds), f"undeclared parameters {used - set(det.thresholds)}"
    hooked = {"merge_jaccard", "campaign_gap_hours"} if det.python else set()
    assert set(det.thresholds) <= used | hooked, f"unused thresholds {set(det.thresholds) - used - hooked}"


def test_ids_are_unique():
    ids = [d.id for d in DETECTIONS]
    assert len(ids) == len(set(ids))


def test_every_rule_runs_against_the_schema_on_an_empty_store():
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
        for det in DETECTIONS:
            assert run_detection(store, det) == [], det.id


def test_a_rule_without_its_metadata_block_is_refused():
    path, text = builtin_texts()[0]
    with pytest.raises(ValueError, match="metadata"):
        load_detection(text.split("*/", 1)[1], path)
