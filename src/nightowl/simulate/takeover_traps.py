"""Benign look-alikes of an account takeover, each labelled: what makes behaviour-based takeover
detection noisy in real tenants. People who really travel (their usual laptop in a hotel abroad), new
phones (a new device on the usual networks, some with a native mail app over a legacy protocol), a VPN
rollout (a new egress many people share from one day on), a new office, a person who moves country
(new home network and time zone, same devices), and sessions that move from home to the office.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.benign import DAY, _epoch
from nightowl.simulate.network import ASNS, CITIES
from nightowl.simulate.population import Device, Tenant, User, uuid4
from nightowl.simulate.traps import Event, ev, upn_of
from nightowl.simulate.truth import Labelled

APPS = ["OfficeHome", "One Outlook Web", "Microsoft Teams", "Office 365 SharePoint Online"]


def _people(tn: Tenant, rng: np.random.Generator, n: int, pred=lambda u: True) -> list[User]:
    pool = [
        u
        for u in tn.users
        if u.kind == "member" and u.disabled_at is None and u.created < tn.start and u.rate >= 1.0 and pred(u)
    ]
    if not pool:
        return []
    return [pool[int(i)] for i in rng.choice(len(pool), size=min(max(n, 1), len(pool)), replace=False)]


def _usual(tn: Tenant, u: User) -> int:
    """The person's everyday computer (a device index)."""
    for d in u.devices:
        if tn.devices[d].kind in ("browser", "desktop") and tn.devices[d].os not in ("Ios", "Android"):
            return d
    return u.devices[0]


def _workday_times(
    u: User, rng: np.random.Generator, day0: int, k: int, tz: float | None = None
) -> list[int]:
    tz = u.tz if tz is None else tz
    local = u.start_hour + rng.uniform(0, 1, k) * u.hours
    return sorted(int(day0 + ((x - tz) % 24) * 3600) for x in local)


