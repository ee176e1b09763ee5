/* nightowl-detection
id = "takeover.session_two_networks"
title = "One session used from two networks"
category = "account_takeover"
severity = "high"
attack = ["T1550.004", "T1539", "T1557"]
description = """
The same session (correlation / session id) used by one identity from two different networks (other
ASN, or other country when the ASN is unknown) within max_session_hours, where the later network is
one this identity had never used before and almost no one in the tenant uses: a session cookie
or token stolen by an adversary-in-the-middle kit and replayed from the attacker's machine. A laptop
carrying its session from home to the office moves between networks the identity and the tenant
know, and stays quiet.
"""
false_positives = [
  "A session that continues over a personal VPN switched on mid-session, the first time the user uses it.",
]

evidence = ["session_id", "first_ip", "first_user_agent", "replay_ips", "replay_user_agents", "replay_network_identities_in_tenant", "records"]
settings = ["shared_network_users"]  # [prepare]: a /24 that many identities sign in from is the tenant's own egress, not an attacker's

[thresholds]
max_session_hours = { default = 24, anchor = "Entra sign-in sessions and refresh cycles of a working day; a stolen cookie is typically replayed within hours" }
*/
CREATE OR REPLACE TEMP TABLE session_hops AS
WITH rare_first AS (  -- (identity, network) on the first day the identity used a network few others use
    SELECT v.user_name, v.value AS net, v.first_day
    FROM identity_values v
    JOIN tenant_values t ON t.feature = 'network' AND t.value = v.value
    WHERE v.feature = 'network' AND t.users < $shared_network_users
), candidates AS (  -- sessions seen there: the only ones a replay can be in
    SELECT DISTINCT s.user_name, s.session_id
    FROM ok_signins s
    JOIN rare_first r ON r.user_name = s.user_name AND r.net = s.net AND r.first_day = s.day
    WHERE s.session_id IS NOT NULL AND s.session_id <> ''
), firsts AS (  -- each network's sign-ins in the session: pos 1 is the first (ties go to the record, whatever the scan order)
    SELECT s.user_name, s.session_id, s.net, s.asn, s.country, s.time, s.day, s.ip, s.asn_org, s.user_agent, s.record_ref,
           row_number() OVER (PARTITION BY s.user_name, s.session_id, s.net, s.asn, s.country
                              ORDER BY s.time, s.record_ref) AS pos,
           max(s.time) OVER (PARTITION BY s.user_name, s.session_id, s.net, s.asn, s.country) AS last_seen
    FROM ok_signins s
    JOIN candidates m ON m.user_name = s.user_name AND m.session_id = s.session_id
), sessions AS (  -- one row per session and network, with its first sign-in's values (a NULL stays NULL on both engines)
    SELECT user_name, session_id, net, asn, country, time AS first_seen, last_seen,
           ip, asn_org, user_agent, record_ref, day
    FROM firsts
    WHERE pos = 1
)
SELECT b.*, a.ip AS first_ip, a.net AS first_net, a.asn_org AS first_asn_org, a.country AS first_country,
       a.first_seen AS session_start, a.user_agent AS first_user_agent, a.record_ref AS first_record,
       coalesce(t.users, 0) AS net_users, n.days AS net_days,
       -- the first replay is shown, from the session's first network; ties go to the records
       row_number() OVER (PARTITION BY b.user_name, b.session_id
                          ORDER BY b.first_seen, b.record_ref, a.first_seen, a.record_ref) AS hop
FROM sessions a
JOIN sessions b ON b.user_name = a.user_name AND b.session_id = a.session_id AND b.net <> a.net
     AND b.first_seen > a.first_seen AND b.first_seen <= a.first_seen + to_hours($max_session_hours)
     AND (coalesce(b.asn, -1) <> coalesce(a.asn, -1) OR coalesce(b.country, '') <> coalesce(a.country, ''))
LEFT JOIN tenant_values t ON t.feature = 'network' AND t.value = b.net
JOIN identity_values n ON n.user_name = b.user_name AND n.feature = 'network' AND n.value = b.net
WHERE coalesce(t.users, 0) < $shared_network_users AND n.first_day = b.day;

SELECT
    user_name || '|' || session_id AS key,
    min(session_start) AS first_seen, max(last_seen) AS last_seen,
    [user_name] AS users,
    list_concat(list(DISTINCT first_ip), list(DISTINCT ip)) AS source_ips,
    count(*) AS n_hops, 1 AS distinct_users,
    printf('%s: session %s replayed from %s', user_name, left(session_id, 12),
           coalesce(arg_min(asn_org, hop), 'AS' || CAST(arg_min(asn, hop) AS VARCHAR), arg_min(ip, hop))) AS title,
    printf('Session %s of %s started at %s UTC from %s (%s, %s) and was used %d min later from %s (%s, %s), a network this identity had never used before and %d identities in the tenant use. Revoke the sessions and refresh tokens, then look for an adversary-in-the-middle phishing page.',
           session_id, user_name, strftime(min(session_start), '%Y-%m-%d %H:%M'),
           arg_min(first_ip, hop), coalesce(arg_min(first_asn_org, hop), 'ASN unknown'), coalesce(arg_min(first_country, hop), '?'),
           -- whole minutes elapsed, from seconds (DuckDB's date_diff('minute') counts minute boundaries
           -- crossed, Spark's the minutes elapsed: 180 vs 179 min for 16:44:50 -> 19:44:20)
           CAST(floor(date_diff('second', min(session_start), min(first_seen)) / 60) AS BIGINT),
           arg_min(ip, hop), coalesce(arg_min(asn_org, hop), 'AS' || CAST(arg_min(asn, hop) AS VARCHAR), 'ASN unknown'), coalesce(arg_min(country, hop), '?'),
           max(net_users)) AS summary,
    {'session_id': session_id, 'first_ip': arg_min(first_ip, hop), 'first_user_agent': arg_min(first_user_agent, hop),
     'replay_ips': list(DISTINCT ip ORDER BY ip), 'replay_user_agents': list(DISTINCT user_agent ORDER BY user_agent),
     'replay_network_identities_in_tenant': max(net_users),
     'records': list_concat(list(DISTINCT first_record ORDER BY first_record), list(DISTINCT record_ref ORDER BY record_ref))} AS evidence
FROM session_hops
GROUP BY user_name, session_id
ORDER BY first_seen, key;
