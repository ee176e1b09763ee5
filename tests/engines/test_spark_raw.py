"""Spark reads the raw Entra exports where they sit (Graph NDJSON, pages, arrays, pretty-printed
files; the Azure diagnostic-settings storage layout) through the DuckDB readers' own mapping: the
same normalized rows, the same counts of quarantined records, and the same findings as DuckDB."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.simulate import SimConfig, simulate
from nightowl.simulate.config import AttackSpec
from nightowl.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "entra"
ENTRA_FILES = [
    "graph_v1.jsonl",  # a damaged line, a string, a bad time, a record without a user among good ones
    "graph_beta_pages.jsonl",  # Graph pages, one a line
    "graph_beta_pages.json",  # a pretty-printed page
    "graph_beta_array.json",  # a pretty-printed array
    "diagnostic_signins_records.json",  # a pretty-printed {"records": [...]} blob
    "diagnostic_layout",  # the storage account's y=/m=/d=/h=/m=00/PT1H.json folders
]
SPRAYS = SimConfig(
    seed=11,
    users=80,
    days=5,
    attacks=[
        AttackSpec("slow"),
        AttackSpec("distributed"),
        AttackSpec("single_source"),
        AttackSpec("stuffing"),
    ],
)


def _rows(table) -> list[tuple]:
    """Normalized rows without record_ref (Spark names a record by file and event id, not by line)."""
    cols = [c for c in table.column_names if c != "record_ref"]
    return sorted(
        (tuple(table.column(c)[i].as_py() for c in cols) for i in range(table.num_rows)),
        key=lambda r: tuple((v is None, str(v)) for v in r),
    )


def _key(f):
    return (f.id, f.detection, f.category, f.severity, f.users, f.source_ips, f.compromised_users)


def _duckdb(paths: list[str]):
    with Store() as store:
        reports = ingest_paths(store, paths)
        events = store.con.sql("SELECT * FROM auth_events").to_arrow_table()
        return reports, events, run_all(store)


def _spark(spark, paths: list[str]):
    from nightowl.engines.spark import SparkEngine, read_inputs

    tables, inputs = read_inputs(spark, paths)
    return inputs, tables, run_all(SparkEngine(spark, tables))


def test_every_entra_layout_gives_the_rows_duckdb_gives(spark):
    paths = [str(FIX / f) for f in ENTRA_FILES]
    reports, expected, _ = _duckdb(paths)
    from nightowl.engines.spark import read_inputs

    tables, inputs = read_inputs(spark, paths)
    got = tables["auth_events"].toArrow()
    assert got.num_rows == expected.num_rows >= 20
    assert _rows(got) == _rows(expected)
    by_format = defaultdict(lambda: [0, 0])
    for r in reports:
        by_format[r.format][0] += r.tally.normalized
        by_format[r.format][1] += r.tally.quarantined
    assert {i["format"]: [i["normalized"], i["quarantined"]] for i in inputs} == dict(by_format)
    reasons = {q["reason"] for i in inputs for q in i.get("quarantine_sample", [])}
    assert {"invalid JSON", "not a JSON object", "no parseable time"} <= reasons


@pytest.fixture(scope="module")
def sprays(tmp_path_factory):
    return simulate(SPRAYS, tmp_path_factory.mktemp("sprays") / "tenant")


def test_raw_graph_ndjson_on_spark_gives_duckdbs_findings(spark, sprays):
    signins = str(sprays.files["signins"])
    _, _, expected = _duckdb([signins])
    _, _, got = _spark(spark, [signins])
    assert {"password_spray"} <= {f.category for f in expected}
    assert sorted(map(_key, got)) == sorted(map(_key, expected))


def test_diagnostic_settings_layout_on_spark_gives_duckdbs_rows(spark, sprays, tmp_path):
    """The same tenant written as Azure Monitor would archive it: hourly PT1H.json blobs per category,
    some one record a line, some {"records": [...]} on one line, some pretty-printed. Spark's rows
    are DuckDB's rows (the rules then run as the test above and the equivalence test show)."""
    from nightowl.engines.spark import read_inputs

    layout = _diagnostic_layout(Path(sprays.files["signins"]), tmp_path / "archive")
    _, expected, _ = _duckdb([str(layout)])
    tables, inputs = read_inputs(spark, [str(layout)])
    got = tables["auth_events"].toArrow()
    assert got.num_rows == expected.num_rows > 1000
    assert _rows(got) == _rows(expected)
    assert [(i["format"], i["normalized"], i["quarantined"]) for i in inputs] == [
        ("entra-diagnostic-json", expected.num_rows, 0)
    ]


