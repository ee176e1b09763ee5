/* nightowl-detection
id = "spray.slow"
title = "Slow password spray from one source"
category = "password_spray"
severity = "high"
attack = ["T1110.003"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "top_user_agent", "top_application", "top_client", "asn", "asn_org", "country",
  "mean_minutes_between_attempts", "ok_users_during", "sample_records",
]
description = """
The same behaviour as spray.single_source, spread over hours or days so that no short window ever
holds enough users to trip a per-window threshold (one user every ten minutes for three days never
puts five users in twenty minutes). The session keeps going while the source is never quiet for
longer than prepare.session_gap_minutes, so the whole campaign is one finding.
"""
false_positives = [
  "A scheduled job that tries many accounts with a stale shared credential (its cadence is regular to the second; check the user agent and the host).",
]

[thresholds]
min_users = { default = 10, anchor = "twice the single-source floor, since a long session accumulates more chance failures" }
min_duration_minutes = { default = 120, anchor = "slower than any burst: at least two hours between the first and the last attempt" }
max_peak_users = { default = 4, anchor = "below Sentinel's 5 users in 20 minutes, i.e. exactly what per-window rules cannot see; faster sessions are spray.single_source" }
min_unresolved_share = { default = 0.7, anchor = "as spray.single_source, stricter because the session is long" }
max_attempts_per_user = { default = 10.0, anchor = "as spray.single_source" }
max_ok_users_ratio = { default = 0.5, anchor = "as spray.single_source, stricter because the session is long" }
*/
SELECT
    s.src_key || '#' || s.session_no AS key,
    s.first_seen, s.last_seen, s.users, s.source_ips,
    s.attempts, s.failures, s.distinct_users, len(s.source_ips) AS distinct_ips,
    s.unresolved_users AS n_unresolved_users,
    s.peak_window_users AS n_peak_window_users,
    CASE WHEN c.unnamed_attempts > 0 THEN c.unnamed_attempts END AS n_unnamed_attempts,
    printf('Slow password spray from %s against %d accounts over %d h %02d min', s.src_key, s.distinct_users,
           CAST(floor((epoch(s.last_seen) - epoch(s.first_seen)) / 3600) AS BIGINT),
           CAST(floor((epoch(s.last_seen) - epoch(s.first_seen)) / 60) AS BIGINT) % 60) AS title,
    printf('%s tried %d accounts (%d attempts, never more than %d in one window, %d never resolved) from %s to %s.',
           s.src_key, s.distinct_users, s.attempts, s.peak_window_users, s.unresolved_users,
           strftime(s.first_seen, '%Y-%m-%d %H:%M'), strftime(s.last_seen, '%Y-%m-%d %H:%M')) AS summary,
    {'fingerprint': s.fingerprint, 'top_user_agent': s.top_user_agent, 'top_application': s.top_service,
     'top_client': s.top_client, 'asn': s.src_asn, 'asn_org': s.src_asn_org, 'country': s.src_country,
     'mean_minutes_between_attempts': round((epoch(s.last_seen) - epoch(s.first_seen)) / 60 / greatest(s.attempts - 1, 1), 1),
     'ok_users_during': c.ok_users_during, 'sample_records': s.sample_records} AS evidence
FROM source_sessions s
JOIN session_context c USING (src_key, session_no)
WHERE s.unresolved_users >= $min_users
  AND s.peak_window_users <= $max_peak_users
  AND s.last_seen - s.first_seen >= to_minutes($min_duration_minutes)
  AND s.unresolved_users >= $min_unresolved_share * s.distinct_users
  AND s.attempts <= $max_attempts_per_user * s.distinct_users
  AND c.ok_users_during <= $max_ok_users_ratio * s.unresolved_users
ORDER BY s.first_seen;
