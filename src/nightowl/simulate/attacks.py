"""Password attacks, each a labelled campaign whose fingerprint is drawn from the seed.

Attackers come from the same residential and mobile networks as employees (residential
proxies), sometimes from hosting. User agent, client app, protocol and application are chosen
per campaign: one browser UA, a rotation of common browser UAs, or a scripting client; Browser,
ROPC, "Other clients"... so that no detection can key on a simulator string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.benign import DAY, _epoch
from nightowl.simulate.config import AttackSpec
from nightowl.simulate.network import ASNS, Network
from nightowl.simulate.population import Device, Tenant
from nightowl.simulate.traps import Event, ev, upn_of
from nightowl.simulate.truth import Compromise, Labelled, iso

ROLE_NAMES = [
    "admin",
    "administrator",
    "info",
    "support",
    "helpdesk",
    "hr",
    "sales",
    "it",
    "test",
    "scanner",
    "noreply",
    "backup",
    "service",
    "office",
    "reception",
    "finance",
    "billing",
    "contact",
    "security",
    "webmaster",
    "marketing",
    "jobs",
    "training",
    "guest",
    "user",
    "temp",
    "ceo",
    "accounts",
]
ATTACK_APPS = [
    "Office 365 Exchange Online",
    "Azure Active Directory PowerShell",
    "OfficeHome",
    "Microsoft Office",
    "Microsoft Azure CLI",
    "Microsoft Graph Command Line Tools",
    "Microsoft Teams",
    "My Signins",
    "Office 365 SharePoint Online",
]
CLIENTS = [
    ("Browser", "none", "browser"),
    ("Mobile Apps and Desktop clients", "ropc", "desktop"),
    ("Other clients", "none", "desktop"),
    ("Mobile Apps and Desktop clients", "none", "desktop"),
]


@dataclass
class Kit:
    """An attacker's tooling for one campaign."""

    mode: str
    devices: list[Device]
    client_app: str
    apps: list[str]
    inter: bool = True
    details: dict[str, Any] = field(default_factory=dict)

    def pick(self, rng: np.random.Generator) -> tuple[Device, str]:
        return self.devices[int(rng.integers(0, len(self.devices)))], self.apps[
            int(rng.integers(0, len(self.apps)))
        ]


def _script_ua(rng: np.random.Generator) -> str:
    return C.pick(
        rng,
        [
            f"python-requests/2.{int(rng.integers(22, 32))}.{int(rng.integers(0, 3))}",
            f"Python/3.{int(rng.integers(8, 13))} aiohttp/3.{int(rng.integers(7, 10))}.{int(rng.integers(0, 5))}",
            "Go-http-client/1.1",
            f"okhttp/4.{int(rng.integers(8, 12))}.{int(rng.integers(0, 4))}",
            f"axios/1.{int(rng.integers(3, 7))}.{int(rng.integers(0, 8))}",
            "BAV2ROPC",
            f"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.{int(rng.integers(12000, 17000))}; Pro)",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) WindowsPowerShell/5.1.{int(rng.integers(17763, 22631))}.{int(rng.integers(1, 3000))}",
            "",
            f"curl/8.{int(rng.integers(0, 7))}.{int(rng.integers(0, 2))}",
        ],
    )


def make_kit(rng: np.random.Generator, params: dict[str, Any]) -> Kit:
    mode = params.get("ua_mode") or C.pick(rng, ["single", "rotate", "script"], [0.35, 0.35, 0.3])
    client_app, proto, kind = CLIENTS[
        int(params.get("client", rng.choice(len(CLIENTS), p=[0.3, 0.35, 0.2, 0.15])))
    ]
    n_ua = 1 if mode != "rotate" else int(rng.integers(3, 7))
    devices = []
    for _ in range(n_ua):
        if mode == "script":
            ua, osd, br = _script_ua(rng), "", ""
        else:
            ua, osd, br = C.browser_ua(
                rng, C.pick(rng, ["Windows", "MacOs", "Linux", "Ios", "Android"], [0.6, 0.2, 0.05, 0.1, 0.05])
            )
        devices.append(Device(-1, kind, "", "", ua, osd, br, False, False, "", proto))
    apps = params.get("apps") or list(
        dict.fromkeys(C.pick(rng, ATTACK_APPS) for _ in range(int(rng.integers(1, 3))))
    )
    return Kit(
        mode,
        devices,
        client_app,
        apps,
        details={
            "ua_mode": mode,
            "user_agents": sorted({d.user_agent for d in devices}),
            "client_app": client_app,
            "authentication_protocol": proto,
            "apps": apps,
        },
    )


