"""Incremental hunts judge takeovers on the identity's whole history: the takeover profiles travel in the
state folder, so a daily hunt that reads only a short look-back reports what one hunt of the whole
history reports, and a value an identity used only before the look-back is still familiar."""

from __future__ import annotations

import json
from datetime import date, timedelta

from nightowl import incremental
from nightowl.detections.runner import run_all
from nightowl.findings import Finding
from nightowl.incremental import HuntState
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import T0, Events
from tests.detections.test_takeover import DAY, PHONE_UA, signin, tenant

LOOKBACK = 6  # days: past the 5 learning days, far shorter than the history the state has to carry
DAYS = 24


def history_events() -> Events:
    """24 days of an ordinary tenant, and what only a whole history tells apart."""
    ev = Events()
    tenant(ev, days=DAYS)
    for d in range(2, 6):  # user7's phone on a Canadian line in its first week, then not for two weeks
        signin(ev, d * DAY + 10 * 60, 7, "99.1.2.3", ua=PHONE_UA, asn=812, src_country="CA",
               src_city="Toronto", src_lat=43.65, src_lon=-79.38)  # fmt: skip
    signin(ev, 20 * DAY + 10 * 60, 7, "99.1.2.3", ua=PHONE_UA, asn=812, src_country="CA",
           src_city="Toronto", src_lat=43.65, src_lon=-79.38)  # fmt: skip
    for d in (3, 19):  # user9's mail app over IMAP from home: first used on day 3, before the learning days
        ev.add(d * DAY + 12 * 60, "user9@corp.example", "73.0.9.10", "ok", asn=7922, client="IMAP",
               legacy=True, src_country="US", src_city="Chicago", src_lat=41.88, src_lon=-87.63)  # fmt: skip
    signin(ev, 18 * DAY + 3 * 60, 4, "185.220.101.7")  # user4's phished password, from abroad
    # a test account silent since the logs began (day 0), revived over IMAP on day 15
    ev.add(15 * DAY + 2 * 60, "qa-legacy@corp.example", "185.100.87.41", "ok", asn=9009, client="IMAP",
           legacy=True, src_country="NL")  # fmt: skip
    return ev


def hunt(rows: list[dict], history=None) -> list[Finding]:
    with Store() as store:
        store.append(batch_from_rows(sorted(rows, key=lambda r: r["time"])))
        return [f for f in run_all(store, None, history) if f.category == "account_takeover"]


def day_of(n: int) -> date:
    return T0.date() + timedelta(days=n)


def daily(rows: list[dict], state_dir, through: int, since: int | None = None, carry: bool = True):
    """One run of a daily job on a lake holding the days up to ``through``: it reads from the state's
    last day (or ``since``) minus the look-back, as ``hunt --engine spark --state`` does."""
    state = HuntState.load(state_dir)
    start, from_day = incremental.window(
        None if since is None else day_of(since).isoformat(), state, LOOKBACK
    )
    read = [r for r in rows if from_day <= r["time"].date() <= day_of(through)]
    history = state.profile_history() if carry else None
    findings = hunt(read, history)
    last = max(r["time"] for r in read).isoformat()
    reported, _ = incremental.select(findings, start, state, last)
    state.save()
    return findings, reported, history


def key(f: Finding):
    return (f.id, f.detection, f.severity, f.first_seen, f.last_seen, f.users, f.source_ips)


def test_daily_hunts_with_a_state_find_the_takeovers_one_full_hunt_finds(tmp_path):
    rows = history_events().rows
    full = hunt(rows)
    assert {f.detection for f in full if f.severity in ("high", "medium")} >= {
        "takeover.unfamiliar_signin",
        "takeover.dormant_account",
    }
    alerted = {u for f in full for u in f.users if f.severity in ("high", "medium")}
    assert "user7@corp.example" not in alerted  # its Canadian line is familiar (a low travel note at most)
    assert not [f for f in full if f.detection == "takeover.legacy_protocol_first_use"]

    state_dir = tmp_path / "state"
    latest: dict[str, Finding] = {}
    _, first, _ = daily(rows, state_dir, through=8, since=0)
    latest.update({f.id: f for f in first})
    for through in range(9, DAYS + 1):
        findings, reported, history = daily(rows, state_dir, through)
        assert history.merged and not history.notices
        latest.update({f.id: f for f in reported})
    assert sorted(key(f) for f in latest.values()) == sorted(key(f) for f in full)
    # the last run's own findings are the full hunt's, evidence included, wherever its days reach
    boundary = history.boundary.isoformat()
    assert [f.to_dict() for f in findings if f.last_seen >= boundary] == [
        f.to_dict() for f in full if f.last_seen >= boundary
    ]


