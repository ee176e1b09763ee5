"""``session_id`` of an Entra sign-in is the session, not one request flow.

A sign-in's ``correlationId`` ties together the requests of one sign-in flow; the session id
(Graph beta ``sessionId``, Log Analytics ``SessionId``, the portal download's "Session ID", the
diagnostic record's ``properties.sessionId``) stays the same for every sign-in of the session,
refreshes included: a stolen session cookie replayed from another network keeps the session id
and gets new correlation ids (a public SigninLogs export shows one SessionId over three sign-ins
with three CorrelationIds). The session id is used where the export has one, the correlation id
where it is empty or absent. Records are written by hand from the documented schemas."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pytest

from nightowl import ingest
from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_diagnostic, entra_graph, entra_loganalytics, entra_portal_csv
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import read_json_records
from nightowl.store import Store
from tests.sources.test_clean_ndjson_fast_path import spy  # noqa: F401 (fixture: was the fast path taken)

SESSION = "8e55c0de-0000-4000-8000-000000000001"


def beta_signin(n: int, session: str | None) -> dict:
    rec = {
        "id": f"5e5a0000-0000-4000-8000-{n:012d}",
        "createdDateTime": f"2024-06-03T09:{n:02d}:00Z",
        "userPrincipalName": "megan.bowen@contoso.com",
        "userId": "0a1d0000-0000-4000-8000-000000000001",
        "appDisplayName": "OfficeHome",
        "ipAddress": f"198.51.100.{n}",
        "clientAppUsed": "Browser",
        "correlationId": f"c0aa0000-0000-4000-8000-{n:012d}",
        "signInEventTypes": ["nonInteractiveUser"],
        "status": {"errorCode": 0},
    }
    if session is not None:
        rec["sessionId"] = session
    return rec


# two sign-ins of one session (a refresh from another network), one whose session id is empty,
# one from an older export without the property
RECORDS = [beta_signin(1, SESSION), beta_signin(2, SESSION), beta_signin(3, ""), beta_signin(4, None)]
EXPECTED = [SESSION, SESSION, RECORDS[2]["correlationId"], RECORDS[3]["correlationId"]]


def _rows(src_read, path: Path) -> list[dict]:
    tally = Tally()
    rows = pa.Table.from_batches(list(src_read(InputFile(path.name, path), tally)), schema=AUTH_SCHEMA)
    assert tally.quarantined == 0
    return sorted(rows.to_pylist(), key=lambda r: r["time"])


@pytest.mark.parametrize("force_python", [False, True])
def test_graph_beta_session_id(tmp_path, force_python):
    path = tmp_path / "signins.json"
    path.write_text(json.dumps({"value": RECORDS}))
    rows = _rows(
        lambda inp, tally: read_json_records(
            inp, tally, ReadOptions(), entra_graph.GRAPH, force_python=force_python
        ),
        path,
    )
    assert [r["session_id"] for r in rows] == EXPECTED


def test_graph_clean_ndjson_fast_path_session_id(tmp_path, request):
    taken = request.getfixturevalue("spy")
    path = tmp_path / "signins.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    with Store() as store:
        ingest.ingest_file(store, InputFile(path.name, path), entra_graph.GraphSignIns(), ReadOptions())
        got = store.query("SELECT session_id FROM auth_events ORDER BY time")
    assert taken == [True]
    assert [r["session_id"] for r in got] == EXPECTED


def test_diagnostic_settings_properties_session_id(tmp_path):
    path = tmp_path / "PT1H.json"
    lines = [
        {"time": r["createdDateTime"], "category": "NonInteractiveUserSignInLogs", "properties": r}
        for r in RECORDS
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    src = entra_diagnostic.SOURCES[0]
    rows = _rows(lambda inp, tally: src.read(inp, tally, ReadOptions()), path)
    assert [r["session_id"] for r in rows] == EXPECTED


def test_log_analytics_session_id_column(tmp_path):
    la = []
    for r in RECORDS:
        row = {
            "TimeGenerated": r["createdDateTime"],
            "Id": r["id"],
            "UserPrincipalName": r["userPrincipalName"],
            "IPAddress": r["ipAddress"],
            "AppDisplayName": r["appDisplayName"],
            "CorrelationId": r["correlationId"],
            "ResultType": "0",
            "Type": "AADNonInteractiveUserSignInLogs",
        }
        if "sessionId" in r:
            row["SessionId"] = r["sessionId"]
        la.append(row)
    path = tmp_path / "AADNonInteractiveUserSignInLogs.json"
    path.write_text(json.dumps(la))
    src = entra_loganalytics.SOURCES[0]
    rows = _rows(lambda inp, tally: src.read(inp, tally, ReadOptions()), path)
    assert [r["session_id"] for r in rows] == EXPECTED


def test_portal_download_session_id_column(tmp_path):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Date (UTC)", "Request ID", "Correlation ID", "Username", "IP address", "Status",
                "Sign-in error code", "Session ID"])  # fmt: skip
    for r in RECORDS:
        w.writerow([r["createdDateTime"], r["id"], r["correlationId"], r["userPrincipalName"], r["ipAddress"],
                    "Success", "0", r.get("sessionId", "")])  # fmt: skip
    path = tmp_path / "NonInteractiveSignIns_2024-06-03_2024-06-04.csv"
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    src = entra_portal_csv.SOURCES[0]
    rows = _rows(lambda inp, tally: src.read(inp, tally, ReadOptions()), path)
    assert [r["session_id"] for r in rows] == EXPECTED
