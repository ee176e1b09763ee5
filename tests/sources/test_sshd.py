"""sshd reader: the real loghub OpenSSH log, year/zone fixtures, and hostile input."""

from __future__ import annotations

import gzip
import os
import re
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, decode
from nightowl.sources.sshd import BLANK_CHARS, SOURCES
from tests.conftest import dataset

SRC = SOURCES[0]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sshd"


def read(path: Path, opts: ReadOptions | None = None, gz: bool = False) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(SRC.read(InputFile(path.name, path, gzip=gz), tally, opts or ReadOptions()))
    for b in batches:
        assert b.schema == schema.AUTH_SCHEMA
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def copy_with_mtime(src: Path, dst: Path, when: datetime) -> Path:
    dst.write_bytes(src.read_bytes())
    os.utime(dst, (when.timestamp(), when.timestamp()))
    return dst


def physical_lines(data: bytes, max_line_bytes: int = 1 << 20) -> int:
    """Lines that are records: all but blank ones (a BOM before the first is no part of it). Blank
    is spaces and tabs only: a line of control characters (0x1c-0x1f, whitespace to str.strip())
    is a record to quarantine."""
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    lines = lines[:-1] if data.endswith(b"\n") else lines
    return sum(1 for ln in lines if len(ln) > max_line_bytes or decode(ln.rstrip(b"\r")).strip(BLANK_CHARS))


# --------------------------------------------------------------------------- the real log


def test_real_openssh_log() -> None:
    path = dataset("linux-sshd/OpenSSH_2k.log")
    data = path.read_bytes()
    text = data.decode()
    rows, tally = read(path)
    repeats = [int(n) for n in re.findall(r"message repeated (\d+) times", text)]
    assert repeats  # README: note `message repeated` lines
    assert tally.records == physical_lines(data) + sum(n - 1 for n in repeats)
    assert tally.quarantined == 0

    # every "Failed password" is one failure; a repeated one counts N times (plain text count)
    expected_failed = 0
    for line in text.splitlines():
        if "Failed password" in line:
            m = re.search(r"message repeated (\d+) times", line)
            expected_failed += int(m.group(1)) if m else 1
    failed = [r for r in rows if r["status_code"] == "Failed password"]
    assert len(failed) == expected_failed
    assert all(r["status_id"] == 2 and r["auth_protocol"] == "ssh-password" for r in failed)
    invalid_failed = sum(1 for line in text.splitlines() if "Failed password for invalid user" in line)
    assert sum(1 for r in failed if r["status_detail"] == "USER_DOES_NOT_EXIST") == invalid_failed
    assert all(r["user_exists"] is False for r in failed if r["status_detail"] == "USER_DOES_NOT_EXIST")

    # README: 1 "Accepted password"
    ok = [r for r in rows if r["status_id"] == 1]
    assert len(ok) == text.count("Accepted password") == 1
    assert ok[0]["auth_protocol"] == "ssh-password" and ok[0]["password_correct"] is True

    # each "Invalid user" line is either the same attempt as a Failed line of that sshd process
    # (ignored) or an event of its own when that process never logged a Failed/Accepted line
    by_pid: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        m = re.search(r"sshd\[(\d+)\]: (.*)", line)
        if m:
            by_pid[m.group(1)].append(m.group(2))
    unanswered = sum(
        sum(1 for msg in msgs if msg.startswith("Invalid user "))
        for msgs in by_pid.values()
        if not any(re.match(r"(Failed (?!none)|Accepted )", msg) for msg in msgs)
    )
    probes = [r for r in rows if r["status_code"] == "Invalid user"]
    assert len(probes) == unanswered > 0
    assert all(r["auth_protocol"] is None and r["status_detail"] == "USER_DOES_NOT_EXIST" for r in probes)
    invalid_lines = sum(1 for line in text.splitlines() if ": Invalid user " in line)
    assert len(probes) + tally.ignored_reasons["same attempt as the sshd Failed line"] == invalid_lines

    # no year in the file: the last timestamp (Dec 10) is not after the file's mtime
    mtime = datetime.fromtimestamp(path.stat().st_mtime)
    year = mtime.year if (mtime.month, mtime.day) >= (12, 10) else mtime.year - 1
    assert {r["time"].year for r in rows} == {year}
    assert {r["dst_host"] for r in rows} == {"LabSZ"}


def test_real_log_gzip(tmp_path: Path) -> None:
    path = dataset("linux-sshd/OpenSSH_2k.log")
    gz = copy_with_mtime(path, tmp_path / "auth.log.gz", datetime(2017, 1, 5))
    gz.write_bytes(gzip.compress(path.read_bytes()))
    os.utime(gz, (datetime(2017, 1, 5).timestamp(),) * 2)
    plain, t1 = read(path, ReadOptions(year=2016))
    packed, t2 = read(gz, gz=True)
    assert t1.records == t2.records
    assert [r["time"] for r in plain] == [r["time"] for r in packed]  # mtime Jan 2017 -> Dec 2016
    assert plain[0]["time"].year == 2016


