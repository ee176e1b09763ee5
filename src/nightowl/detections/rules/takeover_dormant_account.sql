/* nightowl-detection
id = "takeover.dormant_account"
title = "Dormant account suddenly signing in"
category = "account_takeover"
severity = "medium"
attack = ["T1078", "T1078.004"]
python = "takeover:account_dates"
description = """
An account silent for the first min_quiet_days of the logs (no sign-in attempt at all) whose first
sign-ins, all of that first day, come from networks almost no one in the tenant uses, single-factor
or over a legacy protocol, from devices the directory does not know (no device id): a forgotten test or
non-production account revived with a guessed or old password, as in the Midnight Blizzard breach.
Guests (who sign in rarely by nature) and accounts created during the logs (new hires, when a users
export is ingested) are left out. Low when MFA, a known device or a shared network on that first day
speak for the real owner (a new hire's first day mixes them in; without a users export it would
otherwise look dormant).
Silence means something only where the logs were watching: the quiet period counts the days on which
the logs hold other identities' sign-ins (observed days), not the calendar. Fewer than min_quiet_days
observed days before the first attempt (a sample of a few events spread over years, an export with a
gap) gives no finding; logs holding sign-ins on under min_observed_share of the quiet period's days
(sparse or patchy logs) give low at most.
"""
false_positives = [
  "A member back from a long leave who signs in without MFA from home on a personal device.",
  "Without a users export (users.json) a new hire's first sign-in can look dormant; ingest it to tell them apart.",
]

evidence = ["quiet_days", "observed_days", "created", "network_identities_in_tenant", "single_factor", "legacy_protocol", "known_device", "clients", "user_agents", "applications", "sample_records"]
settings = ["shared_network_users"]  # [prepare]: a /24 that many identities sign in from is the tenant's own egress, not an attacker's

[thresholds]
min_quiet_days = { default = 10, anchor = "ten days without a single attempt: more than a holiday week and its weekends; the logs must cover that long before the sign-in" }
min_observed_share = { default = 0.5, anchor = "the logs hold sign-ins on at least half the quiet period's days (weekends and holidays are quiet in many tenants); sparser logs cannot tell dormancy from a gap in the export: low at most" }
*/
-- account_created (creation dates from the users export, empty without one) comes from the Python step:
-- @python
-- identity_first_events (each identity's first attempt) and log_span (the logs' first event) come with the
-- profiles, over the whole history an incremental hunt carries
CREATE OR REPLACE TEMP TABLE dormant_first AS
WITH candidates AS (  -- first attempt at least min_quiet_days into the logs (calendar)
    SELECT f.user_name, f.first_event, s.data_start
    FROM identity_first_events f
    CROSS JOIN log_span s
    WHERE NOT f.guest AND f.first_event >= s.data_start + to_days($min_quiet_days)
), tenant_days AS (  -- the days the logs watched: some identity signed in
    SELECT DISTINCT day FROM identity_days
), observed AS (  -- watched days before the first attempt (the candidate has no success before it)
    SELECT c.user_name, count(d.day) AS observed_days
    FROM candidates c JOIN tenant_days d ON d.day < CAST(c.first_event AS DATE)
    GROUP BY c.user_name
)
SELECT c.*, f.first_event, f.data_start, a.created,
       coalesce(t.users, 0) AS net_users,
       c.known_device,
       date_diff('day', f.data_start, f.first_event) AS quiet_days,
       o.observed_days,
       -- the first sign-in of that day is the one shown; ties go to the record, whatever the scan order
       row_number() OVER (PARTITION BY c.user_name ORDER BY c.first_seen, c.first_record) AS pos
FROM identity_profile p
JOIN candidates f ON f.user_name = p.user_name
JOIN observed o ON o.user_name = p.user_name
JOIN signin_combos c ON c.user_name = p.user_name AND c.day = CAST(p.first_success AS DATE)
LEFT JOIN tenant_values t ON t.feature = 'network' AND t.value = c.net
LEFT JOIN account_created a ON a.user_name = p.user_name
WHERE o.observed_days >= $min_quiet_days
  AND (a.created IS NULL OR a.created < f.data_start - INTERVAL 1 DAY);

SELECT
    user_name AS key,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen,
    [user_name] AS users,
    list(DISTINCT ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
    sum(n) AS successes, 1 AS distinct_users,
    -- high only when every sign-in of that first day looks like someone else's: one registered device,
    -- MFA or the tenant's own network on that day speaks for the owner (a new hire's first day)
    -- and only where the logs watched most of the quiet period (sparse logs: a gap, not dormancy)
    CASE WHEN bool_and(net_users < $shared_network_users AND (single_factor OR any_legacy) AND NOT known_device)
              AND max(observed_days) >= $min_observed_share * max(quiet_days)
         THEN 'high' ELSE 'low' END AS severity,
    printf('%s: silent for %d days, then signed in from %s%s', user_name, max(quiet_days),
           coalesce(arg_min(country, pos), '?') || ' / ' || coalesce(arg_min(asn_org, pos), 'AS' || CAST(arg_min(asn, pos) AS VARCHAR), 'unknown network'),
           CASE WHEN bool_or(any_legacy) THEN ' over a legacy protocol' WHEN bool_and(single_factor) THEN ' without MFA' ELSE '' END) AS title,
    printf('%s made no sign-in attempt for the first %d days of the logs (from %s; other identities signed in on %d of them), then signed in at %s UTC from %s (%s, %s) using %s, %s, %s. %s',
           user_name, max(quiet_days), strftime(min(data_start), '%Y-%m-%d'), max(observed_days), strftime(min(first_seen), '%Y-%m-%d %H:%M'),
           arg_min(ip, pos), coalesce(arg_min(asn_org, pos), 'AS' || CAST(arg_min(asn, pos) AS VARCHAR), 'ASN unknown'),
           coalesce(arg_min(country, pos), 'country unknown'),
           coalesce(nullif(regexp_replace(arg_min(client, pos), '^/|/$', ''), ''), 'client unknown'),
           CASE WHEN bool_and(single_factor) THEN 'single-factor' ELSE 'with MFA' END,
           CASE WHEN bool_or(known_device) THEN 'from a device with a device id' ELSE 'from a device the directory does not know' END,
           CASE WHEN max(created) IS NULL THEN 'No users export gave its creation date: check it is not a new account.'
                ELSE 'Created ' || strftime(max(created), '%Y-%m-%d') || ', long before the logs start.' END) AS summary,
    {'quiet_days': max(quiet_days), 'observed_days': max(observed_days), 'created': max(created), 'network_identities_in_tenant': max(net_users),
     'single_factor': bool_and(single_factor), 'legacy_protocol': bool_or(any_legacy), 'known_device': bool_or(known_device),
     'clients': list(DISTINCT coalesce(nullif(regexp_replace(client, '^/|/$', ''), ''), 'client unknown') ORDER BY coalesce(nullif(regexp_replace(client, '^/|/$', ''), ''), 'client unknown')), 'user_agents': list(DISTINCT user_agent ORDER BY user_agent), 'applications': list(DISTINCT app ORDER BY app),
     'sample_records': list(first_record ORDER BY first_seen, first_record)[1:5]} AS evidence
FROM dormant_first
GROUP BY user_name
ORDER BY first_seen, key;
