"""The command line as a user meets it: exit codes, JSON-only stdout, one-line errors, safe text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nightowl import sources

SPRAY_LINES = [
    f"Mar  2 08:{m:02d}:{s:02d} bastion sshd[{1000 + m * 60 + s}]: Failed password for user{m * 60 + s} "
    f"from 203.0.113.7 port {40000 + s} ssh2"
    for m in range(2)
    for s in range(0, 60, 3)
]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nightowl", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        check=False,
    )


@pytest.fixture
def spray_log(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text("\n".join(SPRAY_LINES) + "\n")
    return path


def test_hunt_json_is_the_only_thing_on_stdout_and_follows_the_contract(spray_log):
    proc = run("hunt", str(spray_log), "--year", "2026", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1 and doc["tool"]["name"] == "nightowl"
    (inp,) = doc["inputs"]
    assert inp["format"] == "sshd-syslog"
    assert inp["records"] == inp["normalized"] + inp["ignored"] + inp["quarantined"] == len(SPRAY_LINES)
    spray = [f for f in doc["findings"] if f["detection"] == "spray.single_source"]
    assert spray and spray[0]["source_ips"] == ["203.0.113.7"] and len(spray[0]["users"]) == len(SPRAY_LINES)
    assert spray[0]["first_seen"].endswith("Z")
    (incident,) = doc["incidents"]  # the attack story for machines, with the spray in its timeline
    assert spray[0]["id"] in [step["finding_id"] for step in incident["timeline"]]


def test_fail_on_gives_exit_1_for_scheduled_jobs(spray_log):
    assert (
        run("hunt", str(spray_log), "--year", "2026", "--fail-on", "high", "--format", "json").returncode == 1
    )
    assert (
        run("hunt", str(spray_log), "--year", "2026", "--fail-on", "critical", "--format", "json").returncode
        == 0
    )


def test_unreadable_input_is_one_line_naming_the_file_with_exit_2(tmp_path):
    junk = tmp_path / "mystery.bin"
    junk.write_bytes(b"\x00\x01\x02 not a log at all \xff" * 10)
    proc = run("hunt", str(junk))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "mystery.bin" in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    proc = run("hunt", str(tmp_path / "missing.log"), "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_stdin_is_read_with_dash(spray_log):
    proc = run("hunt", "-", "--year", "2026", "--format", "json", stdin=spray_log.read_text())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["inputs"][0]["path"] == "<stdin>"


def test_attacker_written_usernames_cannot_inject_terminal_escapes(tmp_path):
    evil = "\x1b[2J\x1b]0;pwned\x07[bold red]root[/]"
    lines = [
        f"Mar  2 08:00:{s:02d} bastion sshd[{2000 + s}]: Failed password for invalid user {evil}{s} "
        f"from 198.51.100.{s + 1} port 4000{s % 10} ssh2"
        for s in range(30)
    ]
    lines += [
        f"Mar  2 08:01:{s:02d} bastion sshd[{3000 + s}]: Failed password for {evil} from 198.51.100.99 port 1 ssh2"
        for s in range(40)
    ]
    path = tmp_path / "evil.log"
    path.write_text("\n".join(lines) + "\n")
    proc = run("hunt", str(path), "--year", "2026")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "[bold red]root[/]" in proc.stdout.replace("\n", "")  # shown literally, not as markup


def test_formats_lists_every_source():
    proc = run("formats")
    assert proc.returncode == 0
    for src in sources.all_sources():
        assert src.name in proc.stdout


def test_store_keeps_events_between_runs_and_dedups(spray_log, tmp_path):
    db = tmp_path / "tenant.duckdb"
    assert run("ingest", str(spray_log), "--year", "2026", "--store", str(db)).returncode == 0
    again = run("ingest", str(spray_log), "--year", "2026", "--store", str(db), "--format", "json")
    assert json.loads(again.stdout)["inputs"][0]["skipped"].startswith("same content already ingested")
    hunted = run("hunt", "--store", str(db), "--format", "json")  # hunt what the store holds, no new files
    assert [f["detection"] for f in json.loads(hunted.stdout)["findings"]] == ["spray.single_source"]
    out = tmp_path / "parquet"
    assert run("export", "--store", str(db), "--parquet", str(out)).returncode == 0
    import duckdb

    assert duckdb.sql(f"SELECT count(*) FROM '{out / 'auth_events.parquet'}'").fetchall()[0][0] == len(
        SPRAY_LINES
    )
