/* nightowl-detection
id = "kerberos.no_preauth"
title = "Account issued Kerberos tickets without pre-authentication (AS-REP roastable)"
category = "roastable_account"
severity = "low"
attack = ["T1558.004"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "domain_controllers", "sample_records",
]
description = """
A domain controller issued a TGT for this account without pre-authentication (4768 with
PreAuthType 0): the account has "Do not require Kerberos preauthentication" set, so anyone can ask
for a ticket and crack its encrypted part offline. No password was checked, so this is not a
compromise; it is an exposure, and a warning when the requests come from an unusual source.
"""
false_positives = [
  "Legacy Unix/Java Kerberos clients that cannot pre-authenticate and need the flag; still roastable, so use a long random password.",
]
*/
SELECT
    user_name AS key,
    min(time) AS first_seen, max(time) AS last_seen, [user_name] AS users,
    list(DISTINCT coalesce(src_endpoint_ip, 'host:' || lower(src_endpoint_hostname)))
        FILTER (WHERE src_endpoint_ip IS NOT NULL OR src_endpoint_hostname IS NOT NULL) AS source_ips,
    count(*) AS attempts, 1 AS distinct_users,
    printf('%s can be AS-REP roasted: %d ticket(s) issued without pre-authentication', user_name, count(*)) AS title,
    printf('Domain controller(s) %s issued %d TGT(s) for %s between %s and %s without checking any password (PreAuthType 0); '
           || 'anyone can request one and crack it offline. Require pre-authentication or give the account a long random password.',
           array_to_string(list(DISTINCT coalesce(dst_host, '?') ORDER BY coalesce(dst_host, '?')), ', '), count(*), user_name,
           strftime(min(time), '%Y-%m-%d %H:%M:%S'), strftime(max(time), '%Y-%m-%d %H:%M:%S')) AS summary,
    {'domain_controllers': list(DISTINCT dst_host ORDER BY dst_host), 'sample_records': list(record_ref ORDER BY time, record_ref)[1:5]} AS evidence
FROM auth_events
WHERE auth_protocol = 'kerberos' AND status_id = 1 AND password_correct = false AND user_name IS NOT NULL
GROUP BY user_name
ORDER BY first_seen;
