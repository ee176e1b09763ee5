"""Windows and sshd attempts without a source address, and Kerberos tickets that prove no password:
behaviour on event sequences, asserted on the resulting findings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.sshd import SOURCES as SSHD
from nightowl.sources.windows_codes import kerberos_outcome, ntstatus_outcome
from nightowl.sources.windows_securityevent_csv import SOURCES as SECURITY_EVENT
from nightowl.store import Store
from tests.detections.events import T0, by_detection

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def hunt_file(source, path: Path, opts: ReadOptions | None = None):
    with Store() as store:
        for batch in source.read(InputFile(path.name, path), Tally(), opts or ReadOptions()):
            store.append(batch)
        return run_all(store)


def row(seconds: float, user: str, *, ip: str | None = None, host: str | None = None, status: int = 2,
        pw: bool | None = False, detail: str = "INVALID_CREDENTIALS", proto: str = "ntlm", dc: str = "DC01") -> dict:  # fmt: skip
    return {
        "time": T0 + timedelta(seconds=seconds),
        "source_format": "test",
        "record_ref": f"test:{seconds}:{user}",
        "user_name": user,
        "src_endpoint_ip": ip,
        "src_endpoint_hostname": host,
        "dst_host": dc,
        "auth_protocol": proto,
        "status_id": status,
        "status_detail": detail,
        "status_code": "x",
        "password_correct": pw,
    }


def hunt_rows(rows: list[dict]):
    with Store() as store:
        store.append(batch_from_rows(sorted(rows, key=lambda r: r["time"])))
        return run_all(store)


def test_local_brute_force_without_addresses_is_found_and_named_by_host():
    findings = hunt_file(SECURITY_EVENT[0], FIXTURES / "windows" / "securityevent_ipless_kerberos.csv")
    (burst,) = by_detection(findings, "bruteforce.burst")
    assert burst.source_ips == ["host:kali"]
    assert burst.evidence["source_kind"] == "host name"
    assert "host kali" in burst.title and "admin" in burst.users and "administrator" in burst.users
    assert burst.counts["attempts"] == 16
    # the AS-REP roastable account is its own low finding, never a compromise
    (roast,) = by_detection(findings, "kerberos.no_preauth")
    assert roast.severity == "low" and roast.users == ["contoso.com\\svc_legacy"]
    assert not by_detection(findings, "compromise.after_attack")
    # 0x12 for krbtgt / guest / defaultaccount is not a lockout
    assert not by_detection(findings, "lockout.wave")


@pytest.mark.detection("bruteforce.burst", fires=True)
@pytest.mark.detection("bruteforce.burst", fires=False)
def test_hosts_are_separate_sources():
    """Two workstations each failing a few times slowly are not one burst: the key is the host name."""
    rows = [row(i * 20, "administrator", host=f"ws{i % 2}") for i in range(12)]
    assert not by_detection(hunt_rows(rows), "bruteforce.burst")
    fast = [row(i * 0.1, "administrator", host="ws7") for i in range(12)]
    (burst,) = by_detection(hunt_rows(fast), "bruteforce.burst")
    assert burst.source_ips == ["host:ws7"]


def test_a_known_device_retrying_is_not_a_burst():
    """A source that signed this account in before and retries an old password is stale credentials."""
    rows = [row(-3600, "svc", host="app01", status=1, pw=True, detail="SUCCESS")]
    rows += [row(i * 2, "svc", host="app01") for i in range(15)]
    assert not by_detection(hunt_rows(rows), "bruteforce.burst")


@pytest.mark.detection("kerberos.no_preauth", fires=True)
@pytest.mark.detection("kerberos.no_preauth", fires=False)
def test_ticket_without_preauth_after_a_spray_is_no_compromise():
    """A spray from one address, then a TGT issued without pre-authentication for a targeted account
    from the same address: the attacker learned no password, so no compromise is claimed."""
    spray = [row(i * 30, f"corp\\u{i}", ip="203.0.113.50", proto="kerberos") for i in range(12)]
    roast = row(400, "corp\\u3", ip="203.0.113.50", status=1, pw=False, detail="SUCCESS", proto="kerberos")
    findings = hunt_rows([*spray, roast])
    assert by_detection(findings, "spray.single_source")
    assert not by_detection(findings, "compromise.after_attack")
    assert by_detection(findings, "kerberos.no_preauth")[0].users == ["corp\\u3"]
    # the same account with a real success (password checked) is a compromise
    real = {**roast, "password_correct": True}
    with_password = hunt_rows([*spray, real])
    assert by_detection(with_password, "compromise.after_attack")
    assert not by_detection(with_password, "kerberos.no_preauth")  # pre-authenticated: not roastable


def test_disabled_builtins_answering_0x12_are_no_lockout_wave():
    """KDC_ERR_CLIENT_REVOKED as the Windows code table maps it; a real lockout (0xC0000234) still is."""
    revoked = kerberos_outcome("0x12").status_detail
    rows = [
        row(i * 5, f"corp\\svc{i}", ip="198.51.100.9", detail=revoked, proto="kerberos") for i in range(15)
    ]
    assert not by_detection(hunt_rows(rows), "lockout.wave")
    locked = ntstatus_outcome("0xC0000234").status_detail
    rows = [row(i * 5, f"corp\\u{i}", ip=f"198.51.100.{i}", detail=locked) for i in range(15)]
    assert by_detection(hunt_rows(rows), "lockout.wave")


def test_pam_failures_from_a_named_host_are_a_burst():
    """RHEL pam_unix lines only (no sshd Failed lines), rhost a host name: the source is that host."""
    findings = hunt_file(SSHD[0], FIXTURES / "sshd" / "pam_rhel_secure.log", ReadOptions(year=2005))
    assert all(ip.startswith("host:") or "." in ip for f in findings for ip in f.source_ips)
    rows = [row(i * 0.5, "root", host="scanner.example.net", proto="ssh-password") for i in range(12)]
    (burst,) = by_detection(hunt_rows(rows), "bruteforce.burst")
    assert burst.source_ips == ["host:scanner.example.net"]
