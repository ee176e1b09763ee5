"""Both sides of each identity detection's main limit, on sequences of events: at the limit the
finding is there (and says what it counted), one step short of it there is none. Defaults are the
ones in each rule's metadata block; the tests read them from there, so a changed default moves the
test with it instead of silently testing something else."""

from __future__ import annotations

import pytest

from nightowl.detections.catalog import load_all
from nightowl.findings import Finding
from tests.detections.events import Events, by_detection

ATTACKER = "203.0.113.7"
DEFAULTS = {d.id: d.params for d in load_all()}


def both_sides(det_id: str, name: str = "short", values: tuple = (0, 1)):
    """Parametrize a test over the two sides of a limit, and mark it as proving both for the lint."""

    def wrap(fn):
        fn = pytest.mark.parametrize(name, values)(fn)
        return pytest.mark.detection(det_id, fires=False)(pytest.mark.detection(det_id, fires=True)(fn))

    return wrap


def at_limit(found: list[Finding], short: int) -> Finding | None:
    """The one finding at the limit; one step short of it, nothing (and None)."""
    if short:
        assert found == []
        return None
    (f,) = found
    return f


def corp(i: int) -> str:
    return f"user{i}@corp.example"


def spray(users: int) -> Events:
    """One source, one failed password per account, thirty seconds apart."""
    ev = Events()
    for i in range(users):
        ev.add(i * 0.5, corp(i), ATTACKER)
    return ev


@both_sides("spray.single_source")
def test_single_source_spray_needs_min_users_accounts(short):
    limit = DEFAULTS["spray.single_source"]["min_users"]
    f = at_limit(by_detection(spray(limit - short).hunt(), "spray.single_source"), short)
    if f:
        assert len(f.users) == limit and f.source_ips == [ATTACKER] and f.counts["attempts"] == limit


@both_sides("bruteforce.single_account")
def test_brute_force_needs_min_attempts_at_one_account(short):
    limit = DEFAULTS["bruteforce.single_account"]["min_attempts"]
    ev = Events()
    for k in range(limit - short):
        ev.add(k * 0.5, "admin@corp.example", ATTACKER)
    f = at_limit(by_detection(ev.hunt(), "bruteforce.single_account"), short)
    if f:
        assert f.users == ["admin@corp.example"] and f.counts["attempts"] == limit


@both_sides("enumeration.single_source")
def test_enumeration_needs_min_nonexistent_users(short):
    limit = DEFAULTS["enumeration.single_source"]["min_nonexistent_users"]
    ev = Events()
    for k in range(limit - short):
        ev.add(k * 0.5, f"ghost{k}@corp.example", ATTACKER, "no_user")
    f = at_limit(by_detection(ev.hunt(), "enumeration.single_source"), short)
    if f:
        assert f.counts["nonexistent_users"] == limit and f.category == "account_enumeration"


@both_sides("spray.slow")
def test_slow_spray_needs_min_users_over_hours(short):
    limit = DEFAULTS["spray.slow"]["min_users"]
    ev = Events()
    for k in range(limit - short):  # one account every half hour: never a burst
        ev.add(k * 30, corp(k), ATTACKER)
    f = at_limit(by_detection(ev.hunt(), "spray.slow"), short)
    if f:
        assert (
            len(f.users) == limit
            and f.counts["peak_window_users"] < DEFAULTS["spray.single_source"]["min_users"]
        )


def lockouts(n: int, minutes_apart: float) -> Events:
    ev = Events()
    for k in range(n):
        ev.add(k * minutes_apart, corp(k), f"198.51.100.{k + 1}", "locked")
    return ev


@both_sides("lockout.wave")
def test_lockout_wave_needs_min_users_accounts(short):
    limit = DEFAULTS["lockout.wave"]["min_users"]
    f = at_limit(by_detection(lockouts(limit - short, 1).hunt(), "lockout.wave"), short)
    if f:
        assert len(f.users) == limit and f.evidence["peak_users_in_window"] == limit


@both_sides("lockout.wave", "over", (False, True))
def test_lockout_wave_counts_within_its_window(over):
    """The same accounts locked just inside, then just outside, the sliding window."""
    limit, window = DEFAULTS["lockout.wave"]["min_users"], DEFAULTS["lockout.wave"]["window_minutes"]
    apart = window / (limit - 1) * (1.005 if over else 0.995)
    found = by_detection(lockouts(limit, apart).hunt(), "lockout.wave")
    assert (found == []) if over else (len(found) == 1 and len(found[0].users) == limit)


@both_sides("spray.distributed")
def test_distributed_spray_needs_min_sources(short):
    """Proxies used three times each, the same tooling, every account tried again from another proxy."""
    limit = DEFAULTS["spray.distributed"]["min_sources"]
    ev = Events()
    for s in range(limit - short):
        for k in range(3):
            ev.add(s * 7 + k, corp((s * 3 + k) % 15), f"100.64.{s}.9", ua="python-requests/2.31")
    f = at_limit(by_detection(ev.hunt(), "spray.distributed"), short)
    if f:
        assert len(f.source_ips) == limit and len(f.users) == 15 and f.category == "password_spray"


@both_sides("compromise.after_attack", "late", (False, True))
def test_compromise_counts_a_success_within_grace_hours_of_the_attack(late):
    grace = DEFAULTS["compromise.after_attack"]["grace_hours"]
    ev = spray(10)
    last = 9 * 0.5
    ev.add(last + grace * 60 + (6 if late else -6), corp(3), ATTACKER, "ok", mfa=False)
    findings = ev.hunt()
    (attack,) = by_detection(findings, "spray.single_source")
    found = by_detection(findings, "compromise.after_attack")
    if late:
        assert found == [] and attack.compromised_users == []
    else:
        (f,) = found
        assert f.compromised_users == [corp(3)] and f.severity == "critical"
        assert f.evidence["attack_finding_ids"] == [attack.id]


@both_sides("noise.stale_credentials")
def test_stale_credentials_need_min_failures_from_a_known_source(short):
    limit = DEFAULTS["noise.stale_credentials"]["min_failures"]
    ev = Events()
    phone = "172.20.1.5"
    ev.add(0, corp(1), phone, "ok")
    for k in range(1, limit - short + 1):  # every 15 minutes: a device with the old password
        ev.add(60 + k * 15, corp(1), phone)
    f = at_limit(by_detection(ev.hunt(), "noise.stale_credentials"), short)
    if f:
        assert f.users == [corp(1)] and f.severity == "low"


@both_sides("noise.password_expiry_wave")
def test_password_expiry_wave_needs_min_users(short):
    limit = DEFAULTS["noise.password_expiry_wave"]["min_users"]
    ev = Events()
    for k in range(limit - short):
        ev.add(k * 2, corp(k), f"10.0.0.{k + 1}", "expired")
    f = at_limit(by_detection(ev.hunt(), "noise.password_expiry_wave"), short)
    if f:
        assert len(f.users) == limit and f.severity == "info"
