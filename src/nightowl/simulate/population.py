"""The tenant's people and machines: users, their habits, their devices, their networks.

Everything is drawn from the seed: domain, UPN style, test-account names, office networks. Habits
(time zone, working hours, night owls, weekend workers, travel) drive the benign activity in
:mod:`benign`; the directory fields (MFA, creation, disabling) drive both sign-ins and the
``users.json`` / ``registration.json`` exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from nightowl.simulate import catalog as C
from nightowl.simulate.network import CITIES, Network

# Region -> (country, UTC offset hours, weight). Fixed offsets: the simulator ignores DST.
REGIONS = [
    ("US", -5, 0.22),
    ("US", -6, 0.1),
    ("US", -8, 0.12),
    ("GB", 0, 0.15),
    ("DE", 1, 0.12),
    ("FR", 1, 0.08),
    ("IN", 5.5, 0.07),
    ("CA", -5, 0.06),
    ("NL", 1, 0.04),
    ("AU", 10, 0.04),
]


@dataclass
class Device:
    """A client a user signs in from; ``kind`` selects the app mix and clientAppUsed."""

    user: int
    kind: str  # browser | desktop | mobile | eas | service | admin
    device_id: str
    display_name: str
    user_agent: str
    os: str
    browser: str
    managed: bool
    compliant: bool
    trust_type: str
    protocol: str = "none"


@dataclass
class User:
    idx: int
    id: str
    upn: str
    display: str
    kind: str  # member | guest | service | test | admin
    department: str
    country: str
    tz: float
    mfa: bool
    mfa_method: int
    created: datetime
    disabled_at: datetime | None = None
    start_hour: float = 8.5
    hours: float = 9.0
    rate: float = 3.0  # interactive sessions per working day
    weekend: float = 0.08
    office: int = -1  # office index; -1 = remote
    office_days: float = 0.6  # share of workdays in the office
    home_ip: int = -1
    home_v6: str | None = None  # a /64 when the home line has IPv6
    carrier: int = -1  # index into Tenant.carriers
    vpn: bool = False
    devices: list[int] = field(default_factory=list)
    is_admin: bool = False
    admin_of: int = -1  # for admin accounts: the person's normal account
    server_ip: int = -1  # for service accounts


@dataclass
class Office:
    country: str
    city: tuple[str, str]
    tz: float
    ips: list[int]


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    initial_domain: str
    start: datetime
    days: int
    users: list[User]
    devices: list[Device]
    offices: list[Office]
    carriers: list[list[int]]  # CGNAT pools (IP indexes) per carrier
    carrier_country: list[str]
    vpn_ips: list[int]
    test_accounts: list[int]
    service_accounts: list[int]
    net: Network

    def upn_index(self) -> dict[str, int]:
        return {u.upn.lower(): u.idx for u in self.users}


def uuid4(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def _tenant_names(rng: np.random.Generator) -> tuple[str, str]:
    w1, w2 = C.pick(rng, C.WORDS), C.pick(rng, C.WORDS)
    style = int(rng.integers(0, 4))
    base = [f"{w1}{w2}", f"{w1}-{w2}", f"{w1}{w2}group", f"{w1}labs"][style]
    tld = C.pick(rng, [".com", ".io", ".co.uk", ".de", ".net", ".org"], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    return base + tld, f"{base.replace('-', '')}.onmicrosoft.com"


def _upn_local(first: str, last: str, style: int) -> str:
    return [f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}"][style]


def build_tenant(seed: int, n_users: int, start: datetime, days: int) -> Tenant:
    """Draw a whole tenant from ``seed`` (independent of attacks, so adding one never shifts users)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    net = Network(np.random.default_rng(np.random.SeedSequence([seed, 2])))
    domain, initial = _tenant_names(rng)
    upn_style = int(rng.integers(0, 4))

    # Home regions: a tenant concentrates in a few.
    region_w = np.array([r[2] for r in REGIONS]) * rng.dirichlet(np.ones(len(REGIONS)) * 0.6)
    region_w /= region_w.sum()
    n_offices = int(np.clip(n_users // 600 + 1, 1, 8))
    offices: list[Office] = []
    for _ in range(n_offices):
        reg = C.pick(rng, REGIONS, region_w.tolist())
        asn = net.pick_asn("business" if rng.random() < 0.4 else "residential", reg[0])
        city = C.pick(rng, CITIES[reg[0]])
        ips = [
            net.new_v4(asn, country=reg[0], city=city, kind="office") for _ in range(int(rng.integers(1, 4)))
        ]
        offices.append(Office(reg[0], city, reg[1], ips))

    # CGNAT carrier pools: many users share a few dozen addresses.
    carriers: list[list[int]] = []
    carrier_country: list[str] = []
    for asn in net.by_kind["mobile"]:
        country = net.by_asn[asn][2]
        carriers.append([net.new_v4(asn) for _ in range(int(rng.integers(12, 40)))])
        carrier_country.append(country)
    vpn_asn = C.pick(rng, [8075, 16509, 6461, 3356])
    vpn_ips = [net.new_v4(vpn_asn, kind="vpn") for _ in range(int(rng.integers(2, 7)))]

    users: list[User] = []
    devices: list[Device] = []
    seen: set[str] = set()

    def unique(local: str) -> str:
        cand, n = local, 1
        while cand in seen:
            n += 1
            cand = f"{local}{n}"
        seen.add(cand)
        return cand

    def add_device(u: User, kind: str, os_name: str) -> None:
        managed = kind in ("desktop", "browser", "admin") and rng.random() < 0.8
        if kind in ("browser", "admin"):
            ua, osd, br = C.browser_ua(rng, os_name)
        elif kind == "desktop":
            ua, osd, br = C.desktop_client_ua(rng, os_name)
        elif kind == "mobile":
            ua, osd, br = C.mobile_client_ua(rng, os_name)
            managed = rng.random() < 0.5
        elif kind == "eas":
            ua, osd, br = C.eas_ua(rng)
            managed = False
        else:
            ua, osd, br = C.service_ua(rng)
            managed = False
        trust = ""
        if managed:
            trust = (
                "Azure AD registered"
                if kind == "mobile"
                else C.pick(rng, ["Azure AD joined", "Hybrid Azure AD joined"], [0.6, 0.4])
            )
        dev = Device(
            u.idx,
            kind,
            uuid4(rng) if managed or rng.random() < 0.3 else "",
            f"{u.display.split()[0][:6].upper()}-{rng.bytes(3).hex().upper()}" if managed else "",
            ua,
            osd,
            br,
            managed,
            managed and rng.random() < 0.92,
            trust,
            "ropc" if kind == "service" else "none",
        )
        u.devices.append(len(devices))
        devices.append(dev)

    def base_user(kind: str, upn: str, display: str, dept: str, created: datetime) -> User:
        reg = C.pick(rng, REGIONS, region_w.tolist())
        mfa_method = C.pick(rng, list(range(len(C.MFA_METHODS))), C.MFA_METHOD_P)
        u = User(len(users), uuid4(rng), upn, display, kind, dept, reg[0], reg[1], True, mfa_method, created)
        users.append(u)
        return u

    def home(u: User) -> None:
        asn = net.pick_asn("residential", u.country)
        u.home_ip = net.new_v4(asn, country=u.country)
        if rng.random() < 0.15:
            u.home_v6 = net.new_v6_net(asn)
        same = [i for i, c in enumerate(carrier_country) if c == u.country]
        u.carrier = C.pick(rng, same) if same else int(rng.integers(0, len(carriers)))

    dept_names = [d for d, _ in C.DEPARTMENTS]
    dept_p = [p for _, p in C.DEPARTMENTS]
    n_members = max(int(n_users * 0.94), 10)
    oldest = start - timedelta(days=365 * 9)
    mfa_share = float(rng.uniform(0.86, 0.95))
    for _ in range(n_members):
        first, last = C.pick(rng, C.FIRST), C.pick(rng, C.LAST)
        local = unique(_upn_local(first, last, upn_style))
        created = oldest + timedelta(seconds=float(rng.uniform(0, (start - oldest).total_seconds())))
        u = base_user(
            "member",
            f"{local}@{domain}",
            f"{first.title()} {last.title()}",
            C.pick(rng, dept_names, dept_p),
            created,
        )
        u.mfa = rng.random() < mfa_share
        u.start_hour = float(np.clip(rng.normal(8.3, 0.9), 5.5, 11.5))
        u.hours = float(np.clip(rng.normal(9, 1.2), 5, 13))
        if rng.random() < 0.05:  # night owls
            u.start_hour = float(rng.uniform(14, 22))
        u.rate = float(np.clip(rng.lognormal(1.0, 0.45), 0.5, 12))
        u.weekend = 0.4 if rng.random() < 0.08 else 0.05
        if offices and rng.random() < 0.72:
            same = [i for i, o in enumerate(offices) if o.country == u.country]
            u.office = C.pick(rng, same) if same else int(rng.integers(0, len(offices)))
            u.country, u.tz = offices[u.office].country, offices[u.office].tz
            u.office_days = float(rng.uniform(0.3, 1.0))
        home(u)
        u.vpn = rng.random() < 0.2
        os_name = C.pick(rng, ["Windows", "MacOs", "Linux"], [0.78, 0.19, 0.03])
        add_device(u, "browser", os_name)
        if os_name != "Linux":
            add_device(u, "desktop", os_name)
        if rng.random() < 0.85:
            phone = C.pick(rng, ["Ios", "Android"], [0.6, 0.4])
            add_device(u, "mobile", phone)
            if rng.random() < 0.3:
                add_device(u, "browser", phone)

    # New hires join mid-period; leavers are disabled mid-period.
    members = list(range(len(users)))
    for i in rng.choice(members, size=max(1, n_members // 50), replace=False):
        users[i].created = start + timedelta(days=float(rng.uniform(0.5, max(days - 0.5, 0.6))))
    leavers = rng.choice(members, size=max(1, n_members // 100), replace=False)
    for i in leavers:
        if users[i].created < start:
            users[i].disabled_at = start + timedelta(days=float(rng.uniform(0.2, days)))

    # Admin accounts for a few people (always MFA, Azure Portal / Graph tools).
    for i in rng.choice(members, size=max(2, n_users // 150), replace=False):
        p = users[i]
        local = unique(
            C.pick(
                rng,
                [f"adm-{p.upn.split('@')[0]}", f"{p.upn.split('@')[0]}.admin", f"a-{p.upn.split('@')[0]}"],
            )
        )
        a = base_user("admin", f"{local}@{domain}", f"{p.display} (Admin)", "IT", p.created)
        a.country, a.tz, a.office, a.home_ip, a.home_v6, a.carrier, a.vpn = (
            p.country,
            p.tz,
            p.office,
            p.home_ip,
            p.home_v6,
            p.carrier,
            p.vpn,
        )
        a.rate, a.is_admin, a.admin_of, a.start_hour, a.hours = 0.8, True, i, p.start_hour, p.hours
        add_device(a, "admin", "Windows")
    for i in rng.choice(members, size=max(2, n_users // 300), replace=False):
        users[i].is_admin = True

    # Guests: partner identities with #EXT# UPNs.
    for _ in range(max(3, int(n_users * 0.03))):
        first, last = C.pick(rng, C.FIRST), C.pick(rng, C.LAST)
        partner = f"{C.pick(rng, C.WORDS)}{C.pick(rng, ['corp', 'partners', 'consulting', 'ltd', 'inc'])}.com"
        local = unique(f"{first}.{last}_{partner.replace('.', '_')}#EXT#")
        g = base_user(
            "guest",
            f"{local}@{initial}",
            f"{first.title()} {last.title()}",
            "",
            oldest + timedelta(days=float(rng.uniform(0, 3000))),
        )
        g.mfa = rng.random() < 0.6
        g.rate, g.weekend = 0.3, 0.02
        home(g)
        add_device(g, "browser", C.pick(rng, ["Windows", "MacOs"]))

    # Service accounts: scripted ROPC sign-ins from a server, no MFA.
    services = []
    for _ in range(max(3, n_users // 250)):
        local = unique(
            f"{C.pick(rng, ['svc-', 'app-', 'sync-', 'svc_', 'srv-'])}{C.pick(rng, C.WORDS)}{C.pick(rng, ['', '01', '-prod', 'sql', 'scan'])}"
        )
        s = base_user(
            "service",
            f"{local}@{domain}",
            local.replace("-", " ").replace("_", " ").title(),
            "IT",
            oldest + timedelta(days=float(rng.uniform(0, 2500))),
        )
        s.mfa = False
        if rng.random() < 0.5:
            s.server_ip = offices[int(rng.integers(0, len(offices)))].ips[0] if offices else vpn_ips[0]
        else:
            s.server_ip = net.new_v4(C.pick(rng, [8075, 16509, 396982, 24940]))
        s.rate = float(rng.uniform(0.5, 4))  # sign-ins per hour
        add_device(s, "service", "")
        services.append(s.idx)

    # Legacy / test / non-production accounts: no MFA, rarely or never used.
    tests = []
    for _ in range(int(rng.integers(2, 6))):
        w = C.pick(rng, C.WORDS)
        local = unique(
            C.pick(
                rng,
                [
                    f"test-{w}",
                    f"legacy{w}",
                    f"qa-{w}{int(rng.integers(1, 9))}",
                    f"demo{w}",
                    f"{w}test",
                    f"testuser{int(rng.integers(1, 40))}",
                    f"tst.{w}",
                    f"nonprod-{w}",
                ],
            )
        )
        t = base_user(
            "test",
            f"{local}@{C.pick(rng, [domain, initial])}",
            local.replace("-", " ").replace(".", " ").title(),
            "IT",
            oldest + timedelta(days=float(rng.uniform(0, 900))),
        )
        t.mfa, t.rate = False, 0.0
        home(t)
        add_device(t, "browser", "Windows")
        tests.append(t.idx)

    for u in users:
        if not u.devices:
            add_device(u, "browser", "Windows")
    return Tenant(
        uuid4(rng),
        domain,
        initial,
        start,
        days,
        users,
        devices,
        offices,
        carriers,
        carrier_country,
        vpn_ips,
        tests,
        services,
        net,
    )
