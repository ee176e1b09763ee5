/* nightowl-detection
id = "cloud.app_signin"
title = "Application signed in from a new network"
category = "app_signin"
severity = "low"
attack = ["T1078.004", "T1550.001"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "credential_key_ids", "matched_by_key_id", "credential_added_by",
  "credential_added_at", "credential_added_recently", "added_by_compromised_account", "new_network", "new_country",
  "prior_signins", "resources", "audit_records", "sample_records",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on who added the credential
python = "app_signin:ensure_tables"
description = """
An application (service principal or managed identity) signed in successfully from an address whose
network (IPv4 /24, IPv6 /48, or autonomous system) or country it had never used before in the logs.
Apps run from fixed infrastructure, so this alone is low. High when the credential it used (matched
by key id, else any credential added to the same app) was added in the days before by someone other
than the app itself; critical when that someone is an account a password attack compromised: the
Midnight Blizzard step "add a secret to the OAuth app, then sign in as the app from our own proxies".
An app's first sign-ins ever are judged only through the credential (no history to compare with).
"""
false_positives = [
  "An app moved to a new cloud region or egress (a new network but the same credential, rotated by the app's own automation: stays low).",
  "A developer testing an app's new secret from home right after adding it (high: confirm with the owner and remove the secret if unknown).",
]

[thresholds]
min_history_signins = { default = 5, anchor = "five earlier successes give an app a footprint to compare with; fewer and every address would look new" }
credential_window_days = { default = 30, anchor = "an attacker uses the secret it added within days; secrets rotate on 90-365 day cycles, so a 30-day look-back rarely meets an old rotation" }
*/
-- @python
CREATE OR REPLACE TEMP TABLE app_events AS
SELECT e.time, e.record_ref, e.src_endpoint_ip AS ip, e.src_asn AS asn, e.src_country AS country,
       e.actor_type, coalesce(e.actor_app_uid, lower(e.actor_app_name)) AS app_key,
       e.actor_app_uid AS app_id, e.actor_app_name AS app_name, e.credential_key_id AS key_id,
       e.service_name AS resource, e.status_id,
       CASE WHEN e.src_endpoint_ip IS NULL THEN NULL
            WHEN contains(e.src_endpoint_ip, ':') THEN array_to_string(string_split(e.src_endpoint_ip, ':')[1:3], ':') || '::/48'
            ELSE array_to_string(string_split(e.src_endpoint_ip, '.')[1:3], '.') || '.0/24' END AS net
FROM auth_events e
WHERE e.actor_type IN ('service_principal', 'managed_identity') AND e.time IS NOT NULL
  AND coalesce(e.actor_app_uid, e.actor_app_name) IS NOT NULL;

-- each success from an address, with what the app had used before it
CREATE OR REPLACE TEMP TABLE app_novel AS
SELECT s.*,
       (SELECT count(*) FROM app_events p WHERE p.app_key = s.app_key AND p.status_id = 1 AND p.time < s.time) AS history,
       NOT EXISTS (SELECT 1 FROM app_events p WHERE p.app_key = s.app_key AND p.status_id = 1 AND p.time < s.time
                   AND (p.net = s.net OR (p.asn IS NOT NULL AND p.asn = s.asn))) AS new_network,
       s.country IS NOT NULL AND NOT EXISTS (SELECT 1 FROM app_events p WHERE p.app_key = s.app_key AND p.status_id = 1
                   AND p.time < s.time AND p.country = s.country) AS new_country
FROM app_events s
WHERE s.status_id = 1 AND s.ip IS NOT NULL;

-- credentials added to the app before a sign-in: by key id when the sign-in names one
CREATE OR REPLACE TEMP TABLE app_cred_link AS
SELECT n.record_ref, d.time AS added_at, d.actor_upn, d.event_uid AS audit_uid, d.record_ref AS audit_ref,
       n.key_id IS NOT NULL AND list_contains(d.credential_key_ids_added, n.key_id) AS by_key,
       f.user_name IS NOT NULL AS by_compromised, f.verdict AS by_verdict
FROM app_novel n
JOIN directory_audit d
  ON coalesce(d.result, 'success') = 'success' AND coalesce(d.credentials_added, 0) > 0
 AND d.time <= n.time AND d.time >= n.time - to_days($credential_window_days::INTEGER)
 AND ((n.key_id IS NOT NULL AND list_contains(d.credential_key_ids_added, n.key_id))
      OR ((n.key_id IS NULL OR len(coalesce(d.credential_key_ids_added, [])) = 0)
          AND (lower(d.app_id) = n.app_id OR lower(d.app_name) = lower(n.app_name))))
