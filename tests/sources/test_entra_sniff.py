"""Each sign-in fixture is detected as its own format and as no other; real non-sign-in
samples (Entra AuditLogs, CloudTrail, Windows CSV) are claimed by none of these readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightowl.sources import entra_diagnostic, entra_graph, entra_loganalytics, entra_portal_csv, okta
from nightowl.sources.base import InputFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MINE = [
    *entra_portal_csv.SOURCES,
    *entra_loganalytics.SOURCES,
    *entra_graph.SOURCES,
    *entra_diagnostic.SOURCES,
    *okta.SOURCES,
]
LAYOUT = "entra/diagnostic_layout"

EXPECTED = {
    "entra/graph_v1.jsonl": "entra-graph-json",
    "entra/graph_beta_pages.json": "entra-graph-json",
    "entra/graph_beta_pages.jsonl": "entra-graph-json",
    "entra/graph_beta_array.json": "entra-graph-json",
    "entra/la_signinlogs.jsonl": "entra-la-json",
    "entra/la_signinlogs_az.json": "entra-la-json",
    "entra/la_signinlogs.csv": "entra-la-csv",
    "entra/la_app_signins.jsonl": "entra-la-json",
    "entra/graph_beta_app_signins.json": "entra-graph-json",
    "entra/diagnostic_signins_records.json": "entra-diagnostic-json",
    **{
        p.relative_to(FIXTURES).as_posix(): "entra-diagnostic-json"
        for p in sorted((FIXTURES / LAYOUT).rglob("PT1H.json"))
    },
    "entra/InteractiveSignIns_2024-03-04_2024-03-05.csv": "entra-portal-csv",
    "entra/NonInteractiveSignIns_2024-03-04_2024-03-05.csv": "entra-portal-csv",
    "entra/ApplicationSignIns_2024-03-05_2024-03-06.csv": "entra-portal-csv",
    "entra/MSISignIns_2024-03-05_2024-03-06.csv": "entra-portal-csv",
    "okta/system_log.json": "okta-system-log",
    "okta/system_log.jsonl": "okta-system-log",
    "okta/sentinel_okta_cl.json": "okta-sentinel-json",
    "okta/sentinel_okta_cl.csv": "okta-sentinel-csv",
    "okta/sentinel_oktav2_cl.json": "okta-sentinel-v2-json",
    "okta/sentinel_oktav2_cl.csv": "okta-sentinel-v2-csv",
}


@pytest.mark.parametrize("rel,fmt", sorted(EXPECTED.items()))
def test_each_fixture_is_sniffed_as_its_own_format_only(rel, fmt):
    path = FIXTURES / rel
    head = InputFile(path.name, path).head()
    assert [s.name for s in MINE if s.sniff(head, path.name)] == [fmt]


def test_every_fixture_is_covered():
    present = {
        p.relative_to(FIXTURES).as_posix()
        for d in ("entra", "okta")
        for p in (FIXTURES / d).rglob("*")
        if p.is_file()
    }
    assert present == set(EXPECTED)


@pytest.mark.parametrize(
    "rel",
    [
        "entra-audit/OTRF_GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl",
        "aws-cloudtrail/AzureSentinel_AWSCloudTrail_ConsoleLogin_excerpt.csv",
        "aws-cloudtrail/OTRF_ec2_proxy_s3_exfiltration_cloudtrail.json",
        "windows-csv/msticpy_host_logons_SecurityEvent_4624.csv",
        "office365/OTRF_GoldenSAMLADFSMailAccess_M365D_CloudAppEvents_mixed.jsonl",
        "office365/OTRF_GoldenSAMLADFSMailAccess_OfficeActivity_MailItemsAccessed.jsonl",
        "linux-sshd/OpenSSH_2k.log",
    ],
)
def test_real_non_signin_samples_are_not_claimed(rel):
    from tests.conftest import dataset

    path = dataset(rel)
    head = InputFile(path.name, path).head()
    assert [s.name for s in MINE if s.sniff(head, path.name)] == []


def test_la_reader_ignores_the_real_audit_log_export():
    """Forced onto the real AuditLogs export, the LA reader ignores every row (never a sign-in)."""
    from nightowl.sources.base import ReadOptions, Tally
    from tests.conftest import dataset

    path = dataset("entra-audit/OTRF_GoldenSAMLADFSMailAccess_AADAuditEvents.jsonl")
    tally = Tally()
    rows = sum(
        b.num_rows
        for b in entra_loganalytics.SOURCES[0].read(InputFile(path.name, path), tally, ReadOptions())
    )
    lines = sum(1 for line in path.read_text().splitlines() if line.strip())
    assert rows == 0 and tally.quarantined == 0 and tally.ignored == lines > 0
