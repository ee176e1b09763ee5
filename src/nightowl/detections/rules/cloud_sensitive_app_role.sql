/* nightowl-detection
id = "cloud.sensitive_app_role"
title = "Sensitive application permission granted to an application"
category = "sensitive_permission"
severity = "high"
attack = ["T1098.003", "T1114.002"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "resource", "permissions", "app_role_ids", "critical_permissions",
  "high_permissions", "operations", "record_refs", "event_uids", "actor_compromised",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on the actors
tables = ["directory_audit"]
description = """
An application permission (an app role of Microsoft Graph, Exchange Online, ...) was assigned to a
service principal (Add app role assignment to service principal). Application permissions need
no signed-in user: the app acts on the whole tenant. Exchange Online's full_access_as_app (role
dc890d15-9560-4a4c-9b7f-a736ec74ec40 on 00000002-0000-0ff1-ce00-000000000000) reads every mailbox
through EWS, which is how Midnight Blizzard read Microsoft's leadership mail; it, Mail.ReadWrite
and the roles that let an app grant itself anything are critical, other mail, file and directory
permissions high. Assignments of one admin action (one correlation id) are one finding;
assignments of permissions outside both lists are not reported.
"""
false_positives = [
  "An admin granting a vetted backup, archiving or security product its documented application permissions.",
]

[thresholds]
critical_permissions = { default = "full_access_as_app,Mail.ReadWrite,RoleManagement.ReadWrite.Directory,AppRoleAssignment.ReadWrite.All,Application.ReadWrite.All", anchor = "read/write every mailbox (Exchange full_access_as_app, Graph Mail.ReadWrite), or grant oneself any role or permission (RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All): Microsoft lists these among the permissions to review first after an illicit consent" }
high_permissions = { default = "Mail.Read,Mail.ReadBasic,Mail.ReadBasic.All,Mail.Send,Mail.Read.Shared,Mail.ReadWrite.Shared,MailboxSettings.ReadWrite,EWS.AccessAsUser.All,full_access_as_user,Exchange.ManageAsApp,Directory.ReadWrite.All,Directory.AccessAsUser.All,User.ReadWrite.All,Group.ReadWrite.All,Files.Read.All,Files.ReadWrite.All,Sites.Read.All,Sites.ReadWrite.All,Sites.FullControl.All,Policy.ReadWrite.ConditionalAccess,UserAuthenticationMethod.ReadWrite.All", anchor = "read mail, files or the directory at scale, or change identities and policy: the scopes consent-phishing apps ask for (Microsoft's app consent grant investigation playbook)" }
exchange_full_access_role = { default = "dc890d15-9560-4a4c-9b7f-a736ec74ec40", anchor = "Exchange Online app role full_access_as_app: matched by id too, because some records leave AppRole.Value empty" }
*/
CREATE OR REPLACE TEMP TABLE cloud_app_roles AS
SELECT d.*,
       CASE WHEN d.app_role_id = lower($exchange_full_access_role) AND NOT list_contains(d.permissions, 'full_access_as_app')
            THEN list_append(coalesce(d.permissions, []), 'full_access_as_app') ELSE coalesce(d.permissions, []) END AS perms
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success'
  AND d.activity = 'Add app role assignment to service principal';

CREATE OR REPLACE TEMP TABLE cloud_app_role_hits AS
SELECT r.*,
       list_filter(r.perms, lambda p: list_contains(string_split(lower(replace($critical_permissions, ' ', '')), ','), lower(p))) AS critical_hits,
       list_filter(r.perms, lambda p: list_contains(string_split(lower(replace($high_permissions, ' ', '')), ','), lower(p))) AS high_hits
FROM cloud_app_roles r;

SELECT
    coalesce(h.app_object_id, h.app_name, '?') || '#' || coalesce(h.correlation_id, h.event_uid, h.record_ref) AS key,
    min(h.time) AS first_seen, max(h.time) AS last_seen,
    list(DISTINCT h.actor_upn ORDER BY h.actor_upn) AS users,
    list(DISTINCT h.actor_ip ORDER BY h.actor_ip) AS source_ips,
    [{'id': any_value(h.app_object_id), 'name': max(h.app_name), 'type': 'ServicePrincipal'}] AS applications,
    CASE WHEN len(flatten(list(h.critical_hits))) > 0 THEN 'critical' ELSE 'high' END AS severity,
    printf('%s granted %s', coalesce(max(h.app_name), any_value(h.app_object_id), '?'),
           array_to_string(list_sort(list_distinct(flatten(list(h.critical_hits)) || flatten(list(h.high_hits)))), ', ')) AS title,
    printf('%s assigned the application permission(s) %s on %s to %s at %s%s.',
           coalesce(any_value(h.actor_upn), any_value(h.actor_name), 'someone'),
           array_to_string(list_sort(list_distinct(flatten(list(h.perms)))), ', '), coalesce(max(h.resource_name), 'a resource'),
           coalesce(max(h.app_name), any_value(h.app_object_id), 'an application'), strftime(min(h.time), '%Y-%m-%d %H:%M:%S'),
           CASE WHEN list_contains(flatten(list(h.perms)), 'full_access_as_app')
                THEN ': the app can now read every mailbox through EWS without a user' ELSE '' END
           || CASE WHEN bool_or(f.user_name IS NOT NULL) THEN '; the actor''s ' || max(f.verdict) ELSE '' END) AS summary,
    {'actor': {'type': any_value(h.actor_type), 'upn': any_value(h.actor_upn), 'id': any_value(h.actor_id),
               'name': any_value(h.actor_name), 'ip': any_value(h.actor_ip)},
     'target': {'type': 'ServicePrincipal', 'id': any_value(h.app_object_id), 'name': max(h.app_name), 'app_id': max(h.app_id)},
     'resource': {'id': max(h.resource_id), 'name': max(h.resource_name), 'app_id': max(h.resource_app_id)},
     'permissions': list_sort(list_distinct(flatten(list(h.perms)))), 'app_role_ids': list(DISTINCT h.app_role_id ORDER BY h.app_role_id),
     'critical_permissions': list_sort(list_distinct(flatten(list(h.critical_hits)))),
     'high_permissions': list_sort(list_distinct(flatten(list(h.high_hits)))),
     'operations': list(DISTINCT h.activity ORDER BY h.activity), 'record_refs': list(h.record_ref ORDER BY h.time),
     'event_uids': list(h.event_uid ORDER BY h.time, h.event_uid), 'actor_compromised': bool_or(f.user_name IS NOT NULL)} AS evidence
FROM cloud_app_role_hits h
LEFT JOIN flagged_users f ON f.user_name = h.actor_upn AND f.compromised
WHERE len(h.critical_hits) > 0 OR len(h.high_hits) > 0
GROUP BY ALL
ORDER BY first_seen;
