"""What was read: volume per source, time span, users, IPs, failure rate, top failing IPs and users.

Shown by ``hunt`` above its findings, so an analyst first sees whether the data is what they
expected (right tenant, right days, failures present at all).
"""

from __future__ import annotations

from typing import Any

from nightowl.engines import Engine, as_engine
from nightowl.findings import iso

TOP_N = 10


def overview(target: Any) -> dict[str, Any]:
    """The overview of the store's (or an engine's, e.g. Spark's) ``auth_events``."""
    store: Engine = as_engine(target)
    _, (total,) = store.fetch(
        """SELECT count(*) AS events,
                  count(*) FILTER (WHERE status_id = 2) AS failures,
                  count(*) FILTER (WHERE status_id = 1) AS successes,
                  count(DISTINCT user_name) AS users,
                  count(DISTINCT src_endpoint_ip) AS source_ips,
                  min(time) AS first, max(time) AS last
           FROM auth_events"""
    )
    events, failures, successes, users, ips, first, last = total
    per_source = store.query(
        """SELECT source_format AS format, count(*) AS events,
                  count(*) FILTER (WHERE status_id = 2) AS failures,
                  min(time) AS first, max(time) AS last
           FROM auth_events GROUP BY 1 ORDER BY 2 DESC"""
    )
    for row in per_source:
        row["first"], row["last"] = iso(row["first"]), iso(row["last"])
    top_ips = store.query(
        f"""SELECT src_endpoint_ip AS ip, count(*) AS failures, count(DISTINCT user_name) AS users
            FROM auth_events WHERE status_id = 2 AND src_endpoint_ip IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_N}"""
    )
    top_users = store.query(
        f"""SELECT user_name AS user, count(*) AS failures, count(DISTINCT src_endpoint_ip) AS ips
            FROM auth_events WHERE status_id = 2 AND user_name IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_N}"""
    )
    statuses = store.query(
        """SELECT coalesce(status_detail, 'UNKNOWN') AS status, count(*) AS events
           FROM auth_events GROUP BY 1 ORDER BY 2 DESC"""
    )
    return {
        "events": events,
        "failures": failures,
        "successes": successes,
        "failure_rate": round(failures / events, 4) if events else 0.0,
        "users": users,
        "source_ips": ips,
        "first_seen": iso(first),
        "last_seen": iso(last),
        "per_source": per_source,
        "statuses": statuses,
        "top_failing_ips": top_ips,
        "top_failing_users": top_users,
    }
