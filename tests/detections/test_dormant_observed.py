"""takeover.dormant_account needs logs that watched the quiet period: days on which other identities
signed in, not calendar days. A sample of a few events years apart (Elastic's Okta System Log test
file: one event in 2020, two users first seen in 2022) is a gap in the export, not dormancy; sparse
logs give low at most; dense logs keep the high finding."""

from __future__ import annotations

import pytest

from tests.detections.events import Events, by_detection

DAY = 24 * 60
REVIVED = "test-legacy@corp.example"


def revive(ev: Events, day: float) -> None:
    """A forgotten account's first sign-in: single-factor, legacy protocol, a network no one uses."""
    ev.add(day * DAY, REVIVED, "185.220.101.7", "ok", ua="BAV2ROPC", client="Authenticated SMTP", legacy=True,
           asn=9009, src_country="GB")  # fmt: skip


def colleagues(ev: Events, days: list[int], users: int = 8) -> None:
    for d in days:
        for u in range(users):
            ev.add(
                d * DAY + 9 * 60 + u,
                f"user{u}@corp.example",
                f"73.0.{u}.10",
                "ok",
                asn=7922,
                src_country="US",
            )


def dormant(ev: Events) -> list:
    return by_detection(ev.hunt(), "takeover.dormant_account")


@pytest.mark.detection("takeover.dormant_account", fires=False)
def test_a_few_events_years_apart_are_no_dormancy():
    ev = Events()
    ev.add(0, "someone@corp.example", "198.51.100.7", "ok", asn=64500, src_country="US")
    revive(ev, 817)
    ev.add(817 * DAY + 5, "other@corp.example", "203.0.113.9", "ok", mfa=False, asn=64501, src_country="DE")
    assert dormant(ev) == []


@pytest.mark.detection("takeover.dormant_account", fires=False)
def test_fewer_watched_days_than_min_quiet_days_give_nothing():
    ev = Events()
    colleagues(ev, [0, 10, 20, 30, 40, 50, 60, 70, 80])  # 9 watched days over 90
    revive(ev, 90)
    assert dormant(ev) == []
    ev2 = Events()
    colleagues(ev2, [0, 10, 20, 30, 40, 50, 60, 70, 80, 85])  # 10: enough to judge, too sparse for high
    revive(ev2, 90)
    (f,) = dormant(ev2)
    assert f.severity == "low"
    assert f.evidence["observed_days"] == 10 and f.evidence["quiet_days"] == 90


@pytest.mark.detection("takeover.dormant_account", fires=True)
def test_logs_watching_most_of_the_quiet_period_keep_it_high():
    ev = Events()
    weekdays = [d for d in range(20) if d % 7 not in (5, 6)]  # weekends quiet: 15 of 20 days
    colleagues(ev, weekdays)
    revive(ev, 20)
    (f,) = dormant(ev)
    assert f.severity == "high" and f.users == [REVIVED]
    assert f.evidence["observed_days"] == len(weekdays) and "signed in on 15 of them" in f.summary


def test_the_share_is_a_threshold():
    ev = Events()
    weekdays = [d for d in range(20) if d % 7 not in (5, 6)]
    colleagues(ev, weekdays)
    revive(ev, 20)
    strict = {"detections": {"takeover.dormant_account": {"min_observed_share": 0.9}}}
    (f,) = by_detection(ev.hunt(strict), "takeover.dormant_account")
    assert f.severity == "low"
