/* nightowl-detection
id = "cloud.app_mailbox_access"
title = "Application reading mailboxes"
category = "mailbox_access"
severity = "medium"
attack = ["T1114.002"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "actor", "target", "apis", "client_info", "logon_types", "access_types", "folders",
  "throttled", "established", "active_days", "operations", "record_refs", "event_uids",
]
tables = ["mail_access"]
description = """
MailItemsAccessed records show mail read by an OAuth application that is not one of Microsoft's
own mail clients, through Graph (Client=REST) or EWS (Client=WebServices). One finding per
application: which mailboxes, how many items, from where. An app that reads many mailboxes is
critical (Midnight Blizzard's OAuth app read leadership mailboxes with full_access_as_app); an
app reading mail that is not its signed-in user's own (app-only or delegate access), or more than
one mailbox, is high; a third-party app reading one user's own mailbox on that user's behalf is
medium. Outlook, OWA, Outlook mobile and Teams reading their user's own mail are never reported.
History lowers the severity: an app that was already reading mail when the logs begin and reads on
many distinct days is an established integration (backup, archiving); it stays visible at medium so
an analyst can confirm it, while an app that starts reading mid-period keeps its severity.
"""
false_positives = [
  "Backup, archiving, e-discovery and CRM integrations that read mail by design (they read many mailboxes every day: compare with their history).",
  "Third-party mail clients a user signed in to (one mailbox, their own).",
]

[thresholds]
critical_mailboxes = { default = 5, anchor = "an app on one user's behalf touches one mailbox; 5+ distinct mailboxes from one app is collection across the organisation (Midnight Blizzard targeted a small set of leadership mailboxes)" }
established_hours = { default = 24, anchor = "an app whose first read falls within a day of the first mail-audit record was reading before the logs begin" }
established_min_days = { default = 7, anchor = "reads on at least a week of distinct days: a steady integration, not a one-off collection burst" }
first_party_clients = { default = "00000002-0000-0ff1-ce00-000000000000,d3590ed6-52b3-4102-aeff-aad2292ab01c,27922004-5251-4030-b22d-91ecd9a37ea4,1fec8e78-bce4-4aaf-ab1b-5451cc387264,5e3ce6c0-2b1f-4285-8d4b-75ee78787346,4765445b-32c6-49b0-83e6-1d93765276ca,5d661950-3475-41cd-a2c3-d671a3162bc1,9199bf20-a13f-4107-85dc-02114787ef48", anchor = "appIds of Exchange Online (OWA), Microsoft Office (Outlook desktop), Outlook Mobile, Teams, Teams web, Office web, new Outlook and Outlook on the web: Microsoft's own clients reading their user's mail" }
*/
CREATE OR REPLACE TEMP TABLE cloud_app_mail AS
SELECT m.*,
       coalesce(m.user_id = m.mailbox_owner, false) AS own_mailbox,
       coalesce(m.logon_type NOT IN ('Owner'), false) OR NOT contains(coalesce(m.user_id, ''), '@') AS not_owner_access
FROM mail_access m
WHERE m.operation = 'MailItemsAccessed'
  AND coalesce(lower(m.result_status), 'succeeded') IN ('succeeded', 'success', 'true')
  AND m.client_app_id IS NOT NULL
  AND NOT list_contains(string_split(lower(replace($first_party_clients, ' ', '')), ','), m.client_app_id);

-- Per app: did it read mail from the start of the logs, on many days (an established integration)?
CREATE OR REPLACE TEMP TABLE cloud_app_mail_history AS
SELECT client_app_id,
       min(time) <= (SELECT min(time) FROM mail_access) + to_hours($established_hours)
       AND count(DISTINCT CAST(time AS DATE)) >= $established_min_days AS established,
       count(DISTINCT CAST(time AS DATE)) AS active_days
FROM cloud_app_mail GROUP BY 1;

-- A name for every app id: from any record that carries it (CloudAppEvents rows do).
CREATE OR REPLACE TEMP TABLE cloud_app_mail_names AS
SELECT client_app_id, max(client_app_name) AS name FROM mail_access WHERE client_app_name IS NOT NULL GROUP BY 1;

