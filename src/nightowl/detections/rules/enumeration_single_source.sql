/* nightowl-detection
id = "enumeration.single_source"
title = "Account enumeration from one source"
category = "account_enumeration"
severity = "medium"
attack = ["T1087.004", "T1589.002"]
description = """
One source trying mostly usernames that do not exist (Entra 50034, Windows 0xC0000064, Kerberos 0x6,
sshd "invalid user", AWS masked usernames): it is mapping which accounts exist before a spray.
"""
false_positives = [
  "A misconfigured application with a wrong tenant domain or username format.",
]

[thresholds]
min_nonexistent_users = { default = 10, anchor = "ten distinct unknown usernames from one source is more than typing mistakes" }
min_nonexistent_share = { default = 0.8, anchor = "the same share spray.single_source hands over" }
*/
SELECT s.src_key || '#' || s.session_no AS key, s.first_seen, s.last_seen, s.users, s.source_ips,
       s.attempts, s.failures, s.distinct_users, len(s.source_ips) AS distinct_ips,
       s.nonexistent_users AS n_nonexistent_users,
       printf('Account enumeration from %s: %d unknown usernames', s.src_key, s.nonexistent_users) AS title,
       printf('%s tried %d usernames (%d do not exist) between %s and %s.', s.src_key, s.distinct_users,
              s.nonexistent_users, strftime(s.first_seen, '%Y-%m-%d %H:%M'), strftime(s.last_seen, '%Y-%m-%d %H:%M')) AS summary,
       {'fingerprint': s.fingerprint, 'top_user_agent': s.top_user_agent, 'top_application': s.top_service,
        'asn': s.src_asn, 'asn_org': s.src_asn_org, 'country': s.src_country, 'sample_records': s.sample_records} AS evidence
FROM source_sessions s
WHERE s.nonexistent_users >= $min_nonexistent_users
  AND s.nonexistent_users >= $min_nonexistent_share * s.distinct_users
ORDER BY s.first_seen;