def build_takeover_traps(tn: Tenant, seed: int) -> list[tuple[list[Event], Labelled]]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 270]))
    start = _epoch(tn.start)
    days = tn.days
    net = tn.net
    out: list[tuple[list[Event], Labelled]] = []
    who = upn_of(tn)
    n_users = len(tn.users)

    def add(kind: str, events: list[Event], **details: Any) -> None:
        if events:
            lab = Labelled(f"trap-{kind}-{len(out) + 1}", kind, details=details).fill(
                events, [i.ip for i in net.ips], who
            )
            out.append((events, lab))

    def signins(u: User, dev: int | Device, ip: int, d: int, k: int, tz: float | None = None, **kw: Any):
        return [
            ev(t, u.idx, dev, C.pick(rng, APPS), ip, 0, **kw)
            for t in _workday_times(u, rng, start + d * DAY, k, tz)
        ]

    countries = sorted({c for _, _, c, k in ASNS if k == "residential"})

    # 1. Travellers: the usual laptop from a hotel abroad for a few days, at the destination's hours.
    evs: list[Event] = []
    for u in _people(tn, rng, n_users // 150):
        country = C.pick(rng, [c for c in countries if c != u.country])
        hotel = net.new_v4(net.pick_asn(C.pick(rng, ["residential", "business"]), country), country=country)
        d0 = int(rng.integers(1, max(2, days - 3)))
        shift = float(rng.uniform(-9, 9))
        for d in range(d0, min(days, d0 + int(rng.integers(2, 6)))):
            evs += signins(u, _usual(tn, u), hotel, d, int(rng.integers(2, 6)), tz=u.tz + shift)
    add("traveller", evs)

    # 2. New phones: a new device on the home line and the carrier, from one day on; a third of them
    #    set up the native mail app (Exchange ActiveSync, a legacy protocol).
    evs = []
    for u in _people(tn, rng, n_users // 100, lambda u: u.carrier >= 0):
        os_name = C.pick(rng, ["Ios", "Android"])
        ua, osd, br = C.mobile_client_ua(rng, os_name)
        managed = bool(rng.random() < 0.5)
        phone = Device(u.idx, "mobile", uuid4(rng) if managed else "", "", ua, osd, br, managed, managed, "")
        eas = rng.random() < 0.33
        if eas:
            ua, osd, br = C.eas_ua(rng)
            mail = Device(u.idx, "eas", "", "", ua, osd, br, False, False, "")
        d0 = int(rng.integers(2, max(3, days - 1)))
        pool = tn.carriers[u.carrier]
        for d in range(d0, days):
            for t in _workday_times(u, rng, start + d * DAY, int(rng.integers(2, 6))):
                ip = pool[int(rng.integers(0, len(pool)))] if rng.random() < 0.5 else u.home_ip
                evs.append(ev(t, u.idx, phone, C.pick(rng, ["Outlook Mobile", "Microsoft Teams"]), ip, 0))
                if eas:
                    evs.append(
                        ev(
                            t + 30,
                            u.idx,
                            mail,
                            "Office 365 Exchange Online",
                            ip,
                            0,
                            client_app="Exchange ActiveSync",
                        )
                    )
    add("new_phone", evs)

    # 3. A VPN rollout: a new egress on a cloud network that a fifth of the staff use from one day on.
    evs = []
    egress_asn = C.pick(rng, [a for a, _, _, k in ASNS if k == "hosting"])
    egress = [net.new_v4(egress_asn, kind="vpn") for _ in range(int(rng.integers(2, 5)))]
    d0 = int(rng.integers(2, max(3, days - 2)))
    for u in _people(tn, rng, n_users // 5):
        for d in range(d0, days):
            if rng.random() < 0.6:
                ip = egress[int(rng.integers(0, len(egress)))]
                evs += signins(u, _usual(tn, u), ip, d, int(rng.integers(1, 4)))
    add("vpn_rollout", evs, egress_ips=[net.ips[i].ip for i in egress])

    # 4. A new office: a new business line in a home country, where a group starts working one day.
    evs = []
    if tn.offices:
        country = tn.offices[0].country
        asn = net.pick_asn("business")
        city = C.pick(rng, CITIES.get(country, [("", "")]))
        office = [net.new_v4(asn, country=country, city=city, kind="office") for _ in range(2)]
        d0 = int(rng.integers(2, max(3, days - 2)))
        for u in _people(tn, rng, max(20, n_users // 50), lambda u: u.country == country):
            for d in range(d0, days):
                if (tn.start.toordinal() + d) % 7 < 5:
                    evs += signins(
                        u, _usual(tn, u), office[int(rng.integers(0, 2))], d, int(rng.integers(2, 5))
                    )
        add("new_office", evs, office_ips=[net.ips[i].ip for i in office])

    # 5. People who move country: a new home line and time zone from one day on, the same devices.
    evs = []
    for u in _people(tn, rng, max(1, n_users // 1000)):
        country = C.pick(rng, [c for c in countries if c != u.country])
        home = net.new_v4(net.pick_asn("residential", country), country=country)
        shift = float(rng.uniform(-9, 9))
        d0 = int(rng.integers(2, max(3, days - 2)))
        for d in range(d0, days):
            evs += signins(u, _usual(tn, u), home, d, int(rng.integers(2, 6)), tz=u.tz + shift)
    add("moved_country", evs)

    # 6. Sessions that move: a laptop's session started at home carries on in the office.
    evs = []
    for u in _people(tn, rng, n_users // 100, lambda u: u.office >= 0):
        d = int(rng.integers(1, days))
        t0, t1 = _workday_times(u, rng, start + d * DAY, 2)
        corr = uuid4(rng)
        dev = _usual(tn, u)
        evs.append(ev(t0, u.idx, dev, "OfficeHome", u.home_ip, 0, correlation=corr))
        office_ip = tn.offices[u.office].ips[0]
        evs.append(
            ev(max(t1, t0 + 1800), u.idx, dev, "Microsoft Teams", office_ip, 0, inter=False, correlation=corr)
        )
    add("session_home_to_office", evs)
    return out
