"""Account takeovers without a password attack, each a labelled campaign with its compromised accounts.

The attacker already holds the password or a session, so there is nothing to spray: a phished password
used once from a residential proxy abroad; an adversary-in-the-middle (AiTM) kit whose stolen session is
replayed from a hosting network; a dormant test account revived over a legacy protocol; a slow takeover
that signs in a few times, from residential proxies in the victim's own country, at the victim's hours.
Victims, places, times and tooling are drawn from the seed; nothing here names a value a detection
could key on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.benign import DAY, _epoch
from nightowl.simulate.config import AttackSpec
from nightowl.simulate.network import ASNS
from nightowl.simulate.population import Device, Tenant, User, uuid4
from nightowl.simulate.traps import Event, ev, upn_of
from nightowl.simulate.truth import Compromise, Labelled, iso

LEGACY_CLIENTS = ["Authenticated SMTP", "IMAP4", "Exchange ActiveSync", "POP3"]
WEB_APPS = ["OfficeHome", "One Outlook Web", "Office 365 Exchange Online", "Office 365 SharePoint Online"]
LEARN = 7  # takeovers start after a week of ordinary history (a shorter history is a documented blind spot)
TOKEN_APPS = ["Office 365 Exchange Online", "Microsoft Teams", "Office 365 SharePoint Online", "OfficeHome"]


def _victims(tn: Tenant, rng: np.random.Generator, n: int, need_no_mfa: bool) -> list[User]:
    pool = [
        u
        for u in tn.users
        if u.kind == "member"
        and u.disabled_at is None
        and u.created < tn.start
        and (not u.mfa or not need_no_mfa)
        and u.rate >= 1.0  # someone with a history to take over
    ]
    if not pool:
        return []
    return [pool[int(i)] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]


def _attacker_device(rng: np.random.Generator, like: str | None = None) -> Device:
    os_name = like or C.pick(rng, ["Windows", "MacOs", "Linux"], [0.6, 0.3, 0.1])
    ua, osd, br = C.browser_ua(rng, os_name)
    return Device(-1, "browser", "", "", ua, osd, br, False, False, "")


def _copy_of(dev: Device) -> Device:
    """The victim's browser as a man-in-the-middle proxy presents it: same user agent, no device id."""
    return Device(-1, dev.kind, "", "", dev.user_agent, dev.os, dev.browser, False, False, "")


def _residential(tn: Tenant, rng: np.random.Generator, country: str) -> int:
    net = tn.net
    return net.new_v4(net.pick_asn("residential", country), country=country)


def _foreign_country(rng: np.random.Generator, home: str) -> str:
    countries = sorted({c for _, _, c, k in ASNS if k == "residential" and c != home})
    return C.pick(rng, countries)


def _work_time(u: User, day0: int, rng: np.random.Generator) -> int:
    """A moment inside the user's usual working hours on that day (UTC epoch)."""
    local = u.start_hour + float(rng.uniform(0.1, 0.9)) * u.hours
    return day0 + int(((local - u.tz) % 24) * 3600)


def _laptop(tn: Tenant, u: User) -> Device:
    for d in u.devices:
        dev = tn.devices[d]
        if dev.kind == "browser" and dev.os not in ("Ios", "Android"):
            return dev
    return tn.devices[u.devices[0]]


