"""A finding's evidence lists come in one order whatever order the rows reach the engine in: records
tied on time are listed by reference, distinct values (sources, fingerprints, statuses, routes) sorted.
The Spark engine gives the same lists (tests/engines/test_spark_equivalence.py compares them)."""

from __future__ import annotations

from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import Events


def scenario() -> Events:
    ev = Events()
    for i in range(12):  # a burst: twelve guesses within the same second
        ev.add(0, "root" if i % 2 else "admin", "203.0.113.7")
    for s in range(3):  # three sources probing unknown names with one tool: one enumeration finding
        for i in range(12):
            ev.add(60 + s * 30 + i * 0.1, f"ghost{s}-{i}@corp.example", f"198.51.100.{20 - s}", "no_user")
    for i in range(30):  # a spray that confirms one password, which then signs in twice at once
        ev.add(400 + i * 0.5, f"user{i}@corp.example", "192.0.2.66")
    ev.add(430, "user3@corp.example", "192.0.2.66", "mfa_required")
    ev.add(430, "user3@corp.example", "192.0.2.66", "ok", mfa=False)
    return ev


def hunt(rows: list[dict]) -> list[tuple]:
    with Store() as store:
        store.append(batch_from_rows(rows))
        return sorted((f.id, f.title, f.summary, repr(f.evidence)) for f in run_all(store))


def test_evidence_does_not_depend_on_the_row_order():
    rows = scenario().rows
    forward = sorted(rows, key=lambda r: (r["time"], int(r["record_ref"].split(":")[1])))
    backward = sorted(rows, key=lambda r: (r["time"], -int(r["record_ref"].split(":")[1])))
    assert hunt(forward) == hunt(backward)


def test_tied_records_are_listed_by_reference_and_distinct_values_sorted():
    with Store() as store:
        store.append(batch_from_rows(sorted(scenario().rows, key=lambda r: r["time"])))
        findings = {f.detection: f for f in run_all(store)}
    burst = findings["bruteforce.burst"]
    assert burst.evidence["sample_records"] == sorted(f"test:{i}" for i in range(1, 13))[:5]
    enum = findings["enumeration.single_source"]
    assert enum.evidence["sources"] == ["198.51.100.18", "198.51.100.19", "198.51.100.20"]
    assert enum.summary.startswith("198.51.100.18, 198.51.100.19, 198.51.100.20 ")
    comp = findings["compromise.after_attack"]
    assert (
        comp.evidence["statuses"] == sorted(comp.evidence["statuses"]) and len(comp.evidence["statuses"]) == 2
    )
