/* nightowl-detection
id = "cloud.privileged_role_assignment"
title = "Privileged directory role assigned"
category = "privilege_escalation"
severity = "high"
attack = ["T1098.003"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "role", "operations", "record_refs", "event_uids", "logged_by_service",
  "actor_compromised",
]
stage = 3  # reads flagged_users: the identity detections' verdicts on the actors
tables = ["directory_audit"]
description = """
A user or service principal was given a privileged Entra ID role (Add member to role, Add
eligible member to role, the PIM "completed" variants). Global Administrator, Privileged Role
Administrator and Privileged Authentication Administrator given directly are critical; other
privileged roles high; an eligible (not yet active) assignment one step lower; a PIM activation by
someone already eligible is routine (medium for the top tier, low otherwise). A role given to a
service principal is at least high (an app with a directory role is a quiet backdoor), and any
assignment made by an account the sign-in logs flag is critical. PIM requests are not reported,
only completed assignments.
"""
false_positives = [
  "Planned admin onboarding, break-glass account maintenance, PIM activations by eligible admins.",
]

[thresholds]
tier0_roles = { default = "Global Administrator,Company Administrator,Privileged Role Administrator,Privileged Authentication Administrator", anchor = "roles that can make anyone Global Administrator or reset any admin's credentials: Microsoft's 'privileged' top tier (Company Administrator is Global Administrator's old name in logs)" }
tier0_role_ids = { default = "62e90394-69f5-4237-9190-012177145e10,e8611ab8-c189-46e8-94e1-60213ab1f814,7be44c8a-adaf-4e2a-84d6-ab2649e08a13", anchor = "template ids of Global Administrator, Privileged Role Administrator and Privileged Authentication Administrator (the same in every tenant)" }
privileged_roles = { default = "Application Administrator,Cloud Application Administrator,Exchange Administrator,Security Administrator,User Administrator,Authentication Administrator,Authentication Policy Administrator,Hybrid Identity Administrator,Conditional Access Administrator,SharePoint Administrator,Intune Administrator,Helpdesk Administrator,Groups Administrator,Directory Writers,Domain Name Administrator,External Identity Provider Administrator,Partner Tier2 Support,Teams Administrator,Compliance Administrator,eDiscovery Administrator", anchor = "built-in roles Microsoft marks PRIVILEGED: they can change credentials, apps, mail or policy of other users" }
*/
CREATE OR REPLACE TEMP TABLE cloud_role_assignments AS
SELECT d.*,
       list_contains(string_split(lower($tier0_roles), ','), lower(trim(d.role_name)))
         OR list_contains(string_split(lower($tier0_role_ids), ','), d.role_template_id) AS tier0,
       list_contains(string_split(lower($privileged_roles), ','), lower(trim(d.role_name))) AS privileged,
       d.activity LIKE '%PIM activation%' AS activation,
       d.activity ILIKE 'Add eligible member%' AS eligible,
       list_filter(d.targets, lambda t: t.type = 'ServicePrincipal') AS sp_targets
FROM directory_audit d
WHERE coalesce(d.result, 'success') = 'success'
  AND d.activity ILIKE 'Add %member to role%'
  AND d.activity NOT ILIKE '%request%';

SELECT
    coalesce(r.event_uid, r.record_ref) AS key,
    r.time AS first_seen, r.time AS last_seen,
    [r.actor_upn, r.target_upn] AS users,
    [r.actor_ip] AS source_ips,
    list_transform(r.sp_targets, lambda t: {'id': t.id, 'name': t.name, 'type': t.type}) AS applications,
    CASE WHEN f.user_name IS NOT NULL THEN 'critical'
         WHEN r.activation THEN CASE WHEN r.tier0 THEN 'medium' ELSE 'low' END
         WHEN r.tier0 AND NOT r.eligible THEN 'critical'
         WHEN r.tier0 OR len(r.sp_targets) > 0 THEN 'high'
         WHEN r.eligible THEN 'medium'
         ELSE 'high' END AS severity,
    printf('%s %s to %s', coalesce(r.role_name, r.role_template_id, 'A directory role'),
           CASE WHEN r.activation THEN 'activated' WHEN r.eligible THEN 'made eligible' ELSE 'assigned' END,
           coalesce(r.target_upn, r.sp_targets[1].name, r.target_name, r.target_id, '?')) AS title,
    printf('%s gave %s the role %s at %s (%s)%s.',
           coalesce(r.actor_upn, r.actor_name, r.actor_id, 'someone'),
           coalesce(r.target_upn, r.sp_targets[1].name, r.target_name, r.target_id, '?'),
           coalesce(r.role_name, r.role_template_id, '?'), strftime(r.time, '%Y-%m-%d %H:%M:%S'), r.activity,
           CASE WHEN f.user_name IS NOT NULL THEN '; the actor''s ' || f.verdict ELSE '' END) AS summary,
    {'actor': {'type': r.actor_type, 'upn': r.actor_upn, 'id': r.actor_id, 'name': r.actor_name, 'ip': r.actor_ip},
     'target': {'type': r.target_type, 'id': r.target_id, 'name': r.target_name, 'upn': r.target_upn},
     'role': {'name': r.role_name, 'template_id': r.role_template_id, 'tier0': r.tier0},
     'operations': [r.activity], 'record_refs': [r.record_ref], 'event_uids': [r.event_uid],
     'logged_by_service': r.logged_by_service, 'actor_compromised': f.user_name IS NOT NULL} AS evidence
FROM cloud_role_assignments r
LEFT JOIN flagged_users f ON f.user_name = r.actor_upn AND f.compromised
WHERE r.tier0 OR r.privileged
ORDER BY r.time;
