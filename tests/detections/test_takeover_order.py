"""The takeover findings do not depend on the order the events were stored in: where two sign-ins tie
(the same second), the rules break the tie on the record, so the evidence an analyst reads is the same
whatever order a scan or a parallel ingest gave the rows."""

from __future__ import annotations

from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import Events
from tests.detections.test_takeover import DAY, LAPTOP_UA, home, office, signin

ATTACKERS = (("185.220.101.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"),
             ("45.9.20.5", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1"))  # fmt: skip


def office_tenant(ev: Events, users: int = 30, days: int = 12) -> None:
    """Every user on one laptop in the office, user4 at home (a single usual network, provider and
    device each, so the profiles' "usually" has one answer), four sign-ins a day."""
    for u in range(users):
        for d in range(days):
            for k, hour in enumerate((9, 11, 14, 15)):
                ip = home(u) if u == 4 else office(u)
                ev.add(d * DAY + hour * 60 + u % 7, f"user{u}@corp.example", ip, "ok", ua=LAPTOP_UA,
                       asn=8075, src_country="US", src_city="Chicago", src_lat=41.88, src_lon=-87.63,
                       device_id=f"dev-{u}", session_id=f"s-{u}-{d}-{k}")  # fmt: skip


def tied_events() -> list[dict]:
    """Each takeover rule's case with two sign-ins in the same second from two attacker machines."""
    ev = Events()
    office_tenant(ev)
    at = 11 * DAY + 11 * 60 + 30  # half an hour after user4's sign-in in Chicago
    for ip, ua in ATTACKERS:  # user4: phished, used from two machines at once (unfamiliar, travel)
        signin(ev, at, 4, ip, ua=ua)
    for ip, ua in ATTACKERS:  # user9: the password tried over IMAP from both (legacy first use)
        signin(ev, at, 9, ip, ua=ua, client="IMAP", legacy=True)
    ev.add(11 * DAY + 10 * 60, "user11@corp.example", office(11), "ok", ua=LAPTOP_UA, asn=8075,
           src_country="US", session_id="aitm-1")  # fmt: skip
    for ip, ua in ATTACKERS:  # user11: its session replayed from both (session on two networks)
        signin(ev, 11 * DAY + 10 * 60 + 30, 11, ip, ua=ua, session_id="aitm-1")
    for ip, ua in ATTACKERS:  # a test account silent since the logs began, 11 days (dormant)
        ev.add(at, "qa-legacy@corp.example", ip, "ok", ua=ua, asn=9009, client="IMAP", legacy=True,
               src_country="NL")  # fmt: skip
    return ev.rows


def takeover_findings(rows: list[dict]) -> list[dict]:
    with Store() as store:
        store.append(batch_from_rows(rows))
        return [f.to_dict() for f in run_all(store) if f.category == "account_takeover"]


def test_tied_sign_ins_give_the_same_findings_and_evidence_in_any_stored_order():
    rows = sorted(tied_events(), key=lambda r: r["time"])
    forward = takeover_findings(rows)
    backward = takeover_findings(rows[::-1])  # every tie, and everything else, the other way round
    swapped = takeover_findings(sorted(rows, key=lambda r: (r["time"], -int(r["record_ref"][5:]))))
    assert {f["detection"] for f in forward} >= {
        "takeover.unfamiliar_signin",
        "takeover.impossible_travel",
        "takeover.legacy_protocol_first_use",
        "takeover.session_two_networks",
        "takeover.dormant_account",
    }
    tied = [f for f in forward if {ip for ip, _ in ATTACKERS} <= set(f["source_ips"])]
    assert len(tied) >= 4  # the ties are there to break: both machines in one finding
    assert backward == forward and swapped == forward
