"""The key a source address is grouped by: IPv4 as is; IPv6 by its /64 (one customer's allocation);
IPv4-mapped IPv6 unwrapped. Both engines compute it where the data is (a DuckDB or Spark UDF over
the distinct non-IPv4 addresses); dotted-quad IPv4, nearly every address, never leaves SQL."""

from __future__ import annotations

import ipaddress

# Strict dotted quad: such an address is its own key (the UDF would return it unchanged).
IPV4_REGEX = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"
UDF_NAME = "nightowl_src_key"


def source_key(ip: str | None) -> str | None:
    """IPv4 as is; IPv6 grouped by /64; IPv4-mapped IPv6 unwrapped; anything else unchanged."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip().split("%")[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def ip_keys_sql(key_call: str) -> str:
    """``ip_keys`` from the store's distinct addresses; ``key_call`` is the UDF call on ``ip``."""
    return f"""CREATE OR REPLACE TEMP TABLE ip_keys AS
SELECT ip, {key_call} AS src_key
FROM (SELECT DISTINCT src_endpoint_ip AS ip FROM auth_events WHERE src_endpoint_ip IS NOT NULL) d
WHERE NOT regexp_matches(ip, '{IPV4_REGEX}')"""
