/* nightowl-detection
id = "bruteforce.burst"
title = "Burst of password guesses from one source"
category = "brute_force"
severity = "high"
attack = ["T1110.001"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "source_kind", "top_status", "top_client", "top_application", "source_formats",
  "sample_records",
]
description = """
One source fails many times within a minute against a few accounts: faster than a person types and
faster than any device retries, so a guessing tool. This catches short local attacks the per-account
rule (20 attempts) and the spray rules (5+ users) stay under, e.g. 16 guesses in one second against
admin and administrator. The source is an address, or a host name ('host:NAME') when the log has no
address (Windows 4776 names only the workstation; a local 4625 or OpenSSH for Windows writes '-').
"""
false_positives = [
  "A script or service with a wrong password and no back-off, started on a host that never signed this account in before.",
]

[thresholds]
window_seconds = { default = 60, anchor = "a person needs several seconds per attempt; a device retries at most every few seconds" }
min_attempts = { default = 10, anchor = "ten unconfirmed attempts inside one minute from one source is beyond any human or retrying client" }
max_users = { default = 4, anchor = "five or more users from one source is spray.single_source's territory" }
max_attempts_per_user = { default = 19, anchor = "at 20 attempts on one account bruteforce.single_account reports it" }
*/
-- Guesses per source in a sliding window: unconfirmed attempts of pairs that never resolved, and
-- failures whose log names no account (prepare's unnamed_attempts). A window only of unnamed attempts
-- on unknown accounts does not start a burst: that is enumeration.single_source's (it cannot tell one
-- unknown name from ten), though such attempts add to a burst that has other guesses.
CREATE OR REPLACE TEMP TABLE burst_windows AS
WITH guesses AS (
    SELECT a.src_key, a.time, 1 AS other
    FROM attempts a JOIN pair_resolution r USING (src_key, user_name)
    WHERE NOT r.known_pair AND NOT r.resolved
    UNION ALL
    SELECT u.src_key, u.time, CASE WHEN u.no_such_user THEN 0 ELSE 1 END AS other
    FROM unnamed_attempts u
), src AS (
    SELECT src_key, time,
           count(*) OVER (PARTITION BY src_key ORDER BY time
                          RANGE BETWEEN to_seconds($window_seconds) PRECEDING AND CURRENT ROW) AS in_window,
           sum(other) OVER (PARTITION BY src_key ORDER BY time
                            RANGE BETWEEN to_seconds($window_seconds) PRECEDING AND CURRENT ROW) AS others_in_window
    FROM guesses
)
SELECT src_key, max(in_window) FILTER (WHERE others_in_window > 0) AS peak,
       min(time) FILTER (WHERE in_window >= $min_attempts AND others_in_window > 0) AS burst_at
FROM src GROUP BY src_key
HAVING max(in_window) FILTER (WHERE others_in_window > 0) >= $min_attempts;

CREATE OR REPLACE TEMP TABLE burst_sessions AS
WITH burst_events AS (
    SELECT src_key, time, user_name, ip, is_fail, status_detail, client, service_name, source_format,
           record_ref, false AS unnamed
    FROM attempts
    UNION ALL
    SELECT src_key, time, NULL AS user_name, ip, true AS is_fail, status_detail, client, service_name,
           source_format, record_ref, true AS unnamed
    FROM unnamed_attempts
), in_burst AS (
    SELECT b.src_key, b.peak, a.time, a.user_name, a.ip, a.is_fail, a.status_detail, a.client,
           a.service_name, a.source_format, a.record_ref, a.unnamed,
           CASE WHEN NOT a.unnamed THEN count(*) OVER (PARTITION BY b.src_key, a.user_name) END AS per_user
    FROM burst_windows b
    JOIN burst_events a ON a.src_key = b.src_key
         AND a.time BETWEEN b.burst_at - to_seconds($window_seconds) AND b.burst_at + INTERVAL 1 HOUR
)
SELECT src_key, peak, min(time) AS first_seen, max(time) AS last_seen, count(*) AS attempts,
       count(*) FILTER (WHERE is_fail) AS failures, count(*) FILTER (WHERE unnamed) AS unnamed_attempts,
       count(DISTINCT user_name) AS distinct_users, coalesce(max(per_user), 0) AS max_per_user,
       coalesce(list(DISTINCT user_name ORDER BY user_name) FILTER (WHERE user_name IS NOT NULL),
                CAST([] AS VARCHAR[])) AS users,
       list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
       mode(status_detail ORDER BY status_detail) AS top_status, mode(client ORDER BY client) AS top_client, mode(service_name ORDER BY service_name) AS top_service,
       list(DISTINCT source_format ORDER BY source_format) AS source_formats,
       list(record_ref ORDER BY time, record_ref)[1:5] AS sample_records
FROM in_burst
GROUP BY src_key, peak;

SELECT
    src_key || '#' || strftime(first_seen, '%Y%m%d%H%M%S') AS key,
    first_seen, last_seen, users,
    CASE WHEN len(source_ips) = 0 THEN [src_key] ELSE source_ips END AS source_ips,
    attempts, failures, distinct_users, 1 AS distinct_ips, peak AS n_peak_attempts_window,
    CASE WHEN unnamed_attempts > 0 THEN unnamed_attempts END AS n_unnamed_attempts,
    printf('Burst of %d password guesses from %s against %s', attempts,
           CASE WHEN starts_with(src_key, 'host:') THEN 'host ' || substr(src_key, 6) ELSE src_key END,
           CASE WHEN unnamed_attempts = 0 THEN array_to_string(users[1:4], ', ')
                WHEN len(users) = 0 THEN 'accounts the log does not name'
                ELSE array_to_string(users[1:4], ', ') || ' and accounts the log does not name' END) AS title,
    printf('%d attempts (up to %d within %d seconds) from %s between %s and %s, mostly %s; %s.',
           attempts, peak, $window_seconds,
           CASE WHEN starts_with(src_key, 'host:') THEN 'the host named ' || substr(src_key, 6) || ' (the log has no address)' ELSE src_key END,
           strftime(first_seen, '%Y-%m-%d %H:%M:%S'), strftime(last_seen, '%Y-%m-%d %H:%M:%S'), top_status,
           'no person types this fast: check what ran on that source') AS summary,
    {'source_kind': CASE WHEN starts_with(src_key, 'host:') THEN 'host name' ELSE 'address' END,
     'top_status': top_status, 'top_client': top_client, 'top_application': top_service,
     'source_formats': source_formats, 'sample_records': sample_records} AS evidence
FROM burst_sessions
WHERE distinct_users <= $max_users AND max_per_user <= $max_attempts_per_user
ORDER BY first_seen;
