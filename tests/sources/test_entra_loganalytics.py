"""Log Analytics SigninLogs / AADNonInteractiveUserSignInLogs exports: JSON lines, az CLI
arrays (every value a string), and the Logs UI CSV (local dates, JSON text in cells)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_loganalytics
from nightowl.sources.base import InputFile, ReadOptions, Tally

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "entra"
LA_JSON, LA_CSV = entra_loganalytics.SOURCES


def read(src, path: Path):
    tally = Tally()
    rows = pa.Table.from_batches(
        list(src.read(InputFile(path.name, path), tally, ReadOptions())), schema=AUTH_SCHEMA
    )
    return rows.to_pylist(), tally


def check_common(rows, fmt):
    assert all(r["source_format"] == fmt for r in rows)
    adele, spray, ipblock, ropc = rows[:4]
    # ResultType is a string; dynamic columns were JSON (object or string) and are read through
    assert (adele["status_id"], adele["status_code"], adele["status_detail"], adele["is_mfa"]) == (
        1,
        "0",
        "SUCCESS",
        True,
    )
    assert adele["user_name"] == "adele.vance@contoso.com" and adele["logon_type"] == "interactive"
    assert (adele["src_city"], adele["src_country"], adele["is_managed"]) == ("Seattle", "US", False)
    assert adele["src_lat"] is not None and adele["src_lon"] is not None  # LocationDetails.geoCoordinates
    assert (spray["status_code"], spray["status_detail"], spray["password_correct"]) == (
        "50126",
        "INVALID_CREDENTIALS",
        False,
    )
    assert (spray["client_app"], spray["is_legacy_protocol"], spray["auth_protocol"], spray["src_asn"]) == (
        "POP3",
        True,
        "basic",
        64501,
    )
    assert (ipblock["status_code"], ipblock["status_detail"]) == ("50053", "BLOCKED_BY_POLICY")
    # the non-interactive table: IsInteractive false, ROPC from a script
    assert (ropc["logon_type"], ropc["auth_protocol"], ropc["is_legacy_protocol"]) == (
        "non_interactive",
        "ropc",
        True,
    )
    assert ropc["user_agent"] == "python-requests/2.31" and ropc["status_id"] == 1
    assert adele["session_id"] == "c1b1c2d3-0000-4000-8000-000000000031"
    assert adele["event_uid"] == "e1b1c2d3-0000-4000-8000-000000000031"
    assert adele["tenant_id"] == "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_ndjson_export_with_string_dynamic_columns_and_other_tables():
    rows, tally = read(LA_JSON, FIX / "la_signinlogs.jsonl")
    apps = [r for r in rows if r["actor_type"] != "user"]
    rows = [r for r in rows if r["actor_type"] == "user"]
    assert len(rows) == 5
    check_common(rows, "entra-la-json")
    # the AADServicePrincipalSignInLogs row is the application's own sign-in: no user
    assert [(a["actor_type"], a["user_name"]) for a in apps] == [("service_principal", None)]
    assert rows[0]["time"] == dt.datetime(2024, 3, 3, 9, 0, 0, 123456)
    mfa = rows[4]
    assert (mfa["status_code"], mfa["status_detail"], mfa["password_correct"]) == (
        "50076",
        "MFA_REQUIRED",
        True,
    )
    # the AuditLogs row is not a sign-in
    assert tally.ignored == 1 and set(tally.ignored_reasons) == {"not a sign-in table (Log Analytics Type)"}
    assert [(q.position, q.reason) for q in tally.quarantine] == [("line 6", "no parseable time")]
    assert len(rows) + len(apps) + tally.ignored + tally.quarantined == 8


def test_az_cli_array_where_every_value_is_a_string():
    rows, tally = read(LA_JSON, FIX / "la_signinlogs_az.json")
    assert len(rows) == 5 and tally.quarantined == 0 and tally.ignored == 0
    check_common(rows, "entra-la-json")
    plain, _ = read(LA_JSON, FIX / "la_signinlogs.jsonl")
    plain = [r for r in plain if r["actor_type"] == "user"]
    drop = ("record_ref", "source_format")
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in plain
    ]


def test_logs_ui_csv_with_local_dates_and_json_cells():
    rows, tally = read(LA_CSV, FIX / "la_signinlogs.csv")
    assert len(rows) == 5 and tally.quarantined == 0
    check_common(rows, "entra-la-csv")
    assert rows[0]["time"] == dt.datetime(2024, 3, 3, 9, 0, 0, 123000)  # "3/3/2024, 9:00:00.123 AM"
    disabled = rows[4]
    assert disabled["time"] == dt.datetime(2024, 3, 13, 15, 4, 5, 678000)  # "3/13/2024, 3:04:05.678 PM"
    assert (disabled["status_code"], disabled["status_detail"], disabled["user_exists"]) == (
        "50057",
        "ACCOUNT_DISABLED",
        True,
    )
    assert rows[0]["record_ref"] == "la_signinlogs.csv:2"
