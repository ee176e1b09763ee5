"""takeover.impossible_travel's first_seen never comes after its last_seen: a combination of the
identity's usual sign-ins that runs on past the far sign-in (Chicago at 09:04 and 16:04, London at 09:30
the same day) makes a leg from Chicago to London that takes no time, not one that ends before it starts."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.detections.events import Events, by_detection
from tests.detections.test_takeover import DAY, signin, tenant


def _t(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.detection("takeover.impossible_travel", fires=True)
def test_a_far_sign_in_inside_the_usual_days_span_orders_the_finding():
    ev = Events()
    tenant(ev)
    day5 = 5 * DAY
    signin(ev, day5 + 9 * 60 + 30, 4, "185.220.101.7")  # between user4's 09:04 and 16:04 Chicago sign-ins
    (f,) = by_detection(ev.hunt(), "takeover.impossible_travel")
    first, last = _t(f.first_seen), _t(f.last_seen)
    assert first <= last
    # the leg runs from the Chicago combination's first sign-in that day to London, 26 minutes later
    assert (first, last) == (
        datetime.fromisoformat("2026-03-07T17:04:00+00:00"),
        datetime.fromisoformat("2026-03-07T17:30:00+00:00"),
    )
    assert f.evidence["minutes"] == 26 and "26 min later" in f.summary


@pytest.mark.detection("takeover.impossible_travel", fires=True)
def test_every_travel_finding_is_ordered_over_a_sequence_of_trips():
    ev = Events()
    tenant(ev, days=10)
    # user 4: London in the middle of day 5, Sydney early on day 6 (before Chicago), Chicago later
    signin(ev, 5 * DAY + 10 * 60, 4, "185.220.101.7")
    signin(ev, 6 * DAY + 2 * 60, 4, "203.0.113.50", src_country="AU", src_city="Sydney", src_lat=-33.87,
           src_lon=151.21)  # fmt: skip
    signin(ev, 6 * DAY + 12 * 60, 4, "203.0.113.51", src_country="AU", src_city="Sydney", src_lat=-33.87,
           src_lon=151.21)  # fmt: skip
    found = by_detection(ev.hunt(), "takeover.impossible_travel")
    assert found
    for f in found:
        assert _t(f.first_seen) <= _t(f.last_seen), (f.title, f.first_seen, f.last_seen)