def test_a_value_familiar_only_before_the_look_back_is_not_new(tmp_path):
    rows = history_events().rows
    for through in range(0, 21):
        carried, _, _ = daily(rows, tmp_path / "carried", through, since=0 if through == 0 else None)
    # without the state's profiles, the run sees days 14-20 only: user7's line, phone and country look
    # new, user9's IMAP app looks like its first legacy sign-in, the test account was not silent long
    lookback_only, _, _ = daily(rows, tmp_path / "fresh", 20, since=20, carry=False)
    judged = {(f.detection, u, f.severity) for f in lookback_only for u in f.users}
    assert ("takeover.unfamiliar_signin", "user7@corp.example", "medium") in judged
    assert ("takeover.legacy_protocol_first_use", "user9@corp.example", "low") in judged
    assert not [f for f in lookback_only if f.detection == "takeover.dormant_account"]
    judged = {(f.detection, u, f.severity) for f in carried for u in f.users}
    assert not {j for j in judged if j[1] == "user7@corp.example" and j[0] != "takeover.impossible_travel"}
    assert not {j for j in judged if j[1] == "user9@corp.example"}
    assert ("takeover.dormant_account", "qa-legacy@corp.example", "high") in judged


def test_state_from_an_older_nightowl_falls_back_to_the_look_back_with_a_notice(tmp_path):
    rows = history_events().rows
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    older = {"version": 1, "last_day": day_of(19).isoformat(), "reported": {}, "runs": []}
    (state_dir / incremental.STATE_FILE).write_text(json.dumps(older), encoding="utf-8")
    findings, _, history = daily(rows, state_dir, 20)
    assert not history.merged and "no takeover profiles" in history.notices[0]
    assert "user7@corp.example" in {u for f in findings for u in f.users}  # judged on the look-back
    _, _, history = daily(rows, state_dir, 21)  # the first run saved its profiles: the next one merges
    assert history.merged and not history.notices


def test_profiles_of_the_other_engine_are_not_merged(tmp_path):
    rows = history_events().rows
    state_dir = tmp_path / "state"
    daily(rows, state_dir, 19, since=19)
    meta = state_dir / "profiles" / "meta.json"
    written = json.loads(meta.read_text(encoding="utf-8"))
    meta.write_text(json.dumps(written | {"engine": "spark"}), encoding="utf-8")  # device keys differ there
    _, _, history = daily(rows, state_dir, 20)
    assert not history.merged and "written by the spark engine" in history.notices[0]
    assert json.loads(meta.read_text(encoding="utf-8"))["engine"] == "duckdb"  # replaced by this run's


def test_hunt_with_an_older_state_says_so_on_stderr_and_saves_profiles(tmp_path):
    from tests.test_cli import SPRAY_LINES, run

    log, state_dir = tmp_path / "auth.log", tmp_path / "state"
    log.write_text("\n".join(SPRAY_LINES) + "\n", encoding="utf-8")
    state_dir.mkdir()
    older = {"version": 1, "last_day": "2026-01-01", "reported": {}, "runs": []}
    (state_dir / incremental.STATE_FILE).write_text(json.dumps(older), encoding="utf-8")
    proc = run("hunt", str(log), "--year", "2026", "--state", str(state_dir), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "no takeover profiles" in proc.stderr and "look-back only" in proc.stderr
    assert json.loads(proc.stdout)["findings"]  # the hunt itself went on
    assert (state_dir / "profiles" / "meta.json").exists()
    again = run("hunt", str(log), "--year", "2026", "--state", str(state_dir), "--format", "json")
    assert again.returncode == 0 and "takeover profiles" not in again.stderr
