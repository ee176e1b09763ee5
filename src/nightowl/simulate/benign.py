"""Ordinary days, vectorised: interactive sessions, token refreshes, the usual small failures.

One call per simulated day returns column arrays (time, user, device, app, IP, error code,
interactive). Typos (50126 then success), MFA interrupts (50074 then success), "keep me signed
in" interrupts (50140) and expired refresh tokens (700082, 50173, 70044) are part of normal life
and are not labelled; the labelled look-alikes live in :mod:`traps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.network import ASNS
from nightowl.simulate.population import Tenant

KINDS = ["browser", "desktop", "mobile", "eas", "service", "admin"]
DAY = 86400


@dataclass
class Block:
    """Column arrays of sign-ins (not yet sorted)."""

    t: np.ndarray
    user: np.ndarray
    dev: np.ndarray
    app: np.ndarray
    ip: np.ndarray
    code: np.ndarray
    inter: np.ndarray

    @staticmethod
    def concat(parts: list[Block]) -> Block:
        parts = [p for p in parts if len(p.t)]
        if not parts:
            z = np.zeros(0, np.int64)
            return Block(
                z,
                z.astype(np.int32),
                z.astype(np.int32),
                z.astype(np.int16),
                z.astype(np.int32),
                z.astype(np.int32),
                z.astype(bool),
            )
        return Block(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("t", "user", "dev", "app", "ip", "code", "inter")
            )
        )


def _epoch(dt) -> int:
    return int(
        (
            dt - dt.replace(year=1970, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        ).total_seconds()
    )


class BenignModel:
    """Per-tenant arrays, built once; :meth:`day` draws one day of ordinary activity."""

    def __init__(self, tenant: Tenant, seed: int) -> None:
        self.tn = tenant
        self.seed = seed
        self.start = _epoch(tenant.start)
        users = [u for u in tenant.users if u.kind in ("member", "admin", "guest")]
        self.u = np.array([u.idx for u in users], np.int32)
        f = lambda name: np.array([getattr(u, name) for u in users], float)  # noqa: E731
        self.tz, self.sh, self.hours, self.rate, self.weekend = (
            f("tz"),
            f("start_hour"),
            f("hours"),
            f("rate"),
            f("weekend"),
        )
        self.office_days = f("office_days")
        self.office = np.array([u.office for u in users], np.int32)
        self.home = np.array([u.home_ip for u in users], np.int32)
        self.vpn = np.array([u.vpn for u in users])
        self.created = np.array([_epoch(u.created) for u in users], np.int64)
        self.disabled = np.array([_epoch(u.disabled_at) if u.disabled_at else 2**62 for u in users], np.int64)
        self.v6 = [i for i, u in enumerate(users) if u.home_v6]
        # devices per role
        self.laptop = np.full(len(users), -1, np.int32)
        self.desktop = np.full(len(users), -1, np.int32)
        self.phone = np.full(len(users), -1, np.int32)
        self.phone_br = np.full(len(users), -1, np.int32)
        for i, u in enumerate(users):
            for d in u.devices:
                dv = tenant.devices[d]
                if dv.kind in ("browser", "admin") and dv.os in ("Ios", "Android"):
                    self.phone_br[i] = d
                elif dv.kind in ("browser", "admin"):
                    self.laptop[i] = d
                elif dv.kind == "desktop":
                    self.desktop[i] = d
                elif dv.kind == "mobile":
                    self.phone[i] = d
        self.dev_kind = np.array([KINDS.index(d.kind) for d in tenant.devices], np.int8)
        # app choice tables per device kind
        self.app_tab = {}
        for k, opts in C.CLIENT_APPS.items():
            apps = np.array([C.APP_INDEX[n] for n, _ in opts], np.int16)
            w = np.cumsum([p for _, p in opts])
            self.app_tab[KINDS.index(k)] = (apps, w / w[-1])
        # office NAT tables and CGNAT pools, flattened
        self.off_ips = [np.array(o.ips, np.int32) for o in tenant.offices]
        self.carrier = np.array([u.carrier for u in users], np.int32)
        self.pools = [np.array(p, np.int32) for p in tenant.carriers]
        self.vpn_ips = np.array(tenant.vpn_ips, np.int32)
        self.services = [tenant.users[i] for i in tenant.service_accounts]
        self._travel(users)

    def _travel(self, users) -> None:
        """A few people travel: for some days every non-mobile sign-in comes from a hotel abroad."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 40]))
        self.travel: dict[int, list[tuple[int, int, int]]] = {}
        n = max(1, len(users) // 80)
        net = self.tn.net
        countries = sorted({c for _, _, c, k in ASNS if k == "residential"})
        for i in rng.choice(len(users), size=min(n, len(users)), replace=False):
            d0 = int(rng.integers(0, max(1, self.tn.days - 1)))
            d1 = d0 + int(rng.integers(1, 5))
            country = C.pick(rng, countries)
            hotel = net.new_v4(
                net.pick_asn(C.pick(rng, ["residential", "business"]), country), country=country
            )
            self.travel.setdefault(int(i), []).append((d0, d1, hotel))

    def _apps(self, rng: np.random.Generator, dev: np.ndarray) -> np.ndarray:
        kinds = self.dev_kind[dev]
        out = np.zeros(len(dev), np.int16)
        r = rng.random(len(dev))
        for k, (apps, cum) in self.app_tab.items():
            m = kinds == k
            if m.any():
                out[m] = apps[np.minimum(np.searchsorted(cum, r[m]), len(apps) - 1)]
        return out

    def day(self, d: int, scale: float = 1.0) -> Block:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 100, d]))
        tn = self.tn
        day0 = self.start + d * DAY
        weekday = (tn.start + timedelta(days=d)).weekday()
        workday = weekday < 5
        n = len(self.u)
        alive = (self.created <= day0 + DAY) & (self.disabled > day0)
        lam = self.rate * (1.0 if workday else self.weekend) * rng.lognormal(0, 0.35, n) * scale
        ns = rng.poisson(lam)
        ns[~alive] = 0
        si = np.repeat(np.arange(n), ns)  # session -> row in the model arrays
        S = len(si)
        local = self.sh[si] + rng.uniform(0, 1, S) * self.hours[si]
        t0 = day0 + np.mod(((local - self.tz[si]) * 3600).astype(np.int64), DAY)
        t0 = np.maximum(t0, self.created[si])
        # where is the user today?
        office_today = (self.office >= 0) & workday & (rng.random(n) < self.office_days)
        in_office = office_today[si]
        mobile = (self.phone[si] >= 0) & (rng.random(S) < 0.14)
        vpn = ~in_office & self.vpn[si] & (rng.random(S) < 0.6)
        # device
        use_desktop = (self.desktop[si] >= 0) & (rng.random(S) < 0.55)
        dev = np.where(use_desktop, self.desktop[si], self.laptop[si])
        phone_dev = np.where(
            (self.phone_br[si] >= 0) & (rng.random(S) < 0.3), self.phone_br[si], self.phone[si]
        )
        dev = np.where(mobile, phone_dev, dev)
        dev = np.where(dev < 0, self.laptop[si], dev)
        ip = self._ips(rng, d, si, in_office, mobile, vpn)
        app = self._apps(rng, dev)
        parts = [Block(t0, self.u[si], dev, app, ip, np.zeros(S, np.int32), np.ones(S, bool))]
        # small benign interrupts and typos before the success
        mfa = np.array([tn.users[x].mfa for x in self.u[si].tolist()], bool) if S else np.zeros(0, bool)
        for code, p, lo, hi, need_mfa in (
            (50126, 0.015, 15, 300, False),
            (50074, 0.22, 5, 90, True),
            (50140, 0.08, 2, 30, False),
        ):
            m = rng.random(S) < p
            if need_mfa:
                m &= mfa & (self.dev_kind[dev] != 2)
            k = int(m.sum())
            if k:
                dt = rng.integers(lo, hi, k)
                parts.append(
                    Block(
                        np.maximum(t0[m] - dt, day0),
                        self.u[si][m],
                        dev[m],
                        app[m],
                        ip[m],
                        np.full(k, code, np.int32),
                        np.ones(k, bool),
                    )
                )
        # token refreshes after each session
        kind = self.dev_kind[dev]
        rpc = np.select([kind == 1, kind == 2], [7.0, 5.0], 3.0)
        nr = rng.poisson(rpc * scale)
        ri = np.repeat(np.arange(S), nr)
        R = len(ri)
        rt = day0 + np.mod(
            t0[ri] - day0 + (rng.exponential(1.5, R) * 3600).astype(np.int64) + rng.integers(60, 3600, R), DAY
        )
        rdev = dev[ri]
        rcode = np.zeros(R, np.int32)
        r = rng.random(R)
        rcode[r < 0.004] = 700082
        rcode[(r >= 0.004) & (r < 0.006)] = 50173
        rcode[(r >= 0.006) & (r < 0.01)] = 70044
        parts.append(Block(rt, self.u[si][ri], rdev, self._apps(rng, rdev), ip[ri], rcode, np.zeros(R, bool)))
        # phones refresh in the background all day, on cellular or home wifi
        has_phone = np.flatnonzero((self.phone >= 0) & alive)
        nb = rng.poisson(4.0 * scale, len(has_phone))
        bi = np.repeat(has_phone, nb)
        B = len(bi)
        if B:
            bt = day0 + rng.integers(0, DAY, B)
            cell = rng.random(B) < 0.55
            bip = self._ips(rng, d, bi, np.zeros(B, bool), cell, np.zeros(B, bool))
            bdev = self.phone[bi]
            parts.append(
                Block(
                    bt, self.u[bi], bdev, self._apps(rng, bdev), bip, np.zeros(B, np.int32), np.zeros(B, bool)
                )
            )
        parts.append(self._services(rng, d, day0, scale))
        return Block.concat(parts)

    def _ips(self, rng, d, si, in_office, mobile, vpn) -> np.ndarray:
        S = len(si)
        ip = self.home[si].copy()
        for o, ips in enumerate(self.off_ips):
            m = in_office & (self.office[si] == o)
            if m.any():
                ip[m] = ips[rng.integers(0, len(ips), int(m.sum()))]
        if len(self.vpn_ips):
            ip[vpn] = self.vpn_ips[rng.integers(0, len(self.vpn_ips), int(vpn.sum()))]
        cell = mobile & ~in_office
        if cell.any():
            car = self.carrier[si][cell]
            pooled = np.empty(len(car), np.int32)
            for c in np.unique(car):
                mm = car == c
                pool = self.pools[c]
                pooled[mm] = pool[rng.integers(0, len(pool), int(mm.sum()))]
            ip[cell] = pooled
        # IPv6 home lines: a fresh privacy address inside the user's /64 each day
        if self.v6:
            net = self.tn.net
            home_v6 = np.full(len(self.u), -1, np.int32)
            for i in self.v6:
                u = self.tn.users[int(self.u[i])]
                asn = net.ips[u.home_ip].asn
                home_v6[i] = net.new_v6(
                    asn,
                    net=u.home_v6,
                    country=net.ips[u.home_ip].country,
                    city=(net.ips[u.home_ip].city, net.ips[u.home_ip].state),
                )
            m = (home_v6[si] >= 0) & (ip == self.home[si]) & (rng.random(S) < 0.6)
            ip[m] = home_v6[si][m]
        for i, trips in self.travel.items():
            for d0, d1, hotel in trips:
                if d0 <= d < d1:
                    m = (si == i) & ~(mobile & ~in_office)
                    ip[m] = hotel
        return ip.astype(np.int32)

    def _services(self, rng, d, day0, scale) -> Block:
        parts = []
        for s in self.services:
            k = int(rng.poisson(s.rate * 24 * scale))
            if not k:
                continue
            t = day0 + np.sort(rng.integers(0, DAY, k))
            dev = np.full(k, s.devices[0], np.int32)
            app_name = C.CLIENT_APPS["service"][s.idx % len(C.CLIENT_APPS["service"])][0]
            parts.append(
                Block(
                    t,
                    np.full(k, s.idx, np.int32),
                    dev,
                    np.full(k, C.APP_INDEX[app_name], np.int16),
                    np.full(k, s.server_ip, np.int32),
                    np.zeros(k, np.int32),
                    np.ones(k, bool),
                )
            )
        return Block.concat(parts)
