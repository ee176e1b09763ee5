/* nightowl-detection
id = "lockout.wave"
title = "Wave of account lockouts"
category = "lockout_wave"
severity = "medium"
attack = ["T1110"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "peak_users_in_window",
]
description = """
Many distinct accounts locked out within a sliding window across the whole tenant: the visible
side effect of a spray or brute force that tripped lockout, or of a denial-of-service by lockout.
"""
false_positives = [
  "A password policy change or a broken identity sync that invalidates many passwords at once.",
]

[thresholds]
window_minutes = { default = 60, anchor = "one hour sliding window" }
min_users = { default = 10, anchor = "ten locked accounts in an hour is rare in a healthy tenant of any size" }
*/
CREATE OR REPLACE TEMP TABLE lockouts AS
SELECT *, count(DISTINCT user_name) OVER (ORDER BY time RANGE BETWEEN to_minutes($window_minutes) PRECEDING AND CURRENT ROW) AS window_users
FROM ev WHERE status_detail = 'ACCOUNT_LOCKED_OUT';

WITH peaks AS (SELECT time FROM lockouts WHERE window_users >= $min_users),
bounds AS (SELECT min(time) - to_minutes($window_minutes) AS lo, max(time) AS hi FROM peaks)
SELECT 'lockouts#' || strftime(b.lo, '%Y%m%d%H%M') AS key, min(l.time) AS first_seen, max(l.time) AS last_seen,
       list(DISTINCT l.user_name) AS users, list(DISTINCT l.ip) FILTER (WHERE l.ip IS NOT NULL) AS source_ips,
       count(*) AS attempts, count(DISTINCT l.user_name) AS distinct_users,
       printf('%d accounts locked out (up to %d in %d minutes)', count(DISTINCT l.user_name), max(l.window_users), $window_minutes) AS title,
       printf('%d lockout events for %d accounts from %d sources between %s and %s.', count(*), count(DISTINCT l.user_name),
              count(DISTINCT l.ip), strftime(min(l.time), '%Y-%m-%d %H:%M'), strftime(max(l.time), '%Y-%m-%d %H:%M')) AS summary,
       {'peak_users_in_window': max(l.window_users)} AS evidence
FROM lockouts l, bounds b
WHERE b.lo IS NOT NULL AND l.time BETWEEN b.lo AND b.hi
GROUP BY b.lo;
