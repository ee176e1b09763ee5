"""OpenSSH server logs: syslog ``auth.log`` / ``secure``, RFC 3339 / RFC 5424 lines, journalctl.

Accepted line shapes (an optional ``<PRI>`` prefix everywhere)::

    Dec 10 06:55:46 host sshd[24200]: ...                 classic syslog, journalctl short
    Jan 02 03:04:05.123456 host sshd[123]: ...            journalctl short-precise
    2024-01-02T03:04:05.123456+00:00 host sshd[123]: ...  rsyslog RFC 3339, journalctl short-iso
    <34>1 2024-01-02T03:04:05Z host sshd 123 - - ...      RFC 5424

``sshd-session`` and ``sshd-auth`` (OpenSSH 9.8+) count as sshd.

**Time.** Classic timestamps have no year and are in the host's local time. The zone is
``opts.timezone`` (IANA name), UTC by default. The year: ``opts.year`` is the year of the
file's first line; otherwise the year is chosen so that the file's last timestamp is not after
the file's modification time. A month going backwards by more than six (Dec -> Jan) rolls the
year over. This needs a cheap first pass over the file (timestamps only).

**One event per attempt.** sshd and PAM describe one password guess in up to four lines::

    Invalid user admin from 1.2.3.4                       (only for unknown users)
    input_userauth_request: invalid user admin [preauth]
    pam_unix(sshd:auth): authentication failure; ... rhost=1.2.3.4
    Failed password for invalid user admin from 1.2.3.4 port 5555 ssh2

The ``Failed <method>`` / ``Accepted <method>`` line is the event (it has user, IP, port and
method). The PAM and ``input_userauth_request`` lines are always ignored as duplicates.
An ``Invalid user`` line becomes an event of its own (USER_DOES_NOT_EXIST, no auth method)
*only* when the same sshd process never logs a ``Failed``/``Accepted`` line for it -- e.g. a
scanner that disconnects at the first prompt, or tries keys only -- so those probes stay
visible without double counting. It is decided when that process's connection closes (or at
end of file); otherwise the line is ignored as "same attempt as the sshd Failed line".

**PAM lines as events.** Older RHEL/CentOS ``/var/log/secure`` logs ``sshd(pam_unix)[pid]:
authentication failure; ... rhost=HOST user=root`` and often no ``Failed`` line at all; a
modern sshd logs the same as ``sshd[pid]: pam_unix(sshd:auth): authentication failure; ...``
(syslog and journald alike). A PAM failure is held like an ``Invalid user`` line: it becomes
an event (INVALID_CREDENTIALS, or USER_DOES_NOT_EXIST after ``check pass; user unknown``) only
when the same process logs no ``Failed`` line for it -- the next PAM failure of the process,
its connection close, or the end of file decides. ``rhost`` is often a host name (reverse DNS):
it goes to ``src_endpoint_hostname`` and ``src_endpoint_ip`` stays empty.

``message repeated N times: [ msg ]`` counts as N records of ``msg``, each with the time of
the repeat line (syslog does not keep the individual times), up to MAX_REPEAT_ROWS_PER_FILE
added rows per file; repeats beyond are counted as ignored (REPEAT_CAPPED), never materialised. ``Failed none`` (the client
asking which methods exist) is not an attempt.

The older form ``last message repeated N times`` (sysklogd, busybox and old rsyslog: it names no
message, and is written with no program, or with an empty host field) repeats the previous line of
the same host N times, read the same way; with no previous line in the file it is ignored.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from nightowl import schema as S
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally, bounded_lines, decode
from nightowl.sources.records.times import iso_in_zone, to_utc

SOURCE_FORMAT = "sshd-syslog"
BATCH_ROWS = 50_000
MAX_REPEAT = 1_000_000  # a larger "message repeated" count is not from a real syslog daemon
# Rows that "message repeated" lines may add per file: beyond it (ten lines of 999999 repeats in a
# 1 KB file would be 10M rows) the repeats are counted as ignored with REPEAT_CAPPED, not stored.
MAX_REPEAT_ROWS_PER_FILE = 1_000_000
REPEAT_CAPPED = (
    f"message repeated beyond {MAX_REPEAT_ROWS_PER_FILE} rows per file (expansion cap; counted, not stored)"
)
MAX_PENDING = 100_000  # open "Invalid user" lines waiting for their Failed line

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
# What a blank line may hold. Not str.strip()'s whitespace: that includes the control characters
# 0x1c-0x1f, so a line of garbage like "\x1c" would vanish without being counted.
BLANK_CHARS = " \t\r\n\v\f"

_PRI = r"(?:<\d{1,3}>)?"
_PROG = r"(?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)"
CLASSIC = re.compile(
    _PRI
    + r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,9}))?"
    r" (?P<host>\S+) " + _PROG,
    re.DOTALL,
)
ISO = re.compile(
    _PRI + r"(?:1 )?(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (?P<host>\S+) " + _PROG,
    re.DOTALL,
)
RFC5424 = re.compile(
    r"<\d{1,3}>1 (?P<ts>\S+) (?P<host>\S+) (?P<prog>\S+) (?P<pid>\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(?P<msg>.*)",
    re.DOTALL,
)
CLASSIC_TS = re.compile(
    _PRI + r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
)

REPEATED = re.compile(r"message repeated (\d+) times: \[ ?(.*)\]$", re.DOTALL)
LAST_REPEATED_MSG = re.compile(r"last message repeated (?P<n>\d+) times?\s*$")
# the forms a syslog line regex does not take: no program ("host last message ..."), empty host
LAST_REPEATED_LINE = re.compile(
    _PRI
    + r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,9}))?"
    r" +(?:(?P<host>[^\s\[:]+) +)?(?:(?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: +)?"
    r"last message repeated (?P<n>\d+) times?\s*$"
)
NO_PREVIOUS_LINE = "'last message repeated' with no earlier line in the file"
FAILED = re.compile(
    r"Failed (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) from (?P<ip>\S+) port \d+(?: ssh\d?)?(?::.*)?$",
    re.DOTALL,
)
ACCEPTED = re.compile(
    r"Accepted (?P<method>\S+) for (?P<user>.*?) from (?P<ip>\S+) port \d+(?: ssh\d?)?(?::.*)?$", re.DOTALL
)
PAM_FAILURE = re.compile(r"(?:pam_unix\(sshd:auth\): )?authentication failure;(?P<kv>.*)$", re.DOTALL)
PAM_UNKNOWN = re.compile(r"(?:pam_unix\(sshd:auth\): )?check pass; user unknown\s*$")
_PAM_KV = re.compile(r"(\w+)=(\S*)")
INVALID = re.compile(r"[Ii]nvalid user (?P<user>.*?) from (?P<ip>\S+?)(?: port \d+)?$", re.DOTALL)

SSHD_PROGRAMS = {"sshd", "sshd-session", "sshd-auth"}
PAM_PROGRAMS = {"sshd(pam_unix)"}  # RHEL 4/5 syslog name of pam_unix inside sshd

# Ignored message prefixes -> reason (checked in order; first match wins).
IGNORED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("pam_unix(sshd:auth)", "PAM detail of an attempt sshd logs as a Failed line"),
    ("input_userauth_request: invalid user", "same attempt as the sshd Invalid user line"),
    ("PAM ", "PAM summary of failures already logged one by one"),
    ("error: PAM:", "PAM detail of an attempt sshd logs as a Failed line"),
    ("Disconnecting", "disconnect after failures already logged"),
    ("error: maximum authentication attempts exceeded", "disconnect after failures already logged"),
    ("reverse mapping checking", "reverse DNS warning, not an authentication attempt"),
    ("Address ", "reverse DNS warning, not an authentication attempt"),
    ("Connection closed", "connection closed"),
    ("Connection reset", "connection closed"),
    ("Received disconnect", "connection closed"),
    ("error: Received disconnect", "connection closed"),
    ("Disconnected from", "connection closed"),
    ("Timeout before authentication", "connection closed"),
    ("fatal:", "connection closed"),
    ("Did not receive identification string", "connection without an SSH handshake"),
    ("Bad protocol version", "connection without an SSH handshake"),
    ("Protocol major versions differ", "connection without an SSH handshake"),
    ("pam_unix(sshd:session)", "session opened/closed (the logon itself is the Accepted line)"),
    ("User ", "access-policy notice; the attempt itself is logged as a Failed line"),
    ("Postponed ", "intermediate step of an attempt logged as Accepted/Failed"),
    ("Server listening", "sshd daemon status"),
    ("Received signal", "sshd daemon status"),
)
# Messages that end an sshd process's connection: an open "Invalid user" line is decided here.
SESSION_END = (
    "Connection closed",
    "Connection reset",
    "Received disconnect",
    "error: Received disconnect",
    "Disconnected from",
    "Disconnecting",
    "Timeout before authentication",
    "fatal:",
)
_IGNORE_RE = re.compile("|".join(f"(?P<r{i}>{re.escape(p)})" for i, (p, _) in enumerate(IGNORED_PREFIXES)))
_IGNORE_REASON = {f"r{i}": reason for i, (_, reason) in enumerate(IGNORED_PREFIXES)}
EVENT_PREFIXES = ("Failed ", "Accepted ", "Invalid user ", "invalid user ")
DUPLICATE_INVALID = "same attempt as the sshd Failed line"
DUPLICATE_PAM = "PAM detail of an attempt sshd logs as a Failed line"
NONE_PROBE = "'none' method probe: the client asks which methods are allowed"


def _protocol(method: str) -> str:
    base = method.split("/", 1)[0].lower()
    if base in ("password", "publickey", "keyboard-interactive", "hostbased"):
        return f"ssh-{base}"
    if base.startswith("gssapi"):
        return "ssh-gssapi"
    return f"ssh-{base}"


def _zone(name: str | None) -> ZoneInfo | None:
    if not name or name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from exc


def _roll(prev: int | None, month: int) -> int:
    """Year change between two consecutive classic timestamps."""
    if prev is None:
        return 0
    delta = month - prev
    if delta < -6:
        return 1
    if delta > 6:  # a line slightly out of order across New Year
        return -1
    return 0


def _first_year(inp: InputFile, opts: ReadOptions, zone: ZoneInfo | None) -> int | None:
    """Year of the first classic timestamp (None when the file has none)."""
    if opts.year is not None:
        return opts.year
    prev: int | None = None
    shift = 0
    last: tuple[int, int, int, int, int] | None = None
    for _, raw, problem in bounded_lines(inp, opts.max_line_bytes):
        if problem:
            continue
        m = CLASSIC_TS.match(raw[:40].decode("latin-1"))
        if not m or m.group("mon") not in MONTHS:
            continue
        month = MONTHS[m.group("mon")]
        shift += _roll(prev, month)
        prev = month
        last = (month, int(m.group("day")), int(m.group("h")), int(m.group("m")), int(m.group("s")))
    if last is None:
        return None
    try:
        mtime = datetime.fromtimestamp(os.stat(inp.path).st_mtime, tz=zone or UTC).replace(tzinfo=None)
    except OSError:
        mtime = datetime.now(tz=zone or UTC).replace(tzinfo=None)
    year = mtime.year
    for candidate in range(mtime.year, mtime.year - 9, -1):  # Feb 29 needs a leap year
        try:
            if datetime(candidate, *last) <= mtime + timedelta(seconds=1):
                year = candidate
                break
        except ValueError:
            continue
    return year - shift


class _State:
    """Per-file parse state: the year walk, open 'Invalid user' lines by sshd process, and
    ignore counts (kept locally: most lines are ignored, and Tally.ignore per line is slow)."""

    def __init__(
        self, first_year: int | None, zone: ZoneInfo | None, source_format: str = SOURCE_FORMAT
    ) -> None:
        self.source_format = source_format
        self.year = first_year
        self.prev_month: int | None = None
        self.zone = zone
        self.pending: dict[tuple[str, str], dict] = {}
        self.repeat_budget = MAX_REPEAT_ROWS_PER_FILE
        self.pam_pending: dict[tuple[str, str], dict] = {}  # PAM failures awaiting a Failed line
        self.pam_unknown: set[tuple[str, str]] = set()  # "check pass; user unknown" just seen
        self.ignored: Counter[str] = Counter()
        # the last syslog line of each host (host, program, pid, message), for "last message repeated"
        self.last_line: dict[str, tuple[str, str, str | None, str]] = {}
        self.last_host: str | None = None
        self._stamp: tuple | str | None = None
        self._when: datetime | None = None

    def time(self, stamp: tuple | str | datetime) -> datetime | None:
        """UTC time of a classic (year, month, day, h, m, s, frac) tuple, an ISO string, or an
        absolute naive-UTC datetime (the journal's own clock)."""
        if isinstance(stamp, datetime):
            return stamp
        if stamp == self._stamp:
            return self._when
        if isinstance(stamp, str):
            when = iso_in_zone(stamp, self.zone)
        else:
            year, month, day, hour, minute, sec, frac = stamp
            try:
                local = datetime(
                    year, month, int(day), int(hour), int(minute), int(sec),
                    int(frac[:6].ljust(6, "0")) if frac else 0,
                )  # fmt: skip
            except ValueError:
                when = None
            else:
                when = to_utc(local, self.zone)
        self._stamp, self._when = stamp, when
        return when

    def flush_ignored(self, tally: Tally) -> None:
        for reason, n in self.ignored.items():
            tally.ignore(reason, n)
        self.ignored.clear()


class SshdSyslog:
    name = SOURCE_FORMAT
    title = "OpenSSH server log (syslog auth.log / secure, journalctl)"
    export_hint = (
        "copy /var/log/auth.log* or /var/log/secure*, or: journalctl -u ssh -u sshd -o short-iso > sshd.log"
    )

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:16384].decode("latin-1")
        hits = 0
        for line in text.splitlines()[:50]:
            m = CLASSIC.match(line) or ISO.match(line) or RFC5424.match(line)
            if m and _program(m.group("prog")) in _ALL_PROGRAMS:
                hits += 1
        return hits > 0

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        zone = _zone(opts.timezone)
        state = _State(_first_year(inp, opts, zone), zone)
        rows: list[dict] = []
        for lineno, raw, problem in bounded_lines(inp, opts.max_line_bytes):
            if problem:
                tally.reject(f"line {lineno}", problem, raw)
                continue
            self._line(lineno, decode(raw), inp.name, state, tally, rows)
            if len(rows) >= BATCH_ROWS:
                yield self.batch(rows, state, tally)
                rows = []
        yield from self.finish(rows, state, tally)

    def batch(self, rows: list[dict], st: _State, tally: Tally) -> pa.RecordBatch:
        """The rows parsed so far as a batch (the ignore counts go to the tally with them)."""
        st.flush_ignored(tally)
        if st.source_format != SOURCE_FORMAT:
            for row in rows:
                row["source_format"] = st.source_format
        return S.batch_from_rows(rows)

    def finish(self, rows: list[dict], st: _State, tally: Tally) -> Iterator[pa.RecordBatch]:
        """End of input: held Invalid user and PAM lines that no Failed line followed are attempts."""
        rows.extend(st.pending.values())  # Invalid user lines never followed by an attempt
        rows.extend(st.pam_pending.values())  # PAM failures never followed by a Failed line
        st.pending.clear()
        st.pam_pending.clear()
        if rows:
            yield self.batch(rows, st, tally)
        else:
            st.flush_ignored(tally)

    # -- one line -----------------------------------------------------------------------

    def _line(self, lineno: int, line: str, shown: str, st: _State, tally: Tally, rows: list[dict]) -> None:
        stamp: tuple | str | None
        m = CLASSIC.match(line)
        if m:
            host, prog, pid, msg = m.group("host", "prog", "pid", "msg")
            stamp = self._classic_stamp(m, st, lineno, line, tally)
            if stamp is None:
                return
        else:
            if not line.strip(BLANK_CHARS):  # a blank line is no record; a control character is no blank
                return
            if line.startswith("-- "):
                st.ignored["journalctl marker line"] += 1
                return
            m = RFC5424.match(line) or ISO.match(line)
            if not m:
                r = LAST_REPEATED_LINE.match(line)
                if r is None:
                    tally.reject(f"line {lineno}", "not a syslog line", line)
                    return
                stamp = self._classic_stamp(r, st, lineno, line, tally)
                if stamp is not None:
                    self._repeat_last(
                        r.group("host"), int(r.group("n")), lineno, line, stamp, shown, st, tally, rows
                    )
                return
            host, prog, pid, msg = m.group("host", "prog", "pid", "msg")
            stamp = m.group("ts")
        r = LAST_REPEATED_MSG.match(msg)
        if r is not None:
            self._repeat_last(host, int(r.group("n")), lineno, line, stamp, shown, st, tally, rows)
            return
        st.last_line[host] = (host, prog, pid, msg)
        st.last_host = host
        self.message(lineno, line, stamp, host, prog, pid, msg, shown, st, tally, rows)

    def _classic_stamp(
        self, m: re.Match[str], st: _State, lineno: int, line: str, tally: Tally
    ) -> tuple | None:
        """The (year, month, day, h, m, s, frac) of a classic timestamp, walking the year; None
        (the line quarantined) for an unknown month name."""
        month = MONTHS.get(m.group("mon"))
        if month is None:
            tally.reject(f"line {lineno}", "unknown month name", line)
            return None
        if st.year is None:  # classic lines that the year pass did not see
            st.year = datetime.now(UTC).year
        if month != st.prev_month:
            st.year += _roll(st.prev_month, month)
            st.prev_month = month
        return (st.year, month, m.group("day"), m.group("h"), m.group("m"), m.group("s"), m.group("frac"))

    def _repeat_last(
        self, host: str | None, count: int, lineno: int, line: str, stamp: tuple | str,
        shown: str, st: _State, tally: Tally, rows: list[dict],
    ) -> None:  # fmt: skip
        """``last message repeated N times``: the previous line of that host (of the file when the
        host field is empty) read as ``message repeated N times: [ msg ]``, at this line's time."""
        prev = st.last_line.get(host or "") if host else None
        if prev is None and st.last_host is not None:
            prev = st.last_line[st.last_host]
        if prev is None:
            st.ignored[NO_PREVIOUS_LINE] += 1
            return
        p_host, p_prog, p_pid, p_msg = prev
        repeated = f"message repeated {count} times: [ {p_msg}]"
        self.message(lineno, line, stamp, p_host, p_prog, p_pid, repeated, shown, st, tally, rows)

    def message(
        self, lineno: int, line: str, stamp: tuple | str | datetime, host: str, prog: str,
        pid: str | None, msg: str, shown: str, st: _State, tally: Tally, rows: list[dict],
    ) -> None:  # fmt: skip
        """One logged message of a program: the syslog line's parts, or a journal entry's fields
        (``line`` is the raw record, for quarantine excerpts)."""
        program = _program(prog)
        if program not in _ALL_PROGRAMS:
            st.ignored["line from another program, not sshd"] += 1
            return
        pid = pid or "-"
        count = 1
        if msg.startswith("message repeated "):
            rep = REPEATED.match(msg)
            if rep:
                count = int(rep.group(1))
                if count < 1 or count > MAX_REPEAT:
                    tally.reject(f"line {lineno}", f"implausible repeat count {rep.group(1)}", line)
                    return
                msg = rep.group(2)
                extra = min(count - 1, st.repeat_budget)
                if extra < count - 1:
                    st.ignored[REPEAT_CAPPED] += count - 1 - extra
                st.repeat_budget -= extra
                count = 1 + extra
        if program in PAM_PROGRAMS or msg.startswith("pam_unix(sshd:auth)"):
            if self._pam(msg, count, stamp, host, pid, f"{shown}#line {lineno}", st, rows):
                return
            if st.time(stamp) is None:
                tally.reject(f"line {lineno}", "impossible or unreadable timestamp", line)
                return
        if msg.startswith(EVENT_PREFIXES):
            when = st.time(stamp)
            if when is None:
                tally.reject(f"line {lineno}", "impossible or unreadable timestamp", line)
                return
            if not self._event(msg, count, when, host, pid, f"{shown}#line {lineno}", st, rows):
                tally.reject(f"line {lineno}", "unrecognized sshd authentication message", line)
            return
        ig = _IGNORE_RE.match(msg)
        if ig:
            if msg.startswith(SESSION_END):
                self._close_pending((host, pid), st, rows)
                self._close_pam((host, pid), st, rows)
            st.ignored[_IGNORE_REASON[ig.lastgroup]] += count  # type: ignore[index]
        else:
            st.ignored["sshd message that is not an authentication attempt"] += count

    def _event(
        self,
        msg: str,
        count: int,
        when: datetime,
        host: str,
        pid: str,
        ref: str,
        st: _State,
        rows: list[dict],
    ) -> bool:
        """Handle a Failed / Accepted / Invalid user message; False when it does not parse."""
        key = (host, pid)
        if msg[0] == "F":
            f = FAILED.match(msg)
            if not f:
                return False
            method = f.group("method")
            if method == "none":
                st.ignored[NONE_PROBE] += count
                return True
            self._consume_pending(key, st)
            self._consume_pam(key, st)
            invalid = bool(f.group("invalid"))
            row = _row(
                when, ref, host, pid, f.group("user"), f.group("ip"), _protocol(method), method,
                S.STATUS_FAILURE, f"Failed {method}",
                S.USER_DOES_NOT_EXIST if invalid else S.INVALID_CREDENTIALS,
                not invalid, None if invalid else False,
            )  # fmt: skip
            rows.extend([row] * count)
            return True
        if msg[0] == "A":
            a = ACCEPTED.match(msg)
            if not a:
                return False
            self._consume_pending(key, st)
            self._consume_pam(key, st)
            method = a.group("method")
            row = _row(
                when, ref, host, pid, a.group("user"), a.group("ip"), _protocol(method), method,
                S.STATUS_SUCCESS, f"Accepted {method}", S.SUCCESS, True, True,
            )  # fmt: skip
            rows.extend([row] * count)
            return True
        i = INVALID.match(msg)
        if not i:
            return False
        self._open_pending(key, when, ref, host, pid, i.group("user"), i.group("ip"), count, st, rows)
        return True

    # -- PAM lines ------------------------------------------------------------------------

    def _pam(
        self, msg: str, count: int, stamp: tuple | str | datetime, host: str, pid: str, ref: str, st: _State,
        rows: list[dict],
    ) -> bool:  # fmt: skip
        """A pam_unix auth line of sshd; False when the message is not one we handle here."""
        key = (host, pid)
        if PAM_UNKNOWN.match(msg):
            st.pam_unknown.add(key)
            st.ignored["PAM user lookup before its authentication failure line"] += count
            return True
        f = PAM_FAILURE.match(msg)
        if not f:
            if msg.startswith("pam_unix(sshd:auth)"):
                return False  # other pam_unix detail: falls through to the ignore table
            if msg.startswith(("session opened", "session closed")):
                st.ignored["session opened/closed (the logon itself is the Accepted line)"] += count
            else:
                st.ignored["PAM message that is not an authentication failure"] += count
            return True
        when = st.time(stamp)
        if when is None:
            return False
        kv = dict(_PAM_KV.findall(f.group("kv")))
        rhost = kv.get("rhost") or None
        unknown = key in st.pam_unknown
        st.pam_unknown.discard(key)
        invalid = st.pending.get(key)  # sshd already said "Invalid user NAME": same attempt
        user = kv.get("user") or (invalid or {}).get("user_name")
        if invalid is not None:
            st.pending.pop(key)
            st.ignored[DUPLICATE_INVALID] += 1
            unknown = True
        ip, hostname = _address_or_host(rhost)
        if ip is None and hostname is None and invalid is not None:
            ip = invalid.get("src_endpoint_ip")
        row = _row(
            when, ref, host, pid, user or "", ip, "ssh-password", "pam_unix", S.STATUS_FAILURE,
            "pam_unix authentication failure", S.USER_DOES_NOT_EXIST if unknown else S.INVALID_CREDENTIALS,
            False if unknown else (True if user else None), None if unknown else False,
        )  # fmt: skip
        if not user:
            row["user_name"] = None
        row["src_endpoint_hostname"] = hostname
        self._close_pam(key, st, rows)  # the previous guess of this process had no Failed line
        rows.extend([row] * (count - 1))
        if len(st.pam_pending) >= MAX_PENDING:
            rows.append(st.pam_pending.pop(next(iter(st.pam_pending))))
        st.pam_pending[key] = row
        return True

    def _consume_pam(self, key: tuple[str, str], st: _State) -> None:
        st.pam_unknown.discard(key)
        if st.pam_pending.pop(key, None) is not None:
            st.ignored[DUPLICATE_PAM] += 1

    def _close_pam(self, key: tuple[str, str], st: _State, rows: list[dict]) -> None:
        row = st.pam_pending.pop(key, None)
        if row is not None:
            rows.append(row)

    # -- Invalid user bookkeeping ---------------------------------------------------------

    def _open_pending(
        self, key: tuple[str, str], when: datetime, ref: str, host: str, pid: str, user: str, ip: str,
        count: int, st: _State, rows: list[dict],
    ) -> None:  # fmt: skip
        self._close_pending(key, st, rows)  # a reused pid: the earlier probe got no answer
        row = _row(
            when, ref, host, pid, user, ip, None, None, S.STATUS_FAILURE, "Invalid user",
            S.USER_DOES_NOT_EXIST, False, None,
        )  # fmt: skip
        # "message repeated" only folds consecutive identical lines: all but the last of the
        # repeats were certainly not followed by a Failed line.
        rows.extend([row] * (count - 1))
        if len(st.pending) >= MAX_PENDING:  # hostile input: decide the oldest now
            oldest = next(iter(st.pending))
            rows.append(st.pending.pop(oldest))
        st.pending[key] = row

    def _consume_pending(self, key: tuple[str, str], st: _State) -> None:
        """The open Invalid user line of this process is the same attempt as this line."""
        if st.pending.pop(key, None) is not None:
            st.ignored[DUPLICATE_INVALID] += 1

    def _close_pending(self, key: tuple[str, str], st: _State, rows: list[dict]) -> None:
        row = st.pending.pop(key, None)
        if row is not None:
            rows.append(row)