SELECT
    a.client_app_id AS key,
    min(a.time) AS first_seen, max(a.time) AS last_seen,
    list_sort(list_distinct(list(a.mailbox_owner) || list(a.user_id) FILTER (WHERE contains(a.user_id, '@')))) AS users,
    list(DISTINCT a.client_ip ORDER BY a.client_ip) AS source_ips,
    [{'id': a.client_app_id, 'name': any_value(n.name), 'type': 'AppId'}] AS applications,
    list(DISTINCT a.mailbox_owner ORDER BY a.mailbox_owner) FILTER (WHERE a.mailbox_owner IS NOT NULL) AS mailboxes,
    count(DISTINCT coalesce(a.mailbox_owner, a.mailbox_guid)) AS n_mailboxes,
    sum(coalesce(a.items, 0)) AS n_items,
    count(DISTINCT a.event_uid) AS n_records,
    CASE WHEN any_value(h.established) THEN 'medium'
         WHEN count(DISTINCT coalesce(a.mailbox_owner, a.mailbox_guid)) >= $critical_mailboxes THEN 'critical'
         WHEN count(DISTINCT coalesce(a.mailbox_owner, a.mailbox_guid)) > 1 OR bool_or(a.not_owner_access) OR bool_or(NOT a.own_mailbox)
         THEN 'high'
         ELSE 'medium' END AS severity,
    printf('%s read %d mailbox(es) through %s', coalesce(any_value(n.name), a.client_app_id),
           count(DISTINCT coalesce(a.mailbox_owner, a.mailbox_guid)),
           array_to_string(list_sort(list_distinct(list(CASE WHEN a.client_info ILIKE '%WebServices%' OR a.app_id = '00000002-0000-0ff1-ce00-000000000000' THEN 'EWS'
                                                   WHEN a.client_info ILIKE '%REST%' OR a.app_id = '00000003-0000-0000-c000-000000000000' THEN 'Graph'
                                                   ELSE coalesce(a.client_info, '?') END))), ', ')) AS title,
    printf('Application %s (%s) read %d item(s) in %d mailbox(es) (%s) between %s and %s from %s; %s.',
           coalesce(any_value(n.name), '?'), a.client_app_id, sum(coalesce(a.items, 0)),
           count(DISTINCT coalesce(a.mailbox_owner, a.mailbox_guid)),
           array_to_string(list(DISTINCT a.mailbox_owner ORDER BY a.mailbox_owner)[1:5], ', '),
           strftime(min(a.time), '%Y-%m-%d %H:%M'), strftime(max(a.time), '%Y-%m-%d %H:%M'),
           coalesce(array_to_string(list(DISTINCT a.client_ip ORDER BY a.client_ip), ', '), '?'),
           CASE WHEN bool_or(a.not_owner_access) OR bool_or(NOT a.own_mailbox) THEN 'access was not by the mailbox owner (app-only or delegate)'
                ELSE 'on behalf of the signed-in mailbox owner (delegated permission)' END
           || CASE WHEN any_value(h.established) THEN printf('; it has read mail since the logs begin, on %d days: an established integration to confirm', any_value(h.active_days)) ELSE '' END) AS summary,
    {'actor': {'type': 'application', 'app_id': a.client_app_id, 'name': any_value(n.name),
               'user_ids': list(DISTINCT a.user_id ORDER BY a.user_id)},
     'target': {'type': 'mailboxes', 'mailboxes': list(DISTINCT a.mailbox_owner ORDER BY a.mailbox_owner)},
     'apis': list(DISTINCT a.app_id ORDER BY a.app_id), 'client_info': list(DISTINCT a.client_info ORDER BY a.client_info),
     'logon_types': list(DISTINCT a.logon_type ORDER BY a.logon_type), 'access_types': list(DISTINCT a.mail_access_type ORDER BY a.mail_access_type),
     'folders': list_sort(list_distinct(flatten(list(a.folders)))), 'throttled': bool_or(coalesce(a.is_throttled, false)),
     'established': any_value(h.established), 'active_days': any_value(h.active_days),
     'operations': list(DISTINCT a.operation ORDER BY a.operation), 'record_refs': list(a.record_ref ORDER BY a.time)[1:20],
     'event_uids': list(a.event_uid ORDER BY a.time, a.event_uid)[1:20]} AS evidence
FROM cloud_app_mail a
LEFT JOIN cloud_app_mail_names n USING (client_app_id)
LEFT JOIN cloud_app_mail_history h USING (client_app_id)
GROUP BY a.client_app_id
ORDER BY first_seen;
