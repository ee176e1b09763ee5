"""``nightowl exposure``'s last sign-in: "never" only where the inputs hold sign-in data and none for
the account; "unknown" where they hold none (a userRegistrationDetails export alone, as Microsoft
Graph's example response: no signInActivity). Terminal, JSON and the HTML report's evidence alike."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from nightowl.cli.exposure import exposure_command
from nightowl.exposure import exposure_rows, last_sign_in_status
from nightowl.store import Store
from tests.cloud.helpers import ingest

# the shape of GET /reports/authenticationMethods/userRegistrationDetails (Graph v1.0 reference)
REGISTRATION = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails",
    "value": [
        {"id": "86462606-fde0-4fc4-9e0c-a20eb73e54c6", "userPrincipalName": "alex@contoso.com",
         "userDisplayName": "Alex Wilber", "userType": "member", "isAdmin": False, "isSsprRegistered": False,
         "isSsprEnabled": False, "isSsprCapable": False, "isMfaRegistered": False, "isMfaCapable": False,
         "isPasswordlessCapable": False, "methodsRegistered": [], "defaultMfaMethod": "none"},
        {"id": "c8cbd4d1-5a2e-4e38-9a58-7f0b3d2c2d0a", "userPrincipalName": "guest_fabrikam.com#EXT#@contoso.com",
         "userDisplayName": "Guest", "userType": "guest", "isAdmin": False, "isMfaRegistered": False,
         "isMfaCapable": False, "methodsRegistered": [], "defaultMfaMethod": "none"},
    ],
}  # fmt: skip
# GET /users?$select=...,signInActivity: bob signed in; alex's signInActivity holds no time
USERS = {
    "value": [
        {"userPrincipalName": "bob@contoso.com", "accountEnabled": True, "createdDateTime": "2020-01-01T00:00:00Z",
         "signInActivity": {"lastSignInDateTime": "2026-03-01T09:00:00Z"}},
        {"userPrincipalName": "alex@contoso.com", "accountEnabled": True, "createdDateTime": "2026-02-20T00:00:00Z",
         "signInActivity": {"lastSignInDateTime": None}},
    ]
}  # fmt: skip


def _cli():
    app = typer.Typer()
    app.command()(exposure_command)
    return app


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_status_values():
    assert last_sign_in_status("2026-03-01T09:00:00Z", False) == "seen"
    assert last_sign_in_status(None, True) == "never"
    assert last_sign_in_status(None, False) == "unknown"


def test_registration_details_alone_say_unknown_not_never(tmp_path):
    reg = _write(tmp_path, "reg.json", REGISTRATION)
    with Store() as st:
        ingest(st, reg)
        rows = {r["account"]: r for r in exposure_rows(st)}
    assert rows["alex@contoso.com"]["last_sign_in_status"] == "unknown"
    assert rows["alex@contoso.com"]["last_seen_sign_in"] is None
    table = CliRunner().invoke(_cli(), [str(reg)])
    assert table.exit_code == 0, table.output
    assert "unknown" in table.stdout and "never" not in table.stdout
    doc = json.loads(CliRunner().invoke(_cli(), [str(reg), "--format", "json"]).stdout)
    assert {f["evidence"]["last_sign_in_status"] for f in doc["findings"]} == {"unknown"}


def test_never_where_the_users_export_has_sign_in_activity(tmp_path):
    reg = _write(tmp_path, "reg.json", REGISTRATION)
    users = _write(tmp_path, "users.json", USERS)
    with Store() as st:
        ingest(st, reg, users)
        rows = {r["account"]: r for r in exposure_rows(st)}
    assert rows["alex@contoso.com"]["last_sign_in_status"] == "never"
    doc = json.loads(CliRunner().invoke(_cli(), [str(reg), str(users), "--format", "json"]).stdout)
    by_user = {f["users"][0]: f for f in doc["findings"]}
    assert by_user["alex@contoso.com"]["evidence"]["last_sign_in_status"] == "never"
    table = CliRunner().invoke(_cli(), [str(reg), str(users)]).stdout
    assert "never" in table and "unknown" not in table


def test_sign_in_logs_give_the_time_where_the_export_has_none(tmp_path):
    reg = _write(tmp_path, "reg.json", REGISTRATION)
    logs = tmp_path / "okta.jsonl"
    event = {"uuid": "e1", "published": "2026-03-04T10:00:00.000Z", "eventType": "user.session.start",
             "actor": {"alternateId": "alex@contoso.com", "type": "User"}, "outcome": {"result": "SUCCESS"},
             "client": {"ipAddress": "198.51.100.7"}}  # fmt: skip
    logs.write_text(json.dumps(event) + "\n")
    with Store() as st:
        ingest(st, reg, logs)
        rows = {r["account"]: r for r in exposure_rows(st)}
    alex = rows["alex@contoso.com"]
    assert alex["last_sign_in_status"] == "seen" and alex["last_seen_sign_in"] == "2026-03-04T10:00:00Z"
    # the guest has sign-in logs in the inputs and no sign-in in them: never
    assert rows["guest_fabrikam.com#ext#@contoso.com"]["last_sign_in_status"] == "never"
