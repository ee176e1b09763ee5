"""``status.additionalDetails`` decides MFA where the rest of an Entra sign-in does not say it right.

Microsoft's signIn resource documents ``status.additionalDetails`` ("Provides additional details on
the sign-in activity"); in exports it says how MFA went: "MFA requirement satisfied by claim in the
token" (a success whose ``authenticationRequirement`` is single-factor, MFA done earlier) and
"MFA requirement skipped due to IP address" (per-user MFA's trusted IPs: the requirement says
multiFactorAuthentication, but only the password was checked). Both shapes were seen in public
exports; the records here are written by hand from the documented schema. The same text reaches the
Graph reader (robust, Python and clean-NDJSON paths), the diagnostic-settings envelope and the Log
Analytics ``Status`` column (a JSON string there)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import ingest
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_diagnostic, entra_graph, entra_loganalytics
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import read_json_records
from nightowl.store import Store
from tests.sources.test_clean_ndjson_fast_path import spy  # noqa: F401 (the fixture: was the fast path taken)

SATISFIED = "MFA requirement satisfied by claim in the token"
SKIPPED_IP = "MFA requirement skipped due to IP address"
SKIPPED_LOCATION = "MFA requirement skipped due to location"


def signin(n: int, *, code: int = 0, requirement: str, details: str | None) -> dict:
    """A Graph signIn (v1.0 shape) with no mfaDetail method and no authenticationDetails."""
    return {
        "id": f"5e1d0000-0000-4000-8000-{n:012d}",
        "createdDateTime": f"2024-05-02T08:{n:02d}:00Z",
        "userPrincipalName": f"user{n}@contoso.com",
        "userId": f"0a1d0000-0000-4000-8000-{n:012d}",
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": "203.0.113.7",
        "clientAppUsed": "Browser",
        "correlationId": f"c01d0000-0000-4000-8000-{n:012d}",
        "isInteractive": True,
        "authenticationRequirement": requirement,
        "status": {"errorCode": code, "failureReason": "Other.", "additionalDetails": details},
        "mfaDetail": {"authMethod": None, "authDetail": None},
    }


CASES = [  # (record, expected is_mfa)
    (signin(1, requirement="multiFactorAuthentication", details=SKIPPED_IP), False),
    (signin(2, requirement="multiFactorAuthentication", details=SKIPPED_LOCATION), False),
    (signin(3, requirement="singleFactorAuthentication", details=SATISFIED), True),
    (signin(4, requirement="multiFactorAuthentication", details=None), True),  # unchanged
    (signin(5, requirement="singleFactorAuthentication", details=None), False),  # unchanged
    (signin(6, code=50126, requirement="singleFactorAuthentication", details=SATISFIED), False),  # a failure
]


def _graph_rows(path: Path, *, force_python: bool) -> list[dict]:
    tally = Tally()
    inp = InputFile(path.name, path)
    batches = list(read_json_records(inp, tally, ReadOptions(), entra_graph.GRAPH, force_python=force_python))
    assert tally.quarantined == 0
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist()


def _mfa_by_user(rows: list[dict]) -> dict[str, bool | None]:
    return {r["user_name"]: r["is_mfa"] for r in rows}


EXPECTED = {rec["userPrincipalName"]: want for rec, want in CASES}


@pytest.mark.parametrize("force_python", [False, True])
def test_graph_reads_mfa_from_status_additional_details(tmp_path, force_python):
    path = tmp_path / "signins.json"
    path.write_text(json.dumps({"value": [rec for rec, _ in CASES]}))
    assert _mfa_by_user(_graph_rows(path, force_python=force_python)) == EXPECTED


def test_graph_clean_ndjson_fast_path_agrees(tmp_path, request):
    taken = request.getfixturevalue("spy")
    path = tmp_path / "signins.jsonl"
    path.write_text("".join(json.dumps(rec) + "\n" for rec, _ in CASES))
    inp = InputFile(path.name, path)
    with Store() as store:
        report = ingest.ingest_file(store, inp, entra_graph.GraphSignIns(), ReadOptions())
        stored = store.query("SELECT user_name, is_mfa FROM auth_events")
    assert taken == [True]  # the clean file went through records/json_fast.py
    assert report.tally.normalized == len(CASES)
    assert {r["user_name"]: r["is_mfa"] for r in stored} == EXPECTED


def test_diagnostic_settings_envelope(tmp_path):
    path = tmp_path / "PT1H.json"
    lines = [
        {
            "time": rec["createdDateTime"],
            "category": "SignInLogs",
            "operationName": "Sign-in activity",
            "resultType": str(rec["status"]["errorCode"]),
            "properties": rec,
        }
        for rec, _ in CASES
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    src = entra_diagnostic.SOURCES[0]
    tally = Tally()
    rows = pa.Table.from_batches(
        list(src.read(InputFile(path.name, path), tally, ReadOptions())), schema=AUTH_SCHEMA
    ).to_pylist()
    assert _mfa_by_user(rows) == EXPECTED


def _la_row(rec: dict) -> dict:
    """The same sign-in as a Log Analytics SigninLogs row: PascalCase, dynamic columns as JSON text."""
    return {
        "TimeGenerated": rec["createdDateTime"],
        "Id": rec["id"],
        "UserPrincipalName": rec["userPrincipalName"],
        "UserId": rec["userId"],
        "IPAddress": rec["ipAddress"],
        "AppDisplayName": rec["appDisplayName"],
        "ClientAppUsed": rec["clientAppUsed"],
        "CorrelationId": rec["correlationId"],
        "IsInteractive": True,
        "AuthenticationRequirement": rec["authenticationRequirement"],
        "ResultType": str(rec["status"]["errorCode"]),
        "Status": json.dumps(
            {"errorCode": rec["status"]["errorCode"]}
            | (
                {"additionalDetails": rec["status"]["additionalDetails"]}
                if rec["status"]["additionalDetails"]
                else {}
            )
        ),
        "MfaDetail": "{}",
        "Type": "SigninLogs",
    }


def test_log_analytics_status_column(tmp_path):
    path = tmp_path / "SigninLogs.json"
    path.write_text(json.dumps([_la_row(rec) for rec, _ in CASES], indent=2))
    tally = Tally()
    rows = pa.Table.from_batches(
        list(entra_loganalytics.SOURCES[0].read(InputFile(path.name, path), tally, ReadOptions())),
        schema=AUTH_SCHEMA,
    ).to_pylist()
    assert _mfa_by_user(rows) == EXPECTED


PHRASES = st.sampled_from([SATISFIED, SKIPPED_IP, SKIPPED_LOCATION, "MFA required", "Other.", ""])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.text(max_size=12),
    phrase=PHRASES,
    after=st.text(max_size=12),
    requirement=st.sampled_from(["multiFactorAuthentication", "singleFactorAuthentication", ""]),
    success=st.booleans(),
)
def test_any_additional_details_text_is_read_and_decides_mfa_as_documented(
    tmp_path, before, phrase, after, requirement, success
):
    """Whatever surrounds the phrase (hostile text included), the record is normalized and its MFA
    follows the documented meaning: skipped -> no MFA, satisfied -> MFA, else the requirement."""
    details = before + phrase + after
    rec = signin(7, code=0 if success else 50126, requirement=requirement, details=details)
    path = tmp_path / "one.json"
    path.write_text(json.dumps([rec]))
    (row,) = _graph_rows(path, force_python=False)
    skipped = re.search(r"MFA requirement skipped due to (IP address|location)", details, re.I)
    satisfied = re.search(r"MFA requirement satisfied", details, re.I)
    if success and skipped:
        want = False
    elif success and (requirement == "multiFactorAuthentication" or satisfied):
        want = True
    elif requirement:
        want = False
    else:
        want = None
    assert row["is_mfa"] is want
