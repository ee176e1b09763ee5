"""The IP / ASN model: where sign-ins come from.

Real autonomous systems (numbers and names) give the events the texture of a real tenant, but
the addresses are random public-looking IPv4/IPv6 drawn per seed: they are not claimed to belong
to those networks. Attackers draw from the *same* residential and mobile catalogue as employees
(residential proxies), which is what makes per-IP and per-ASN rules noisy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# (asn, organisation, country, kind). kind: residential | mobile | hosting | business
ASNS: list[tuple[int, str, str, str]] = [
    (7922, "COMCAST-7922", "US", "residential"),
    (20115, "CHARTER-20115", "US", "residential"),
    (7018, "ATT-INTERNET4", "US", "residential"),
    (701, "UUNET", "US", "residential"),
    (22773, "ASN-CXA-ALL-CCI-22773-RDC", "US", "residential"),
    (209, "CENTURYLINK-US-LEGACY-QWEST", "US", "residential"),
    (11427, "TWC-11427-TEXAS", "US", "residential"),
    (6128, "CABLE-NET-1", "US", "residential"),
    (5650, "FRONTIER-FRTR", "US", "residential"),
    (812, "ROGERS-COMMUNICATIONS", "CA", "residential"),
    (577, "BACOM", "CA", "residential"),
    (852, "ASN852", "CA", "residential"),
    (2856, "BT-UK-AS", "GB", "residential"),
    (5089, "NTL", "GB", "residential"),
    (5607, "BSKYB-BROADBAND-AS", "GB", "residential"),
    (13285, "OPALTELECOM-AS", "GB", "residential"),
    (3320, "DTAG", "DE", "residential"),
    (3209, "VODANET", "DE", "residential"),
    (8881, "VERSATEL", "DE", "residential"),
    (3215, "France Telecom - Orange", "FR", "residential"),
    (12322, "PROXAD", "FR", "residential"),
    (5410, "BOUYGTEL-ISP", "FR", "residential"),
    (15557, "LDCOMNET", "FR", "residential"),
    (3352, "TELEFONICA_DE_ESPANA", "ES", "residential"),
    (3269, "ASN-IBSNAZ", "IT", "residential"),
    (1136, "KPN", "NL", "residential"),
    (33915, "TNF-AS", "NL", "residential"),
    (5617, "TPNET", "PL", "residential"),
    (3301, "TELIANET-SWEDEN", "SE", "residential"),
    (28573, "Claro NXT Telecomunicacoes Ltda", "BR", "residential"),
    (18881, "TELEFONICA BRASIL S.A", "BR", "residential"),
    (24560, "AIRTELBROADBAND-AS-AP", "IN", "residential"),
    (4713, "OCN NTT Communications Corporation", "JP", "residential"),
    (1221, "ASN-TELSTRA", "AU", "residential"),
    (9829, "BSNL-NIB", "IN", "residential"),
    (8452, "TE-AS", "EG", "residential"),
    (9121, "TTNET", "TR", "residential"),
    (12389, "ROSTELECOM-AS", "RU", "residential"),
    (21928, "T-MOBILE-AS21928", "US", "mobile"),
    (6167, "CELLCO-PART", "US", "mobile"),
    (20057, "ATT-MOBILITY-LLC-AS20057", "US", "mobile"),
    (25135, "VODAFONE_UK_ASN", "GB", "mobile"),
    (12576, "EE-BRANCH", "GB", "mobile"),
    (6805, "TDDE-ASN1", "DE", "mobile"),
    (51207, "FREEM", "FR", "mobile"),
    (55836, "RELIANCEJIO-IN", "IN", "mobile"),
    (16509, "AMAZON-02", "US", "hosting"),
    (14061, "DIGITALOCEAN-ASN", "US", "hosting"),
    (24940, "HETZNER-AS", "DE", "hosting"),
    (16276, "OVH", "FR", "hosting"),
    (63949, "AKAMAI-LINODE-AP", "US", "hosting"),
    (20473, "AS-CHOOPA", "US", "hosting"),
    (8075, "MICROSOFT-CORP-MSN-AS-BLOCK", "US", "hosting"),
    (396982, "GOOGLE-CLOUD-PLATFORM", "US", "hosting"),
    (9009, "M247", "GB", "hosting"),
    (60068, "CDN77", "GB", "hosting"),
    (6461, "ZAYO-6461", "US", "business"),
    (3356, "LEVEL3", "US", "business"),
    (174, "COGENT-174", "US", "business"),
    (1299, "TWELVE99", "SE", "business"),
]

# (city, state) per country; state "" where the portal shows none.
CITIES: dict[str, list[tuple[str, str]]] = {
    "US": [
        ("Seattle", "Washington"),
        ("Chicago", "Illinois"),
        ("New York", "New York"),
        ("Austin", "Texas"),
        ("Denver", "Colorado"),
        ("Atlanta", "Georgia"),
        ("San Jose", "California"),
        ("Boston", "Massachusetts"),
        ("Phoenix", "Arizona"),
        ("Columbus", "Ohio"),
        ("Portland", "Oregon"),
        ("Miami", "Florida"),
    ],
    "CA": [("Toronto", "Ontario"), ("Vancouver", "British Columbia"), ("Montreal", "Quebec")],
    "GB": [("London", "London"), ("Manchester", "Manchester"), ("Leeds", "Leeds"), ("Bristol", "Bristol")],
    "DE": [
        ("Berlin", "Berlin"),
        ("Munich", "Bayern"),
        ("Frankfurt am Main", "Hessen"),
        ("Hamburg", "Hamburg"),
    ],
    "FR": [("Paris", "Paris"), ("Lyon", "Rhone"), ("Marseille", "Bouches-du-Rhone"), ("Lille", "Nord")],
    "ES": [("Madrid", "Madrid"), ("Barcelona", "Barcelona")],
    "IT": [("Milan", "Lombardia"), ("Rome", "Lazio")],
    "NL": [("Amsterdam", "Noord-Holland"), ("Rotterdam", "Zuid-Holland")],
    "PL": [("Warsaw", "Mazowieckie"), ("Krakow", "Malopolskie")],
    "SE": [("Stockholm", "Stockholms Lan"), ("Gothenburg", "Vastra Gotaland")],
    "BR": [("Sao Paulo", "Sao Paulo"), ("Rio De Janeiro", "Rio De Janeiro")],
    "IN": [("Mumbai", "Maharashtra"), ("Bengaluru", "Karnataka"), ("Delhi", "Delhi")],
    "JP": [("Tokyo", "Tokyo"), ("Osaka", "Osaka")],
    "AU": [("Sydney", "New South Wales"), ("Melbourne", "Victoria")],
    "EG": [("Cairo", "Cairo Governorate")],
    "TR": [("Istanbul", "Istanbul")],
    "RU": [("Moscow", "Moscow")],
}

_RESERVED_FIRST = {0, 10, 100, 127, 169, 172, 192, 198, 203, 224}


@dataclass(frozen=True)
class IPInfo:
    """One source address and what the IdP would say about it."""

    ip: str
    asn: int
    org: str
    country: str
    city: str
    state: str
    kind: str  # residential | mobile | hosting | business | office | vpn


@dataclass
class Network:
    """A per-seed address plan. Every address ever handed out is registered in ``ips``."""

    rng: np.random.Generator
    ips: list[IPInfo] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    _blocks: dict[int, list[int]] = field(default_factory=dict)
    _v6: dict[int, int] = field(default_factory=dict)
    _used_blocks: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.by_asn = {a[0]: a for a in ASNS}
        self.by_kind: dict[str, list[int]] = {}
        for asn, _, _, kind in ASNS:
            self.by_kind.setdefault(kind, []).append(asn)

    # -- address plan ---------------------------------------------------------------------------
    def _asn_blocks(self, asn: int) -> list[int]:
        """A few random public /16 blocks per ASN (never reserved, never shared between ASNs)."""
        if asn not in self._blocks:
            blocks = []
            while len(blocks) < 3:
                first = int(self.rng.integers(11, 223))
                if first in _RESERVED_FIRST:
                    continue
                block = first * 256 + int(self.rng.integers(0, 256))
                if block in self._used_blocks:
                    continue
                self._used_blocks.add(block)
                blocks.append(block)
            self._blocks[asn] = blocks
        return self._blocks[asn]

    def _v6_prefix(self, asn: int) -> int:
        if asn not in self._v6:
            self._v6[asn] = int(self.rng.integers(0x2600, 0x2A10)) << 16 | int(self.rng.integers(0, 0x10000))
        return self._v6[asn]

    def register(
        self,
        ip: str,
        asn: int,
        country: str | None = None,
        city: tuple[str, str] | None = None,
        kind: str | None = None,
    ) -> int:
        """Add an address (idempotent) and return its index."""
        if ip in self.index:
            return self.index[ip]
        _, org, asn_country, asn_kind = self.by_asn[asn]
        country = country or asn_country
        if city is None:
            options = CITIES.get(country, [("", "")])
            city = options[int(self.rng.integers(0, len(options)))]
        info = IPInfo(ip, asn, org, country, city[0], city[1], kind or asn_kind)
        self.index[ip] = len(self.ips)
        self.ips.append(info)
        return self.index[ip]

    def new_v4(self, asn: int, **kw: object) -> int:
        """A fresh IPv4 address in one of the ASN's blocks."""
        while True:
            block = self._asn_blocks(asn)[int(self.rng.integers(0, 3))]
            ip = f"{block >> 8}.{block & 255}.{int(self.rng.integers(0, 256))}.{int(self.rng.integers(1, 255))}"
            if ip not in self.index:
                return self.register(ip, asn, **kw)  # type: ignore[arg-type]

    def new_v6_net(self, asn: int) -> str:
        """A /64 as its first four groups, e.g. ``2601:1c2:4a00:81f0``."""
        p = self._v6_prefix(asn)
        return f"{p >> 16:x}:{p & 0xFFFF:x}:{int(self.rng.integers(0, 0x10000)):x}:{int(self.rng.integers(0, 0x10000)):x}"

    def new_v6(self, asn: int, net: str | None = None, **kw: object) -> int:
        """An address inside ``net`` (a /64) or inside a fresh /64 of the ASN."""
        net = net or self.new_v6_net(asn)
        groups = ":".join(f"{int(x):x}" for x in self.rng.integers(0, 0x10000, size=4))
        return self.register(f"{net}:{groups}", asn, **kw)  # type: ignore[arg-type]

    # -- convenience ----------------------------------------------------------------------------
    def asns_in(self, kind: str, country: str | None = None) -> list[int]:
        found = [a for a in self.by_kind.get(kind, []) if country is None or self.by_asn[a][2] == country]
        return found or self.by_kind.get(kind, [])

    def pick_asn(self, kind: str, country: str | None = None) -> int:
        options = self.asns_in(kind, country)
        return options[int(self.rng.integers(0, len(options)))]

    def countries(self, kind: str) -> list[str]:
        return sorted({self.by_asn[a][2] for a in self.by_kind[kind]})
