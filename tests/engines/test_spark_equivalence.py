"""The Spark engine gives the findings the DuckDB engine gives: same ids, categories, severities,
addresses, users and compromised users, and every other field (summary, evidence) too, on simulated tenants (every attack kind with the
post-compromise chain, and a benign one). Spark runs in local mode with one shared session.

Skipped, with the reason, when PySpark or Java is missing (``pip install -e '.[test]'`` installs
PySpark; ``.ci/run`` installs Java)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nightowl.detections.runner import run_all
from nightowl.engines.spark import SparkEngine, read_parquet_tables
from nightowl.ingest import ingest_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.simulate.config import ATTACK_KINDS, AttackSpec
from nightowl.store import Store

pyspark = pytest.importorskip("pyspark", reason="PySpark not installed (pip install -e '.[test]')")
if not shutil.which("java"):
    pytest.skip("no java on PATH (apt-get install openjdk-17-jre-headless)", allow_module_level=True)

TENANTS = {
    "every attack kind and the chain": SimConfig(
        seed=5, users=150, days=8, attacks=[AttackSpec(k) for k in ATTACK_KINDS], chain=True
    ),
    "benign": SimConfig.benign(seed=2, users=150, days=7),
    # every takeover kind among its benign look-alikes: the per-identity profiles and the five
    # account_takeover rules all run on both engines; four of them find something here (the first
    # legacy-protocol success has no case of its own in this tenant: the revived dormant account's
    # legacy sign-in is told by the dormant-account rule)
    "takeovers": SimConfig.preset("takeover", seed=3, users=150, days=14),
}


def _key(f):
    """What must match; the title too, since it carries the figures the rule computed (a CAST of a
    double to an integer rounds on DuckDB and truncates on Spark: 17144 km vs 17143 km)."""
    return (f.id, f.detection, f.category, f.severity, f.users, f.source_ips, f.compromised_users, f.title)


def _whole(findings) -> dict[str, dict]:
    """Every field of every finding as JSON would carry it: evidence (its lists in order, NULLs,
    empty filters and histograms, the records a rule picks), summaries with their computed figures."""
    return {f.id: json.loads(json.dumps(f.to_dict(), sort_keys=True, default=str)) for f in findings}


def _differences(expected, got) -> list[tuple[str, str, str]]:
    """(detection, finding id, field or evidence key) for every field that is not the same."""
    a, b = _whole(expected), _whole(got)
    out = []
    for fid in sorted(set(a) & set(b)):
        x, y = a[fid], b[fid]
        for k in sorted(set(x) | set(y)):
            if k == "evidence" and isinstance(x.get(k), dict) and isinstance(y.get(k), dict):
                out += [
                    (x["detection"], fid, f"evidence.{e}")
                    for e in sorted(set(x[k]) | set(y[k]))
                    if x[k].get(e) != y[k].get(e)
                ]
            elif x.get(k) != y.get(k):
                out.append((x["detection"], fid, k))
    return out


@pytest.mark.parametrize("name", list(TENANTS))
def test_spark_and_duckdb_give_the_same_findings(name, spark, tmp_path):
    sim = simulate(TENANTS[name], tmp_path / "tenant")
    files = [
        str(p)
        for k, p in sim.files.items()
        if k in ("signins", "app_signins", "audit", "mail_access", "users", "registration")
    ]
    with Store() as store:
        ingest_paths(store, files)
        expected = run_all(store)
        store.write_lake(tmp_path / "lake")
    got = run_all(SparkEngine(spark, read_parquet_tables(spark, str(tmp_path / "lake"))))
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    # and the rest of each finding: summaries, evidence values and the order of their lists
    assert _differences(expected, got) == []
    if name == "every attack kind and the chain":
        assert {f.category for f in expected} >= {
            "password_spray",
            "brute_force",
            "credential_stuffing",
            "app_signin",
        }
    if name == "takeovers":
        assert {f.detection for f in expected if f.category == "account_takeover"} >= {
            "takeover.unfamiliar_signin",
            "takeover.session_two_networks",
            "takeover.dormant_account",
            "takeover.impossible_travel",
        }


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_spark_finds_ipless_hosts_and_roastable_accounts_like_duckdb(spark, tmp_path):
    """Sources named by host (host:NAME keys), the per-second burst window and Kerberos tickets
    without pre-authentication, from the Windows and sshd fixtures."""
    files = [
        FIXTURES / "windows" / "securityevent_ipless_kerberos.csv",
        FIXTURES / "sshd" / "pam_journal.log",
        FIXTURES / "sshd" / "journal_sshd.json",
    ]
    with Store() as store:
        ingest_paths(store, [str(p) for p in files])
        expected = run_all(store)
        store.write_lake(tmp_path / "lake")
    got = run_all(SparkEngine(spark, read_parquet_tables(spark, str(tmp_path / "lake"))))
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert _differences(expected, got) == []
    assert {(f.detection, tuple(f.source_ips)) for f in expected} >= {("bruteforce.burst", ("host:kali",))}
    assert "kerberos.no_preauth" in {f.detection for f in expected}


def test_spark_counts_failures_without_a_user_name_like_duckdb(spark, tmp_path):
    """Failures whose log names no account (prepare's unnamed_attempts): a burst of them, a burst
    that mixes them with a named account, an enumeration of unknown accounts, a spray's extra count."""
    from nightowl.schema import batch_from_rows
    from tests.detections.events import Events

    ev = Events()
    for i in range(12):
        ev.add(i * 0.05, None, "203.0.113.1")
        ev.add(60 + i * 0.05, None, "203.0.113.3", "no_user")
    for i in range(6):
        ev.add(120 + i * 0.1, "root", "203.0.113.2")
        ev.add(120.05 + i * 0.1, None, "203.0.113.2", "no_user")
    for i in range(30):
        ev.add(300 + i * 0.5, f"user{i}@corp.example", "203.0.113.4")
    for i in range(7):
        ev.add(300.25 + i * 2, None, "203.0.113.4")
    with Store() as store:
        store.append(batch_from_rows(sorted(ev.rows, key=lambda r: r["time"])))
        expected = run_all(store)
        store.write_lake(tmp_path / "lake")
    got = run_all(SparkEngine(spark, read_parquet_tables(spark, str(tmp_path / "lake"))))

    def key(f):
        return (*_key(f), sorted(f.counts.items()))

    assert sorted(map(key, got)) == sorted(map(key, expected))
    unnamed = {(f.detection, f.source_ips[0]): f.counts.get("unnamed_attempts") for f in expected}
    assert unnamed[("bruteforce.burst", "203.0.113.1")] == 12
    assert unnamed[("bruteforce.burst", "203.0.113.2")] == 6
    assert unnamed[("enumeration.single_source", "203.0.113.3")] == 12
    assert unnamed[("spray.single_source", "203.0.113.4")] == 7


def test_spark_tells_password_guessing_from_a_spray_like_duckdb(spark, tmp_path):
    """One source cycling a dozen passwords through forty accounts (spray.single_source's
    bruteforce.multi_account shape, with its own ATT&CK technique) and its success, next to a spray."""
    from nightowl.schema import batch_from_rows
    from tests.detections.events import Events

    ev = Events()
    for rnd in range(12):
        for i in range(40):
            ev.add(rnd * 20 + i * 0.4, f"user{i}@corp.example", "203.0.113.5", ua="", client="NTLM")
    ev.add(245, "user7@corp.example", "203.0.113.5", "ok", ua="", client="NTLM", mfa=False)
    for i in range(30):
        ev.add(600 + i * 0.5, f"user{i}@corp.example", "203.0.113.6")
    with Store() as store:
        store.append(batch_from_rows(sorted(ev.rows, key=lambda r: r["time"])))
        expected = run_all(store)
        store.write_lake(tmp_path / "lake")
    got = run_all(SparkEngine(spark, read_parquet_tables(spark, str(tmp_path / "lake"))))
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert _differences(expected, got) == []
    shapes = {
        f.source_ips[0]: (f.detection, f.category, f.attack)
        for f in got
        if f.category != "account_compromise"
    }
    assert shapes == {
        "203.0.113.5": ("bruteforce.multi_account", "brute_force", ["T1110.001"]),
        "203.0.113.6": ("spray.single_source", "password_spray", ["T1110.003"]),
    }