_ALL_PROGRAMS = SSHD_PROGRAMS | PAM_PROGRAMS


def _program(prog: str) -> str:
    """``/usr/sbin/sshd`` -> ``sshd``."""
    return prog.rsplit("/", 1)[-1]


def is_sshd(prog: str) -> bool:
    """True for the program names of sshd and its PAM module (``/usr/sbin/sshd``, ``sshd-session``)."""
    return _program(prog) in _ALL_PROGRAMS


def _address_or_host(rhost: str | None) -> tuple[str | None, str | None]:
    """PAM's rhost as (ip, None) when it is an address, else (None, host name)."""
    if not rhost:
        return None, None
    try:
        return str(ipaddress.ip_address(rhost.removeprefix("::ffff:") if "." in rhost else rhost)), None
    except ValueError:
        return None, rhost.lower()


def _row(
    when: datetime, ref: str, host: str, pid: str, user: str, ip: str | None, protocol: str | None,
    method: str | None, status_id: int, code: str, detail: str, exists: bool | None, pw: bool | None,
) -> dict:  # fmt: skip
    return {
        "time": when,
        "source_format": SOURCE_FORMAT,
        "record_ref": ref,
        "activity_name": "logon",
        "user_name": user.lower(),
        "user_exists": exists,
        "src_endpoint_ip": ip,
        "service_name": "sshd",
        "dst_host": host or None,
        "auth_protocol": protocol,
        "client_app": method,
        "status_id": status_id,
        "status_code": code,
        "status_detail": detail,
        "password_correct": pw,
        "session_id": f"{host or '-'}:sshd[{pid}]",
    }


SOURCES = [SshdSyslog()]
