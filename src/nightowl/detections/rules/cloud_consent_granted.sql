/* nightowl-detection
id = "cloud.consent_granted"
title = "Consent granted to an application"
category = "consent_grant"
severity = "medium"
attack = ["T1528", "T1098.003"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "resource", "permissions", "permissions_added", "critical_permissions",
  "high_permissions", "admin_consent", "all_principals", "app_only", "operations",
  "record_refs", "event_uids", "actor_compromised",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on the actors
tables = ["directory_audit"]
description = """
Someone consented to an application (Consent to application) or a delegated permission grant was
added or widened (Add delegated permission grant). The records of one consent share a correlation
id and become one finding. Severity follows what was granted and to whom: a scope that reads or
writes every mailbox or lets the app grant itself roles is critical; other mail, file and
directory scopes are high; a tenant-wide (admin or AllPrincipals) grant of harmless scopes is
medium; a user consenting to sign-in scopes (User.Read, openid, profile, email, offline_access)
is low. An actor flagged by the sign-in logs raises it to at least high.
"""
false_positives = [
  "Admins granting tenant-wide consent to a vetted line-of-business or SaaS application.",
  "Users consenting to well-known apps where user consent is allowed.",
]

[thresholds]
critical_permissions = { default = "full_access_as_app,Mail.ReadWrite,RoleManagement.ReadWrite.Directory,AppRoleAssignment.ReadWrite.All,Application.ReadWrite.All", anchor = "read/write every mailbox (Exchange full_access_as_app, Graph Mail.ReadWrite), or grant oneself any role or permission (RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All): Microsoft lists these among the permissions to review first after an illicit consent" }
high_permissions = { default = "Mail.Read,Mail.ReadBasic,Mail.ReadBasic.All,Mail.Send,Mail.Read.Shared,Mail.ReadWrite.Shared,MailboxSettings.ReadWrite,EWS.AccessAsUser.All,full_access_as_user,Exchange.ManageAsApp,Directory.ReadWrite.All,Directory.AccessAsUser.All,User.ReadWrite.All,Group.ReadWrite.All,Files.Read.All,Files.ReadWrite.All,Sites.Read.All,Sites.ReadWrite.All,Sites.FullControl.All,Policy.ReadWrite.ConditionalAccess,UserAuthenticationMethod.ReadWrite.All", anchor = "read mail, files or the directory at scale, or change identities and policy: the scopes consent-phishing apps ask for (Microsoft's app consent grant investigation playbook)" }
low_permissions = { default = "User.Read,openid,profile,email,offline_access,User.ReadBasic.All", anchor = "sign-in and basic profile scopes Microsoft classifies as low impact (permission classification 'low')" }
*/
CREATE OR REPLACE TEMP TABLE cloud_consents AS
SELECT d.*, coalesce(d.correlation_id, d.event_uid, d.record_ref) AS consent_key,
       coalesce(nullif(d.permissions_added, []), d.permissions, []) AS perms
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success'
  AND d.activity IN ('Consent to application', 'Add delegated permission grant', 'Add OAuth2PermissionGrant');

-- The app's name from any audit record that targets it, when the consent records leave it out
-- (a join, not a correlated subquery on an aggregate: Spark cannot run those).
CREATE OR REPLACE TEMP TABLE cloud_consent_groups AS
WITH target_names AS (
    SELECT t.id, max(t.name) AS name FROM directory_audit a, unnest(a.targets) u(t) GROUP BY t.id
), grouped AS (
SELECT c.consent_key,
       min(c.time) AS first_seen, max(c.time) AS last_seen,
       -- sorted: a distinct list's order is the engine's own (DuckDB and Spark differ), and the title shows it
       list_sort(list_distinct(flatten(list(c.perms)))) AS perms,
       list_sort(list_distinct(flatten(list(c.permissions)))) AS all_permissions,
       bool_or(coalesce(c.is_admin_consent, false)) AS admin_consent,
       bool_or(c.consent_type = 'AllPrincipals') AS all_principals,
       bool_or(coalesce(c.is_app_only, false)) AS app_only,
       any_value(c.app_object_id) AS app_key,
       max(c.app_name) AS named_app, max(c.app_id) AS app_id,
       max(c.resource_name) AS resource_name, max(c.resource_app_id) AS resource_app_id,
       any_value(c.actor_upn) AS actor_upn, any_value(c.actor_id) AS actor_id, any_value(c.actor_name) AS actor_name,
       any_value(c.actor_type) AS actor_type, any_value(c.actor_ip) AS actor_ip,
       max(c.target_upn) AS target_upn,
       list(DISTINCT c.activity ORDER BY c.activity) AS operations, list(c.record_ref ORDER BY c.time, c.record_ref) AS record_refs,
       list(c.event_uid ORDER BY c.time, c.event_uid) AS event_uids
FROM cloud_consents c
GROUP BY c.consent_key
)
SELECT g.consent_key, g.first_seen, g.last_seen, g.perms, g.all_permissions, g.admin_consent, g.all_principals,
       g.app_only, g.app_key, coalesce(g.named_app, n.name) AS app_name, g.app_id, g.resource_name,
       g.resource_app_id, g.actor_upn, g.actor_id, g.actor_name, g.actor_type, g.actor_ip, g.target_upn,
       g.operations, g.record_refs, g.event_uids
