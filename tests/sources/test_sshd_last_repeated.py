"""sshd syslog: the older ``last message repeated N times`` line.

sysklogd, busybox syslogd and old rsyslog fold identical consecutive lines into ``last message
repeated N times`` without naming the message (``message repeated N times: [ msg ]`` is the newer
rsyslog form), written with no program (``host last message repeated 2 times``) or with an empty
host field (``Feb 22 10:21:43  sshd[1332]: last message repeated 2 times``, seen in a public Ubuntu
12.04 auth.log). It repeats the host's previous line N times: a wrong password typed three times
in one connection is one Failed line and a repeat, and all three attempts count. The lines here
are written by hand in the syslog layout."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.sshd import NO_PREVIOUS_LINE, SOURCES

SRC = SOURCES[0]
FAILED = "Failed password for root from 203.0.113.9 port 5555 ssh2"


def read(path: Path) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(SRC.read(InputFile(path.name, path), tally, ReadOptions(year=2024)))
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    return rows, tally


def test_each_form_repeats_the_previous_line(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text(
        f"Feb 22 10:21:40 web1 sshd[1332]: {FAILED}\n"
        "Feb 22 10:21:43 web1 last message repeated 2 times\n"  # no program
        f"Feb 22 10:21:44 web1 sshd[1332]: {FAILED}\n"
        "Feb 22 10:21:45  sshd[1332]: last message repeated 3 times\n"  # empty host field
        "Feb 22 10:21:46 web1 sshd[1332]: last message repeated 1 time\n"  # with the program
    )
    rows, tally = read(path)
    assert tally.quarantined == 0
    assert len(rows) == 1 + 2 + 1 + 3 + 1
    assert {(r["user_name"], r["src_endpoint_ip"], r["status_detail"]) for r in rows} == {
        ("root", "203.0.113.9", "INVALID_CREDENTIALS")
    }
    # a repeat has the time of its own line: syslog keeps no other
    assert sorted(r["time"].second for r in rows) == [40, 43, 43, 44, 45, 45, 45, 46]


def test_a_repeat_follows_its_own_host_in_a_merged_file(tmp_path):
    path = tmp_path / "central.log"
    path.write_text(
        f"Mar  1 09:00:00 web1 sshd[7]: {FAILED}\n"
        "Mar  1 09:00:01 db1 sshd[8]: Accepted publickey for deploy from 198.51.100.4 port 4000 ssh2\n"
        "Mar  1 09:00:02 web1 last message repeated 4 times\n"
    )
    rows, _ = read(path)
    failed = [r for r in rows if r["status_id"] == 2]
    assert len(failed) == 5 and len(rows) == 6


def test_a_repeat_with_nothing_before_it_is_ignored_with_a_reason(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text("Feb 22 10:21:43 web1 last message repeated 2 times\n")
    rows, tally = read(path)
    assert rows == [] and tally.quarantined == 0
    assert dict(tally.ignored_reasons) == {NO_PREVIOUS_LINE: 1}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(
            st.integers(1, 250), st.one_of(st.none(), st.integers(1, 50)), st.sampled_from(["web1 ", " "])
        ),
        min_size=1,
        max_size=12,
    )
)
def test_failures_are_the_lines_plus_their_repeats(tmp_path, plan):
    """Any run of Failed lines, each maybe followed by a repeat in either form, counts every
    attempt once: the Failed lines plus the repeat counts."""
    lines = []
    for i, (octet, repeat, host_field) in enumerate(plan):
        lines.append(
            f"Apr  2 10:{i:02d}:00 web1 sshd[{100 + i}]: Failed password for u{i} from 192.0.2.{octet} port 22 ssh2"
        )
        if repeat is not None:
            lines.append(f"Apr  2 10:{i:02d}:30 {host_field}last message repeated {repeat} times")
    path = tmp_path / "auth.log"
    path.write_text("\n".join(lines) + "\n")
    rows, tally = read(path)
    assert tally.quarantined == 0
    assert len(rows) == sum(1 + (repeat or 0) for _, repeat, _ in plan)
    by_user = {}
    for r in rows:
        by_user[r["user_name"]] = by_user.get(r["user_name"], 0) + 1
    assert by_user == {f"u{i}": 1 + (repeat or 0) for i, (_, repeat, _) in enumerate(plan)}
