/* nightowl-detection
id = "noise.password_expiry_wave"
title = "Password expiry wave"
category = "password_expiry_wave"
severity = "info"
attack = []
evidence = []  # its findings carry no evidence object
description = """
Many users hitting an expired password on the same day: the Monday-morning pattern that makes
per-IP spray rules fire on office NAT. Expired-password responses only follow a correct password,
so these are not attack attempts; listed so the noise is explained rather than hidden.
"""
false_positives = []

[thresholds]
min_users = { default = 10, anchor = "ten users a day with expired passwords is a policy wave, not chance" }
*/
SELECT 'expiry#' || day AS key, min(time) AS first_seen, max(time) AS last_seen,
       list(DISTINCT user_name) AS users, list(DISTINCT ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
       count(*) AS attempts, count(DISTINCT user_name) AS distinct_users, count(DISTINCT ip) AS distinct_ips,
       printf('%d users with expired passwords on %s', count(DISTINCT user_name), day) AS title,
       printf('%d users met an expired-password prompt on %s from %d sources; benign unless followed by failures.',
              count(DISTINCT user_name), day, count(DISTINCT ip)) AS summary
FROM (SELECT *, strftime(time, '%Y-%m-%d') AS day FROM ev WHERE status_detail = 'PASSWORD_EXPIRED')
GROUP BY day
HAVING count(DISTINCT user_name) >= $min_users
ORDER BY day;