# --------------------------------------------------------------------------- time


def test_year_rollover_from_mtime(tmp_path: Path) -> None:
    log = copy_with_mtime(FIXTURES / "rollover.log", tmp_path / "auth.log", datetime(2025, 1, 2, 8, 0))
    rows, tally = read(log)
    assert [r["time"] for r in rows] == [
        datetime(2024, 12, 31, 23, 59, 58),
        datetime(2024, 12, 31, 23, 59, 59),
        datetime(2025, 1, 1, 0, 0, 1),
        datetime(2025, 1, 1, 0, 0, 5),
    ]
    assert tally.records == 6 and tally.ignored == 2
    assert rows[-1]["auth_protocol"] == "ssh-publickey" and rows[-1]["user_name"] == "deploy"


def test_last_timestamp_after_mtime_means_previous_year(tmp_path: Path) -> None:
    # Jul 4 lines in a file last written on Jul 1 cannot be from that year
    before = copy_with_mtime(FIXTURES / "journal_short.log", tmp_path / "a.log", datetime(2025, 7, 1))
    after = copy_with_mtime(FIXTURES / "journal_short.log", tmp_path / "b.log", datetime(2025, 7, 5))
    assert {r["time"].year for r in read(before)[0]} == {2024}
    assert {r["time"].year for r in read(after)[0]} == {2025}


def test_year_and_timezone_options(tmp_path: Path) -> None:
    rows, _ = read(FIXTURES / "rollover.log", ReadOptions(year=2019, timezone="Europe/Berlin"))
    # --year is the year of the first line; Berlin is UTC+1 in winter
    assert rows[0]["time"] == datetime(2019, 12, 31, 22, 59, 58)
    assert rows[-1]["time"] == datetime(2019, 12, 31, 23, 0, 5)
    short, _ = read(FIXTURES / "journal_short.log", ReadOptions(year=2020, timezone="America/New_York"))
    assert [r["time"] for r in short] == [datetime(2020, 7, 4, 16, 0), datetime(2020, 7, 4, 16, 0, 3, 250000)]
    with pytest.raises(InputError):
        read(FIXTURES / "journal_short.log", ReadOptions(timezone="Mars/Olympus_Mons"))


def test_iso_rfc5424_and_journal_lines() -> None:
    rows, tally = read(FIXTURES / "iso_and_journal.log")
    assert tally.records == 17  # 15 lines, one of them "message repeated 3 times"
    assert (len(rows), tally.ignored, tally.quarantined) == (9, 7, 1)
    assert tally.quarantine[0].position == "line 15"
    summary = [(r["time"], r["user_name"], r["status_code"], r["status_detail"]) for r in rows]
    assert summary == [
        (datetime(2024, 1, 2, 3, 4, 7), "admin", "Failed password", "USER_DOES_NOT_EXIST"),
        (datetime(2024, 1, 2, 3, 4, 8), "alice", "Failed keyboard-interactive/pam", "INVALID_CREDENTIALS"),
        (datetime(2024, 1, 2, 3, 5, 0, 500000), "alice", "Accepted keyboard-interactive/pam", "SUCCESS"),
        (datetime(2024, 1, 2, 3, 6, 0), "oracle", "Invalid user", "USER_DOES_NOT_EXIST"),
        (datetime(2024, 1, 2, 3, 8, 0), "bob", "Failed password", "INVALID_CREDENTIALS"),
        *[(datetime(2024, 1, 2, 3, 9, 0), "carol", "Failed password", "INVALID_CREDENTIALS")] * 3,
        (datetime(2024, 1, 2, 3, 10, 0), "test", "Invalid user", "USER_DOES_NOT_EXIST"),
    ]
    assert rows[1]["auth_protocol"] == "ssh-keyboard-interactive"
    assert {r["dst_host"] for r in rows} == {"web1"}
    reasons = tally.ignored_reasons
    assert reasons["line from another program, not sshd"] == 1
    assert reasons["same attempt as the sshd Failed line"] == 1
    # naive ISO timestamps are local time
    tz_rows, _ = read(FIXTURES / "iso_and_journal.log", ReadOptions(timezone="Asia/Tokyo"))
    assert tz_rows[4]["time"] == datetime(2024, 1, 1, 18, 8, 0)
    assert tz_rows[0]["time"] == rows[0]["time"]  # explicit offsets are not shifted


