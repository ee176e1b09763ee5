/* nightowl-detection
id = "cloud.new_user_then_privilege"
title = "New user soon grants consent, receives a role or arms an application"
category = "privilege_escalation"
severity = "high"
attack = ["T1136.003", "T1098.003", "T1528"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "created", "followups", "roles", "permissions", "operations",
  "record_refs", "event_uids",
]
tables = ["directory_audit"]
description = """
A user account was created (Add user) and within hours that account consented to an application,
assigned an application permission, added a credential to an app, or was itself given a
privileged directory role. Midnight Blizzard created accounts to grant its OAuth apps consent:
a brand-new account that immediately exercises or receives privilege is rarely an onboarding.
Critical when what followed was a top-tier role or a critical permission.
"""
false_positives = [
  "A new administrator onboarded and given a role the same day (check the ticket).",
  "Service accounts created by a provisioning tool that immediately configures an app.",
]

[thresholds]
within_hours = { default = 24, anchor = "the accounts Midnight Blizzard created were used within the same intrusion session; a day covers a slow operator and keeps next-week onboarding out" }
critical_permissions = { default = "full_access_as_app,Mail.ReadWrite,RoleManagement.ReadWrite.Directory,AppRoleAssignment.ReadWrite.All,Application.ReadWrite.All", anchor = "read/write every mailbox (Exchange full_access_as_app, Graph Mail.ReadWrite), or grant oneself any role or permission (RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All): Microsoft lists these among the permissions to review first after an illicit consent" }
tier0_roles = { default = "Global Administrator,Company Administrator,Privileged Role Administrator,Privileged Authentication Administrator", anchor = "roles that can make anyone Global Administrator or reset any admin's credentials: Microsoft's 'privileged' top tier (Company Administrator is Global Administrator's old name in logs)" }
tier0_role_ids = { default = "62e90394-69f5-4237-9190-012177145e10,e8611ab8-c189-46e8-94e1-60213ab1f814,7be44c8a-adaf-4e2a-84d6-ab2649e08a13", anchor = "template ids of Global Administrator, Privileged Role Administrator and Privileged Authentication Administrator (the same in every tenant)" }
*/
CREATE OR REPLACE TEMP TABLE cloud_created_users AS
SELECT d.time AS created, d.target_upn AS new_user, d.target_id AS new_user_id,
       d.actor_upn AS creator, d.actor_ip AS creator_ip, d.record_ref AS created_ref, d.event_uid AS created_uid
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success' AND d.activity = 'Add user' AND d.target_upn IS NOT NULL;

CREATE OR REPLACE TEMP TABLE cloud_new_user_followups AS
SELECT u.*, a.time, a.activity, a.record_ref, a.actor_ip, a.app_object_id, a.app_name, a.role_name, a.role_template_id,
       coalesce(nullif(a.permissions_added, []), a.permissions, []) AS perms,
       CASE WHEN a.actor_upn = u.new_user THEN 'by the new user' ELSE 'to the new user' END AS direction
FROM cloud_created_users u
JOIN directory_audit a
  ON a.time > u.created AND a.time <= u.created + to_hours($within_hours::INTEGER)
 AND coalesce(a.result, 'success') = 'success'
 AND ((a.actor_upn = u.new_user
       AND (a.activity IN ('Consent to application', 'Add delegated permission grant', 'Add OAuth2PermissionGrant',
                           'Add app role assignment to service principal', 'Add service principal credentials',
                           'Add application', 'Add service principal', 'Add owner to application',
                           'Add owner to service principal')
            OR rtrim(a.activity) = 'Update application – Certificates and secrets management'
            OR a.activity ILIKE 'Add %member to role%'))
      OR ((a.target_upn = u.new_user OR a.target_id = u.new_user_id)
          AND a.activity ILIKE 'Add %member to role%' AND a.activity NOT ILIKE '%request%'));

SELECT
    new_user AS key,
    min(created) AS first_seen, max(time) AS last_seen,
    list_sort(list_distinct([any_value(creator), new_user])) AS users,
    list(DISTINCT actor_ip ORDER BY actor_ip) || list(DISTINCT creator_ip ORDER BY creator_ip) AS source_ips,
    list(DISTINCT {'id': app_object_id, 'name': app_name, 'type': 'ServicePrincipal'} ORDER BY {'id': app_object_id, 'name': app_name, 'type': 'ServicePrincipal'}) FILTER (WHERE app_object_id IS NOT NULL) AS applications,
    CASE WHEN bool_or(list_contains(string_split(lower($tier0_roles), ','), lower(trim(role_name)))
                      OR list_contains(string_split(lower($tier0_role_ids), ','), role_template_id))
              OR len(list_filter(flatten(list(perms)), lambda p: list_contains(string_split(lower(replace($critical_permissions, ' ', '')), ','), lower(p)))) > 0
         THEN 'critical' ELSE 'high' END AS severity,
    printf('New user %s: %s within %d h of creation', new_user,
           array_to_string(list_sort(list_distinct(list(activity))), ', '),
           ceil(date_diff('minute', min(created), max(time)) / 60)::INTEGER) AS title,
    printf('%s created %s at %s; then %s.', coalesce(any_value(creator), 'someone'), new_user,
           strftime(min(created), '%Y-%m-%d %H:%M:%S'),
           array_to_string(list(printf('%s %s at %s%s', activity, direction, strftime(time, '%H:%M:%S'),
                                       CASE WHEN len(perms) > 0 THEN ' (' || array_to_string(perms, ' ') || ')'
                                            WHEN role_name IS NOT NULL THEN ' (' || role_name || ')' ELSE '' END)
                                ORDER BY time, activity, direction), '; ')) AS summary,
    {'actor': {'type': 'user', 'upn': any_value(creator)},
     'target': {'type': 'User', 'upn': new_user, 'id': any_value(new_user_id)},
     'created': min(created), 'followups': list(DISTINCT activity ORDER BY activity), 'roles': coalesce(list(DISTINCT role_name ORDER BY role_name) FILTER (WHERE role_name IS NOT NULL), []),
     'permissions': list_sort(list_distinct(flatten(list(perms)))),
     'operations': list_sort(list_distinct(['Add user'] || list(activity))),
     'record_refs': list_sort(list_distinct([any_value(created_ref)] || list(record_ref ORDER BY time))),
     'event_uids': [any_value(created_uid)]} AS evidence
FROM cloud_new_user_followups
GROUP BY new_user
ORDER BY first_seen;