def run_takeover(tn: Tenant, spec: AttackSpec, seed: int, n: int) -> tuple[list[Event], Labelled]:
    """One takeover campaign (one or more victims of the same kind), and its truth entry."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 260, n]))
    p = spec.params
    base = _epoch(tn.start)
    days = tn.days
    events: list[Event] = []
    compromised: list[Compromise] = []
    details: dict[str, Any] = {}

    def day0(lo: float) -> int:
        d = int(rng.integers(int(min(lo, days - 1)), days)) if spec.start_day is None else int(spec.start_day)
        return base + min(d, days - 1) * DAY

    def success(t: int, u: User, dev: Device, ip: int, **kw: Any) -> Event:
        e = ev(
            t, u.idx, dev, kw.pop("app", C.pick(rng, WEB_APPS)), ip, 0, client_app=kw.pop("client_app", None)
        )
        e.update(kw)
        events.append(e)
        return e

    def owned(u: User, e: Event) -> None:
        compromised.append(Compromise(u.upn.lower(), iso(e["t"]), tn.net.ips[e["ip"]].ip, "success", 0))

    kind = spec.kind
    if kind == "phish_proxy":
        for u in _victims(tn, rng, int(p.get("victims", 3)), need_no_mfa=True):
            country = _foreign_country(rng, u.country)
            ip = _residential(tn, rng, country)
            dev = _attacker_device(rng)
            t = day0(LEARN) + int(rng.integers(0, DAY))
            first = success(t, u, dev, ip)
            for _ in range(int(rng.integers(0, 3))):
                success(t + int(rng.integers(60, 1800)), u, dev, ip)
            owned(u, first)
            details.setdefault("countries", []).append(country)
    elif kind == "aitm_replay":
        for u in _victims(tn, rng, int(p.get("victims", 3)), need_no_mfa=False):
            net = tn.net
            proxy = net.new_v4(net.pick_asn("hosting"), kind="hosting")
            replay_asn = net.pick_asn("hosting")
            replay = net.new_v4(replay_asn, kind="hosting")
            victim_browser = _copy_of(_laptop(tn, u))
            t = _work_time(u, day0(LEARN), rng)
            corr = uuid4(rng)
            success(
                t, u, victim_browser, proxy, correlation=corr, app="OfficeHome"
            )  # the user, through the kit
            attacker = victim_browser if rng.random() < 0.5 else _attacker_device(rng)
            tr = t + int(rng.integers(300, 3 * 3600))
            first = success(
                tr, u, attacker, replay, correlation=corr, inter=False, app=C.pick(rng, TOKEN_APPS)
            )
            for _ in range(int(rng.integers(1, 6))):
                tr += int(rng.integers(60, 1800))
                success(tr, u, attacker, replay, correlation=corr, inter=False, app=C.pick(rng, TOKEN_APPS))
            owned(u, first)
    elif kind == "dormant_revival":
        tests = [tn.users[i] for i in tn.test_accounts]
        if tests:
            u = tests[0]
            lo = max(10.5, days * 0.6)
            t = base + int(float(rng.uniform(min(lo, days - 0.5), days - 0.2)) * DAY)
            ip = _residential(tn, rng, _foreign_country(rng, u.country))
            client = C.pick(rng, LEGACY_CLIENTS)
            ua = C.pick(
                rng, ["BAV2ROPC", "", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)"]
            )
            dev = Device(-1, "desktop", "", "", ua, "", "", False, False, "")
            first = None
            for _ in range(int(rng.integers(2, 7))):
                e = success(t, u, dev, ip, client_app=client, app="Office 365 Exchange Online")
                first = first or e
                t += int(rng.integers(60, 900))
            if first:
                owned(u, first)
            details["client_app"] = client
    elif kind == "slow_takeover":
        for u in _victims(tn, rng, int(p.get("victims", 3)), need_no_mfa=True):
            laptop = _laptop(tn, u)
            dev = _attacker_device(rng, like=laptop.os if laptop.os in ("Windows", "MacOs") else None)
            start_day = int(rng.integers(min(LEARN, days - 1), max(LEARN + 1, days - 2)))
            visit_days = sorted({int(x) for x in rng.integers(start_day, days, int(rng.integers(3, 6)))})
            first = None
            for d in visit_days:
                ip = _residential(tn, rng, u.country)
                t = _work_time(u, base + d * DAY, rng)
                for _ in range(int(rng.integers(1, 3))):
                    e = success(t, u, dev, ip, client_app="Browser")
                    first = first or e
                    t += int(rng.integers(120, 2400))
            if first:
                owned(u, first)
    else:
        raise ValueError(f"not a takeover kind: {kind!r}")
    lab = Labelled(f"{kind}-{n + 1}", kind, details=details).fill(
        events, [i.ip for i in tn.net.ips], upn_of(tn)
    )
    lab.compromised = compromised
    return events, lab
