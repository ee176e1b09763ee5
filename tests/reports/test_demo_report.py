"""Acceptance on the simulated demo tenant: sign-ins, directory audit, mailbox access and the mail
itself go through the real pipeline (ingest, detections, secret scan); the report must tell the
whole Midnight Blizzard chain as one incident, in order, and name the secrets to rotate, redacted."""

from __future__ import annotations

import orjson
import pytest

from nightowl.cli.report import make_report
from nightowl.detections.runner import run_all
from nightowl.findings import document
from nightowl.incidents import STAGE_RANK, build_incidents
from nightowl.ingest import ingest_paths
from nightowl.secrets.scan import scan_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    result = simulate(SimConfig.demo(users=600, days=14), root / "tenant")
    logs = [str(p) for key, p in sorted(result.files.items()) if key not in ("mail", "truth")]
    with Store(root / "store.duckdb") as st:
        inputs = [r.to_contract() for r in ingest_paths(st, logs)]
        findings = run_all(st)
    (root / "hunt.json").write_bytes(orjson.dumps(document(findings, inputs)))
    scan = scan_paths([str(result.files["mail"])])
    secrets = [s.to_finding() for s in scan.secrets.values()]
    (root / "secrets.json").write_bytes(orjson.dumps(document(secrets, scan.inputs)))
    return root, result.truth.to_dict()["chain"], findings + secrets


def test_demo_chain_is_one_incident_in_order(demo):
    _, truth, findings = demo
    incidents = build_incidents(findings)
    compromised = truth["compromised_account"].lower()
    holding = [i for i in incidents if compromised in i.entities["compromised_accounts"]]
    assert len(holding) == 1
    inc = holding[0]
    stages = inc.stages
    for stage in (
        "spray",
        "compromise",
        "persistence",
        "consent",
        "privilege",
        "collection",
        "exposed_secrets",
    ):
        assert stage in stages, f"{stage} missing from {stages}"
    assert stages[:2] == ["spray", "compromise"] and stages[-2:] == ["collection", "exposed_secrets"]
    times = [s.when for s in inc.steps if s.stage != "exposed_secrets"]
    assert times == sorted(times, key=lambda t: t.replace("Z", ""))  # time order
    assert {a["name"] for a in inc.entities["applications"]} >= {
        truth["legacy_app"]["displayName"],
        truth["malicious_app"]["displayName"],
    }
    assert set(truth["mailboxes_read"]) <= set(inc.entities["mailboxes"])
    # every planted secret that the scanner found in a mailbox the attacker read is named, redacted
    planted = {s["sha256"] for s in truth["secrets"]}
    linked = {s["finding_id"] for s in inc.entities["secrets"]}
    found = [f for f in findings if f.category == "secret" and f.extra["secret_sha256"] in planted]
    assert found and {f.id for f in found} <= linked
    assert STAGE_RANK[inc.steps[0].stage] == 0


def test_demo_report_names_the_secrets_to_rotate(demo):
    root, truth, _ = demo
    html, _, _ = make_report(
        [str(root / "hunt.json"), str(root / "secrets.json")], root / "store.duckdb", "demo"
    )
    first = html.split('<article class="incident', 2)[1]
    assert truth["compromised_account"].lower() in first
    assert "Rotate every secret" in first
    secrets = orjson.loads((root / "secrets.json").read_bytes())["findings"]
    assert all(s["redacted"] in first or s["redacted"].replace("&", "&amp;") in first for s in secrets[:3])
    assert 'class="chart timeseries"' in html
