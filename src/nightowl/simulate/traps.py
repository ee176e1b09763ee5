"""Benign look-alikes, each labelled: the failure patterns real tenants have and sprays resemble.

Each trap returns its events (dicts rendered by :class:`render.GraphRenderer.record`) and a
:class:`truth.Labelled` entry, so evaluation can count false positives on them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.benign import DAY, _epoch
from nightowl.simulate.population import Device, Tenant
from nightowl.simulate.truth import Labelled

Event = dict[str, Any]


def ev(
    t: float,
    user: int | None,
    device: int | Device,
    app: str,
    ip: int,
    code: int,
    inter: bool = True,
    **kw: Any,
) -> Event:
    return {
        "t": int(t),
        "user": user,
        "device": device,
        "app": app,
        "ip": ip,
        "code": code,
        "inter": inter,
        **kw,
    }


def upn_of(tenant: Tenant) -> Callable[[Event], str]:
    return lambda e: tenant.users[e["user"]].upn if e.get("user") is not None else e["upn"]


def _members(tn: Tenant, rng: np.random.Generator, n: int, pred=lambda u: True) -> list[int]:
    pool = [u.idx for u in tn.users if u.kind == "member" and u.disabled_at is None and pred(u)]
    if not pool:
        return []
    return [int(x) for x in rng.choice(pool, size=min(n, len(pool)), replace=False)]


def _laptop(tn: Tenant, u: int) -> int:
    devs = tn.users[u].devices
    return next(
        (
            d
            for d in devs
            if tn.devices[d].kind in ("browser", "desktop") and tn.devices[d].os not in ("Ios", "Android")
        ),
        devs[0],
    )


def build_traps(tn: Tenant, seed: int) -> list[tuple[list[Event], Labelled]]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 50]))
    start = _epoch(tn.start)
    out: list[tuple[list[Event], Labelled]] = []
    ips = [i.ip for i in tn.net.ips]
    who = upn_of(tn)

    def add(kind: str, events: list[Event], **details: Any) -> None:
        if events:
            lab = Labelled(f"trap-{kind}-{len(out) + 1}", kind, details=details).fill(
                events, [i.ip for i in tn.net.ips], who
            )
            out.append((events, lab))

    # 1. Password-expiry wave: a Monday morning behind one office NAT.
    mondays = [d for d in range(tn.days) if (tn.start + timedelta(days=d)).weekday() == 0]
    if tn.offices and mondays:
        d = mondays[min(1, len(mondays) - 1)] if len(mondays) > 1 else mondays[0]
        o = max(range(len(tn.offices)), key=lambda i: sum(u.office == i for u in tn.users))
        off = tn.offices[o]
        staff = _members(tn, rng, int(rng.integers(25, 70)), lambda u, o=o: u.office == o)
        evs = []
        for u in staff:
            t = start + d * DAY + int((rng.uniform(7.2, 10.5) - off.tz) * 3600)
            ip = off.ips[int(rng.integers(0, len(off.ips)))]
            dev = _laptop(tn, u)
            app = C.pick(rng, ["OfficeHome", "Microsoft Office", "One Outlook Web"])
            for _ in range(int(rng.integers(1, 4))):
                evs.append(ev(t, u, dev, app, ip, C.pick(rng, [50055, 50144, 50126], [0.55, 0.2, 0.25])))
                t += int(rng.integers(20, 400))
            evs.append(ev(t, u, dev, app, ip, 50125))
            evs.append(ev(t + int(rng.integers(60, 600)), u, dev, app, ip, 0))
        add("password_expiry_wave", evs, office_ips=[ips[i] for i in off.ips])

    # 2. Stale password on a phone: native mail over Exchange ActiveSync retrying for days.
    for u in _members(tn, rng, int(rng.integers(1, 4))):
        user = tn.users[u]
        ua, osd, br = C.eas_ua(rng)
        dev = Device(u, "eas", "", "", ua, osd, br, False, False, "")
        t = start + int(rng.uniform(0, max(tn.days - 2, 1)) * DAY)
        end = min(t + int(rng.uniform(2, 5) * DAY), start + tn.days * DAY - 1)
        evs, fails = [], 0
        cell_ip = tn.carriers[user.carrier][0] if user.carrier >= 0 else user.home_ip
        while t < end:
            if rng.random() < 0.05 and user.carrier >= 0:
                pool = tn.carriers[user.carrier]
                cell_ip = pool[int(rng.integers(0, len(pool)))]
            ip = user.home_ip if (((t - start) % DAY) / 3600 + user.tz) % 24 > 18 else cell_ip
            fails += 1
            code = 50053 if fails % 12 in (10, 11) else 50126
            evs.append(ev(t, u, dev, "Office 365 Exchange Online", ip, code))
            t += int(rng.uniform(4, 16) * 60)
        add("stale_password_phone", evs, client_app="Exchange ActiveSync")

    # 3. A misconfigured service account hammering with an old password from its server.
    if tn.service_accounts:
        s = tn.users[int(C.pick(rng, tn.service_accounts))]
        t = start + int(rng.uniform(0.5, max(tn.days - 1.5, 0.6)) * DAY)
        end = min(t + int(rng.uniform(1, 4) * DAY), start + tn.days * DAY - 1)
        app = C.CLIENT_APPS["service"][s.idx % len(C.CLIENT_APPS["service"])][0]
        evs = []
        period = float(rng.uniform(1, 8))
        while t < end:
            evs.append(ev(t, s.idx, s.devices[0], app, s.server_ip, 50126))
            t += int(period * 60 * rng.uniform(0.9, 1.1))
        add("misconfigured_service_account", evs)

    # 4. New hires fumbling their first sign-in (temporary password, MFA registration).
    hires = [u for u in tn.users if u.kind == "member" and u.created > tn.start]
    evs = []
    for user in hires:
        dev = _laptop(tn, user.idx)
        ip = tn.offices[user.office].ips[0] if user.office >= 0 else user.home_ip
        t = max(_epoch(user.created) + 600, start)
        for _ in range(int(rng.integers(1, 6))):
            evs.append(ev(t, user.idx, dev, "OfficeHome", ip, 50126))
            t += int(rng.integers(15, 240))
        evs.append(ev(t, user.idx, dev, "OfficeHome", ip, 50125))
        evs.append(ev(t + 90, user.idx, dev, "My Signins", ip, 50079))
        evs.append(ev(t + int(rng.integers(200, 900)), user.idx, dev, "OfficeHome", ip, 0))
    add("new_hire_failures", evs)

    # 5. A user who locks themself out with typos, then gets back in.
    evs = []
    for u in _members(tn, rng, int(rng.integers(1, 4))):
        user = tn.users[u]
        dev, ip = _laptop(tn, u), user.home_ip
        t = start + int(rng.integers(0, tn.days)) * DAY + int((rng.uniform(8, 17) - user.tz) % 24 * 3600)
        for _ in range(int(rng.integers(6, 11))):
            evs.append(ev(t, u, dev, "OfficeHome", ip, 50126))
            t += int(rng.integers(8, 60))
        for _ in range(int(rng.integers(1, 4))):
            evs.append(ev(t, u, dev, "OfficeHome", ip, 50053))
            t += int(rng.integers(30, 200))
        evs.append(ev(t + int(rng.integers(1800, 5400)), u, dev, "OfficeHome", ip, 0))
    add("user_lockout", evs)

    # 6. CGNAT: unrelated users of one carrier failing from the same address in the same hour.
    for _ in range(int(rng.integers(2, 4))):
        c = int(rng.integers(0, len(tn.carriers)))
        ip = tn.carriers[c][int(rng.integers(0, len(tn.carriers[c])))]
        people = _members(tn, rng, int(rng.integers(3, 7)), lambda u, c=c: u.carrier == c and u.devices)
        if len(people) < 3:
            people = _members(tn, rng, int(rng.integers(3, 7)))
        hour = start + int(rng.integers(0, tn.days)) * DAY + int(rng.integers(6, 20)) * 3600
        evs = []
        for u in people:
            devs = tn.users[u].devices
            dev = next((d for d in devs if tn.devices[d].kind == "mobile"), devs[0])
            t = hour + int(rng.integers(0, 3300))
            app = C.pick(rng, ["Outlook Mobile", "Microsoft Teams"])
            for _ in range(int(rng.integers(1, 3))):
                evs.append(ev(t, u, dev, app, ip, 50126))
                t += int(rng.integers(10, 120))
            evs.append(ev(t + 30, u, dev, app, ip, 0))
        add("cgnat_shared_ip_failures", evs)

    # 7. Leavers' devices keep refreshing tokens after the account is disabled.
    evs = []
    for user in tn.users:
        if user.disabled_at is None or user.kind != "member":
            continue
        t = _epoch(user.disabled_at) + int(rng.integers(300, 7200))
        end = min(t + int(rng.uniform(1, 4) * DAY), start + tn.days * DAY - 1)
        devs = [d for d in user.devices if tn.devices[d].kind in ("mobile", "desktop")] or user.devices
        while t < end:
            d = C.pick(rng, devs)
            kind = tn.devices[d].kind
            ip = (
                tn.carriers[user.carrier][int(rng.integers(0, len(tn.carriers[user.carrier])))]
                if kind == "mobile" and user.carrier >= 0 and rng.random() < 0.5
                else user.home_ip
            )
            evs.append(ev(t, user.idx, d, C.pick(rng, C.CLIENT_APPS[kind])[0], ip, 50057, inter=False))
            t += int(rng.uniform(0.5, 4) * 3600)
    add("disabled_account_devices", evs)

    # 8. A test account used once, legitimately, by an admin in the office (rare, not never).
    spare = tn.test_accounts[1:]
    if spare and tn.offices:
        u = spare[0]
        ip = tn.offices[0].ips[0]
        t = start + int(rng.uniform(0.2, tn.days - 0.1) * DAY)
        add(
            "test_account_rare_use",
            [
                ev(t, u, tn.users[u].devices[0], "Azure Portal", ip, 50126),
                ev(t + 40, u, tn.users[u].devices[0], "Azure Portal", ip, 0),
            ],
        )
    return out
