"""The Azure portal sign-in CSV download: BOM, trailing/double spaces in headers, a duplicated
column, Location split, Success/Failure/Interrupted, interactive vs non-interactive files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import entra_portal_csv
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.entra_portal_csv import split_location

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "entra"
SRC = entra_portal_csv.SOURCES[0]
INTERACTIVE = FIX / "InteractiveSignIns_2024-03-04_2024-03-05.csv"


def read(path: Path):
    tally = Tally()
    batches = list(SRC.read(InputFile(path.name, path), tally, ReadOptions()))
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist(), tally


def test_interactive_download_field_by_field():
    assert INTERACTIVE.read_bytes().startswith(b"\xef\xbb\xbf")
    rows, tally = read(INTERACTIVE)
    assert len(rows) == 3
    assert [(q.position, q.reason) for q in tally.quarantine] == [("line 5", "no user name")]
    adele, spray, interrupted = rows
    assert adele["time"] == dt.datetime(2024, 3, 4, 7, 1, 2)
    assert adele["record_ref"] == "InteractiveSignIns_2024-03-04_2024-03-05.csv:2"
    assert (adele["user_name"], adele["event_uid"], adele["session_id"]) == (
        "adele.vance@contoso.com",
        "r1",
        "c0",
    )
    assert (adele["src_city"], adele["src_country"], adele["src_asn"]) == (
        "Redmond",
        "US",
        8075,
    )  # "Autonomous system  number"
    assert (adele["is_mfa"], adele["is_managed"], adele["device_id"]) == (
        True,
        True,
        "d3f1c2a0-1111-4222-8333-444455556666",
    )
    assert adele["status_id"] == 1 and adele["logon_type"] == "interactive"
    assert (spray["status_code"], spray["status_detail"], spray["password_correct"]) == (
        "50126",
        "INVALID_CREDENTIALS",
        False,
    )
    assert (spray["client_app"], spray["auth_protocol"], spray["is_legacy_protocol"]) == (
        "Exchange ActiveSync",
        "ropc",
        True,
    )
    assert (spray["src_city"], spray["src_country"], spray["src_asn"], spray["is_mfa"]) == (
        "Amsterdam",
        "NL",
        64500,
        False,
    )
    assert (interrupted["status_id"], interrupted["status_detail"], interrupted["password_correct"]) == (
        2,
        "MFA_REQUIRED",
        True,
    )
    assert (interrupted["src_city"], interrupted["src_country"]) == (None, "US")


def test_older_noninteractive_download_without_optional_columns():
    rows, tally = read(FIX / "NonInteractiveSignIns_2024-03-04_2024-03-05.csv")
    assert len(rows) == 2 and tally.quarantined == 0
    assert {r["logon_type"] for r in rows} == {"non_interactive"}
    assert rows[1]["status_detail"] == "PASSWORD_EXPIRED" and rows[1]["src_asn"] is None


def test_location_split():
    assert split_location("Redmond, Washington, US") == ("Redmond", "US")
    assert split_location("US") == (None, "US") and split_location("") == (None, None)


def test_extra_duplicate_and_missing_columns(tmp_path):
    text = INTERACTIVE.read_text(encoding="utf-8-sig")
    header, *lines = text.splitlines()
    header = header.replace("Failure reason", "Failure reason,New column 2031")
    lines = [line + ",extra" for line in lines]
    path = tmp_path / "signins.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    rows, tally = read(path)
    assert tally.quarantined == 1
    assert len(rows) == 3 and rows[0]["logon_type"] is None  # file name says nothing
    assert [r["status_code"] for r in rows] == ["0", "50126", "50074"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 3000), junk=st.binary(max_size=300))
def test_property_truncated_or_garbled_csv(tmp_path, cut, junk):
    data = INTERACTIVE.read_bytes()
    path = tmp_path / "InteractiveSignIns_x.csv"
    path.write_bytes(data[:cut] + junk + data[cut:])
    rows, tally = read(path)  # no crash
    assert len(rows) + tally.quarantined + tally.ignored <= 4 + junk.count(b"\n") + junk.count(b"\r") + 2
    assert all(r["user_name"] and r["time"] for r in rows)
