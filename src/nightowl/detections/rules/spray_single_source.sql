/* nightowl-detection
id = "spray.single_source"
title = "Password spray from one source"
category = "password_spray"
severity = "high"
attack = ["T1110.003"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "top_user_agent", "top_application", "top_client", "legacy_protocol", "asn",
  "asn_org", "country", "attempts_per_account", "ok_users_during", "source_history_ok_users",
  "unknown_outcome_attempts", "source_formats", "sample_records",
]
description = """
One source (an IP, or an IPv6 /64) tries few passwords against many distinct accounts. Its
attempts are grouped into sessions that end after a quiet gap (never split the way fixed buckets
split a burst) and the peak of distinct users in a sliding window is measured. What tells a spray
from a busy shared address (office NAT, carrier CGNAT, VPN) is behaviour, not an allow list: the
failing users do not go on to sign in from that source (unresolved), few other users succeed
from it at the same time, and each account gets only a few tries.
A source that tries more than a spray does per account (a wordlist run over a list of names, at
any speed) is reported as bruteforce.multi_account: an RDP or SSH guesser cycling a dozen
passwords through seventy names is above the spray's limit per account and below what
bruteforce.single_account needs at one account; it must also not have signed these accounts in
before (a host retrying the stale passwords of its own accounts has).
"""
false_positives = [
  "A misconfigured application or script that signs in as many users with an old shared password (it will look the same: verify with the app owner).",
  "A load test or identity migration tool run against production accounts.",
  "bruteforce.multi_account: a vulnerability scanner or penetration test checking weak passwords against a list of accounts; a host configured with several accounts whose passwords changed before the logs begin (its cadence is regular to the second); several phones with stale passwords behind one carrier NAT address that the logs never show signing them in, at an hour few others sign in from it.",
]

[thresholds]
min_users = { default = 5, anchor = "Sentinel's 'Password spray attack against Microsoft Entra ID application' alerts at 5 distinct failed users per IP and app in 20 min; we count users whose failure is never resolved" }
min_peak_users = { default = 5, anchor = "at least this many distinct users inside one sliding window (prepare.peak_window_minutes); slower sources are spray.slow" }
min_unresolved_share = { default = 0.6, anchor = "in a spray almost every targeted user stays failed from that source; in a NAT most failing users sign in minutes later" }
max_attempts_per_user = { default = 10.0, anchor = "sprayers run rounds of one password across all accounts and stay under the lockout threshold (Entra smart lockout locks after 10 failures; AD policies 5-10); more per account is password guessing, reported as bruteforce.multi_account" }
max_ok_users_ratio = { default = 1.0, anchor = "users succeeding from the source while it sprayed, per unresolved failing user: a NAT has far more working users than failing ones" }
max_nonexistent_share = { default = 0.8, anchor = "above this share of unknown usernames the session is enumeration, not a spray" }
max_known_pair_share = { default = 0.2, anchor = "bruteforce.multi_account: a host retrying stale passwords signed its accounts in before (pair_resolution.known_pair); a guesser had signed in none of them" }

# More tries per account than a spray makes is password guessing, configured under its own id.
[variants."bruteforce.multi_account"]
thresholds = ["max_known_pair_share"]
*/
WITH shaped AS (
    SELECT s.*, c.ok_users_during, c.unnamed_attempts, h.ok_users AS source_history_ok_users,
           round(s.attempts / s.distinct_users, 1) AS attempts_per_account,
           CASE WHEN s.attempts > $max_attempts_per_user * s.distinct_users THEN 'brute_force'
                ELSE 'password_spray' END AS category
    FROM source_sessions s
    JOIN session_context c USING (src_key, session_no)
    JOIN source_history h USING (src_key)
)
SELECT
    src_key || '#' || session_no AS key,
    first_seen, last_seen, users, source_ips,
    attempts, failures, distinct_users, len(source_ips) AS distinct_ips,
    unresolved_users AS n_unresolved_users,
    nonexistent_users AS n_nonexistent_users,
    peak_window_users AS n_peak_window_users,
    CASE WHEN unnamed_attempts > 0 THEN unnamed_attempts END AS n_unnamed_attempts,
    category,
    CASE category WHEN 'brute_force' THEN 'bruteforce.multi_account' ELSE 'spray.single_source' END AS detection,
    CASE category WHEN 'brute_force' THEN ['T1110.001'] END AS attack,
    printf('%s from %s against %d accounts',
           CASE category WHEN 'brute_force' THEN 'Password guessing' ELSE 'Password spray' END,
           src_key, distinct_users) AS title,
    printf('%s made %d attempts against %d accounts (%.1f per account; %d never resolved, %d unknown usernames, up to %d in one window) between %s and %s; %d user(s) signed in from it meanwhile.',
           src_key, attempts, distinct_users, attempts_per_account, unresolved_users, nonexistent_users,
           peak_window_users, strftime(first_seen, '%Y-%m-%d %H:%M'), strftime(last_seen, '%Y-%m-%d %H:%M'),
           ok_users_during) AS summary,
    {'fingerprint': fingerprint, 'top_user_agent': top_user_agent, 'top_application': top_service,
     'top_client': top_client, 'legacy_protocol': any_legacy, 'asn': src_asn, 'asn_org': src_asn_org,
     'country': src_country, 'attempts_per_account': attempts_per_account,
     'ok_users_during': ok_users_during, 'source_history_ok_users': source_history_ok_users,
     'unknown_outcome_attempts': unknown_outcome, 'source_formats': source_formats,
     'sample_records': sample_records} AS evidence
FROM shaped
WHERE unresolved_users >= $min_users
  AND unresolved_users >= $min_unresolved_share * distinct_users
  AND ok_users_during <= $max_ok_users_ratio * unresolved_users
  AND nonexistent_users < $max_nonexistent_share * distinct_users
  -- a spray is fast enough to be seen in a window (slower ones are spray.slow); guessing at any
  -- speed is guessing, as long as the source had not signed these accounts in before
  AND CASE category WHEN 'brute_force' THEN known_pairs <= $max_known_pair_share * distinct_users
                    ELSE peak_window_users >= $min_peak_users END
ORDER BY first_seen;
