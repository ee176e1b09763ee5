"""enumeration.single_source on unknown accounts the log does not name: pam_unix on older Linux writes
"check pass; user unknown" and then the failure without user= (loghub's Linux_2k.log: bursts of ten
such attempts in a second from one rhost). The sshd reader stores them with no user name
(USER_DOES_NOT_EXIST); the shared facts need a name, so the rule counts them itself."""

from __future__ import annotations

import json

import pytest

from nightowl.detections.runner import run_all
from nightowl.ingest import ingest_paths
from nightowl.store import Store

DETECTION = "enumeration.single_source"


def pam_unknown(n: int, rhost: str, start: int = 0, pid: int = 23390) -> list[str]:
    lines = []
    for i in range(n):
        sec = start + i
        stamp = f"Jun 15 12:{12 + sec // 60:02d}:{sec % 60:02d}"
        lines.append(f"{stamp} combo sshd(pam_unix)[{pid + i}]: check pass; user unknown")
        lines.append(
            f"{stamp} combo sshd(pam_unix)[{pid + i}]: authentication failure; logname= uid=0 euid=0 "
            f"tty=NODEVssh ruser= rhost={rhost} "
        )
    return lines


def hunt(tmp_path, lines: list[str]):
    path = tmp_path / "messages"
    path.write_text("\n".join(lines) + "\n")
    with Store() as store:
        (report,) = ingest_paths(store, [str(path)])
        assert report.format == "sshd-syslog" and not report.tally.quarantined
        return [f for f in run_all(store) if f.detection == DETECTION]


@pytest.mark.detection(DETECTION, fires=True)
def test_a_burst_of_unnamed_unknown_users_is_enumeration(tmp_path):
    (f,) = hunt(tmp_path, pam_unknown(10, "218.188.2.4"))
    assert f.source_ips == ["218.188.2.4"] and f.users == []
    assert f.counts["unnamed_attempts"] == 10 and f.evidence["unnamed_attempts"] == 10
    assert "names not logged" in f.title and "does not name them" in f.summary
    # a host name as the source (pam rhost) is named like the other rules name it
    (g,) = hunt(tmp_path, pam_unknown(12, "061092085098.ctinets.com"))
    assert g.source_ips == ["host:061092085098.ctinets.com"] and g.counts["attempts"] == 12


@pytest.mark.detection(DETECTION, fires=False)
def test_fewer_attempts_or_a_brute_force_with_a_few_unknowns_are_not(tmp_path):
    assert hunt(tmp_path, pam_unknown(9, "218.188.2.4")) == []
    # two sources of five each: no single source reaches the threshold
    assert hunt(tmp_path, pam_unknown(5, "218.188.2.4") + pam_unknown(5, "218.188.2.5", 10, 24000)) == []
    # ten unknowns amid guesses on root and other existing accounts from the same rhost
    mixed = pam_unknown(10, "218.188.2.4") + [
        f"Jun 15 12:12:{i:02d} combo sshd(pam_unix)[{25000 + i}]: authentication failure; logname= uid=0 "
        f"euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=user{i}"
        for i in range(5)
    ]
    assert hunt(tmp_path, mixed) == []


def test_sessions_split_on_the_quiet_gap(tmp_path):
    # ten in the morning, ten seven hours later: two sessions, one operation (same fingerprint, a wave)
    later = [line.replace("Jun 15 12:", "Jun 15 19:") for line in pam_unknown(10, "218.188.2.4", pid=30000)]
    (f,) = hunt(tmp_path, pam_unknown(10, "218.188.2.4") + later)
    assert f.counts["source_sessions"] == 2 and f.counts["unnamed_attempts"] == 20


def masked_console_logins(n: int, ip: str) -> dict:
    """CloudTrail ConsoleLogin failures whose userName AWS masked (not an IAM user of the account)."""
    return {
        "Records": [
            {
                "eventVersion": "1.09", "eventTime": f"2024-07-16T15:{10 + i // 60:02d}:{i % 60:02d}Z",
                "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "awsRegion": "us-east-1",
                "sourceIPAddress": ip, "userAgent": "python-requests/2.32.3", "eventID": f"masked-{i:04d}",
                "eventType": "AwsConsoleSignIn", "recipientAccountId": "111122223333",
                "errorMessage": "No username found in supplied account",
                "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "accessKeyId": "",
                                 "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                "responseElements": {"ConsoleLogin": "Failure"},
                "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                        "MobileVersion": "No", "MFAUsed": "No"},
            }
            for i in range(n)
        ]
    }  # fmt: skip


@pytest.mark.detection(DETECTION, fires=True)
def test_aws_masked_user_names_are_unknown_accounts_not_one_account(tmp_path):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps(masked_console_logins(12, "203.0.113.80")))
    with Store() as store:
        ingest_paths(store, [str(path)])
        findings = run_all(store)
    (f,) = [f for f in findings if f.detection == DETECTION]
    assert f.counts["unnamed_attempts"] == 12 and f.source_ips == ["203.0.113.80"]
    # no finding names the mask as if it were an account
    assert not [g for g in findings if "hidden_due_to_security_reasons" in g.users]


def test_a_tied_session_names_the_same_fingerprint_whatever_the_row_order(tmp_path):
    """Six masked failures from one client, six from another, one source: the session's fingerprint is
    the smallest of the tied ones (the same on every engine and scan order)."""
    trail = masked_console_logins(12, "203.0.113.80")
    for i, rec in enumerate(trail["Records"]):
        rec["userAgent"] = "aws-cli/2.15.0" if i % 2 else "python-requests/2.32.3"
    picks = set()
    for order in (1, -1):
        path = tmp_path / f"trail{order}.json"
        path.write_text(json.dumps({"Records": trail["Records"][::order]}))
        with Store() as store:
            ingest_paths(store, [str(path)])
            (f,) = [f for f in run_all(store) if f.detection == DETECTION]
        picks.add((f.evidence["fingerprint"], f.evidence["top_user_agent"]))
    assert picks == {("aws-cli/2.15.0 | AWS Management Console | password", "aws-cli/2.15.0")}
