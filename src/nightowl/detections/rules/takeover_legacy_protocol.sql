/* nightowl-detection
id = "takeover.legacy_protocol_first_use"
title = "First legacy-protocol success for an identity that never used one"
category = "account_takeover"
severity = "medium"
attack = ["T1078", "T1110"]
description = """
A successful sign-in over a protocol that cannot do MFA (IMAP, POP, SMTP AUTH, Exchange ActiveSync,
ROPC, ...) for an identity that had never used one on its earlier days. Attackers holding
a password use legacy protocols precisely because MFA does not apply. Medium when it came from a
network (/24 and ASN) this identity had never used before and that few identities share, on a device
that is not the owner's; low from the identity's own networks or providers (a user setting up a native
mail app at home or in the office), or when the mail client's device also signs in from a network the
identity's older devices use or carries a device id (the owner's new phone, seen on a new line too).
"""
false_positives = [
  "A user adding a native mail app on a new phone, on the road (the phone's device and network are both new).",
  "A migration or a scanner configured with the user's own account.",
]

evidence = ["client", "user_agent", "new_network", "owner_device", "vouching_network", "network_identities_in_tenant", "identity_active_days", "usual_client", "usual_country", "sample_records"]
settings = ["shared_network_users"]  # [prepare]: a /24 that many identities sign in from is the tenant's own egress, not an attacker's

[thresholds]
min_history_days = { default = 5, anchor = "at least 5 earlier days of successful sign-ins without a legacy protocol (Entra ID Protection's learning period): fewer is not a habit" }
*/
SELECT
    c.user_name || '|' || CAST(min(c.day) AS VARCHAR) AS key,
    min(c.first_seen) AS first_seen, max(c.last_seen) AS last_seen,
    [c.user_name] AS users,
    list(DISTINCT c.ip) FILTER (WHERE c.ip IS NOT NULL) AS source_ips,
    sum(c.n) AS successes, 1 AS distinct_users,
    CASE WHEN bool_or(n.first_day = c.day AND coalesce(t.users, 0) < $shared_network_users AND coalesce(a.first_day = c.day, true) AND NOT c.known_device AND v.device IS NULL) THEN 'medium' ELSE 'low' END AS severity,
    printf('%s: first legacy-protocol sign-in (%s) in %d days of history', c.user_name,
           coalesce(nullif(regexp_replace(arg_min(c.client, c.pos), '^/|/$', ''), ''), 'client unknown'), max(p.active_days)) AS title,
    printf('%s signed in at %s UTC over %s from %s (%s, %s), a protocol MFA cannot protect; on its %d earlier active days it never used one (usually %s from %s). %s',
           c.user_name, strftime(min(c.first_seen), '%Y-%m-%d %H:%M'), coalesce(nullif(regexp_replace(arg_min(c.client, c.pos), '^/|/$', ''), ''), 'client unknown'),
           arg_min(c.ip, c.pos), coalesce(arg_min(c.asn_org, c.pos), 'AS' || CAST(arg_min(c.asn, c.pos) AS VARCHAR), 'ASN unknown'),
           coalesce(arg_min(c.country, c.pos), 'country unknown'), max(dd.days_before),
           coalesce(any_value(p.usual_client), '?'), coalesce(any_value(p.usual_country), 'an unknown country'),
           CASE WHEN bool_or(n.first_day = c.day AND coalesce(t.users, 0) < $shared_network_users AND coalesce(a.first_day = c.day, true) AND NOT c.known_device AND v.device IS NULL)
                THEN 'The network is new to this identity and shared by almost no one in the tenant: reset the password and block legacy authentication.'
                ELSE 'It came from a network this identity or the tenant uses, or from the owner''s device (a device id, or also seen on the identity''s own networks): probably a mail app being set up; confirm with the user and block legacy authentication.' END) AS summary,
    {'client': coalesce(nullif(regexp_replace(arg_min(c.client, c.pos), '^/|/$', ''), ''), 'client unknown'), 'user_agent': arg_min(c.user_agent, c.pos),
     'new_network': bool_or(n.first_day = c.day), 'owner_device': bool_or(c.known_device OR v.device IS NOT NULL),
     'vouching_network': arg_min(v.shared_network, c.pos), 'network_identities_in_tenant': max(coalesce(t.users, 0)),
     'identity_active_days': max(p.active_days), 'usual_client': any_value(p.usual_client),
     'usual_country': any_value(p.usual_country), 'sample_records': list(c.first_record ORDER BY c.first_seen, c.first_record)[1:5]} AS evidence
-- pos: the legacy sign-ins of a day in order (ties go to the record, whatever the scan order); the first is shown
FROM (SELECT *, row_number() OVER (PARTITION BY user_name, day ORDER BY first_seen, first_record) AS pos
      FROM signin_combos WHERE any_legacy) c
JOIN identity_profile p ON p.user_name = c.user_name
JOIN identity_days dd ON dd.user_name = c.user_name AND dd.day = c.day
LEFT JOIN identity_values n ON n.user_name = c.user_name AND n.feature = 'network' AND n.value = c.net
LEFT JOIN tenant_values t ON t.feature = 'network' AND t.value = c.net
LEFT JOIN identity_values a ON a.user_name = c.user_name AND a.feature = 'asn' AND a.value = CAST(c.asn AS VARCHAR)
LEFT JOIN vouched_devices v ON v.user_name = c.user_name AND v.device = c.device
WHERE c.any_legacy AND dd.days_before >= $min_history_days
  AND c.day = (SELECT min(x.day) FROM signin_combos x WHERE x.user_name = c.user_name AND x.any_legacy)
GROUP BY c.user_name
ORDER BY first_seen, key;
