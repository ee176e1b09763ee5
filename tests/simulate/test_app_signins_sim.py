"""The simulated tenant's service principal sign-ins: benign apps sign in steadily from their own
addresses (and keep doing so after their secrets rotate), the attacker signs in as the legacy app and
the app it created with the credentials it added, from the spray's addresses, between adding them and
reading mail. ``cloud.app_signin`` finds exactly the attacker's apps at medium+ (what ``nightowl
evaluate --presets demo`` scores)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nightowl.evaluation.app_signin import run_app_signin, score_app_signin
from nightowl.incidents import build_incidents
from nightowl.ingest import ingest_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.store import Store


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    return simulate(SimConfig.demo(seed=11, users=200, days=12), tmp_path_factory.mktemp("tenant"))


def test_sign_ins_are_graph_service_principal_records(tenant) -> None:
    truth = tenant.truth.to_dict()["chain"]
    apps = truth["app_signins"]
    recs = [orjson.loads(line) for line in Path(tenant.files["app_signins"]).read_bytes().splitlines()]
    assert recs and all(r["signInEventTypes"] == ["servicePrincipal"] and r["userId"] == "" for r in recs)
    spray = set(tenant.truth.campaign("distributed").source_ips)
    attacker = [r for r in recs if r["appId"] in apps["attacker_apps"]]
    assert {r["ipAddress"] for r in attacker} <= spray and len(apps["attacker_apps"]) == 2
    keys = truth["app_keys"]
    assert {r["servicePrincipalCredentialKeyId"] for r in attacker} == {keys["legacy"], keys["malicious"]}
    steps = {s["action"]: s["time"] for s in truth["steps"]}
    first = min(r["createdDateTime"] for r in attacker)
    assert steps["credential_added_to_legacy_app"] < first < steps["mailboxes_read_via_ews"]
    # a benign app keeps its addresses across its secret rotation
    rotated = keys["benign"]
    mine = [r for r in recs if r["appId"] == rotated["appId"]]
    before = {r["ipAddress"] for r in mine if r["createdDateTime"] < rotated["rotated_at"]}
    after = [r for r in mine if r["createdDateTime"] > rotated["rotated_at"]]
    assert after and {r["ipAddress"] for r in after} <= before
    assert {r["servicePrincipalCredentialKeyId"] for r in after} == {rotated["new"]}


def test_app_signin_finds_the_attackers_apps_and_no_benign_one(tenant) -> None:
    truth = tenant.truth.to_dict()
    with Store() as store:
        ingest_paths(store, [str(tenant.files["signins"])])
        found = run_app_signin(store, tenant.files, None)
    result = score_app_signin(found, truth)
    assert result["attacker_apps"] == 2 and result["found"] == 2
    assert result["false_findings"] == 0
    legacy = truth["chain"]["legacy_app"]["appId"]
    (f,) = [f for f in found if f.evidence["actor"]["app_id"] == legacy]
    assert f.severity == "critical"  # the key was added by the account the spray compromised
    assert f.evidence["credential_added_by"] == [truth["chain"]["compromised_account"]]


def test_the_demo_incident_shows_the_app_signing_in(tenant) -> None:
    from nightowl.detections.runner import run_all

    with Store() as store:
        ingest_paths(
            store, [str(tenant.files[k]) for k in ("signins", "app_signins", "audit", "mail_access")]
        )
        findings = run_all(store)
    incidents = build_incidents(findings)
    legacy = tenant.truth.to_dict()["chain"]["legacy_app"]["displayName"]
    main = next(i for i in incidents if any(f.finding.category == "app_signin" for f in i.steps))
    assert "persistence" in main.stages and "app_signin" in main.stages
    assert main.stages.index("persistence") < main.stages.index("app_signin")
    told = next(s for s in main.story if f'signed in as "{legacy}"' in s)
    # the attacker's app sign-ins come from the spray's addresses, and the story says so
    assert "new addresses, all of them used in the distributed password spray" in told