def test_rhel_pam_lines_are_events_with_host_names() -> None:
    """sshd(pam_unix) failures with no sshd Failed line (RHEL/CentOS /var/log/secure) are attempts;
    a host-name rhost is the source's host name, never put in the address column."""
    assert SRC.sniff((FIXTURES / "pam_rhel_secure.log").read_bytes(), "secure")
    rows, tally = read(FIXTURES / "pam_rhel_secure.log", ReadOptions(year=2005))
    got = [
        (r["user_name"], r["src_endpoint_ip"], r["src_endpoint_hostname"], r["status_detail"]) for r in rows
    ]
    hinet = "220-135-151-1.hinet-ip.hinet.net"
    assert sorted(got, key=str) == sorted(
        [
            (None, "218.188.2.4", None, "INVALID_CREDENTIALS"),
            (None, "218.188.2.4", None, "USER_DOES_NOT_EXIST"),
            ("root", None, hinet, "INVALID_CREDENTIALS"),
            ("root", None, hinet, "INVALID_CREDENTIALS"),
            ("root", None, hinet, "INVALID_CREDENTIALS"),
            ("guest", None, "061092085098.ctinets.com", "INVALID_CREDENTIALS"),
        ],
        key=str,
    )
    assert {r["status_id"] for r in rows} == {2}
    assert all(r["password_correct"] is False for r in rows if r["status_detail"] == "INVALID_CREDENTIALS")
    assert min(r["time"] for r in rows) == datetime(2005, 6, 14, 15, 16, 1)
    assert (tally.records, len(rows), tally.quarantined) == (10, 6, 0)
    assert tally.ignored_reasons["line from another program, not sshd"] == 1  # su(pam_unix)


def test_pam_lines_beside_failed_lines_count_once() -> None:
    """journald / modern syslog: a PAM failure followed by sshd's Failed line is one attempt; one
    without a Failed line (the connection closed first, or the log has PAM lines only) is its own."""
    rows, tally = read(FIXTURES / "pam_journal.log")
    got = [
        (r["user_name"], r["src_endpoint_ip"] or r["src_endpoint_hostname"], r["status_code"]) for r in rows
    ]
    assert got == [
        ("oracle", "203.0.113.9", "Failed password"),
        ("root", "203.0.113.9", "Failed password"),
        ("root", "203.0.113.9", "pam_unix authentication failure"),
        ("admin", "scanner.example.net", "pam_unix authentication failure"),
        ("admin", "198.51.100.7", "pam_unix authentication failure"),
    ]
    assert rows[0]["status_detail"] == "USER_DOES_NOT_EXIST"
    assert tally.ignored_reasons["PAM detail of an attempt sshd logs as a Failed line"] >= 2
    assert tally.quarantined == 0


def test_sniff() -> None:
    assert SRC.sniff((FIXTURES / "rollover.log").read_bytes(), "auth.log")
    assert SRC.sniff((FIXTURES / "iso_and_journal.log").read_bytes(), "sshd.log")
    assert not SRC.sniff(b"Jan  1 00:00:00 host CRON[1]: job\n", "syslog")
    assert not SRC.sniff(b'{"eventName": "ConsoleLogin"}\n', "x.json")
    assert not SRC.sniff(b"ElfFile\x00", "x.evtx")


# --------------------------------------------------------------------------- hostile input