class ProxyPool:
    """Residential proxies: addresses from the same ISPs the employees use, across many countries."""

    def __init__(
        self, net: Network, rng: np.random.Generator, tenant: Tenant, hosting_share: float, v6_share: float
    ):
        self.net, self.rng = net, rng
        home = sorted({u.country for u in tenant.users})
        countries = sorted({c for _, _, c, k in ASNS if k in ("residential", "mobile")})
        w = rng.dirichlet(np.ones(len(countries)) * 0.7) + np.array(
            [0.25 if c in home else 0.0 for c in countries]
        )
        self.countries, self.w = countries, w / w.sum()
        self.hosting_share, self.v6_share = hosting_share, v6_share

    def new(self) -> int:
        rng, net = self.rng, self.net
        if rng.random() < self.hosting_share:
            return net.new_v4(net.pick_asn("hosting"))
        country = self.countries[int(rng.choice(len(self.countries), p=self.w))]
        asn = net.pick_asn("mobile" if rng.random() < 0.15 else "residential", country)
        if rng.random() < self.v6_share:
            return net.new_v6(asn, country=country)
        return net.new_v4(asn, country=country)


def fake_names(tn: Tenant, rng: np.random.Generator, n: int) -> list[str]:
    """Usernames that do not exist: plausible people in the tenant's UPN style, and role names."""
    existing = {u.upn.lower() for u in tn.users}
    style = tn.users[0].upn.split("@")[0]
    out: list[str] = []
    while len(out) < n:
        if rng.random() < 0.2:
            local = C.pick(rng, ROLE_NAMES) + (str(int(rng.integers(1, 99))) if rng.random() < 0.2 else "")
        else:
            f, last = C.pick(rng, C.FIRST), C.pick(rng, C.LAST)
            local = (
                f"{f}.{last}"
                if "." in style
                else C.pick(rng, [f"{f[0]}{last}", f"{f}{last[0]}", f"{f}.{last}"])
            )
        upn = f"{local}@{tn.domain}"
        if upn.lower() not in existing and upn not in out:
            out.append(upn)
    return out


def _code_for(tn: Tenant, user: int | None, t: int) -> int:
    if user is None:
        return 50034
    u = tn.users[user]
    if u.disabled_at is not None and t >= _epoch(u.disabled_at):
        return 50057
    return 50126


def _targets(
    tn: Tenant, rng: np.random.Generator, n: int, nonexist_share: float, tests: bool
) -> list[tuple[int | None, str]]:
    pool = [u.idx for u in tn.users if u.kind in ("member", "admin", "service")]
    k_real = max(1, int(n * (1 - nonexist_share)))
    real = [int(x) for x in rng.choice(pool, size=min(k_real, len(pool)), replace=False)]
    out: list[tuple[int | None, str]] = [(u, tn.users[u].upn) for u in real]
    out += [(None, x) for x in fake_names(tn, rng, n - len(real))]
    if tests:
        out += [(u, tn.users[u].upn) for u in tn.test_accounts if all(u != o[0] for o in out)]
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def _window(
    spec: AttackSpec, days: int, rng: np.random.Generator, duration_days: float
) -> tuple[float, float]:
    duration = min(duration_days, days - 0.3)
    start = (
        spec.start_day if spec.start_day is not None else float(rng.uniform(0.2, max(days - duration, 0.25)))
    )
    return start, min(duration, days - start - 0.05)


