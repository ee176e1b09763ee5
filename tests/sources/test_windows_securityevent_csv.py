"""Sentinel SecurityEvent CSV: the real msticpy 4624 export and a fixture of failure events
written from Microsoft's SecurityEvent / 4625 / 4771 / 4776 documentation."""

from __future__ import annotations

import csv
import gzip
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.windows_codes import kerberos_outcome, ntstatus_outcome
from nightowl.sources.windows_securityevent_csv import SOURCES
from tests.conftest import dataset

SRC = SOURCES[0]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "windows" / "securityevent_failures.csv"


def read(path: Path, opts: ReadOptions | None = None, gz: bool = False) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(SRC.read(InputFile(path.name, path, gzip=gz), tally, opts or ReadOptions()))
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def test_real_msticpy_4624_export() -> None:
    path = dataset("windows-csv/msticpy_host_logons_SecurityEvent_4624.csv")
    assert SRC.sniff(path.read_bytes()[:65536], path.name)
    rows, tally = read(path)
    with open(path, newline="") as fh:
        raw = list(csv.DictReader(fh))
    assert tally.records == len(raw) and tally.ignored == tally.quarantined == 0
    assert {r["status_id"] for r in rows} == {1}
    assert [r["logon_type"] for r in rows] == [r["LogonType"] for r in raw]
    for got, want in zip(rows, raw, strict=True):
        assert got["user_name"] == f"{want['TargetDomainName']}\\{want['TargetUserName']}".lower()
        assert got["dst_host"] == want["Computer"]
        assert got["time"] == datetime.fromisoformat(want["TimeGenerated"])
        assert got["src_endpoint_ip"] == (None if want["IpAddress"] == "-" else want["IpAddress"])
        ntlm_network = want["AuthenticationPackageName"] == "NTLM" and want["LogonType"] == "3"
        assert got["is_legacy_protocol"] is ntlm_network


def test_failure_fixture() -> None:
    rows, tally = read(FIXTURE)
    assert tally.records == 16  # data rows in the fixture
    assert tally.ignored_reasons == {"event 4634 is not an authentication event": 1}
    assert tally.quarantined == 2  # a non-numeric EventID, a truncated row
    got = {r["event_uid"][-2:]: r for r in rows}
    expect = {  # row -> (status_detail, status_code, user_exists, password_correct)
        "01": ("INVALID_CREDENTIALS", "0xC000006A", True, False),
        "02": ("USER_DOES_NOT_EXIST", "0xC0000064", False, None),
        "03": ("ACCOUNT_LOCKED_OUT", "0xC0000234", True, None),
        "04": ("BLOCKED_BY_POLICY", "0xC000015B", True, True),
        "05": ("PASSWORD_EXPIRED", "0xC0000224", True, True),
        "06": ("ACCOUNT_DISABLED", "0xC0000072", True, None),
        "07": ("INVALID_CREDENTIALS", "0x18", True, False),
        "08": ("ACCOUNT_DISABLED", "0x12", True, None),  # disabled, expired, locked or logon hours
        "09": ("USER_DOES_NOT_EXIST", "0x6", False, None),
        "10": ("INVALID_CREDENTIALS", "0xC000006A", True, False),
        "11": ("SUCCESS", "0x0", True, True),
        "12": ("SUCCESS", "0x0", True, True),
        "13": ("OTHER", None, None, None),
    }
    assert set(got) == set(expect)
    for key, (detail, code, exists, pw) in expect.items():
        row = got[key]
        assert (row["status_detail"], row["status_code"], row["user_exists"], row["password_correct"]) == (
            detail,
            code,
            exists,
            pw,
        ), key
    assert got["01"]["user_name"] == "contoso\\alice"
    assert got["01"]["is_legacy_protocol"] is True and got["01"]["auth_protocol"] == "ntlm"
    assert got["02"]["client_app"] == "NTLM V2"
    assert got["07"]["user_name"] == "contoso.com\\alice"  # realm from krbtgt/CONTOSO.COM
    assert got["07"]["src_endpoint_ip"] == "198.51.100.7"
    assert got["07"]["activity_name"] == "authentication_ticket"
    assert got["10"]["activity_name"] == "credential_validation" and got["10"]["auth_protocol"] == "ntlm"
    assert got["12"]["auth_protocol"] == "kerberos" and got["12"]["is_legacy_protocol"] is False
    assert got["13"]["status_id"] == 0 and got["13"]["service_name"] == "FILESRV01"
    assert got["05"]["src_endpoint_ip"] is None  # '-' means no address
    # portal en-US time: 11/3/2024, 2:05:01.123 PM (UTC)
    assert got["01"]["time"] == datetime(2024, 11, 3, 14, 5, 1, 123000)
    assert {q.position for q in tally.quarantine} == {"line 16", "line 17"}


def test_gzip_same_result(tmp_path: Path) -> None:
    gz = tmp_path / "se.csv.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    plain, t1 = read(FIXTURE)
    packed, t2 = read(gz, gz=True)
    assert [r["event_uid"] for r in plain] == [r["event_uid"] for r in packed]
    assert t1.records == t2.records


