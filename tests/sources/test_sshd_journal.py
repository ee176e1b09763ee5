"""sshd from the systemd journal as JSON (journalctl -o json / json-seq / json-sse / json-pretty):
the same rows as the syslog lines of the same messages, one parser for both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema, sources
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.sshd_journal import TOO_LARGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sshd"
JOURNAL = FIXTURES / "journal_sshd.json"
# where a row came from, not what it says
PROVENANCE = ("source_format", "record_ref", "event_uid")  # a journal entry's uid is its __CURSOR


def read(path: Path, fmt: str | None = None) -> tuple[str, list[dict], Tally]:
    inp = InputFile(path.name, path)
    src = sources.by_name(fmt) if fmt else sources.detect(inp)
    tally = Tally()
    batches = list(src.read(inp, tally, ReadOptions()))
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return src.name, rows, tally


def content(rows: list[dict]) -> list[dict]:
    return [
        {**{k: v for k, v in r.items() if k not in PROVENANCE}, "time": r["time"].replace(microsecond=0)}
        for r in rows
    ]


def test_journal_json_gives_the_syslog_rows() -> None:
    """journal_sshd.json holds pam_journal.log's messages as journalctl -o json entries, plus an
    entry of another program, a non-UTF-8 message, an sshd-session login and a message too long
    for journalctl without --all."""
    fmt, rows, tally = read(JOURNAL)
    assert fmt == "sshd-journal-json"
    _, syslog, _ = read(FIXTURES / "pam_journal.log", "sshd-syslog")
    extra_from = datetime(2024, 3, 2, 10, 0, 20)  # the entries that pam_journal.log does not have
    assert content([r for r in rows if r["time"] < extra_from]) == content(syslog)
    assert {r["source_format"] for r in rows} == {"sshd-journal-json"}
    # the first attempt is the Failed line (entry 4) that the Invalid user and PAM entries announced
    assert rows[0]["record_ref"] == "journal_sshd.json#line 4"
    assert rows[0]["time"] == datetime(2024, 3, 2, 10, 0, 3, 250003)  # microseconds kept
    jorg, alice = sorted((r for r in rows if r["time"] >= extra_from), key=lambda r: r["time"])
    assert (jorg["user_name"], jorg["src_endpoint_ip"], jorg["status_detail"]) == (
        "jörg",  # MESSAGE as an array of Latin-1 bytes
        "192.0.2.44",
        "USER_DOES_NOT_EXIST",
    )
    assert (alice["user_name"], alice["status_detail"], alice["auth_protocol"]) == (
        "alice",
        "SUCCESS",
        "ssh-publickey",
    )
    assert [(q.position, q.reason) for q in tally.quarantine] == [("line 15", TOO_LARGE)]
    assert tally.ignored_reasons["line from another program, not sshd"] == 1
    assert tally.records == 15


def _entry(n: int, msg: str | list[int], prog: str = "sshd", pid: int = 7) -> dict:
    micros = int(datetime(2024, 1, 2, 3, 4, n % 60, tzinfo=UTC).timestamp()) * 1_000_000
    return {
        "__REALTIME_TIMESTAMP": str(micros),
        "_HOSTNAME": "h",
        "SYSLOG_IDENTIFIER": prog,
        "_PID": str(pid),
        "MESSAGE": msg,
    }


def _write(path: Path, entries: list[dict], mode: str) -> None:
    if mode == "json":
        text = "".join(json.dumps(e) + "\n" for e in entries)
    elif mode == "json-seq":
        text = "".join("\x1e" + json.dumps(e) + "\n" for e in entries)
    elif mode == "json-sse":
        text = "".join("data: " + json.dumps(e) + "\n\n" for e in entries)
    else:  # json-pretty: journalctl indents fields with a tab, braces alone on their lines
        text = "".join(json.dumps(e, indent="\t") + "\n" for e in entries)
    path.write_text(text, encoding="utf-8")


def test_every_journalctl_json_output_is_read(tmp_path: Path) -> None:
    entries = [
        _entry(1, "Failed password for root from 198.51.100.1 port 2 ssh2"),
        _entry(2, "Accepted password for bob from 198.51.100.2 port 3 ssh2", prog="sshd-session"),
    ]
    for mode in ("json", "json-seq", "json-sse", "json-pretty"):
        path = tmp_path / f"{mode}.json"
        _write(path, entries, mode)
        fmt, rows, tally = read(path)
        assert fmt == "sshd-journal-json", mode
        assert [r["user_name"] for r in rows] == ["root", "bob"], mode
        assert tally.quarantined == 0, mode


def test_cut_off_pretty_objects_are_quarantined_once(tmp_path: Path) -> None:
    """A json-pretty object cut by an unindented line or by the end of the file is one quarantined
    record; the line that cut it is read on its own."""
    ok = json.dumps(_entry(1, "Failed password for root from 198.51.100.1 port 2 ssh2"), indent="\t")
    cut = ok.rsplit("\n", 1)[0]  # no closing brace
    one_line = json.dumps(_entry(2, "Failed password for eve from 198.51.100.2 port 2 ssh2"))
    path = tmp_path / "pretty.json"
    path.write_text("\n".join([ok, cut, one_line, cut]) + "\n")
    _, rows, tally = read(path, "sshd-journal-json")
    assert [r["user_name"] for r in rows] == ["root", "eve"]
    n = ok.count("\n") + 1
    assert [q.position for q in tally.quarantine] == [f"line {n + 1}", f"line {2 * n + 1}"]
    assert {q.reason for q in tally.quarantine} == {"JSON object cut off (no closing brace)"}


def test_sniff() -> None:
    src = sources.by_name("sshd-journal-json")
    assert src.sniff(JOURNAL.read_bytes()[:65536], "x.json")
    assert src.sniff(b"\x1e" + JOURNAL.read_bytes()[:4096], "x.json")
    assert not src.sniff((FIXTURES / "pam_journal.log").read_bytes(), "sshd.log")
    assert not src.sniff(b'{"createdDateTime": "2024-01-01", "MESSAGE": 1}', "x.json")
    assert not sources.by_name("sshd-syslog").sniff(JOURNAL.read_bytes()[:65536], "x.json")


# --------------------------------------------------------------------------- property tests

PID = st.integers(1, 4)
USER = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), min_size=1, max_size=10
)
MESSAGES = [
    "Failed password for {user} from 10.0.0.{n} port 22 ssh2",
    "Failed password for invalid user {user} from 10.0.0.{n} port 22 ssh2",
    "Invalid user {user} from 10.0.0.{n} port 4000",
    "Connection closed by 10.0.0.{n} port 4000 [preauth]",
    "Accepted publickey for {user} from 10.0.0.{n} port 22 ssh2: RSA SHA256:abc",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=h{n}.example  user={user}",
    "pam_unix(sshd:auth): check pass; user unknown",
    "Failed none for {user} from 10.0.0.{n} port 22 ssh2",
    "Received disconnect from 10.0.0.{n} port 4000:11: Bye [preauth]",
]
EVENT = st.tuples(
    st.sampled_from(MESSAGES),
    PID,
    USER,
    st.integers(0, 255),
    st.sampled_from(["sshd", "sshd-session", "cron"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(EVENT, max_size=30),
    as_bytes=st.lists(st.booleans(), min_size=30, max_size=30),
    mode=st.sampled_from(["json", "json-seq", "json-sse", "json-pretty"]),
)
def test_property_journal_and_syslog_give_the_same_rows(
    tmp_path: Path, events: list, as_bytes: list[bool], mode: str
) -> None:
    """One parser for both: the journal entries of any sequence of sshd messages give the rows of
    the syslog lines of the same messages, whatever journalctl JSON output and MESSAGE encoding."""
    lines, entries = [], []
    for i, (template, pid, user, n, prog) in enumerate(events):
        msg = template.format(user=user, n=n)
        lines.append(f"2024-01-02T03:04:{i % 60:02d}Z h {prog}[{pid}]: {msg}")
        encoded = list(msg.encode("utf-8")) if as_bytes[i] else msg
        entries.append(_entry(i, encoded, prog, pid))
    syslog_path, journal_path = tmp_path / "auth.log", tmp_path / "journal.json"
    syslog_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _write(journal_path, entries, mode)
    _, want, want_tally = read(syslog_path, "sshd-syslog")
    _, got, got_tally = read(journal_path, "sshd-journal-json")
    assert content(got) == content(want)
    assert (got_tally.quarantined, got_tally.ignored) == (  # json-sse's blank separators are no records
        want_tally.quarantined,
        want_tally.ignored,
    )


JUNK_VALUE = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=20),
    st.lists(st.integers(-5, 300), max_size=6),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELDS = [
    "__REALTIME_TIMESTAMP",
    "_SOURCE_REALTIME_TIMESTAMP",
    "MESSAGE",
    "SYSLOG_IDENTIFIER",
    "_COMM",
    "_PID",
    "_HOSTNAME",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    damage=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(FIELDS), JUNK_VALUE), max_size=12),
    # "x" first: a junk line never opens a json-pretty object (that case has its own test)
    junk_lines=st.lists(st.binary(max_size=60).map(lambda b: b"x" + b.replace(b"\n", b" ")), max_size=4),
)
def test_property_damaged_entries_are_accounted(
    tmp_path: Path, damage: list, junk_lines: list[bytes]
) -> None:
    """Fields of any type or value, and lines that are no JSON: every entry is normalized, ignored
    or quarantined with a reason, and a row always has its time."""
    entries = [_entry(i, f"Failed password for u{i} from 10.0.0.{i} port 22 ssh2", pid=i) for i in range(6)]
    for i, key, value in damage:
        entries[i][key] = value
    data = b"".join(json.dumps(e).encode() + b"\n" for e in entries) + b"".join(j + b"\n" for j in junk_lines)
    path = tmp_path / "journal.json"
    path.write_bytes(data)
    _, rows, tally = read(path, "sshd-journal-json")
    assert tally.records == len(entries) + len(junk_lines)
    assert all(r["time"] is not None and r["user_name"] for r in rows)
