"""Incremental hunts: a daily job on a growing lake reads the new days plus the look-back, reports a
slow spray that spans the day boundary exactly as the hunt of the whole lake does, and never
reports an unchanged finding twice."""

from __future__ import annotations

import shutil
from datetime import date

from nightowl import incremental
from nightowl.engines.spark import hunt_lake
from nightowl.findings import Finding
from nightowl.incremental import HuntState
from nightowl.ingest import ingest_paths
from nightowl.schema import batch_from_rows
from nightowl.simulate import SimConfig, simulate
from nightowl.simulate.config import AttackSpec
from nightowl.store import Store

# one slow spray from day 1.5 to day 3.5: it crosses two day boundaries
SLOW = SimConfig(
    seed=21,
    users=60,
    days=6,
    attacks=[AttackSpec("slow", start_day=1.5, params={"duration_days": 2.0, "compromise": False})],
)


def _key(f: Finding):
    return (
        f.id,
        f.detection,
        f.severity,
        f.first_seen,
        f.last_seen,
        f.users,
        f.source_ips,
        f.compromised_users,
    )


def _grow(full, lake, through: str) -> None:
    """The lake as a daily job finds it: every day up to ``through``; the small tables whole."""
    for table in full.iterdir():
        if table.name != "auth_events":
            shutil.copytree(table, lake / table.name, dirs_exist_ok=True)
            continue
        for part in table.iterdir():
            if part.name <= f"day={through}":
                shutil.copytree(part, lake / table.name / part.name, dirs_exist_ok=True)


def _daily(lake, state_dir, since: str | None = None, lookback: int = incremental.LOOKBACK_DAYS):
    state = HuntState.load(state_dir)
    start, from_day = incremental.window(since, state, lookback)
    history = state.profile_history()
    findings, _, ov = hunt_lake([str(lake)], from_day=from_day, history=history)
    assert history.notices == []
    reported, repeated = incremental.select(findings, start, state, ov["last_seen"])
    state.save()
    return reported, repeated


def test_daily_runs_report_what_the_full_hunt_reports_once(spark, tmp_path):
    sim = simulate(SLOW, tmp_path / "tenant")
    full = tmp_path / "full"
    with Store() as store:
        ingest_paths(store, [str(sim.files["signins"])])
        store.write_lake(full)
    days = sorted(p.name[4:] for p in (full / "auth_events").iterdir())
    expected, _, _ = hunt_lake([str(full)])
    spray = [f for f in expected if f.detection == "spray.slow"]
    assert len(spray) == 1 and spray[0].first_seen[:10] < spray[0].last_seen[:10]  # spans a boundary

    lake, state_dir = tmp_path / "lake", tmp_path / "state"
    _grow(full, lake, days[2])  # day 0..2: the spray's first half
    first, _ = _daily(lake, state_dir, since=days[0])
    _grow(full, lake, days[-1])  # the next run: the rest (reads from the last day seen, minus the look-back)
    second, _ = _daily(lake, state_dir)
    assert HuntState.load(state_dir).runs[-1]["since"] == days[2]
    again, repeated = _daily(lake, state_dir, since=days[0])  # everything again, from the first day

    latest = {f.id: f for f in first}
    latest.update({f.id: f for f in second})
    # a takeover finding is judged on what the tenant looked like when it was reported: a network that
    # later many identities share, or a device later seen at home, quiets the hunt of the whole month
    # where the first day's run spoke; takeovers are compared on a tenant whose habits hold (below)
    assert sorted(_key(f) for f in latest.values() if f.category != "account_takeover") == sorted(
        _key(f) for f in expected if f.category != "account_takeover"
    )
    grown = [f for f in second if f.detection == "spray.slow"]
    assert [_key(f) for f in grown] == [_key(spray[0])]  # found as the full hunt finds it
    steady = [f for f in latest.values() if f.category != "account_takeover"]
    assert [f for f in again if f.category != "account_takeover"] == [] and repeated >= len(steady)
    unchanged = {f.id for f in first} - {f.id for f in second}
    assert all(f.extra["incremental"] == "new" for f in first)
    assert {f.extra["incremental"] for f in second if f.id in {g.id for g in first}} <= {"updated"}
    assert unchanged.isdisjoint({f.id for f in second})


def _finding(fid: str, last: str, users: list[str]) -> Finding:
    return Finding(fid, "spray.slow", "password_spray", "high", "t", first_seen="2024-03-01T00:00:00Z",
                   last_seen=last, users=users)  # fmt: skip


def test_state_reports_new_and_changed_findings_only(tmp_path):
    state = HuntState.load(tmp_path)
    run1, _ = incremental.select(
        [_finding("a", "2024-03-02T10:00:00Z", ["u1"])], None, state, "2024-03-02T23:00:00Z"
    )
    state.save()
    state = HuntState.load(tmp_path)
    start, read_from = incremental.window(None, state, 30)
    assert (start, read_from) == (date(2024, 3, 2), date(2024, 2, 1))
    findings = [
        _finding("a", "2024-03-02T10:00:00Z", ["u1"]),  # unchanged: left out
        _finding("b", "2024-03-01T10:00:00Z", ["u2"]),  # ends before the new days: an earlier run's
        _finding("c", "2024-03-03T10:00:00Z", ["u3"]),  # new
    ]
    run2, repeated = incremental.select(findings, start, state, "2024-03-03T23:00:00Z")
    assert [f.id for f in run1] == ["a"] and [f.id for f in run2] == ["c"] and repeated == 1
    grown = _finding("a", "2024-03-03T11:00:00Z", ["u1", "u4"])
    run3, _ = incremental.select([grown], start, state, None)
    assert [(f.id, f.extra["incremental"]) for f in run3] == [("a", "updated")]
    assert state.last_day == "2024-03-03"


def test_daily_runs_judge_takeovers_on_the_history_the_state_carries(spark, tmp_path):
    """A look-back of 6 days over 24: the takeover profiles of the earlier days come from the state."""
    from tests.detections.test_takeover_incremental import history_events

    full = tmp_path / "full"
    with Store() as store:
        store.append(batch_from_rows(sorted(history_events().rows, key=lambda r: r["time"])))
        store.write_lake(full)
    days = sorted(p.name[4:] for p in (full / "auth_events").iterdir())
    expected = [f for f in hunt_lake([str(full)])[0] if f.category == "account_takeover"]
    alerted = {(f.detection, u) for f in expected if f.severity in ("high", "medium") for u in f.users}
    assert ("takeover.dormant_account", "qa-legacy@corp.example") in alerted
    assert ("takeover.unfamiliar_signin", "user4@corp.example") in alerted
    assert "user7@corp.example" not in {u for _, u in alerted}

    lake, state_dir, latest = tmp_path / "lake", tmp_path / "state", {}
    for i, through in enumerate((8, 14, 20, len(days) - 1)):
        _grow(full, lake, days[through])
        reported, _ = _daily(lake, state_dir, since=days[0] if i == 0 else None, lookback=6)
        latest.update({f.id: f for f in reported if f.category == "account_takeover"})
    assert sorted(_key(f) for f in latest.values()) == sorted(_key(f) for f in expected)
    # the last run read 6 days of 24: without the state, the test account was silent for 6 days only
    assert HuntState.load(state_dir).runs[-1]["since"] == days[20]
