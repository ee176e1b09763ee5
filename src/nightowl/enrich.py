"""Offline network enrichment: ASN, country, city and coordinates for sign-ins whose source did not
give them (Windows, sshd, CloudTrail, exports without location), from a database the user points to.
Nothing is ever downloaded: a MaxMind GeoLite2 / GeoIP2 ``.mmdb`` (City, Country or ASN) read with
``maxminddb``, or the public IP-to-ASN TSV (``ip2asn-v4.tsv`` / ``ip2asn-combined.tsv``:
range start, range end, AS number, country, AS description).

Values the vendor wrote are kept; only missing ones are filled. Lookups are per distinct address, so
memory follows the number of addresses, not of events.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from nightowl.sources.base import InputError
from nightowl.store import Store

FIELDS = ("src_asn", "src_asn_org", "src_country", "src_city", "src_lat", "src_lon")
LOOKUP_SCHEMA = pa.schema(
    [
        ("ip", pa.string()),
        ("src_asn", pa.int64()),
        ("src_asn_org", pa.string()),
        ("src_country", pa.string()),
        ("src_city", pa.string()),
        ("src_lat", pa.float64()),
        ("src_lon", pa.float64()),
    ]
)


@dataclass
class AsnRanges:
    """The IP-to-ASN TSV as sorted ranges per IP version (binary search per address)."""

    starts: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    rows: dict[int, list[tuple[int, int, str, str]]] = field(default_factory=lambda: {4: [], 6: []})

    @classmethod
    def read(cls, path: Path) -> AsnRanges:
        out = cls()
        parsed: dict[int, list[tuple[int, int, int, str, str]]] = {4: [], 6: []}
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) < 5:
                        raise InputError(
                            f"{path.name}: line {n} is not an IP-to-ASN row (5 tab-separated fields)"
                        )
                    try:
                        lo, hi = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
                        asn = int(parts[2])
                    except ValueError as exc:
                        raise InputError(f"{path.name}: line {n}: {exc}") from exc
                    if asn:  # 0 = "not routed"
                        parsed[lo.version].append((int(lo), int(hi), asn, parts[3], parts[4]))
        except OSError as exc:
            raise InputError(f"{path}: cannot read the IP-to-ASN file ({exc.strerror})") from exc
        for version, rows in parsed.items():
            rows.sort()
            out.starts[version] = [r[0] for r in rows]
            out.rows[version] = [(r[1], r[2], r[3], r[4]) for r in rows]
        return out

    def lookup(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> dict[str, Any]:
        v, x = addr.version, int(addr)
        i = bisect.bisect_right(self.starts[v], x) - 1
        if i < 0:
            return {}
        hi, asn, country, org = self.rows[v][i]
        if x > hi:
            return {}
        return {
            "src_asn": asn,
            "src_asn_org": org or None,
            "src_country": country if country not in ("", "None") else None,
        }


class GeoDatabases:
    """The databases given on the command line, asked in order; the first answer for a field wins."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.readers: list[Any] = []
        self.ranges: list[AsnRanges] = []
        for path in paths:
            path = Path(path)
            if not path.is_file():
                raise InputError(f"{path}: no such GeoIP / IP-to-ASN file")
            if path.suffix.lower() == ".mmdb":
                try:
                    import maxminddb
                except ImportError as exc:
                    raise InputError(
                        f"{path.name}: reading .mmdb needs the maxminddb package (pip install 'nightowl[geoip]')"
                    ) from exc
                try:
                    self.readers.append(maxminddb.open_database(str(path)))
                except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                    raise InputError(f"{path.name}: not a MaxMind database ({exc})") from exc
            else:
                self.ranges.append(AsnRanges.read(path))

    def lookup(self, ip: str) -> dict[str, Any]:
        try:
            addr = ipaddress.ip_address(ip.strip().split("%")[0])
        except ValueError:
            return {}
        found: dict[str, Any] = {}
        for reader in self.readers:
            rec = reader.get(str(addr))
            if isinstance(rec, dict):
                for k, v in _mmdb_fields(rec).items():
                    found.setdefault(k, v)
        for ranges in self.ranges:
            for k, v in ranges.lookup(addr).items():
                if v is not None:
                    found.setdefault(k, v)
        return found

    def close(self) -> None:
        for reader in self.readers:
            reader.close()


def _mmdb_fields(rec: dict[str, Any]) -> dict[str, Any]:
    """GeoLite2 City / Country / ASN record -> our columns (absent keys are simply not returned)."""
    out: dict[str, Any] = {}
    if isinstance(rec.get("autonomous_system_number"), int):
        out["src_asn"] = rec["autonomous_system_number"]
    if isinstance(rec.get("autonomous_system_organization"), str):
        out["src_asn_org"] = rec["autonomous_system_organization"]
    country = rec.get("country") or rec.get("registered_country")
    if isinstance(country, dict) and isinstance(country.get("iso_code"), str):
        out["src_country"] = country["iso_code"]
    city = rec.get("city")
    if (
        isinstance(city, dict)
        and isinstance(city.get("names"), dict)
        and isinstance(city["names"].get("en"), str)
    ):
        out["src_city"] = city["names"]["en"]
    loc = rec.get("location")
    if (
        isinstance(loc, dict)
        and isinstance(loc.get("latitude"), int | float)
        and isinstance(loc.get("longitude"), int | float)
    ):
        out["src_lat"], out["src_lon"] = float(loc["latitude"]), float(loc["longitude"])
    return out


def enrich_store(store: Store, paths: Iterable[Path]) -> dict[str, int]:
    """Fill missing network fields of ``auth_events`` from the databases; returns how many addresses were
    looked up and found, and how many events had every missing field filled."""
    dbs = GeoDatabases(paths)
    try:
        missing = " OR ".join(f"{c} IS NULL" for c in FIELDS)
        ips = [
            r[0]
            for r in store.con.execute(
                f"SELECT DISTINCT src_endpoint_ip FROM auth_events WHERE src_endpoint_ip IS NOT NULL AND ({missing})"
            ).fetchall()
        ]
        rows = [{"ip": ip, **dbs.lookup(ip)} for ip in ips]
    finally:
        dbs.close()
    rows = [r for r in rows if len(r) > 1]
    if not rows:
        return {"addresses": len(ips), "found": 0, "events_completed": 0}
    table = pa.Table.from_pylist(rows, schema=LOOKUP_SCHEMA)
    store.con.register("_geo_lookup", table)
    try:
        before = store.con.execute(f"SELECT count(*) FROM auth_events WHERE {missing}").fetchall()[0][0]
        sets = ", ".join(f"{c} = coalesce(auth_events.{c}, g.{c})" for c in FIELDS)
        store.con.execute(
            f"UPDATE auth_events SET {sets} FROM _geo_lookup g WHERE auth_events.src_endpoint_ip = g.ip"
        ).fetchall()
        after = store.con.execute(f"SELECT count(*) FROM auth_events WHERE {missing}").fetchall()[0][0]
    finally:
        store.con.unregister("_geo_lookup")
    return {"addresses": len(ips), "found": len(rows), "events_completed": before - after}