LEFT JOIN flagged_users f ON f.compromised AND f.user_name = lower(d.actor_upn)
-- someone else: a person (or another app), not the app rotating its own secret
WHERE coalesce(lower(d.actor_app_id), '') <> coalesce(n.app_id, '-');

-- the first sign-in from a network the app never used (or, for an app without history, one made
-- with a credential someone else added), and then every success from that network for a week: an
-- attacker's second sign-in from its proxy is not "known" because of its first
CREATE OR REPLACE TEMP TABLE app_seeds AS
SELECT n.app_key, n.net, min(n.time) AS seeded_at
FROM app_novel n
WHERE (n.history >= $min_history_signins AND (n.new_network OR n.new_country))
   OR (n.history < $min_history_signins AND EXISTS (SELECT 1 FROM app_cred_link l WHERE l.record_ref = n.record_ref))
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE app_suspect AS
SELECT n.*, l.added_at, l.actor_upn, l.by_key, coalesce(l.by_compromised, false) AS by_compromised, l.by_verdict,
       l.audit_uid, l.audit_ref, l.record_ref IS NOT NULL AS other_added
FROM app_novel n
JOIN app_seeds s ON s.app_key = n.app_key AND s.net = n.net
     AND n.time BETWEEN s.seeded_at AND s.seeded_at + INTERVAL 7 DAY
LEFT JOIN app_cred_link l ON l.record_ref = n.record_ref;

SELECT
    app_key || '|' || coalesce(key_id, '-') AS key,
    min(time) AS first_seen, max(time) AS last_seen,
    list(DISTINCT actor_upn ORDER BY actor_upn) FILTER (WHERE actor_upn IS NOT NULL) AS users,
    list(DISTINCT ip ORDER BY ip) AS source_ips,
    count(*) AS attempts, count(*) AS successes,
    CASE WHEN bool_or(by_compromised) THEN 'critical' WHEN bool_or(other_added) THEN 'high' ELSE 'low' END AS severity,
    printf('%s signed in from %s%s', any_value(app_name),
           CASE WHEN min(history) < $min_history_signins THEN 'its first addresses' ELSE 'a new network' END,
           CASE WHEN bool_or(by_compromised) THEN ' with a credential a compromised account added'
                WHEN bool_or(other_added) THEN ' with a credential someone else added recently' ELSE '' END) AS title,
    printf('%s (%s) signed in %d time(s) between %s and %s from %s (%s), to %s%s%s.',
           any_value(app_name), any_value(app_id), count(*), strftime(min(time), '%Y-%m-%d %H:%M:%S'),
           strftime(max(time), '%Y-%m-%d %H:%M:%S'), array_to_string(list(DISTINCT ip ORDER BY ip)[1:5], ', '),
           coalesce(array_to_string(list(DISTINCT country ORDER BY country) FILTER (WHERE country IS NOT NULL), ', '), '?'),
           array_to_string(list(DISTINCT resource ORDER BY resource) FILTER (WHERE resource IS NOT NULL), ', '),
           CASE WHEN key_id IS NOT NULL THEN printf(' with credential %s', key_id) ELSE '' END,
           CASE WHEN bool_or(other_added) THEN printf('; the credential was added at %s by %s%s',
                     strftime(min(added_at), '%Y-%m-%d %H:%M:%S'),
                     coalesce(array_to_string(list(DISTINCT actor_upn ORDER BY actor_upn) FILTER (WHERE actor_upn IS NOT NULL), ', '), 'another identity'),
                     CASE WHEN bool_or(by_compromised) THEN ', an account whose ' || max(by_verdict) ELSE '' END)
                ELSE '; no network or country it used before' END) AS summary,
    {'actor': {'type': any_value(actor_type), 'app_id': any_value(app_id), 'name': any_value(app_name)},
     'credential_key_ids': list(DISTINCT key_id ORDER BY key_id) FILTER (WHERE key_id IS NOT NULL),
     'matched_by_key_id': coalesce(bool_or(by_key), false),
     'credential_added_by': list(DISTINCT actor_upn ORDER BY actor_upn) FILTER (WHERE actor_upn IS NOT NULL),
     'credential_added_at': min(added_at), 'credential_added_recently': bool_or(other_added), 'added_by_compromised_account': bool_or(by_compromised),
     'new_network': bool_or(new_network), 'new_country': bool_or(new_country), 'prior_signins': min(history),
     'resources': list(DISTINCT resource ORDER BY resource) FILTER (WHERE resource IS NOT NULL),
     'audit_records': list(DISTINCT audit_ref ORDER BY audit_ref) FILTER (WHERE audit_ref IS NOT NULL),
     'sample_records': list(record_ref ORDER BY time, record_ref)[1:5]} AS evidence
FROM app_suspect
GROUP BY app_key, key_id
ORDER BY first_seen;
