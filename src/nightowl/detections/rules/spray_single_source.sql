/* nightowl-detection
id = "spray.single_source"
title = "Password spray from one source"
category = "password_spray"
severity = "high"
attack = ["T1110.003"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "top_user_agent", "top_application", "top_client", "legacy_protocol", "asn",
  "asn_org", "country", "ok_users_during", "source_history_ok_users",
  "unknown_outcome_attempts", "source_formats", "sample_records",
]
description = """
One source (an IP, or an IPv6 /64) tries few passwords against many distinct accounts. Its
attempts are grouped into sessions that end after a quiet gap (never split the way fixed buckets
split a burst) and the peak of distinct users in a sliding window is measured. What tells a spray
from a busy shared address (office NAT, carrier CGNAT, VPN) is behaviour, not an allow list: the
failing users do not go on to sign in from that source (unresolved), few other users succeed
from it at the same time, and each account gets only a few tries.
"""
false_positives = [
  "A misconfigured application or script that signs in as many users with an old shared password (it will look the same: verify with the app owner).",
  "A load test or identity migration tool run against production accounts.",
]

[thresholds]
min_users = { default = 5, anchor = "Sentinel's 'Password spray attack against Microsoft Entra ID application' alerts at 5 distinct failed users per IP and app in 20 min; we count users whose failure is never resolved" }
min_peak_users = { default = 5, anchor = "at least this many distinct users inside one sliding window (prepare.peak_window_minutes); slower sources are spray.slow" }
min_unresolved_share = { default = 0.6, anchor = "in a spray almost every targeted user stays failed from that source; in a NAT most failing users sign in minutes later" }
max_attempts_per_user = { default = 10.0, anchor = "sprayers run rounds of one password across all accounts and stay under the lockout threshold (Entra smart lockout locks after 10 failures; AD policies 5-10); more per account is brute force" }
max_ok_users_ratio = { default = 1.0, anchor = "users succeeding from the source while it sprayed, per unresolved failing user: a NAT has far more working users than failing ones" }
max_nonexistent_share = { default = 0.8, anchor = "above this share of unknown usernames the session is enumeration, not a spray" }
*/
SELECT
    s.src_key || '#' || s.session_no AS key,
    s.first_seen, s.last_seen, s.users, s.source_ips,
    s.attempts, s.failures, s.distinct_users, len(s.source_ips) AS distinct_ips,
    s.unresolved_users AS n_unresolved_users,
    s.nonexistent_users AS n_nonexistent_users,
    s.peak_window_users AS n_peak_window_users,
    CASE WHEN c.unnamed_attempts > 0 THEN c.unnamed_attempts END AS n_unnamed_attempts,
    printf('Password spray from %s against %d accounts', s.src_key, s.distinct_users) AS title,
    printf('%s made %d attempts against %d accounts (%d never resolved, %d unknown usernames, up to %d in one window) between %s and %s; %d user(s) signed in from it meanwhile.',
           s.src_key, s.attempts, s.distinct_users, s.unresolved_users, s.nonexistent_users, s.peak_window_users,
           strftime(s.first_seen, '%Y-%m-%d %H:%M'), strftime(s.last_seen, '%Y-%m-%d %H:%M'), c.ok_users_during) AS summary,
    {'fingerprint': s.fingerprint, 'top_user_agent': s.top_user_agent, 'top_application': s.top_service,
     'top_client': s.top_client, 'legacy_protocol': s.any_legacy, 'asn': s.src_asn, 'asn_org': s.src_asn_org,
     'country': s.src_country, 'ok_users_during': c.ok_users_during, 'source_history_ok_users': h.ok_users,
     'unknown_outcome_attempts': s.unknown_outcome, 'source_formats': s.source_formats,
     'sample_records': s.sample_records} AS evidence
FROM source_sessions s
JOIN session_context c USING (src_key, session_no)
JOIN source_history h USING (src_key)
WHERE s.unresolved_users >= $min_users
  AND s.peak_window_users >= $min_peak_users
  AND s.unresolved_users >= $min_unresolved_share * s.distinct_users
  AND s.attempts <= $max_attempts_per_user * s.distinct_users
  AND c.ok_users_during <= $max_ok_users_ratio * s.unresolved_users
  AND s.nonexistent_users < $max_nonexistent_share * s.distinct_users
ORDER BY s.first_seen;