def _diagnostic_layout(graph_ndjson: Path, root: Path) -> Path:
    """Graph sign-ins in Azure Monitor's envelope, at insights-logs-<category>/tenantId=<t>/
    y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json ("Archive Microsoft Entra logs to a storage account")."""
    blobs: dict[Path, list[dict]] = defaultdict(list)
    with open(graph_ndjson, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            when = rec["createdDateTime"]
            category = "SignInLogs" if rec.get("isInteractive", True) else "NonInteractiveUserSignInLogs"
            tenant = rec.get("resourceTenantId") or "00000000-0000-0000-0000-000000000000"
            envelope = {
                "time": when,
                "resourceId": f"/tenants/{tenant}/providers/Microsoft.aadiam",
                "operationName": "Sign-in activity",
                "operationVersion": "1.0",
                "category": category,
                "tenantId": tenant,
                "resultType": str(rec.get("status", {}).get("errorCode", "")),
                "callerIpAddress": rec.get("ipAddress"),
                "correlationId": rec.get("correlationId"),
                "Level": 4,
                "properties": rec,
            }
            folder = (
                root / f"insights-logs-{category.lower()}" / f"tenantId={tenant}"
                / f"y={when[0:4]}" / f"m={when[5:7]}" / f"d={when[8:10]}" / f"h={when[11:13]}" / "m=00"
            )  # fmt: skip
            blobs[folder].append(envelope)
    for i, (folder, records) in enumerate(sorted(blobs.items())):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "PT1H.json", "w", encoding="utf-8") as out:
            if i % 3 == 0:
                out.writelines(json.dumps(r) + "\n" for r in records)
            elif i % 3 == 1:
                out.write(json.dumps({"records": records}) + "\n")
            else:
                out.write(json.dumps({"records": records}, indent=2))
    return root


def test_secret_use_on_spark_gives_duckdbs_findings(spark, sprays, tmp_path):
    """--secrets on Spark: the leaked token used from an address of the spray (GitHub audit log)."""
    import orjson

    from nightowl.engines.spark import hunt_lake
    from nightowl.pipeline import detect
    from tests.detections.test_secret_use import TOKEN, gh, secret

    signins = str(sprays.files["signins"])
    with Store() as store:
        ingest_paths(store, [signins])
        attacker = next(ip for f in detect(store) if f.category == "password_spray" for ip in f.source_ips)
    audit = tmp_path / "github-audit.json"
    audit.write_bytes(orjson.dumps([
        gh("2024-01-01T09:00:00", "git.clone", "198.51.100.7", "api"),  # the owner, before
        gh("2030-01-02T03:00:00", "git.clone", attacker, "api"),  # the thief, from the spray's address
    ]))  # fmt: skip
    leaked = [secret("github.pat-classic", TOKEN, date="2024-06-01T00:00:00Z")]
    with Store() as store:
        ingest_paths(store, [signins, str(audit)])
        expected = detect(store, None, [secret("github.pat-classic", TOKEN, date="2024-06-01T00:00:00Z")])
    got, inputs, _ = hunt_lake([signins, str(audit)], secrets=leaked)
    assert "secret_used" in {f.category for f in expected}
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert "github-audit-json" in {i["format"] for i in inputs}