TEMPLATES = [
    "Dec 10 06:55:46 h sshd[{pid}]: Failed password for {user} from 10.0.0.{n} port 22 ssh2",
    "Dec 10 06:55:46 h sshd[{pid}]: Invalid user {user} from 10.0.0.{n}",
    "Dec 10 06:55:47 h sshd[{pid}]: Connection closed by 10.0.0.{n} [preauth]",
    "Dec 10 06:55:48 h sshd[{pid}]: Accepted password for {user} from 10.0.0.{n} port 22 ssh2",
    "Dec 10 06:55:49 h sshd[{pid}]: pam_unix(sshd:auth): authentication failure; rhost=x user={user}",
    "Feb 30 06:55:49 h sshd[{pid}]: Failed password for {user} from 10.0.0.{n} port 22 ssh2",
    "2024-01-02T03:04:05Z h sshd[{pid}]: Failed password for invalid user {user} from ::1 port 2 ssh2",
    "Dec 10 06:55:50 h sshd(pam_unix)[{pid}]: authentication failure; logname= uid=0 rhost=h{n}.example user={user}",
    "Dec 10 06:55:50 h sshd(pam_unix)[{pid}]: check pass; user unknown",
    "Dec 10 06:55:51 h sshd(pam_unix)[{pid}]: session opened for user {user} by (uid=0)",
]
VALID = st.builds(
    lambda t, pid, user, n: t.format(pid=pid, user=user, n=n),
    st.sampled_from(TEMPLATES),
    st.integers(1, 5),
    st.text(
        st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1, max_size=12
    ),
    st.integers(0, 255),
)
JUNK = st.one_of(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=80),
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ").replace(b"\r", b" ").decode("latin-1")),
    st.just("Dec 10 06:55:46 h sshd[1]: " + "A" * 500),  # oversized with max_line_bytes=256
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.one_of(VALID, JUNK), max_size=40),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
    repeat=st.integers(1, 7),
    truncate=st.integers(0, 40),
)
def test_every_line_is_accounted(
    tmp_path: Path, lines: list[str], encoding: str, repeat: int, truncate: int
) -> None:
    lines = [
        *lines,
        f"Dec 10 07:00:00 h sshd[9]: message repeated {repeat} times: [ Failed password for x from 1.2.3.4 port 1 ssh2]",
    ]
    data = "\n".join(lines).encode(encoding, errors="replace")
    data = data[: max(0, len(data) - truncate)]  # cut the last line anywhere
    path = tmp_path / "auth.log"
    path.write_bytes(data)
    rows, tally = read(path, ReadOptions(max_line_bytes=256, year=2020))
    full_repeat = data.endswith(b"ssh2]")
    assert tally.records == physical_lines(data, 256) + (repeat - 1 if full_repeat else 0)
    assert all(r["time"] is not None and r["status_id"] in (1, 2) for r in rows)
    assert tally.quarantined >= sum(
        1 for line in lines if "A" * 500 in line and "A" * 500 in data.decode("latin-1")
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.log"
    path.write_bytes(data)
    _, tally = read(path, ReadOptions(max_line_bytes=128))
    assert tally.records == physical_lines(data)


def test_truncated_gzip_is_quarantined(tmp_path: Path) -> None:
    body = "".join(
        f"Mar  1 10:{i // 60 % 60:02d}:{i % 60:02d} h sshd[{i}]: Failed password for u{i * 7919 % 10007} "
        f"from 10.{i % 250}.{i * 31 % 250}.{i * 17 % 250} port {1024 + i * 13 % 60000} ssh2\n"
        for i in range(5000)
    ).encode()
    gz = tmp_path / "auth.log.gz"
    gz.write_bytes(gzip.compress(body)[:-40])
    rows, tally = read(gz, ReadOptions(year=2024), gz=True)
    assert tally.quarantine[-1].reason.startswith("compressed stream is corrupt or truncated")
    assert 4000 < len(rows) < 5000  # what was readable before the damage is kept


def test_no_double_counting_per_attempt(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(
        "Mar  1 10:00:00 h sshd[7]: Invalid user bob from 192.0.2.1\n"
        "Mar  1 10:00:00 h sshd[7]: input_userauth_request: invalid user bob [preauth]\n"
        "Mar  1 10:00:00 h sshd[7]: pam_unix(sshd:auth): check pass; user unknown\n"
        "Mar  1 10:00:00 h sshd[7]: pam_unix(sshd:auth): authentication failure; logname= rhost=192.0.2.1\n"
        "Mar  1 10:00:02 h sshd[7]: Failed password for invalid user bob from 192.0.2.1 port 5 ssh2\n"
        "Mar  1 10:00:03 h sshd[7]: Failed password for invalid user bob from 192.0.2.1 port 5 ssh2\n"
        "Mar  1 10:00:04 h sshd[7]: PAM 1 more authentication failure; logname= rhost=192.0.2.1\n"
        "Mar  1 10:00:05 h sshd[8]: Invalid user eve from 192.0.2.2\n"
        "Mar  1 10:00:05 h sshd[8]: message repeated 2 times: [ Invalid user eve from 192.0.2.2]\n"
        "Mar  1 10:00:06 h sshd[8]: Received disconnect from 192.0.2.2: 11: Bye Bye [preauth]\n"
    )
    rows, tally = read(log, ReadOptions(year=2024))
    assert Counter(r["user_name"] for r in rows) == {"bob": 2, "eve": 3}
    assert tally.records == 11


def test_a_line_of_control_characters_is_quarantined_not_taken_for_blank(tmp_path: Path) -> None:
    """Python's str.strip() takes 0x1c-0x1f for whitespace: such a line is garbage, counted."""
    log = tmp_path / "secure"
    log.write_bytes(
        b"\x1c\n \t\n"
        b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 "
        b"tty=NODEVssh ruser= rhost=218.188.2.4\n\x1f\x1d\n"
    )
    rows, tally = read(log)
    assert len(rows) == 1
    assert [q.position for q in tally.quarantine] == ["line 1", "line 4"]
    assert {q.reason for q in tally.quarantine} == {"not a syslog line"}