def test_sniff_does_not_claim_other_csvs() -> None:
    assert SRC.sniff(FIXTURE.read_bytes(), FIXTURE.name)
    entra_la = b"TimeGenerated [UTC],UserPrincipalName,ResultType,IPAddress,AppDisplayName,Computer,EventID\n"
    cloudtrail = b'"TimeGenerated [UTC]",AwsEventId,EventSource,EventName,UserIdentityType\n'
    entra_portal = b"Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username,IP address\n"
    for head in (entra_la, cloudtrail, entra_portal, b'{"EventID": 4625, "Computer": "x"}\n'):
        assert not SRC.sniff(head, "x.csv")


def test_code_tables() -> None:
    # Generic Status defers to SubStatus; a success is 0x0 with no SubStatus
    assert ntstatus_outcome("0xc000006d", "0xc000006a").status_code == "0xC000006A"
    assert ntstatus_outcome("0xC000006D", None).status_detail == "INVALID_CREDENTIALS"
    assert ntstatus_outcome("0xC0000071").password_correct is True
    assert ntstatus_outcome("0xC0000193").status_detail == "ACCOUNT_DISABLED"
    assert ntstatus_outcome("0xC000006F").status_detail == "BLOCKED_BY_POLICY"
    assert ntstatus_outcome("0xDEADBEEF").status_detail == "OTHER"
    assert ntstatus_outcome("0x0").status_id == 1
    assert kerberos_outcome("0x17").status_detail == "PASSWORD_EXPIRED"
    assert kerberos_outcome("0x25").status_detail == "OTHER"
    assert kerberos_outcome("garbage").status_id == 2


NO_QUOTE = st.characters(blacklist_characters='"\r\n', blacklist_categories=("Cs",))
LINE = st.one_of(
    st.sampled_from(FIXTURE.read_text().splitlines()[1:]),
    st.text(NO_QUOTE, max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1").replace('"', "'").replace("\r", " ")),
    st.just("x" * 1500),  # longer than max_line_bytes below
)


def physical_lines(data: bytes) -> int:
    """Lines as a CSV reader splits them: LF, CRLF or a lone CR ends one."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return 0 if not data else data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=30), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16-le"]))
@example(lines=["0\U00013400"], encoding="utf-16-le")  # a surrogate pair holding a 0x0D byte: one line
def test_garbage_rows_are_accounted(tmp_path: Path, lines: list[str], encoding: str) -> None:
    """Without quotes spanning lines, every non-blank physical line after the header is one record
    (blank lines are no rows, as a CSV reader counts them)."""
    header = FIXTURE.read_text().splitlines()[0]
    body = "\n".join(lines).encode(encoding, errors="replace")
    path = tmp_path / "garbage.csv"
    path.write_bytes((header + "\n").encode() + body)
    rows, tally = read(path, ReadOptions(max_line_bytes=1024))
    assert tally.records == sum(1 for line in body.split(b"\n") if line.strip())
    assert all(r["time"] is not None for r in rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    header = FIXTURE.read_text().splitlines()[0]
    path = tmp_path / "junk.csv"
    path.write_bytes((header + "\n").encode() + data)
    _rows, tally = read(path, ReadOptions(max_line_bytes=1024))
    assert tally.records <= physical_lines(data)  # quoted fields may join lines, never split them


IPLESS = FIXTURE.parent / "securityevent_ipless_kerberos.csv"


def test_ipless_attempts_keep_the_workstation_and_kerberos_without_preauth() -> None:
    """Fixture written from Microsoft's 4625 / 4776 / 4768 field lists: a local brute force that names
    only the workstation, OpenSSH for Windows with IpAddress '-', an AS-REP roastable account and 0x12."""
    rows, tally = read(IPLESS)
    assert (tally.records, tally.quarantined, tally.ignored) == (24, 0, 0)
    local = [r for r in rows if r["dst_host"] == "WS01"]
    assert len(local) == 16
    assert {(r["src_endpoint_ip"], r["src_endpoint_hostname"]) for r in local} == {(None, "kali")}
    ssh = [r for r in rows if r["dst_host"] == "SSHSRV01"]
    assert {(r["src_endpoint_ip"], r["src_endpoint_hostname"], r["logon_type"]) for r in ssh} == {
        (None, "sshsrv01", "8")
    }
    roast = next(r for r in rows if r["user_name"] == "contoso.com\\svc_legacy")
    assert (roast["status_id"], roast["password_correct"], roast["client_app"]) == (1, False, "no-preauth")
    normal = next(r for r in rows if r["user_name"] == "contoso.com\\alice")
    assert (normal["status_id"], normal["password_correct"]) == (1, True)  # PreAuthType 2: password checked
    revoked = [r for r in rows if r["status_code"] == "0x12"]
    assert len(revoked) == 3 and {r["status_detail"] for r in revoked} == {"ACCOUNT_DISABLED"}
