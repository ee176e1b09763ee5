/* nightowl-detection
id = "cloud.app_credential_added"
title = "Credential added to an application or service principal"
category = "app_credential"
severity = "medium"
attack = ["T1098.001"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "operations", "record_refs", "event_uids", "credentials_before",
  "credentials_after", "credential_types", "credential_key_ids", "prior_credential_events",
  "days_since_previous_activity", "actor_compromised", "user_agent", "correlation_id",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on the actors
tables = ["directory_audit"]
description = """
A client secret or certificate was added to an application registration or a service principal
(Update application – Certificates and secrets management; Add service principal credentials).
An attacker who controls an account that owns or administers an app adds their own credential to
it, then signs in as the app with whatever permissions it holds: Midnight Blizzard did this to a
legacy test OAuth application. High when the app had no credential before and none was ever
rotated in the logs, when the app had been untouched for a long time, or when the account that
added it was compromised according to the sign-in detections (its password confirmed by a password attack); low for a routine rotation on
an app with a history of rotations.
"""
false_positives = [
  "Routine secret rotation by the app's owner or an automation account (low: the app has earlier rotations).",
  "A new integration being set up by its owner (its first credential): confirm with the owner.",
]

[thresholds]
dormant_days = { default = 90, anchor = "an app with no directory change for a quarter that suddenly gets a credential is the 'legacy test app' pattern; quarterly is also the longest common rotation reminder" }
*/
CREATE OR REPLACE TEMP TABLE cloud_cred_events AS
SELECT d.*, coalesce(d.app_object_id, d.target_id) AS app_key
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success'
  AND (d.activity = 'Add service principal credentials'
       OR rtrim(d.activity) = 'Update application – Certificates and secrets management'
       OR coalesce(d.credentials_added, 0) > 0)
  AND coalesce(d.credentials_added, 1) > 0;

CREATE OR REPLACE TEMP TABLE cloud_cred_context AS
SELECT c.record_ref,
       (SELECT count(*) FROM cloud_cred_events p
         WHERE p.app_key = c.app_key AND p.time < c.time
           AND coalesce(p.correlation_id, '') <> coalesce(c.correlation_id, '-')) AS prior_credential_events,
       (SELECT max(a.time) FROM directory_audit a
         WHERE (a.target_id = c.app_key OR a.app_object_id = c.app_key
                OR (c.app_name IS NOT NULL AND lower(a.app_name) = lower(c.app_name)))
           AND a.time < c.time - INTERVAL 1 MINUTE
           AND coalesce(a.correlation_id, '') <> coalesce(c.correlation_id, '-')) AS previous_activity
FROM cloud_cred_events c;

SELECT
    coalesce(c.event_uid, c.record_ref) AS key,
    c.time AS first_seen, c.time AS last_seen,
    [c.actor_upn] AS users,
    [c.actor_ip] AS source_ips,
    [{'id': c.app_key, 'name': c.app_name, 'type': c.target_type}] AS applications,
    CASE WHEN f.user_name IS NOT NULL
              OR (c.credentials_before = 0 AND x.prior_credential_events = 0)
              OR (x.prior_credential_events = 0 AND x.previous_activity IS NOT NULL
                  AND c.time - x.previous_activity >= to_days($dormant_days::INTEGER)) THEN 'high'
         WHEN x.prior_credential_events > 0 AND coalesce(c.credentials_before, 1) > 0 THEN 'low'
         ELSE 'medium' END AS severity,
    printf('%s added to %s %s', CASE WHEN list_contains(c.credential_types, 'AsymmetricX509Cert') THEN 'Certificate'
                                     ELSE 'Secret' END,
           CASE WHEN c.target_type = 'ServicePrincipal' THEN 'service principal' ELSE 'application' END,
           coalesce(c.app_name, c.app_key, '?')) AS title,
    printf('%s added a credential to %s at %s (%s before, %s after; %d earlier rotation(s) in the logs%s%s).',
           coalesce(c.actor_upn, c.actor_name, c.actor_id, 'someone'), coalesce(c.app_name, c.app_key, '?'),
           strftime(c.time, '%Y-%m-%d %H:%M:%S'), coalesce(c.credentials_before::VARCHAR, '?'),
           coalesce(c.credentials_after::VARCHAR, '?'), x.prior_credential_events,
           CASE WHEN x.previous_activity IS NULL THEN ''
                ELSE printf('; previous change to the app %d day(s) before', date_diff('day', x.previous_activity, c.time)) END,
           CASE WHEN f.user_name IS NULL THEN ''
                ELSE '; the actor''s ' || f.verdict END) AS summary,
    {'actor': {'type': c.actor_type, 'upn': c.actor_upn, 'id': c.actor_id, 'name': c.actor_name,
               'app_id': c.actor_app_id, 'ip': c.actor_ip},
     'target': {'type': c.target_type, 'id': c.target_id, 'name': c.target_name, 'app_id': c.app_id},
     'operations': [c.activity], 'record_refs': [c.record_ref], 'event_uids': [c.event_uid],
     'credentials_before': c.credentials_before, 'credentials_after': c.credentials_after,
     'credential_types': c.credential_types, 'credential_key_ids': c.credential_key_ids_added,
     'prior_credential_events': x.prior_credential_events,
     'days_since_previous_activity': date_diff('day', x.previous_activity, c.time),
     'actor_compromised': coalesce(f.compromised, false),
     'user_agent': c.user_agent, 'correlation_id': c.correlation_id} AS evidence
FROM cloud_cred_events c
JOIN cloud_cred_context x ON x.record_ref = c.record_ref
LEFT JOIN flagged_users f ON f.user_name = c.actor_upn AND f.compromised
ORDER BY c.time;
