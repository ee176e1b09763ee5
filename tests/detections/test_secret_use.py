"""The join from secret findings to their uses, tested on sequences of GitHub audit and CloudTrail
events (written in the vendors' documented shapes) and asserted on the resulting findings and notes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from nightowl.detections.secret_use import hash_b64, key_pairs, network, secret_use
from nightowl.findings import Finding, stable_id
from nightowl.ingest import ingest_paths
from nightowl.store import Store

TOKEN = "ghp_Qz7Lm2Nx8Rw4Tp6Vs0Yb3Cd5Fg9Hj1Kk2Ll4"  # fake
KEY_ID, SECRET_KEY = "AKIAQW3RT5YU7IO9PA2S", "kq2Zp8Lm4Nx6Rw0Tp2Vs4Yb6Cd8Fg0Hj2Kl4Mn6"  # fake
SPRAY_IPS = ["45.83.1.10", "91.203.7.22", "185.220.9.31"]
OFFICE = "198.51.100.7"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def secret(
    rule: str, value: str, message: str = "<m1@corp.example>", line: int = 3, date: str | None = None
) -> Finding:
    loc = {"path": "mail/alice.mbox", "line": line, "message_id": message, "part": "1"}
    if date:
        loc["date"] = date
    return Finding(
        id=stable_id(rule, sha(value)),
        detection=rule,
        category="secret",
        severity="high",
        title=rule,
        extra={"rule": rule, "secret_sha256": sha(value), "redacted": value[:4] + "…", "locations": [loc]},
    )


def spray() -> Finding:
    return Finding(
        id="spray1",
        detection="spray.distributed",
        category="password_spray",
        severity="high",
        title="spray",
        source_ips=SPRAY_IPS,
    )


def gh(
    ts: str, action: str, ip: str, repo: str | None = None, token: str | None = TOKEN, actor: str = "alice"
) -> dict:
    from datetime import datetime

    ms = int(datetime.fromisoformat(ts + "+00:00").timestamp() * 1000)
    ev = {"@timestamp": ms, "_document_id": f"{ts}-{action}-{ip}-{repo}", "action": action, "actor": actor,
          "actor_ip": ip, "org": "corp", "org_id": 1, "created_at": ms}  # fmt: skip
    if repo:
        ev["repo"] = f"corp/{repo}"
    if token:
        ev |= {
            "hashed_token": hash_b64(sha(token)),
            "programmatic_access_type": "Personal access token (classic)",
        }
    return ev


def ct(ts: str, name: str, ip: str, error: str | None = None, key: str = KEY_ID) -> dict:
    ev = {"eventVersion": "1.09", "eventTime": ts + "Z", "eventSource": "s3.amazonaws.com", "eventName": name,
          "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "aws-cli/2.22.10",
          "eventID": f"{ts}-{name}-{ip}", "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
          "requestParameters": {"bucketName": "corp-builds"},
          "userIdentity": {"type": "IAMUser", "userName": "deploy-bot", "accessKeyId": key,
                           "arn": "arn:aws:iam::111122223333:user/deploy-bot", "accountId": "111122223333"}}  # fmt: skip
    if error:
        ev["errorCode"] = error
    return ev


def store_with(
    tmp_path: Path, github: list[dict] | None = None, cloudtrail: list[dict] | None = None
) -> Store:
    store = Store()
    paths = []
    if github is not None:
        p = tmp_path / "github-audit.json"
        p.write_bytes(orjson.dumps(github))
        paths.append(str(p))
    if cloudtrail is not None:
        p = tmp_path / "cloudtrail.json"
        p.write_bytes(orjson.dumps({"Records": cloudtrail}))
        paths.append(str(p))
    ingest_paths(store, paths)
    return store


def owner_history() -> list[dict]:
    """Alice uses her token from the office for two weeks before it is mailed."""
    return [gh(f"2024-11-{d:02d}T09:00:00", "git.fetch", OFFICE, "api") for d in range(18, 30)]


def test_token_used_from_the_spray_addresses_is_critical_and_joins_the_attack(tmp_path: Path) -> None:
    theft = [gh(f"2024-12-03T02:{i:02d}:00", "git.clone", SPRAY_IPS[i % 3], f"repo{i}") for i in range(12)]
    routine = [gh("2024-12-03T09:00:00", "git.fetch", OFFICE, "api")]
    tok = secret("github.pat-classic", TOKEN, date="2024-12-01T10:00:00Z")
    with store_with(tmp_path, github=owner_history() + theft + routine) as store:
        out = secret_use(store, [spray(), tok])
    assert len(out) == 1
    f = out[0]
    assert (f.category, f.severity) == ("secret_used", "critical")
    assert sorted(f.source_ips) == sorted(SPRAY_IPS) and f.counts["attempts"] == 12
    assert f.evidence["attack_finding_ids"] == ["spray1"] and f.evidence["secret_finding_ids"] == [tok.id]
    assert f.summary.startswith(
        "the GitHub token sent in message <m1@corp.example> on 2024-12-01 was used 12 time(s) "
        "from 3 of the attack's addresses to clone 12 repositories"
    )
    assert (f.first_seen, f.last_seen) == ("2024-12-03T02:00:00Z", "2024-12-03T02:11:00Z")
    use = tok.extra["use"]
    assert use["status"] == "used" and use["uses"] == 12 + 12 + 1 and use["suspicious_uses"] == 12
    assert use["first_use"] == "2024-11-18T09:00:00Z"


def test_owner_using_it_as_usual_is_not_a_finding(tmp_path: Path) -> None:
    after = [gh("2024-12-04T09:30:00", "git.push", "198.51.100.99", "api")]  # same office /24
    tok = secret("github.pat-classic", TOKEN, date="2024-12-01T10:00:00Z")
    with store_with(tmp_path, github=owner_history() + after) as store:
        assert secret_use(store, [spray(), tok]) == []
    assert tok.extra["use"]["status"] == "used" and tok.extra["use"]["suspicious_uses"] == 0


def test_use_from_a_new_network_without_attack_link_is_high(tmp_path: Path) -> None:
    after = [gh("2024-12-04T21:00:00", "repo.download_zip", "203.0.113.50", "payments")]
    tok = secret("github.pat-classic", TOKEN, date="2024-12-01T10:00:00Z")
    with store_with(tmp_path, github=owner_history() + after) as store:
        (f,) = secret_use(store, [tok])
    assert f.severity == "high" and f.source_ips == ["203.0.113.50"] and "from a new network" in f.title


def test_without_a_mail_date_the_owner_history_is_what_they_did_without_the_token(tmp_path: Path) -> None:
    web = [gh("2024-11-20T09:00:00", "repo.create", OFFICE, "api", token=None)]
    uses = [
        gh("2024-11-21T09:00:00", "git.fetch", OFFICE, "api"),
        gh("2024-11-22T03:00:00", "git.clone", "203.0.113.50", "x"),
    ]
    tok = secret("github.pat-classic", TOKEN)
    with store_with(tmp_path, github=web + uses) as store:
        (f,) = secret_use(store, [tok])
    assert f.source_ips == ["203.0.113.50"] and f.counts["attempts"] == 1


def test_no_use_says_which_logs_were_given_and_missing_logs_are_named(tmp_path: Path) -> None:
    other = [
        gh(
            "2024-11-20T09:00:00",
            "git.fetch",
            OFFICE,
            "api",
            token="ghp_someoneElsesTokenAAAAAAAAAAAAAAAAAAA",
        )
    ]
    tok = secret("github.pat-classic", TOKEN)
    aws = secret("aws.access-key-id", KEY_ID)
    slack = secret("slack.bot-token", "xoxb-not-a-real-token")
    with store_with(tmp_path, github=other) as store:
        assert secret_use(store, [tok, aws, slack]) == []
    assert tok.extra["use"]["status"] == "no_use_in_logs"
    assert "github-audit.json" in tok.extra["use"]["why"] and "2024-11-20" in tok.extra["use"]["why"]
    assert aws.extra["use"]["status"] == "no_log" and "CloudTrail was not given" in aws.extra["use"]["why"]
    assert slack.extra["use"]["status"] == "not_checkable"


def test_aws_key_pair_joins_by_key_id_and_counts_refusals(tmp_path: Path) -> None:
    key_id = secret("aws.access-key-id", KEY_ID, line=3)
    secret_key = secret("aws.secret-access-key", SECRET_KEY, line=4)
    lone_key = secret("aws.secret-access-key", "zz2Zp8Lm4Nx6Rw0Tp2Vs4Yb6Cd8Fg0Hj2Kl4Mn6", message="<other@x>")
    trail = [
        ct("2024-11-25T10:00:00", "ListObjects", OFFICE),
        ct("2024-12-03T02:30:00", "ListBuckets", SPRAY_IPS[0], error="AccessDenied"),
        ct("2024-12-03T02:31:00", "GetObject", SPRAY_IPS[1]),
        ct("2024-12-03T02:32:00", "GetObject", OFFICE, key="AKIAOTHERKEYEXAMPLE0"),
    ]
    assert key_pairs([key_id, secret_key, lone_key]) == {secret_key.id: key_id}
    with store_with(tmp_path, cloudtrail=trail) as store:
        (f,) = secret_use(store, [spray(), key_id, secret_key, lone_key])
    assert f.severity == "critical" and f.counts["failures"] == 1 and f.counts["attempts"] == 2
    assert f.evidence["secret_finding_ids"] == [key_id.id, secret_key.id]
    assert "AccessDenied" in f.summary and f.evidence["resources"] == ["corp-builds"]
    assert secret_key.extra["use"]["access_key_finding"] == key_id.id
    assert secret_key.extra["use"]["status"] == "used"
    assert lone_key.extra["use"]["status"] == "not_checkable"


def test_networks() -> None:
    assert network("203.0.113.77") == "203.0.113.0/24"
    assert network("2001:db8:1:2:3::9") == "2001:db8:1:2::/64"
    assert network("::ffff:10.1.2.3") == "10.1.2.0/24"
    assert network("not an ip") is None


def test_hunt_reads_secret_findings_json_and_reports_their_use(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from nightowl.findings import document

    theft = [gh(f"2024-12-03T02:{i:02d}:00", "git.clone", "203.0.113.50", f"repo{i}") for i in range(4)]
    audit = tmp_path / "audit.json"
    audit.write_bytes(orjson.dumps(owner_history() + theft))
    tok = secret("github.pat-classic", TOKEN, date="2024-12-01T10:00:00Z")
    found = tmp_path / "secrets.json"
    found.write_text(json.dumps(document([tok], [])))
    proc = subprocess.run(
        [sys.executable, "-m", "nightowl", "hunt", str(audit), "--secrets", str(found), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by_cat = {f["category"]: f for f in doc["findings"]}
    assert by_cat["secret"]["use"]["status"] == "used"
    assert by_cat["secret_used"]["counts"]["attempts"] == 4 and TOKEN not in proc.stdout


def test_exposure_before_the_logs_begin_keeps_the_owners_daily_routine_usual(tmp_path: Path) -> None:
    tok = secret("github.pat-classic", TOKEN, date="2024-10-01T10:00:00Z")  # long before the audit log
    routine = owner_history()  # twelve days from the office, all after the exposure
    one_night = [gh("2024-12-02T03:00:00", "git.clone", "203.0.113.50", f"r{i}") for i in range(3)]
    with store_with(tmp_path, github=routine + one_night) as store:
        (f,) = secret_use(store, [tok])
    assert f.source_ips == ["203.0.113.50"] and f.counts["attempts"] == 3


def test_scanned_mail_carries_its_date_into_the_finding_and_the_join(tmp_path: Path) -> None:
    from nightowl.secrets.scan import ScanOptions, scan_paths

    eml = tmp_path / "ci-token.eml"
    eml.write_text(
        "From: bob@corp.example\nTo: alice@corp.example\nSubject: CI token\n"
        "Date: Sun, 01 Dec 2024 11:00:00 +0100\nMessage-ID: <ci-token@corp.example>\n\n"
        f"The pipeline uses this token: {TOKEN}\n"
    )
    (tok,) = [s.to_finding() for s in scan_paths([str(eml)], ScanOptions()).secrets.values()]
    assert tok.extra["locations"][0]["date"] == "2024-12-01T10:00:00Z"
    theft = [gh("2024-12-03T02:00:00", "git.clone", SPRAY_IPS[0], "payments")]
    before = [gh("2024-11-30T02:00:00", "git.clone", SPRAY_IPS[1], "old")]  # before the mail: not counted
    with store_with(tmp_path, github=owner_history() + before + theft) as store:
        (f,) = secret_use(store, [spray(), tok])
    assert f.summary.startswith(
        "the GitHub token sent in message <ci-token@corp.example> on 2024-12-01 was used 1 time(s)"
    )


def test_a_secret_found_in_a_repository_file_gets_the_same_join(tmp_path: Path) -> None:
    from nightowl.secrets.scan import ScanOptions, scan_paths

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "deploy.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    (tok,) = [s.to_finding() for s in scan_paths([str(repo)], ScanOptions()).secrets.values()]
    theft = [gh("2024-12-03T02:00:00", "git.clone", "203.0.113.50", "payments")]
    with store_with(tmp_path, github=owner_history() + theft) as store:
        (f,) = secret_use(store, [tok])
    assert "found in " in f.summary and "deploy.env" in f.summary and f.severity == "high"


def test_without_source_ip_disclosure_a_use_is_known_but_not_called_new(tmp_path: Path) -> None:
    events = [*owner_history(), gh("2024-12-03T02:00:00", "git.clone", SPRAY_IPS[0], "payments")]
    for ev in events:
        del ev["actor_ip"]  # the org never enabled "source IP disclosure"
    tok = secret("github.pat-classic", TOKEN, date="2024-12-01T10:00:00Z")
    with store_with(tmp_path, github=events) as store:
        assert secret_use(store, [spray(), tok]) == []
    assert tok.extra["use"]["status"] == "used" and tok.extra["use"]["addresses"] == []


def test_calls_made_with_a_temporary_key_the_stolen_key_obtained_are_its_uses(tmp_path: Path) -> None:
    key_id = secret("aws.access-key-id", KEY_ID)
    session = ct("2024-12-03T02:30:00", "GetSessionToken", SPRAY_IPS[0])
    session["responseElements"] = {"credentials": {"accessKeyId": "ASIAZXCVBNMQWERTYUIO", "expiration": "x"}}
    derived = ct("2024-12-03T02:35:00", "GetObject", SPRAY_IPS[2], key="ASIAZXCVBNMQWERTYUIO")
    with store_with(tmp_path, cloudtrail=[session, derived]) as store:
        (f,) = secret_use(store, [spray(), key_id])
    assert f.counts["attempts"] == 2 and sorted(f.source_ips) == sorted([SPRAY_IPS[0], SPRAY_IPS[2]])
