/* nightowl-detection
id = "noise.stale_credentials"
title = "Device or service retrying a stale password"
category = "stale_credentials"
severity = "low"
attack = []
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "known_source", "resolved",
]
description = """
A benign look-alike of brute force, reported so an analyst can clear it quickly: one source keeps
failing for one account at a slow, steady pace, and that source had confirmed this user's password
before (a phone's mail app after a password change, a service account whose secret rotated).
"""
false_positives = [
  "An attacker who already holds a session on the user's own device or network (rare; the failures would then stop after a success).",
]

[thresholds]
min_failures = { default = 10, anchor = "ten failures from one known source: beyond typos" }
min_duration_minutes = { default = 60, anchor = "persistent over at least an hour" }
*/
SELECT
    src_key || '|' || user_name AS key,
    first_fail AS first_seen, last_fail AS last_seen, [user_name] AS users,
    (SELECT list(DISTINCT ip) FROM attempts a WHERE a.src_key = r.src_key AND a.user_name = r.user_name) AS source_ips,
    n AS attempts, n AS failures, 1 AS distinct_users,
    printf('%s keeps failing from %s (%d failures): stale password on a known device?', user_name, src_key, n) AS title,
    printf('%d failures for %s from %s between %s and %s; this source signed this user in before, so a device or service is probably retrying an old password.',
           n, user_name, src_key, strftime(first_fail, '%Y-%m-%d %H:%M'), strftime(last_fail, '%Y-%m-%d %H:%M')) AS summary,
    {'known_source': known_pair, 'resolved': resolved} AS evidence
FROM pair_resolution r
WHERE known_pair AND n >= $min_failures AND last_fail - first_fail >= to_minutes($min_duration_minutes)
ORDER BY first_fail;
