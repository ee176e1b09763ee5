"""Re-implementations of the password-spray rules SIEM vendors ship, over our normalized table,
so the evaluation can score them on exactly the same data as nightowl.

Each returns alert rows: rule, key, first_seen, last_seen, source_ips, users, successes_from_ips.
They are written from the public rule logic (thresholds as published), not from our detections:
- Microsoft Sentinel "Password spray attack against Microsoft Entra ID application"
  (SigninPasswordSpray): failures 50126/50053 per IP and application in 20-minute bins, alert at
  5 or more distinct users; the alert brings in successful sign-ins from the same IP.
- Splunk "Azure AD Multiple Users Failing To Authenticate From Ip": more than 30 distinct users
  failing from one IP in a 5-minute bin; and the multi-source variant ("Azure AD Multi-Source
  Failed Authentications Spike"): more than 20 IPs and exactly one user agent failing in one
  5-minute tenant bin (with more than 30 users).
- Elastic "Entra ID Sign-In Brute Force Activity" (ES|QL): 15-minute tenant bins of failures,
  classified as credential_stuffing / password_spraying / password_guessing by distinct users,
  IPs, result descriptions, event counts and duration.
"""

from __future__ import annotations

from typing import Any

from nightowl.store import Store

FAILED = "status_id = 2 AND NOT coalesce(password_correct, false)"

SENTINEL = f"""
WITH bins AS (
    SELECT src_endpoint_ip AS ip, coalesce(service_name, '') AS app, time_bucket(INTERVAL 20 MINUTE, time) AS bin,
           count(DISTINCT user_name) AS users
    FROM auth_events
    WHERE {FAILED} AND status_detail IN ('INVALID_CREDENTIALS', 'ACCOUNT_LOCKED_OUT') AND src_endpoint_ip IS NOT NULL
    GROUP BY ALL HAVING count(DISTINCT user_name) >= 5
), alerts AS (SELECT DISTINCT ip, app FROM bins)
SELECT 'sentinel' AS rule, a.ip || '|' || a.app AS key, min(e.time) AS first_seen, max(e.time) AS last_seen,
       [a.ip] AS source_ips,
       list(DISTINCT e.user_name) FILTER (WHERE {FAILED.replace("status_id", "e.status_id").replace("password_correct", "e.password_correct")}) AS users,
       list(DISTINCT e.user_name) FILTER (WHERE e.status_id = 1) AS successes_from_ips
FROM alerts a JOIN auth_events e ON e.src_endpoint_ip = a.ip AND coalesce(e.service_name, '') = a.app
GROUP BY a.ip, a.app
"""

SPLUNK_SINGLE = f"""
SELECT 'splunk' AS rule, src_endpoint_ip || '@' || bin AS key, min(time) AS first_seen, max(time) AS last_seen,
       [src_endpoint_ip] AS source_ips, list(DISTINCT user_name) AS users, [] AS successes_from_ips
FROM (SELECT *, time_bucket(INTERVAL 5 MINUTE, time) AS bin FROM auth_events WHERE {FAILED} AND src_endpoint_ip IS NOT NULL)
GROUP BY src_endpoint_ip, bin HAVING count(DISTINCT user_name) > 30
"""

SPLUNK_MULTI = f"""
SELECT 'splunk' AS rule, 'tenant@' || bin AS key, min(time) AS first_seen, max(time) AS last_seen,
       list(DISTINCT src_endpoint_ip) AS source_ips, list(DISTINCT user_name) AS users, [] AS successes_from_ips
FROM (SELECT *, time_bucket(INTERVAL 5 MINUTE, time) AS bin FROM auth_events WHERE {FAILED})
GROUP BY bin
HAVING count(DISTINCT src_endpoint_ip) > 20 AND count(DISTINCT coalesce(user_agent, '')) = 1
   AND count(DISTINCT user_name) > 30
"""

ELASTIC = """
WITH bins AS (
    SELECT time_bucket(INTERVAL 15 MINUTE, time) AS bin, min(time) AS first_seen, max(time) AS last_seen,
           count(*) AS events, count(DISTINCT user_name) AS users, count(DISTINCT src_endpoint_ip) AS ips,
           count(DISTINCT status_code) AS descriptions,
           epoch(max(time) - min(time)) AS duration,
           list(DISTINCT src_endpoint_ip) AS source_ips, list(DISTINCT user_name) AS user_list
    FROM auth_events
    WHERE status_id = 2 AND coalesce(status_code, '') <> '50053'
    GROUP BY ALL
), classified AS (
    SELECT *, CASE
        WHEN users >= 10 AND events >= 30 AND descriptions <= 3 AND ips >= 5 AND duration <= 600 AND users > ips
            THEN 'credential_stuffing'
        WHEN users >= 15 AND descriptions = 1 AND events >= 15 AND duration <= 1800 THEN 'password_spraying'
        WHEN (users = 1 AND descriptions = 1 AND events >= 30 AND duration <= 300)
             OR (users <= 3 AND ips > 30 AND events >= 100) THEN 'password_guessing'
        ELSE 'other' END AS kind
    FROM bins
)
SELECT 'elastic' AS rule, kind || '@' || bin AS key, first_seen, last_seen, source_ips, user_list AS users,
       [] AS successes_from_ips
FROM classified WHERE kind <> 'other'
"""

BASELINES: dict[str, list[str]] = {
    "sentinel": [SENTINEL],
    "splunk": [SPLUNK_SINGLE, SPLUNK_MULTI],
    "elastic": [ELASTIC],
}


def run_baseline(store: Store, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sql in BASELINES[name]:
        rows.extend(store.query(sql))
    for row in rows:
        row["source_ips"] = [i for i in (row["source_ips"] or []) if i]
        row["users"] = [u for u in (row["users"] or []) if u]
        row["successes_from_ips"] = [u for u in (row["successes_from_ips"] or []) if u]
    return rows
