/* nightowl-detection
id = "cloud.new_application"
title = "New application or service principal"
category = "new_application"
severity = "low"
attack = ["T1136.003", "T1098.001"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "operations", "record_refs", "event_uids", "armed_by", "armed_records",
  "armed_permissions", "actor_flagged",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on the actors
tables = ["directory_audit"]
description = """
An application was registered (Add application) or a service principal created (Add service
principal). On its own this is everyday administration (low). It matters when the new app is armed
soon after: it receives a credential, a consent or an application permission within hours
(medium: the attacker's pattern of creating an app to persist), or when the account that created
it was compromised according to the sign-in detections (its password confirmed by a password attack) (high).
"""
false_positives = [
  "Developers and admins register apps every week; first-party Microsoft service principals appear when a product is first used.",
]

[thresholds]
armed_within_hours = { default = 24, anchor = "Midnight Blizzard created and granted its OAuth applications within the same intrusion session; a day covers a slow operator" }
*/
CREATE OR REPLACE TEMP TABLE cloud_new_apps AS
SELECT d.*, coalesce(d.app_object_id, d.target_id) AS app_key, lower(coalesce(d.app_name, d.target_name)) AS app_lname
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success'
  AND d.activity IN ('Add application', 'Add service principal');

-- What the app received after it was created: a credential, a consent, an app role (matched by
-- object id, appId or name, since Entra logs the application and its service principal apart).
CREATE OR REPLACE TEMP TABLE cloud_new_app_armed AS
SELECT n.record_ref,
       list(DISTINCT a.activity ORDER BY a.activity) AS armed_by,
       list(DISTINCT a.record_ref ORDER BY a.record_ref) AS armed_refs,
       flatten(list(a.permissions_added)) AS armed_permissions
FROM cloud_new_apps n
JOIN directory_audit a
  ON a.time BETWEEN n.time AND n.time + to_hours($armed_within_hours::INTEGER)
 AND a.record_ref <> n.record_ref
 AND coalesce(a.result, 'success') = 'success'
 AND (a.app_object_id = n.app_key OR a.target_id = n.app_key
      OR (n.app_id IS NOT NULL AND a.app_id = n.app_id)
      OR (n.app_lname IS NOT NULL AND lower(a.app_name) = n.app_lname))
 AND (a.activity IN ('Add service principal credentials', 'Consent to application', 'Add delegated permission grant',
                     'Add app role assignment to service principal', 'Add OAuth2PermissionGrant')
      OR rtrim(a.activity) = 'Update application – Certificates and secrets management'
      OR coalesce(a.credentials_added, 0) > 0)
GROUP BY n.record_ref;

SELECT
    coalesce(n.app_lname, n.app_key) || '#' || coalesce(n.actor_upn, n.actor_id, '?') AS key,
    min(n.time) AS first_seen, max(n.time) AS last_seen,
    list(DISTINCT n.actor_upn ORDER BY n.actor_upn) AS users,
    list(DISTINCT n.actor_ip ORDER BY n.actor_ip) AS source_ips,
    list(DISTINCT {'id': n.app_key, 'name': coalesce(n.app_name, n.target_name), 'type': n.target_type} ORDER BY {'id': n.app_key, 'name': coalesce(n.app_name, n.target_name), 'type': n.target_type}) AS applications,
    CASE WHEN bool_or(f.user_name IS NOT NULL) THEN 'high'
         WHEN bool_or(x.record_ref IS NOT NULL) THEN 'medium'
         ELSE 'low' END AS severity,
    printf('New %s %s', CASE WHEN bool_and(n.activity = 'Add service principal') THEN 'service principal' ELSE 'application' END,
           coalesce(min(n.app_name), min(n.app_key), '?')) AS title,
    printf('%s created %s at %s%s%s.', coalesce(min(n.actor_upn), min(n.actor_name), 'someone'),
           coalesce(min(n.app_name), min(n.app_key), '?'), strftime(min(n.time), '%Y-%m-%d %H:%M:%S'),
           CASE WHEN bool_or(x.record_ref IS NOT NULL)
                THEN '; within hours it received: ' || array_to_string(list_sort(list_distinct(flatten(list(x.armed_by)))), ', ')
                ELSE '' END,
           CASE WHEN bool_or(f.user_name IS NOT NULL) THEN '; the creator''s ' || max(f.verdict) ELSE '' END) AS summary,
    -- the actor and the target as the first record names them (an application and its service
    -- principal are two records with two object ids: one record's fields, never a mix of both)
    {'actor': list({'type': n.actor_type, 'upn': n.actor_upn, 'id': n.actor_id, 'name': n.actor_name, 'ip': n.actor_ip}
                   ORDER BY n.time, n.record_ref)[1],
     'target': list({'type': n.target_type, 'id': n.app_key, 'name': n.app_name, 'app_id': n.app_id}
                    ORDER BY n.time, n.record_ref)[1],
     'operations': list(DISTINCT n.activity ORDER BY n.activity), 'record_refs': list(n.record_ref ORDER BY n.time),
     'event_uids': list(n.event_uid ORDER BY n.time, n.event_uid),
     'armed_by': list_sort(list_distinct(flatten(list(x.armed_by)))), 'armed_records': list_sort(list_distinct(flatten(list(x.armed_refs)))),
     'armed_permissions': list_sort(list_distinct(flatten(list(x.armed_permissions)))),
     'actor_flagged': bool_or(f.user_name IS NOT NULL)} AS evidence
FROM cloud_new_apps n
LEFT JOIN cloud_new_app_armed x ON x.record_ref = n.record_ref
LEFT JOIN flagged_users f ON f.user_name = n.actor_upn AND f.compromised
GROUP BY ALL
ORDER BY first_seen;