FROM grouped g LEFT JOIN target_names n ON n.id = g.app_key;

CREATE OR REPLACE TEMP TABLE cloud_consent_scored AS
SELECT g.*,
       list_filter(g.perms, lambda p: list_contains(string_split(lower(replace($critical_permissions, ' ', '')), ','), lower(p))) AS critical_hits,
       list_filter(g.perms, lambda p: list_contains(string_split(lower(replace($high_permissions, ' ', '')), ','), lower(p))) AS high_hits,
       list_filter(g.perms, lambda p: NOT list_contains(string_split(lower(replace($low_permissions, ' ', '')), ','), lower(p))) AS beyond_low,
       f.user_name IS NOT NULL AS actor_flagged, coalesce(f.compromised, false) AS actor_compromised,
       f.verdict AS actor_verdict
FROM cloud_consent_groups g
LEFT JOIN flagged_users f ON f.user_name = g.actor_upn AND f.compromised;

SELECT
    s.consent_key AS key,
    s.first_seen, s.last_seen,
    [s.actor_upn, s.target_upn] AS users,
    [s.actor_ip] AS source_ips,
    [{'id': s.app_key, 'name': s.app_name, 'type': 'ServicePrincipal'}] AS applications,
    CASE WHEN len(s.critical_hits) > 0 THEN 'critical'
         WHEN len(s.high_hits) > 0 OR s.actor_flagged THEN 'high'
         WHEN s.admin_consent OR s.all_principals OR len(s.beyond_low) > 0 THEN 'medium'
         ELSE 'low' END AS severity,
    printf('%s consent to %s: %s', CASE WHEN s.admin_consent OR s.all_principals THEN 'Tenant-wide' ELSE 'User' END,
           coalesce(s.app_name, s.app_key, '?'),
           coalesce(nullif(array_to_string(s.perms, ' '), ''), '(no scopes listed)')) AS title,
    printf('%s granted %s %s on %s at %s%s.',
           coalesce(s.actor_upn, s.actor_name, s.actor_id, 'someone'), coalesce(s.app_name, s.app_key, 'an application'),
           coalesce(nullif(array_to_string(s.all_permissions, ' '), ''), 'permissions'),
           coalesce(s.resource_name, 'a resource'), strftime(s.first_seen, '%Y-%m-%d %H:%M:%S'),
           CASE WHEN s.admin_consent OR s.all_principals THEN ' for every user in the tenant' ELSE '' END
           || CASE WHEN len(s.critical_hits) > 0 THEN '; ' || array_to_string(s.critical_hits, ', ') || ' reaches every mailbox or any role' ELSE '' END
           || CASE WHEN s.actor_flagged THEN '; the actor''s ' || s.actor_verdict ELSE '' END) AS summary,
    {'actor': {'type': s.actor_type, 'upn': s.actor_upn, 'id': s.actor_id, 'name': s.actor_name, 'ip': s.actor_ip},
     'target': {'type': 'ServicePrincipal', 'id': s.app_key, 'name': s.app_name, 'app_id': s.app_id},
     'resource': {'name': s.resource_name, 'app_id': s.resource_app_id},
     'permissions': s.all_permissions, 'permissions_added': s.perms,
     'critical_permissions': s.critical_hits, 'high_permissions': s.high_hits,
     'admin_consent': s.admin_consent, 'all_principals': s.all_principals, 'app_only': s.app_only,
     'operations': s.operations, 'record_refs': s.record_refs, 'event_uids': s.event_uids,
     'actor_compromised': s.actor_compromised} AS evidence
FROM cloud_consent_scored s
ORDER BY s.first_seen;
