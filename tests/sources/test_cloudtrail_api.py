"""CloudTrail API calls -> ``credential_uses``: a fixture written from AWS's documented record contents
(userIdentity for an IAM user's access key, an assumed role's temporary key, an AWS service event,
an AccessDenied error) and the real OTRF sample; ingest accounts each record once across both tables."""

from __future__ import annotations

from pathlib import Path

from nightowl.ingest import ingest_paths
from nightowl.store import Store
from tests.conftest import dataset

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail" / "api_calls.json"


def uses(store: Store) -> dict[str, dict]:
    return {r["event_uid"][-1]: r for r in store.query("SELECT * FROM credential_uses")}


def test_api_calls_keep_key_id_address_action_resource_outcome() -> None:
    with Store() as store:
        report = ingest_paths(store, [str(FIXTURE)])[0]
        t = report.tally
        assert (t.records, t.normalized, t.ignored, t.quarantined) == (6, 6, 0, 0)
        assert store.row_count("auth_events") == 1  # the ConsoleLogin
        rows = uses(store)
        assert set(rows) == {"1", "2", "3", "4", "5"}
        who = rows["1"]
        assert (who["credential_id"], who["actor"], who["src_ip"], who["action"], who["api"]) == (
            "AKIAQW3RT5YU7IO9PA2S",
            "deploy-bot",
            "203.0.113.25",
            "GetCallerIdentity",
            "sts.amazonaws.com",
        )
        assert (who["outcome"], who["account"], who["credential_type"]) == (
            "success",
            "111122223333",
            "IAMUser",
        )
        assert (rows["2"]["outcome"], rows["2"]["error_code"]) == ("failure", "AccessDenied")
        assert rows["3"]["resource"] == "prod/payments/db" and rows["3"]["region"] == "eu-west-1"
        assert rows["4"]["resource"] == "example-builds/release/app.tar.gz"
        assert (rows["4"]["credential_id"], rows["4"]["actor"]) == (
            "ASIAZXCVBNMQWERTYUIO",
            "alice@example.com",
        )
        assert rows["5"]["credential_id"] is None and rows["5"]["resource"].startswith("arn:aws:kms:")


def test_overlapping_exports_add_no_api_call_twice(tmp_path: Path) -> None:
    copy = tmp_path / "again.json"
    copy.write_bytes(FIXTURE.read_bytes().replace(b'"eventVersion": "1.09"', b'"eventVersion":"1.09"', 1))
    with Store() as store:
        ingest_paths(store, [str(FIXTURE)])
        again = ingest_paths(store, [str(copy)])[0].tally
        assert store.row_count("credential_uses") == 5
        assert (again.records, again.normalized, again.ignored) == (6, 0, 6)


def test_real_otrf_sample_lands_in_credential_uses() -> None:
    path = dataset("aws-cloudtrail/OTRF_ec2_proxy_s3_exfiltration_cloudtrail.json")
    with Store() as store:
        t = ingest_paths(store, [str(path)])[0].tally
        assert t.records == t.normalized + t.ignored + t.quarantined
        n = store.row_count("credential_uses")
        assert n == t.normalized > 0
        keyed = store.query("SELECT count(*) AS n FROM credential_uses WHERE credential_id IS NOT NULL")[0][
            "n"
        ]
        assert keyed > 0
