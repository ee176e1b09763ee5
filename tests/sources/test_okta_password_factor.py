"""Okta ``user.authentication.auth_via_mfa`` written for the password checked as a factor.

Where a sign-on policy verifies the password as a factor, Okta writes the password check as
``user.authentication.auth_via_mfa`` with ``debugContext.debugData.factor`` PASSWORD_AS_FACTOR
(requestUri ``/api/v1/authn/factors/password/verify``), as a public Sentinel Okta sample shows.
Such an event is a password check: a failure without a reason is a wrong password, a success
proves no second factor. A real second factor (push, SMS, OTP) keeps its MFA meaning. The events
are written by hand from Okta's LogEvent schema."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl.schema import AUTH_SCHEMA
from nightowl.sources import okta
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.json_duckdb import read_json_records


def log_event(n: int, result: str, factor: str | None, reason: str | None = None) -> dict:
    debug: dict = {"requestUri": "/api/v1/authn/factors/password/verify"}
    if factor is not None:
        debug["factor"] = factor
    return {
        "uuid": f"0a0b0c0d-0000-4000-8000-{n:012d}",
        "published": f"2024-04-02T10:00:{n:02d}.000Z",
        "eventType": "user.authentication.auth_via_mfa",
        "displayMessage": "Authentication of user via MFA",
        "actor": {"id": "00u1", "type": "User", "alternateId": f"user{n}@example.com", "displayName": "U"},
        "client": {"ipAddress": "198.51.100.20", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
        "authenticationContext": {"authenticationProvider": "FACTOR_PROVIDER", "externalSessionId": "s1"},
        "debugContext": {"debugData": debug},
        "outcome": {"result": result, "reason": reason},
        "severity": "INFO",
        "version": "0",
    }


CASES = [  # event, (status_id, status_detail, password_correct, is_mfa)
    (log_event(1, "FAILURE", "PASSWORD_AS_FACTOR"), (2, "INVALID_CREDENTIALS", False, None)),
    (log_event(2, "SUCCESS", "PASSWORD_AS_FACTOR"), (1, "SUCCESS", True, None)),
    (log_event(3, "FAILURE", "PASSWORD_AS_FACTOR", "LOCKED_OUT"), (2, "ACCOUNT_LOCKED_OUT", None, None)),
    (log_event(4, "FAILURE", "OKTA_VERIFY_PUSH"), (2, "MFA_FAILED", None, False)),
    (log_event(5, "SUCCESS", "SMS_FACTOR"), (1, "SUCCESS", True, True)),
    (log_event(6, "FAILURE", None), (2, "MFA_FAILED", None, False)),  # no factor named: as before
]


def _read(path: Path, force_python: bool) -> list[dict]:
    tally = Tally()
    inp = InputFile(path.name, path)
    batches = list(read_json_records(inp, tally, ReadOptions(), okta.OKTA, force_python=force_python))
    assert tally.quarantined == 0 and tally.ignored == 0
    return pa.Table.from_batches(batches, schema=AUTH_SCHEMA).to_pylist()


@pytest.mark.parametrize("force_python", [False, True])
def test_password_as_factor_is_a_password_check(tmp_path, force_python):
    path = tmp_path / "system_log.json"
    path.write_text(json.dumps([event for event, _ in CASES]))
    rows = {r["user_name"]: r for r in _read(path, force_python)}
    for event, want in CASES:
        r = rows[event["actor"]["alternateId"]]
        assert (r["status_id"], r["status_detail"], r["password_correct"], r["is_mfa"]) == want, event


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    factor=st.one_of(
        st.none(), st.text(max_size=20), st.sampled_from(["PASSWORD_AS_FACTOR", "password_as_factor"])
    ),
    result=st.sampled_from(["SUCCESS", "FAILURE"]),
)
def test_any_factor_text_is_read_and_only_the_password_factor_loses_its_mfa_meaning(tmp_path, factor, result):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(log_event(7, result, factor)) + "\n")
    (row,) = _read(path, force_python=False)
    password = factor is not None and factor.upper() == "PASSWORD_AS_FACTOR"
    assert row["is_mfa"] is (None if password else result == "SUCCESS")
    if result == "FAILURE":
        assert row["status_detail"] == ("INVALID_CREDENTIALS" if password else "MFA_FAILED")
