"""The simulated tenant's GitHub audit log and CloudTrail: the attacker uses two mailed secrets from the
spray's addresses after reading the mail, owners use every secret as usual; the join finds exactly the
two (this is what ``nightowl evaluate --presets demo`` scores)."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from nightowl.detections.runner import run_all
from nightowl.evaluation.secret_use import run_secret_use, score_secret_use
from nightowl.ingest import ingest_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.store import Store


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    return simulate(SimConfig.demo(seed=11, users=200, days=12), tmp_path_factory.mktemp("tenant"))


def test_logs_hold_the_attackers_and_the_owners_uses(tenant) -> None:
    truth = tenant.truth.to_dict()
    su = truth["chain"]["secret_use"]
    spray = set(tenant.truth.campaign("distributed").source_ips)
    assert [u["family"] for u in su["used_by_attacker"]] == ["github_pat", "aws_access_key_id"]
    assert set(su["attacker_ips"]) <= spray
    read = next(s["time"] for s in truth["chain"]["steps"] if s["action"] == "mailboxes_read_via_ews")
    events = [orjson.loads(line) for line in Path(tenant.files["github_audit"]).read_bytes().splitlines()]
    token = su["used_by_attacker"][0]
    hashed = base64.b64encode(bytes.fromhex(token["sha256"])).decode()
    uses = [e for e in events if e.get("hashed_token") == hashed]
    thefts = [e for e in uses if e["actor_ip"] in spray]
    assert len(thefts) == token["uses"] == 12 and {e["action"] for e in thefts} == {"git.clone"}
    assert all(e["@timestamp"] > 0 for e in thefts) and min(u["first"] for u in [token]) > read
    assert len(uses) > len(thefts)  # the owner's own routine uses of the same token
    trail = orjson.loads(Path(tenant.files["cloudtrail"]).read_bytes())["Records"]
    key = su["used_by_attacker"][1]
    stolen = [e for e in trail if e["sourceIPAddress"] in spray]
    assert len(stolen) == key["uses"] and any(e.get("errorCode") == "AccessDenied" for e in stolen)


def test_the_join_names_exactly_the_secrets_the_attacker_used(tenant) -> None:
    truth = tenant.truth.to_dict()
    with Store() as store:
        ingest_paths(store, [str(tenant.files["signins"])])
        found = run_secret_use(store, tenant.files, run_all(store))
    assert score_secret_use(found, truth) == {"secrets_used": 2, "found": 2, "false_findings": 0}
    assert {f.severity for f in found} == {"critical"}
    github = next(f for f in found if "GitHub" in f.title)
    assert "to clone 12 repositories" in github.summary and "sent in message <" in github.summary