def run_attack(
    tn: Tenant, spec: AttackSpec, seed: int, n: int
) -> tuple[list[Event], Labelled, dict[str, Any]]:
    """One campaign's events, its truth entry, and facts the post-compromise chain starts from."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 200, n]))
    p = spec.params
    kit = make_kit(rng, p)
    base = _epoch(tn.start)
    events: list[Event] = []
    compromised: list[Compromise] = []
    details: dict[str, Any] = {"fingerprint": kit.details}
    info: dict[str, Any] = {}
    hosting = float(p.get("hosting_share", rng.choice([0.0, 0.05, 0.2, 0.5], p=[0.3, 0.3, 0.25, 0.15])))
    proxies = ProxyPool(tn.net, rng, tn, hosting, float(p.get("v6_share", rng.choice([0.0, 0.03, 0.1]))))

    def attempt(t: float, user: int | None, upn: str, ip: int, code: int | None = None) -> Event:
        dev, app = kit.pick(rng)
        e = ev(
            t,
            user,
            dev,
            app,
            ip,
            _code_for(tn, user, int(t)) if code is None else code,
            client_app=kit.client_app,
        )
        if user is None:
            e["upn"] = upn
        events.append(e)
        return e

    def mfa_confirm(t: float, cand: list[tuple[int | None, str]], ip: int) -> None:
        mfa_users = [
            u
            for u, _ in cand
            if u is not None
            and tn.users[u].mfa
            and tn.users[u].kind == "member"
            and tn.users[u].disabled_at is None
        ]
        if mfa_users:
            u = int(C.pick(rng, mfa_users))
            code = 50074 if kit.client_app == "Browser" else 50076
            e = attempt(t, u, tn.users[u].upn, ip, code)
            compromised.append(
                Compromise(tn.users[u].upn.lower(), iso(e["t"]), tn.net.ips[ip].ip, "mfa_interrupt", code)
            )

    def success(t: float, u: int, ip: int) -> None:
        e = attempt(t, u, tn.users[u].upn, ip, 0)
        compromised.append(Compromise(tn.users[u].upn.lower(), iso(e["t"]), tn.net.ips[ip].ip, "success", 0))

    kind = spec.kind
    if kind == "distributed":
        start, dur = _window(spec, tn.days, rng, float(p.get("duration_days", rng.uniform(5, 14))))
        n_ips = int(p.get("n_ips", rng.integers(300, 3000) * min(1.0, dur / 7 + 0.3)))
        targets = _targets(
            tn,
            rng,
            int(p.get("n_targets", rng.integers(80, 500))),
            float(p.get("nonexistent_share", rng.uniform(0.15, 0.45))),
            tests=True,
        )
        t0, t1 = base + start * DAY, base + (start + dur) * DAY
        slots = np.sort(rng.uniform(t0, t1, n_ips))
        used = []
        k = 0
        for s in slots:
            ip = proxies.new()
            used.append(ip)
            for j in range(int(rng.integers(1, int(p.get("attempts_per_ip", 3)) + 1))):
                u, upn = targets[k % len(targets)]
                k += 1
                attempt(s + j * rng.uniform(20, 900), u, upn, ip)
        tests = [u for u, _ in targets if u is not None and tn.users[u].kind == "test"]
        if p.get("compromise", True) and tests:
            victim = tn.test_accounts[0]
            tc = t0 + rng.uniform(0.35, 0.75) * (t1 - t0)
            ip = used[int(np.searchsorted(slots, tc)) % len(used)]
            success(tc, victim, ip)
            details["compromise_ip"] = tn.net.ips[ip].ip
            # the attacker comes back with the password a little later, from other proxies
            post = []
            tp = tc + rng.uniform(1800, 4 * 3600)
            for _ in range(int(rng.integers(2, 5))):
                pip = proxies.new()
                post.append(tn.net.ips[pip].ip)
                e = ev(
                    tp,
                    victim,
                    kit.devices[0],
                    C.pick(
                        rng,
                        [
                            "Azure Portal",
                            "Microsoft Graph Command Line Tools",
                            "Azure Active Directory PowerShell",
                        ],
                    ),
                    pip,
                    0,
                    client_app=kit.client_app,
                )
                events.append(e)
                tp += rng.uniform(600, 6 * 3600)
            details["post_compromise_ips"] = post
            info.update(victim=victim, epoch=int(tc), ip=ip, kit=kit, proxies=proxies)
        if p.get("mfa_compromise", rng.random() < 0.6):
            mfa_confirm(
                t0 + rng.uniform(0.2, 0.9) * (t1 - t0), targets, used[int(rng.integers(0, len(used)))]
            )
    elif kind == "single_source":
        start, _ = _window(spec, tn.days, rng, 0.5)
        targets = _targets(
            tn, rng, int(p.get("n_targets", rng.integers(50, 1000))), float(rng.uniform(0.0, 0.15)), False
        )
        v6 = p.get("ipv6", rng.random() < 0.3)
        asn = tn.net.pick_asn("hosting" if rng.random() < hosting else "residential")
        net6 = tn.net.new_v6_net(asn) if v6 else None
        fixed = None if v6 else tn.net.new_v4(asn)
        t = base + start * DAY
        gap = float(rng.uniform(0.5, 30))
        for _ in range(int(p.get("passwords", rng.integers(1, 3)))):
            for u, upn in targets:
                ip = fixed if fixed is not None else tn.net.new_v6(asn, net=net6)
                attempt(t, u, upn, ip)
                t += gap * rng.uniform(0.5, 1.5)
            t += rng.uniform(300, 3600)
        details["ipv6_prefix"] = f"{net6}::/64" if net6 else None
        if p.get("compromise", rng.random() < 0.5):
            mfa_confirm(t, targets, fixed if fixed is not None else tn.net.new_v6(asn, net=net6))
    elif kind == "slow":
        start, dur = _window(spec, tn.days, rng, float(p.get("duration_days", rng.uniform(2, 5))))
        targets = _targets(tn, rng, 2000, float(rng.uniform(0.0, 0.2)), False)
        ip = proxies.new() if rng.random() < 0.7 else tn.net.new_v4(tn.net.pick_asn("hosting"))
        t, end = base + start * DAY, base + (start + dur) * DAY
        lo, hi = p.get("interval_min", (5, 30))
        k = 0
        while t < end:
            u, upn = targets[k % len(targets)]
            k += 1
            attempt(t, u, upn, ip)
            t += rng.uniform(lo, hi) * 60
        if p.get("compromise", rng.random() < 0.4):
            mfa_confirm(t - 60, targets[:k], ip)
    elif kind == "bruteforce":
        start, _ = _window(spec, tn.days, rng, 0.3)
        victims = _targets(tn, rng, int(p.get("n_accounts", rng.integers(1, 4))), 0.0, False)
        src = [proxies.new() for _ in range(int(p.get("n_ips", rng.integers(1, 4))))]
        t = base + start * DAY
        fails: dict[int | None, int] = {}
        for _ in range(int(p.get("attempts", rng.integers(200, 3000)))):
            u, upn = victims[int(rng.integers(0, len(victims)))]
            fails[u] = fails.get(u, 0) + 1
            code = 50053 if u is not None and fails[u] > 10 and rng.random() < 0.7 else None
            attempt(t, u, upn, src[int(rng.integers(0, len(src)))], code)
            t += rng.uniform(0.5, 8)
        no_mfa = [
            u for u, _ in victims if u is not None and not tn.users[u].mfa and tn.users[u].disabled_at is None
        ]
        if p.get("compromise", rng.random() < 0.3) and no_mfa:
            success(t + 5, no_mfa[0], src[0])
    elif kind == "guessing":  # one source, a dozen or so passwords at each of many accounts
        start, _ = _window(spec, tn.days, rng, 0.5)
        targets = _targets(
            tn, rng, int(p.get("n_targets", rng.integers(20, 120))), float(rng.uniform(0.0, 0.15)), False
        )
        ip = proxies.new() if rng.random() < 0.5 else tn.net.new_v4(tn.net.pick_asn("hosting"))
        rounds = int(
            p.get("passwords", rng.integers(11, 20))
        )  # above a spray's few, below one account's many
        t = base + start * DAY
        gap = min(float(rng.uniform(1, 20)), 0.4 * DAY / (rounds * len(targets)))
        fails: dict[int, int] = {}
        for _ in range(rounds):
            for u, upn in targets:
                code = None
                if u is not None:  # smart lockout answers some of an account's later guesses
                    fails[u] = fails.get(u, 0) + 1
                    code = 50053 if fails[u] > 10 and rng.random() < 0.5 else None
                attempt(t, u, upn, ip, code)
                t += gap * rng.uniform(0.5, 1.5)
        no_mfa = [
            u for u, _ in targets if u is not None and not tn.users[u].mfa and tn.users[u].disabled_at is None
        ]
        if p.get("compromise", rng.random() < 0.5):
            if no_mfa:
                success(t + rng.uniform(5, 120), no_mfa[0], ip)
            else:
                mfa_confirm(t + rng.uniform(5, 120), targets, ip)
    elif kind == "stuffing":
        start, dur = _window(spec, tn.days, rng, float(rng.uniform(0.2, 2)))
        names = fake_names(tn, rng, int(p.get("n_usernames", rng.integers(500, 4000))))
        valid = _targets(tn, rng, int(p.get("n_valid", rng.integers(5, 25))), 0.0, False)
        creds = [(None, x) for x in names] + valid
        rng.shuffle(creds)  # type: ignore[arg-type]
        src = [proxies.new() for _ in range(int(p.get("n_ips", rng.integers(100, 1000))))]
        t0 = base + start * DAY
        times = np.sort(rng.uniform(t0, t0 + dur * DAY, len(creds)))
        for (u, upn), t in zip(creds, times, strict=True):
            attempt(t, u, upn, src[int(rng.integers(0, len(src)))])
        ok = [u for u, _ in valid if not tn.users[u].mfa and tn.users[u].disabled_at is None]
        for u in ok[: int(p.get("n_success", rng.integers(1, 3)))]:
            success(times[-1] + rng.uniform(10, 600), u, src[int(rng.integers(0, len(src)))])
        if not ok:
            mfa_confirm(times[-1] + 30, valid, src[0])
    elif kind == "enumeration":
        start, dur = _window(spec, tn.days, rng, float(rng.uniform(0.5, 3)))
        src = [proxies.new() for _ in range(int(p.get("n_ips", rng.integers(1, 20))))]
        for w in range(int(p.get("waves", rng.integers(3, 9)))):
            tw = base + (start + dur * w / 8) * DAY
            wave = _targets(
                tn, rng, int(p.get("per_wave", rng.integers(100, 800))), float(rng.uniform(0.85, 0.98)), False
            )
            for u, upn in wave:
                attempt(tw, u, upn, src[int(rng.integers(0, len(src)))])
                tw += rng.uniform(0.5, 6)
    lab = Labelled(f"{kind}-{n + 1}", kind, compromised=compromised, details=details).fill(
        events, [i.ip for i in tn.net.ips], upn_of(tn)
    )
    return events, lab, info
