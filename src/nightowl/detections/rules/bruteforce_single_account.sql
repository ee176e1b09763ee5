/* nightowl-detection
id = "bruteforce.single_account"
title = "Brute force against one account"
category = "brute_force"
severity = "high"
attack = ["T1110.001"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "top_status", "top_user_agent", "top_application", "top_client", "account_exists",
  "sample_records",
]
description = """
Many password attempts against one account in a short time, from sources that never confirmed this
user's password before. A device retrying a stale password polls slowly from a source the user
used to sign in from; that is reported as stale_credentials instead.
"""
false_positives = [
  "A user's own script or service with a wrong password hammering from a new host.",
]

[thresholds]
session_gap_minutes = { default = 60, anchor = "an attack on one account is a burst; an hour of quiet ends it" }
min_attempts = { default = 20, anchor = "twice Entra smart lockout's default of 10 failures; Windows default lockout policies sit at 5-10" }
min_peak_attempts = { default = 10, anchor = "attempts inside any 10 minutes: a person or a polling device does not reach this, a guessing tool does" }
*/
CREATE OR REPLACE TEMP TABLE bf_attempts AS
SELECT a.*, r.known_pair
FROM attempts a JOIN pair_resolution r USING (src_key, user_name)
WHERE NOT r.known_pair;

CREATE OR REPLACE TEMP TABLE bf_sessions AS
WITH marked AS (
    SELECT *, CASE WHEN time - lag(time) OVER (PARTITION BY user_name ORDER BY time)
                        > to_minutes($session_gap_minutes) THEN 1 ELSE 0 END AS new_session
    FROM bf_attempts
), numbered AS (
    SELECT *, sum(new_session) OVER (PARTITION BY user_name ORDER BY time ROWS UNBOUNDED PRECEDING) AS session_no
    FROM marked
), peaked AS (
    SELECT *, count(*) OVER (PARTITION BY user_name, session_no ORDER BY time
                             RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW) AS window_attempts
    FROM numbered
)
SELECT user_name, session_no, min(time) AS first_seen, max(time) AS last_seen, count(*) AS attempts,
       count(*) FILTER (WHERE is_fail) AS failures, max(window_attempts) AS peak_attempts,
       list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
       mode(status_detail ORDER BY status_detail) AS top_status, mode(user_agent ORDER BY user_agent) AS top_user_agent, mode(service_name ORDER BY service_name) AS top_service,
       mode(client ORDER BY client) AS top_client, bool_or(no_such_user) AS nonexistent,
       list(record_ref ORDER BY time, record_ref)[1:5] AS sample_records
FROM peaked GROUP BY user_name, session_no;

SELECT
    user_name || '#' || strftime(first_seen, '%Y%m%d%H%M') AS key,
    first_seen, last_seen, [user_name] AS users, source_ips,
    attempts, failures, 1 AS distinct_users, len(source_ips) AS distinct_ips,
    peak_attempts AS n_peak_attempts_10min,
    printf('Brute force against %s: %d attempts from %d source(s)', user_name, attempts, len(source_ips)) AS title,
    printf('%d attempts at %s between %s and %s (up to %d in 10 minutes), mostly %s, from %s.',
           attempts, user_name, strftime(first_seen, '%Y-%m-%d %H:%M:%S'), strftime(last_seen, '%Y-%m-%d %H:%M:%S'),
           peak_attempts, top_status, array_to_string(source_ips[1:5], ', ')) AS summary,
    CASE WHEN nonexistent THEN 'medium' END AS severity,
    {'top_status': top_status, 'top_user_agent': top_user_agent, 'top_application': top_service,
     'top_client': top_client, 'account_exists': NOT nonexistent, 'sample_records': sample_records} AS evidence
FROM bf_sessions
WHERE attempts >= $min_attempts AND peak_attempts >= $min_peak_attempts
ORDER BY first_seen;
