"""The SIEM rule re-implementations used by the evaluation behave as published, and the comparison
the README makes holds on a concrete sequence: a typo-heavy Monday at an office NAT trips
Sentinel's per-IP logic while nightowl stays quiet; a distributed spray trips neither baseline."""

from __future__ import annotations

from nightowl.evaluation.baselines import run_baseline
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import Events, attack_findings
from tests.detections.test_identity_detections import OFFICE_NAT, distributed_campaign, office_monday


def baseline(ev: Events, name: str) -> list[dict]:
    with Store() as store:
        store.append(batch_from_rows(ev.rows))
        return run_baseline(store, name)


def test_office_nat_monday_fires_sentinel_but_not_nightowl():
    ev = Events()
    office_monday(ev)
    alerts = baseline(ev, "sentinel")
    assert any(a["source_ips"] == [OFFICE_NAT] for a in alerts)
    assert attack_findings(ev.hunt()) == []


def test_distributed_spray_is_invisible_to_per_ip_rules_but_not_to_nightowl():
    ev = Events()
    distributed_campaign(ev)
    for name in ("sentinel", "splunk"):
        assert baseline(ev, name) == [], name
    assert any(f.detection == "spray.distributed" for f in ev.hunt())


def test_sentinel_needs_five_users_per_ip_and_app_in_a_20_minute_bin():
    four, five = Events(), Events()
    for i in range(4):
        four.add(i, f"u{i}@corp.example", "203.0.113.9")
        five.add(i, f"u{i}@corp.example", "203.0.113.9")
    five.add(5, "u4@corp.example", "203.0.113.9")
    assert baseline(four, "sentinel") == []
    assert len(baseline(five, "sentinel")) == 1


def test_elastic_classifies_a_fast_burst_as_password_spraying():
    ev = Events()
    for i in range(20):
        ev.add(i * 0.5, f"u{i}@corp.example", "203.0.113.9")
    (alert,) = baseline(ev, "elastic")
    assert alert["key"].startswith("password_spraying@")
