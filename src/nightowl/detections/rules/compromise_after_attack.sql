/* nightowl-detection
id = "compromise.after_attack"
title = "Account compromised after a password attack"
category = "account_compromise"
severity = "high"
attack = ["T1078", "T1110"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "attack_finding_ids", "via", "statuses", "single_factor", "legacy_protocol", "applications",
  "user_agents", "confirming_records",
]
stage = 2
description = """
An account whose password the attacker confirmed: a success, or an interruption that only follows a
correct password (MFA required, Conditional Access block, expired password), either from the
attack's own infrastructure (the same IP or IPv6 /64) during or soon after the attack, or from a new
address that carries one of the campaign's fingerprints (a campaign rotating its user agent or
application has several) soon after the account was targeted. Critical when
the success was single-factor or over a legacy protocol (nothing stood between the attacker and the
account); high when MFA or policy stopped the sign-in (the password is still known and must change).
"""
false_positives = [
  "The real user signing in from a shared address the attack also used (a hotel or carrier NAT) right after being targeted; check the device and user agent.",
  "The real user on a new network without MFA, with software that shares the campaign's fingerprint (an export without user agents fingerprints only the application and client).",
]

[thresholds]
grace_hours = { default = 72, anchor = "attackers often use a sprayed password days later; Midnight Blizzard's access followed its spray" }
max_ok_users_per_new_source = { default = 1, anchor = "a fingerprint match only counts from a source no other user signs in from" }
max_prior_users_per_fingerprint = { default = 5, anchor = "an attacker's tooling is new to the tenant: software its people signed in with before the campaign (Windows NTLM logons, Outlook in an export without user agents) marks no campaign" }
*/
CREATE OR REPLACE TEMP TABLE attack_windows AS
SELECT f.finding_id, f.detection, f.category, f.first_seen, f.last_seen
FROM attack_findings f;

-- The campaign's fingerprints that mark it: few people signed in with them before it began. On a
-- Windows log every logon is "no user agent | NTLM", and the people sprayed sign in from ever new
-- DHCP addresses the next morning.
CREATE OR REPLACE TEMP TABLE campaign_fingerprints AS
SELECT fp.finding_id, fp.fingerprint
FROM attack_fingerprints fp
JOIN attack_windows w ON w.finding_id = fp.finding_id
LEFT JOIN ev e ON e.fingerprint = fp.fingerprint AND e.pw_ok AND e.time < w.first_seen
GROUP BY fp.finding_id, fp.fingerprint
HAVING count(DISTINCT e.user_name) <= $max_prior_users_per_fingerprint;

CREATE OR REPLACE TEMP TABLE confirmations AS
-- 1. the attack's own sources confirm any account's password
SELECT w.finding_id, e.*, 'attack source' AS via
FROM attack_windows w
JOIN attack_sources s ON s.finding_id = w.finding_id
JOIN ev e ON e.src_key = s.src_key AND e.pw_ok
         AND e.time BETWEEN w.first_seen AND w.last_seen + to_hours($grace_hours)
UNION ALL
-- 2. a fresh source with one of the campaign's fingerprints confirms a targeted account's password.
-- A fingerprint is weaker evidence than the attack's own address (an export without user agents
-- leaves only the application and client, which Outlook on a hotel network shares with a spray
-- tool), so a success that satisfied MFA is not counted here: a sprayed password cannot do that,
-- the account's owner can.
SELECT w.finding_id, e.*, 'campaign fingerprint from a new source' AS via
FROM attack_windows w
JOIN attack_users u ON u.finding_id = w.finding_id
JOIN campaign_fingerprints fp ON fp.finding_id = w.finding_id
JOIN ev e ON e.user_name = u.user_name AND e.pw_ok AND e.fingerprint = fp.fingerprint
         AND NOT (e.status_detail = 'SUCCESS' AND coalesce(e.is_mfa, false))
         AND e.time BETWEEN w.first_seen AND w.last_seen + to_hours($grace_hours)
JOIN source_history h ON h.src_key = e.src_key AND h.ok_users <= $max_ok_users_per_new_source
WHERE NOT EXISTS (SELECT 1 FROM ev p WHERE p.pw_ok AND p.user_name = e.user_name AND p.src_key = e.src_key
                  AND p.time < w.first_seen);

SELECT
    user_name AS key,
    min(time) AS first_seen, max(time) AS last_seen,
    [user_name] AS users, [user_name] AS compromised_users,
    list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
    count(DISTINCT record_ref) AS attempts,
    count(DISTINCT record_ref) FILTER (WHERE status_detail = 'SUCCESS') AS successes, 1 AS distinct_users,
    CASE WHEN bool_or(status_detail = 'SUCCESS' AND (NOT coalesce(is_mfa, false) OR is_legacy)) THEN 'critical' ELSE 'high' END AS severity,
    printf('%s: password confirmed by the attacker (%s)', user_name,
           CASE WHEN bool_or(status_detail = 'SUCCESS' AND NOT coalesce(is_mfa, false)) THEN 'single-factor sign-in succeeded'
                WHEN bool_or(status_detail = 'SUCCESS') THEN 'sign-in succeeded'
                ELSE 'stopped only by ' || array_to_string(list(DISTINCT status_detail ORDER BY status_detail), ', ') END) AS title,
    printf('%s signed in as %s from %s at %s (%s) after being targeted; %s.', 
           CASE WHEN bool_or(status_detail = 'SUCCESS') THEN 'The attacker' ELSE 'The attacker nearly' END,
           user_name, arg_min(ip, time), strftime(min(time), '%Y-%m-%d %H:%M:%S'), array_to_string(list(DISTINCT via ORDER BY via), '; '),
           CASE WHEN bool_or(status_detail = 'SUCCESS' AND NOT coalesce(is_mfa, false)) THEN 'no MFA stood in the way: reset the password, revoke sessions, and review what the account did next'
                ELSE 'reset the password and revoke sessions: the password is known even if MFA or policy blocked this sign-in' END) AS summary,
    {'attack_finding_ids': list(DISTINCT finding_id ORDER BY finding_id), 'via': list(DISTINCT via ORDER BY via),
     'statuses': list(DISTINCT status_detail ORDER BY status_detail), 'single_factor': bool_or(status_detail = 'SUCCESS' AND NOT coalesce(is_mfa, false)),
     'legacy_protocol': bool_or(is_legacy), 'applications': list(DISTINCT service_name ORDER BY service_name), 'user_agents': list(DISTINCT user_agent ORDER BY user_agent),
     'confirming_records': list(DISTINCT record_ref ORDER BY record_ref)[1:10]} AS evidence
FROM confirmations
GROUP BY user_name
ORDER BY first_seen;
