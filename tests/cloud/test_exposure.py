"""Account exposure over the registration-details and users exports, raised by the sign-in logs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from nightowl import sources
from nightowl.cli.exposure import exposure_command
from nightowl.cli.report import report_command
from nightowl.detections.runner import run_all
from nightowl.exposure import exposure_findings, exposure_rows
from nightowl.pipeline import detect
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.cloud.helpers import available_sources, fixture, ingest

ACCOUNTS = [fixture("user_registration_details.json"), fixture("graph_users_signinactivity.json")]
SVC = "svc.test@corp.example"


def _rows(with_logs: bool = False):
    with Store() as st:
        ingest(st, *ACCOUNTS)
        findings = []
        if with_logs:
            st.append(batch_from_rows(sign_ins()))
            findings = run_all(st)
        return {r["account"]: r for r in exposure_rows(st, findings)}, exposure_findings(st, findings)


def sign_ins() -> list[dict]:
    """A spray from one address (svc.test's password works, single factor; ceo targeted) and a
    scanner that signs in over IMAP every morning."""
    t0 = datetime(2026, 3, 2, 8, 0)
    users = [SVC, "ceo@corp.example"] + [f"user{i}@corp.example" for i in range(20)]
    rows = [
        _ev(t0 + timedelta(seconds=15 * i), u, "203.0.113.7", 2, False, None) for i, u in enumerate(users)
    ]
    rows.append(_ev(t0 + timedelta(minutes=20), SVC, "203.0.113.7", 1, True, False))
    for day in range(5):
        rows.append(_ev(t0 + timedelta(days=day, hours=-1), "print.scanner@corp.example", "192.0.2.50", 1, True, False,
                        client="IMAP4", legacy=True))  # fmt: skip
    return [r | {"record_ref": f"t:{n}", "event_uid": str(n)} for n, r in enumerate(rows)]


def _ev(t, user, ip, status, pw, mfa, client="Browser", legacy=False):
    return {"time": t, "source_format": "test", "user_name": user, "src_endpoint_ip": ip, "status_id": status,
            "status_detail": "SUCCESS" if status == 1 else "INVALID_CREDENTIALS", "password_correct": pw, "is_mfa": mfa,
            "client_app": client, "is_legacy_protocol": legacy, "user_agent": "python-requests/2.31",
            "service_name": "Office 365 Exchange Online"}  # fmt: skip


def test_exposure_classes_from_the_exports_alone():
    rows, _ = _rows()
    assert rows[SVC]["exposure"] == ["test/legacy account", "service account", "no MFA"]
    assert rows[SVC]["severity"] == "high" and rows[SVC]["mfa"] == "none"
    assert rows["ceo@corp.example"]["exposure"] == ["admin without phishing-resistant MFA"]
    assert rows["ceo@corp.example"]["severity"] == "medium"
    assert "it.admin@corp.example" not in rows  # FIDO2 security key
    assert "alice@corp.example" not in rows
    assert "disabled.user@corp.example" not in rows  # disabled in the users export
    assert rows["svc-backup@corp.example"]["exposure"] == [
        "service account",
        "no MFA",
        "dormant but signing in",
    ]
    assert rows["old.employee@corp.example"]["exposure"] == ["dormant but signing in"]
    guest = next(r for a, r in rows.items() if "#ext#" in a)
    assert guest["exposure"] == ["guest"] and guest["severity"] == "medium"


def test_sign_in_logs_mark_sprayed_compromised_and_legacy_protocol_accounts():
    rows, findings = _rows(with_logs=True)
    assert (
        rows[SVC]["severity"] == "critical"
        and rows[SVC]["compromised"]
        and rows[SVC]["single_factor_sign_ins"] == 1
    )
    assert rows["ceo@corp.example"]["sprayed"] and rows["ceo@corp.example"]["severity"] == "high"
    scanner = rows["print.scanner@corp.example"]
    assert scanner["legacy_sign_ins"] == 5 and "service account" in scanner["exposure"]
    svc = next(f for f in findings if f.users == [SVC])
    assert (
        svc.category == "exposure" and svc.detection == "exposure.account" and svc.compromised_users == [SVC]
    )
    assert svc.evidence["sprayed_by"] and svc.evidence["compromised_by"]


@pytest.fixture(autouse=True)
def _present_sources(monkeypatch):
    """Detect among the readers present in this checkout (other readers land in parallel)."""
    monkeypatch.setattr(sources, "all_sources", lambda: tuple(available_sources()))


def _cli():
    app = typer.Typer()
    app.command()(exposure_command)
    return app


def test_exposure_command_json_is_the_findings_contract():
    result = CliRunner().invoke(_cli(), [*map(str, ACCOUNTS), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and [i["format"] for i in doc["inputs"]] == ["entra-accounts-json"] * 2
    by_user = {f["users"][0]: f for f in doc["findings"]}
    assert by_user[SVC]["severity"] == "high" and by_user[SVC]["exposure_classes"][-1] == "no_mfa"
    assert doc["findings"][0]["severity"] == "high"  # worst first


def test_exposure_command_table_neutralises_attacker_text(tmp_path):
    evil = tmp_path / "reg.json"
    evil.write_text(json.dumps({"value": [{"userPrincipalName": "test\u001b[2J[red]x@corp.example", "isMfaRegistered": False,
                                           "isMfaCapable": False, "methodsRegistered": [], "userType": "member"}]}))  # fmt: skip
    result = CliRunner().invoke(_cli(), [str(evil), "--fail-on", "high"])
    assert result.exit_code == 1  # a high exposure with --fail-on high
    assert "\u001b[2J" not in result.stdout and "Exposed accounts" in result.stdout


def test_report_from_a_store_runs_the_pipeline_hunt_runs(tmp_path):
    """`report --store` without findings files reports what `hunt` finds: exposure findings included,
    and the user's --config applied (here: the spray rule switched off)."""
    path = tmp_path / "s.duckdb"
    with Store(path) as st:
        ingest(st, *ACCOUNTS)
        st.append(batch_from_rows(sign_ins()))
        default, tuned = detect(st), detect(st, {"detections": {"spray.single_source": {"enabled": False}}})
    assert any(f.category == "exposure" for f in default)
    assert any(f.detection == "spray.single_source" for f in default)
    assert not any(f.detection == "spray.single_source" for f in tuned) and len(tuned) < len(default)
    config = tmp_path / "tuning.toml"
    config.write_text('[detections."spray.single_source"]\nenabled = false\n')
    out = tmp_path / "r.html"
    app = typer.Typer()
    app.command()(report_command)
    for args, expected in (([], default), (["--config", str(config)], tuned)):
        result = CliRunner().invoke(app, ["--store", str(path), "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        assert f": {len(expected):,} finding" in " ".join(result.output.split())


def _exposure_of_alice(user_agent: str, mfa_on: tuple[int, ...] = ()) -> dict | None:
    """alice (Authenticator registered, not named like a service) signs in single-factor each
    morning for ten days with ``user_agent``; MFA satisfied on the days in ``mfa_on``."""
    t0 = datetime(2026, 3, 2, 8, 0)
    rows = [
        _ev(t0 + timedelta(days=d), "alice@corp.example", "192.0.2.10", 1, True, d in mfa_on)
        | {"user_agent": user_agent, "record_ref": f"a:{d}", "event_uid": f"a{d}"}
        for d in range(10)
    ]
    with Store() as st:
        ingest(st, *ACCOUNTS)
        st.append(batch_from_rows(rows))
        return {r["account"]: r for r in exposure_rows(st, run_all(st))}.get("alice@corp.example")


def test_a_person_signing_in_from_a_browser_without_mfa_is_not_a_service_account():
    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/122.0 Safari/537.36"
    assert _exposure_of_alice(browser) is None  # single-factor in a browser: a person, MFA registered
    assert _exposure_of_alice(browser, mfa_on=(3,)) is None
    script = _exposure_of_alice("python-requests/2.31")  # only ever single-factor, never a browser
    assert script is not None and script["exposure"] == ["service account"]
    assert script["severity"] == "medium" and script["single_factor_sign_ins"] == 10
    assert _exposure_of_alice("python-requests/2.31", mfa_on=(3,)) is None  # MFA once: not a script


def test_a_person_whose_phone_mail_uses_a_legacy_protocol_is_told_so_not_called_a_service_account():
    t0 = datetime(2026, 3, 2, 8, 0)
    browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15"
    rows = [
        _ev(t0 + timedelta(days=d), "alice@corp.example", "192.0.2.10", 1, True, True)
        | {"user_agent": browser, "record_ref": f"a:{d}", "event_uid": f"a{d}"}
        for d in range(5)
    ] + [
        _ev(t0 + timedelta(days=d, hours=2), "alice@corp.example", "198.51.100.4", 1, True, False,
            client="Exchange ActiveSync", legacy=True)
        | {"user_agent": "Apple-iPhone15C1/2069.63", "record_ref": f"e:{d}", "event_uid": f"e{d}"}
        for d in range(3)
    ]  # fmt: skip
    with Store() as st:
        ingest(st, *ACCOUNTS)
        st.append(batch_from_rows(rows))
        alice = {r["account"]: r for r in exposure_rows(st, run_all(st))}["alice@corp.example"]
    assert alice["exposure"] == ["legacy protocol in use"] and alice["severity"] == "high"
    assert alice["legacy_sign_ins"] == 3
