"""The simulator: deterministic, truthful, in the vendors' documented shapes, and varied by seed."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from nightowl.simulate import ATTACK_KINDS, AttackSpec, SimConfig, simulate
from nightowl.simulate.chain import CERTS_OP, FULL_ACCESS_AS_APP
from nightowl.simulate.writers import PORTAL_HEADER
from tests.conftest import dataset

SMALL = {"users": 120}


def _signins(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    res = simulate(SimConfig.demo(seed=11, users=150, days=9, formats=("graph", "csv")), out)
    return res, _signins(res.files["signins"])


@pytest.fixture(scope="module")
def benign(tmp_path_factory):
    out = tmp_path_factory.mktemp("benign")
    res = simulate(SimConfig.benign(seed=5, users=150, days=3), out)
    return res, _signins(res.files["signins"])


def test_same_seed_gives_identical_files(tmp_path):
    cfg = SimConfig.demo(seed=3, users=80, days=8, formats=("graph", "csv"))
    a, b = simulate(cfg, tmp_path / "a"), simulate(cfg, tmp_path / "b")
    simulate(cfg, tmp_path / "b")  # re-running into the same directory overwrites, never appends
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 6
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert a.signin_count == b.signin_count


def test_attacker_fingerprint_varies_by_seed(tmp_path):
    prints, nets = [], []
    for seed in range(6):
        res = simulate(
            SimConfig(
                seed=seed,
                users=60,
                days=6,
                benign_traps=False,
                directory=False,
                attacks=[AttackSpec("distributed", params={"n_ips": 30, "n_targets": 20})],
            ),
            tmp_path / str(seed),
        )
        fp = res.truth.campaigns[0].details["fingerprint"]
        prints.append((fp["ua_mode"], tuple(fp["user_agents"]), fp["client_app"], tuple(fp["apps"])))
        nets.append(frozenset(res.truth.campaigns[0].source_ips))
    assert len({p[1] for p in prints}) == 6  # never one fixed user agent
    assert len({(p[0], p[2], p[3]) for p in prints}) >= 3
    # and the source addresses differ too (no fixed attacker range)
    assert all(not (a & b) for i, a in enumerate(nets) for b in nets[i + 1 :])


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_truth_matches_events_for_every_attack_kind(tmp_path, kind):
    res = simulate(SimConfig.preset(kind, seed=21, users=100, days=6, benign_traps=False), tmp_path)
    recs = _signins(res.files["signins"])
    camp = res.truth.campaigns[0]
    ips = set(camp.source_ips)
    at_ips = [r for r in recs if r["ipAddress"] in ips]
    # attacker addresses are never shared with employees, so every event there is the campaign's
    assert len(at_ips) == camp.event_count > 0
    assert {r["userPrincipalName"].lower() for r in at_ips} == set(camp.target_users)
    assert min(r["createdDateTime"] for r in at_ips) == camp.start
    assert max(r["createdDateTime"] for r in at_ips) == camp.end
    for c in camp.compromised:
        hit = [
            r
            for r in at_ips
            if r["userPrincipalName"].lower() == c.user
            and r["ipAddress"] == c.ip
            and r["status"]["errorCode"] == c.error_code
        ]
        assert hit, c


def test_distributed_spray_shape_and_compromise(demo):
    res, recs = demo
    camp = res.truth.campaign("distributed")
    ips = set(camp.source_ips)
    per_ip = Counter(r["ipAddress"] for r in recs if r["ipAddress"] in ips)
    assert len(per_ip) >= 100 and max(per_ip.values()) <= 6  # many addresses, few attempts each
    asns = {r["autonomousSystemNumber"] for r in recs if r["ipAddress"] in ips}
    assert len(asns) >= 8
    codes = Counter(r["status"]["errorCode"] for r in recs if r["ipAddress"] in ips)
    assert codes[50034] > 0 and codes[50126] > 0  # nonexistent and existing accounts
    victim = res.truth.chain["compromised_account"]
    assert victim in res.truth.tenant["test_accounts"]
    wins = [
        r
        for r in recs
        if r["userPrincipalName"].lower() == victim
        and r["status"]["errorCode"] == 0
        and r["ipAddress"] in ips
    ]
    assert wins and all(r["authenticationRequirement"] == "singleFactorAuthentication" for r in wins)
    assert any(c.user == victim and c.evidence == "success" for c in camp.compromised)
    # attackers use the same residential ASNs as employees
    benign_asns = {r["autonomousSystemNumber"] for r in recs if r["ipAddress"] not in ips}
    assert asns & benign_asns


def test_benign_preset_has_no_campaigns_but_labelled_traps(benign):
    res, recs = benign
    assert res.truth.campaigns == [] and res.truth.chain is None
    kinds = {t.kind for t in res.truth.benign_traps}
    assert {"password_expiry_wave", "stale_password_phone", "misconfigured_service_account"} <= kinds
    wave = next(t for t in res.truth.benign_traps if t.kind == "password_expiry_wave")
    nat = Counter(
        r["ipAddress"]
        for r in recs
        if r["status"]["errorCode"] in (50055, 50144, 50126)
        and r["userPrincipalName"].lower() in wave.target_users
    )
    assert max(nat.values()) >= 10  # dozens failing behind one office address
    phone = next(t for t in res.truth.benign_traps if t.kind == "stale_password_phone")
    eas = [
        r
        for r in recs
        if r["userPrincipalName"].lower() == phone.target_users[0]
        and r["clientAppUsed"] == "Exchange ActiveSync"
    ]
    assert len(eas) == phone.event_count and len(eas) > 50


def test_lines_are_graph_signin_objects(demo):
    res, recs = demo
    services = set(res.truth.tenant["service_accounts"])
    types = {
        "id": str,
        "createdDateTime": str,
        "userPrincipalName": str,
        "userId": str,
        "appId": str,
        "appDisplayName": str,
        "ipAddress": str,
        "clientAppUsed": str,
        "correlationId": str,
        "isInteractive": bool,
        "signInEventTypes": list,
        "authenticationRequirement": str,
        "authenticationProtocol": str,
        "userAgent": str,
        "autonomousSystemNumber": int,
        "status": dict,
        "location": dict,
        "deviceDetail": dict,
        "conditionalAccessStatus": str,
        "resourceDisplayName": str,
        "riskLevelDuringSignIn": str,
    }
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    for r in recs:
        for k, t in types.items():
            assert isinstance(r[k], t), (k, r[k])
        assert uuid.match(r["id"]) and uuid.match(r["correlationId"]) and ts.match(r["createdDateTime"])
        assert r["signInEventTypes"] == (
            ["interactiveUser"] if r["isInteractive"] else ["nonInteractiveUser"]
        )
        assert r["authenticationRequirement"] in ("multiFactorAuthentication", "singleFactorAuthentication")
        assert isinstance(r["status"]["errorCode"], int) and isinstance(r["status"]["failureReason"], str)
        assert set(r["location"]) == {"city", "state", "countryOrRegion", "geoCoordinates"}
        geo = r["location"]["geoCoordinates"]  # as Entra writes it: the city's coordinates
        assert -90 <= geo["latitude"] <= 90 and -180 <= geo["longitude"] <= 180 and geo["altitude"] is None
        assert {"deviceId", "operatingSystem", "browser", "isCompliant", "isManaged", "trustType"} <= set(
            r["deviceDetail"]
        )
    created = [r["createdDateTime"] for r in recs]
    assert created == sorted(created)
    assert len({r["id"] for r in recs}) == len(recs)
    share = sum(not r["isInteractive"] for r in recs) / len(recs)
    assert 0.6 < share < 0.95  # non-interactive refreshes dominate, as in real tenants
    mfa = [
        r
        for r in recs
        if r["isInteractive"]
        and r["status"]["errorCode"] == 0
        and r["userType"] == "member"
        and r["userPrincipalName"].lower() not in services
    ]
    assert (
        0.7
        < sum(r["authenticationRequirement"] == "multiFactorAuthentication" for r in mfa) / len(mfa)
        < 0.99
    )


def test_portal_csv_has_documented_quirks(demo):
    res, recs = demo
    rows = 0
    for key, interactive in (("csv_interactive", True), ("csv_noninteractive", False)):
        with open(res.files[key], encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            assert header == PORTAL_HEADER
            assert (
                "Application ID " in header
                and "Resource ID " in header
                and "Autonomous system  number" in header
            )
            assert header.count("Incoming token type") == 2
            body = list(reader)
            rows += len(body)
            assert {r[header.index("Status")] for r in body} <= {"Success", "Failure", "Interrupted"}
            assert all(r[header.index("Location")].count(",") <= 2 for r in body)
        assert len(body) == sum(r["isInteractive"] == interactive for r in recs)
    assert rows == len(recs)


def test_chain_files_use_documented_operation_names(demo):
    res, _ = demo
    audit = [json.loads(x) for x in res.files["audit"].read_text(encoding="utf-8").splitlines()]
    ops = Counter(a["activityDisplayName"] for a in audit)
    for op in (
        CERTS_OP,
        "Add application",
        "Add service principal",
        "Add user",
        "Add member to role",
        "Consent to application",
        "Add delegated permission grant",
        "Add app role assignment to service principal",
    ):
        assert ops[op] >= 1, op
    assert CERTS_OP.endswith(" ") and "–" in CERTS_OP
    grants = [a for a in audit if a["activityDisplayName"] == "Add app role assignment to service principal"]
    props = {
        p["displayName"]: json.loads(p["newValue"])
        for a in grants
        for p in a["targetResources"][0]["modifiedProperties"]
        if p["displayName"] in ("AppRole.Id", "AppRole.Value")
    }
    assert any(
        json.loads(p["newValue"]) == FULL_ACCESS_AS_APP
        for a in grants
        for p in a["targetResources"][0]["modifiedProperties"]
    )
    assert "full_access_as_app" in {
        json.loads(p["newValue"]) for a in grants for p in a["targetResources"][0]["modifiedProperties"]
    }
    assert props
    assert ops[CERTS_OP] >= 4  # the attacker's two and a benign rotation (add + remove)
    times = [a["activityDateTime"] for a in audit]
    assert times == sorted(times)
    chain = res.truth.chain
    mail = [json.loads(x) for x in res.files["mail_access"].read_text().splitlines()]
    evil = [m for m in mail if m["ClientAppId"] == chain["malicious_app"]["appId"]]
    assert {m["MailboxOwnerUPN"].lower() for m in evil} == set(chain["mailboxes_read"])
    assert all(m["ClientInfoString"].startswith("Client=WebServices") for m in evil)
    assert (
        len({m["MailboxOwnerUPN"] for m in mail if m["ClientAppId"] != chain["malicious_app"]["appId"]}) > 10
    )


def test_mailboxes_hold_the_secrets_the_truth_lists(demo):
    res, _ = demo
    secrets = res.truth.chain["secrets"]
    assert {s["kind"] for s in secrets} == {
        "aws",
        "github",
        "azure_storage",
        "password_prose",
        "env_zip",
        "base64_attachment",
    }
    text = "".join(p.read_text() for p in res.files["mail"].glob("*.mbox"))
    found = {
        hashlib.sha256(m.encode()).hexdigest()
        for m in re.findall(r"AKIA[A-Z2-7]{16}|ghp_[0-9A-Za-z]{36}", text)
    }
    listed = {
        s["sha256"]
        for s in secrets
        if s["family"] in ("aws_access_key_id", "github_pat") and s["location"] == "body"
    }
    assert listed and listed <= found
    assert "secret" not in json.dumps(res.truth.chain["secrets"]).lower().replace("aws_secret_access_key", "")


def test_directory_exports(demo):
    res, _ = demo
    users = json.loads(res.files["users"].read_text())["value"]
    reg = json.loads(res.files["registration"].read_text())["value"]
    victim = res.truth.chain["compromised_account"]
    v = next(u for u in users if u["userPrincipalName"].lower() == victim)
    assert v["signInActivity"]["lastSuccessfulSignInDateTime"] >= res.truth.period["start"]
    r = next(x for x in reg if x["userPrincipalName"].lower() == victim)
    assert r["isMfaRegistered"] is False and r["methodsRegistered"] == []
    assert res.truth.chain["new_user"] in {u["userPrincipalName"].lower() for u in users}
    assert 0.8 < sum(x["isMfaRegistered"] for x in reg if x["userType"] == "member") / len(reg) < 0.99


def test_volume_scales_with_users_and_target(tmp_path):
    small = simulate(SimConfig.benign(seed=2, users=100, days=2, directory=False), tmp_path / "s")
    per_user_day = small.signin_count / (100 * 2)
    assert 8 < per_user_day < 60
    big = simulate(
        SimConfig(seed=2, users=100, days=2, target_events=20_000, benign_traps=False, directory=False),
        tmp_path / "b",
    )
    assert big.truth.tenant["users"] > small.truth.tenant["users"]
    assert 0.5 * 20_000 < big.signin_count < 2 * 20_000


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        AttackSpec("phishing")
    with pytest.raises(ValueError):
        SimConfig(formats=("xml",))
    with pytest.raises(ValueError):
        SimConfig(chain=True)


def test_mail_access_fields_match_the_real_export(demo):
    real = json.loads(
        dataset("office365/OTRF_GoldenSAMLADFSMailAccess_OfficeActivity_MailItemsAccessed.jsonl")
        .read_text()
        .splitlines()[0]
    )
    res, _ = demo
    ours = json.loads(res.files["mail_access"].read_text().splitlines()[0])
    core = {
        "Operation",
        "UserId",
        "MailboxOwnerUPN",
        "ClientInfoString",
        "Client_IPAddress",
        "Folders",
        "OperationProperties",
        "AppId",
        "ClientAppId",
        "TimeGenerated",
        "Logon_Type",
        "RecordType",
        "Type",
    }
    assert core <= set(real) and core <= set(ours)
    assert isinstance(ours["Folders"], str) and isinstance(
        ours["OperationProperties"], str
    )  # JSON text, as exported


def test_audit_operation_name_matches_the_real_export():
    real = {
        json.loads(x)["OperationName"]
        for x in dataset("entra-audit/OTRF_GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    }
    assert CERTS_OP in real


def test_guessing_is_one_source_with_a_dozen_guesses_per_account_and_is_found(tmp_path):
    """The guessing kind sits between a spray (a few passwords per account) and a brute force (many
    at one account): one address, 11-19 guesses at each of 20-120 accounts. The hunt reports it as
    ``bruteforce.multi_account`` naming that address, and its success as a compromise."""
    from nightowl.ingest import ingest_paths
    from nightowl.pipeline import detect
    from nightowl.store import Store

    cfg = SimConfig(seed=32, users=400, days=6, attacks=[AttackSpec("guessing", params={"compromise": True})])
    res = simulate(cfg, tmp_path)
    camp = res.truth.campaign("guessing")
    recs = [r for r in _signins(res.files["signins"]) if r["ipAddress"] in set(camp.source_ips)]
    assert len(camp.source_ips) == 1 and 20 <= len(camp.target_users) <= 120
    per_user = Counter(r["userPrincipalName"].lower() for r in recs)
    assert min(per_user.values()) >= 11 and max(per_user.values()) <= 20  # a success adds one
    with Store() as store:
        ingest_paths(store, [str(res.files["signins"])])
        findings = detect(store)
    [guess] = [f for f in findings if f.detection == "bruteforce.multi_account"]
    assert guess.source_ips == camp.source_ips and guess.category == "brute_force"
    compromised = {
        u for f in findings if f.detection == "compromise.after_attack" for u in f.compromised_users
    }
    assert {c.user for c in camp.compromised} <= compromised
