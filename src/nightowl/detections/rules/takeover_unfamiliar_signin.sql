/* nightowl-detection
id = "takeover.unfamiliar_signin"
title = "Successful sign-in with properties unfamiliar to the identity"
category = "account_takeover"
severity = "medium"
attack = ["T1078", "T1078.004", "T1550.004"]
description = """
A successful sign-in whose network, device, provider (ASN) or country, and possibly more (client app
or protocol, a missing device id, hour of day) this identity had never used before that day, from a network
(/24 or /48) that almost no one else in the tenant uses: a phished or bought password, or a stolen
session, used from the attacker's own machine. Each property is judged against the identity's own
history (the day it first used the value, on how many days it did) and the tenant's (how many identities use it), so
a VPN rollout or a new office (shared by many identities) and a trip or a new phone (the usual device
on a new network, or a new device on a usual network) stay quiet. High when four or more properties
are new or the sign-in was single-factor; low when the new device carries a device id (joined or
registered to the directory: the owner enrolled it).
"""
false_positives = [
  "A user's new phone or laptop on a new mobile or home line: low when the device is registered or joined (device id), medium or high when it is not.",
  "A user on a brand-new device from a network never used before (a new laptop set up in a hotel); the finding shows the device and network so the user can confirm.",
  "Identities with little history (fewer active days than min_history_days are not judged).",
]

evidence = ["unfamiliar", "unfamiliar_properties", "new_network", "new_device", "new_asn", "new_country", "new_client", "rare_hour", "unknown_device", "registered_device", "usual_known_device_share", "identity_days_before", "network", "network_identities_in_tenant", "asn", "asn_identity_days", "asn_identities_in_tenant", "country", "country_identity_days", "country_identities_in_tenant", "client", "client_identities_in_tenant", "hour_utc", "share_of_successes_near_this_hour", "user_agent", "applications", "single_factor", "legacy_protocol", "identity_active_days", "usual_country", "usual_asn", "usual_client", "usual_user_agent", "skipped_properties", "sample_records"]

[thresholds]
min_history_days = { default = 5, anchor = "Entra ID Protection learns a user's sign-in properties for at least 5 days before judging them; before that, every device and network is new" }
tenant_common_users = { default = 5, anchor = "a /24 that 5 or more identities sign in from is the tenant's own egress (office NAT, VPN, carrier NAT), not an attacker's proxy; Entra ID Protection's unfamiliar-properties model also discounts properties familiar to the organisation" }
min_unfamiliar = { default = 3, anchor = "network and device together plus one more property: Entra ID Protection's 'unfamiliar sign-in properties' weighs IP, ASN, location, device and client together; two alone are a trip with a new laptop" }
high_unfamiliar = { default = 4, anchor = "four or more unfamiliar properties leave little room for the real user" }
known_device_share = { default = 0.5, anchor = "an identity whose sign-ins mostly carry a device id (joined or registered devices) signing in from a device without one" }
rare_hour_share = { default = 0.02, anchor = "fewer than 2% of the identity's successes within an hour of this one: an hour it does not keep" }
*/
CREATE OR REPLACE TEMP TABLE takeover_scored AS
WITH judged AS (
    SELECT c.*, p.active_days, p.usual_country, p.usual_asn_org, p.usual_asn, p.usual_client, p.usual_user_agent,
           p.successes, p.known_device_share, dd.days_before,
           coalesce(tn.users, 0) AS net_users,
           a.first_day AS asn_first, a.days AS asn_days, coalesce(ta.users, 0) AS asn_users,
           g.first_day AS country_first, g.days AS country_days, coalesce(tg.users, 0) AS country_users,
           k.first_day AS client_first, coalesce(tk.users, 0) AS client_users
    FROM signin_combos c
    JOIN identity_profile p ON p.user_name = c.user_name
    JOIN identity_days dd ON dd.user_name = c.user_name AND dd.day = c.day
    JOIN identity_values n ON n.user_name = c.user_name AND n.feature = 'network' AND n.value = c.net
    JOIN tenant_values tn ON tn.feature = 'network' AND tn.value = c.net
    JOIN identity_values d ON d.user_name = c.user_name AND d.feature = 'device' AND d.value = CAST(c.device AS VARCHAR)
    LEFT JOIN identity_values a ON a.user_name = c.user_name AND a.feature = 'asn' AND a.value = CAST(c.asn AS VARCHAR)
    LEFT JOIN tenant_values ta ON ta.feature = 'asn' AND ta.value = CAST(c.asn AS VARCHAR)
    LEFT JOIN identity_values g ON g.user_name = c.user_name AND g.feature = 'country' AND g.value = c.country
    LEFT JOIN tenant_values tg ON tg.feature = 'country' AND tg.value = c.country
    LEFT JOIN identity_values k ON k.user_name = c.user_name AND k.feature = 'client' AND k.value = c.client
    LEFT JOIN tenant_values tk ON tk.feature = 'client' AND tk.value = c.client
    WHERE dd.days_before >= $min_history_days
      AND n.first_day = c.day AND tn.users < $tenant_common_users  -- a network this identity never used before
      AND d.first_day = c.day                                      -- a device this identity never used before
), hours AS (
    SELECT j.user_name, j.day, j.net, j.device, j.client, j.asn, j.country, sum(h.n) AS near_hour
    FROM judged j
    JOIN identity_hours h ON h.user_name = j.user_name
     AND least(abs(h.hour_utc - j.first_hour), 24 - abs(h.hour_utc - j.first_hour)) <= 1
    GROUP BY ALL
), flagged AS (
    SELECT j.*,
           (coalesce(h.near_hour, 0) - j.n) * 1.0 / greatest(j.successes - j.n, 1) AS hour_share,
           coalesce(j.asn_first = j.day, false) AS new_asn,
           coalesce(j.country_first = j.day, false) AS new_country,
           j.client_first = j.day AS new_client,
           NOT j.known_device AND coalesce(j.known_device_share, 0) >= $known_device_share AS unknown_device
    FROM judged j
    LEFT JOIN hours h ON h.user_name = j.user_name AND h.day = j.day AND h.net = j.net AND h.device = j.device
         AND h.client = j.client AND h.asn IS NOT DISTINCT FROM j.asn AND h.country IS NOT DISTINCT FROM j.country
)
SELECT *, hour_share < $rare_hour_share AS rare_hour,
       2 + CAST(new_asn AS INTEGER) + CAST(new_country AS INTEGER) + CAST(new_client AS INTEGER)
         + CAST(unknown_device AS INTEGER) + CAST(hour_share < $rare_hour_share AS INTEGER) AS unfamiliar
FROM flagged;

SELECT
    user_name || '|' || CAST(min(day) AS VARCHAR) AS key,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen,
    [user_name] AS users,
    list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
    sum(n) AS successes, 1 AS distinct_users,
    max(unfamiliar) AS n_unfamiliar_properties,
    -- a new device the directory knows (joined or registered: enrolment is an act of the owner, behind
    -- MFA) is the user's own new phone or laptop far more often than an attacker's: told, not alerted
    CASE WHEN bool_and(known_device) THEN 'low'
         WHEN max(unfamiliar) >= $high_unfamiliar OR bool_or(single_factor) THEN 'high' ELSE 'medium' END AS severity,
    printf('%s signed in from %s with %d properties it never used before', user_name,
           arg_max(coalesce(country, '?') || ' / ' || coalesce(asn_org, 'AS' || CAST(asn AS VARCHAR), 'unknown network') || ' / ' || net, unfamiliar),
           max(unfamiliar)) AS title,
    printf('%s signed in successfully at %s UTC from %s (%s, %s) on a device this identity never used (%s). Unfamiliar: %s. '
           || 'In %d active days it usually signs in from %s via %s with %s. The network is used by %d identit%s in the tenant.%s',
           user_name, strftime(min(first_seen), '%Y-%m-%d %H:%M'),
           arg_max(ip, unfamiliar), coalesce(arg_max(asn_org, unfamiliar), 'AS' || CAST(arg_max(asn, unfamiliar) AS VARCHAR), 'ASN unknown'),
           coalesce(arg_max(country, unfamiliar), 'country unknown'),
           coalesce(nullif(arg_max(user_agent, unfamiliar), ''), 'no user agent'),
           concat_ws(', ', 'network', 'device',
                CASE WHEN bool_or(new_asn) THEN 'ASN' END,
                CASE WHEN bool_or(new_country) THEN 'country' END,
                CASE WHEN bool_or(new_client) THEN 'client app / protocol' END,
                CASE WHEN bool_or(unknown_device) THEN 'no device id' END,
                CASE WHEN bool_or(rare_hour) THEN 'hour of day' END),
           max(active_days), coalesce(any_value(usual_country), 'an unknown country'),
           coalesce(any_value(usual_asn_org), 'AS' || CAST(any_value(usual_asn) AS VARCHAR), 'an unknown network'),
           coalesce(nullif(any_value(usual_user_agent), ''), 'no user agent'),
           max(net_users), CASE WHEN max(net_users) = 1 THEN 'y' ELSE 'ies' END,
           CASE WHEN bool_or(asn IS NULL OR country IS NULL)
                THEN ' ASN or location was not in the logs, so those properties were skipped (see nightowl hunt --geoip).'
                ELSE '' END
           || CASE WHEN bool_and(known_device)
                   THEN ' The new device has a device id (joined or registered to the directory): most likely the user''s own new device; low unless the user did not enrol one.'
                   ELSE '' END) AS summary,
    {'unfamiliar': concat_ws(', ', 'network', 'device',
                CASE WHEN bool_or(new_asn) THEN 'ASN' END,
                CASE WHEN bool_or(new_country) THEN 'country' END,
                CASE WHEN bool_or(new_client) THEN 'client app / protocol' END,
                CASE WHEN bool_or(unknown_device) THEN 'no device id' END,
                CASE WHEN bool_or(rare_hour) THEN 'hour of day' END),
     'unfamiliar_properties': max(unfamiliar),
     'new_network': true, 'new_device': true,
     'new_asn': bool_or(new_asn), 'new_country': bool_or(new_country), 'new_client': bool_or(new_client),
     'rare_hour': bool_or(rare_hour), 'unknown_device': bool_or(unknown_device), 'registered_device': bool_and(known_device),
     'usual_known_device_share': max(known_device_share), 'identity_days_before': min(days_before),
     'network': arg_max(net, unfamiliar), 'network_identities_in_tenant': max(net_users),
     'asn': arg_max(asn, unfamiliar), 'asn_identity_days': arg_max(asn_days, unfamiliar),
     'asn_identities_in_tenant': arg_max(asn_users, unfamiliar),
     'country': arg_max(country, unfamiliar), 'country_identity_days': arg_max(country_days, unfamiliar),
     'country_identities_in_tenant': arg_max(country_users, unfamiliar),
     'client': arg_max(client, unfamiliar), 'client_identities_in_tenant': arg_max(client_users, unfamiliar),
     'hour_utc': arg_max(first_hour, unfamiliar), 'share_of_successes_near_this_hour': min(hour_share),
     'user_agent': arg_max(user_agent, unfamiliar), 'applications': list(DISTINCT app),
     'single_factor': bool_or(single_factor), 'legacy_protocol': bool_or(any_legacy),
     'identity_active_days': max(active_days), 'usual_country': any_value(usual_country),
     'usual_asn': coalesce(any_value(usual_asn_org), 'AS' || CAST(any_value(usual_asn) AS VARCHAR)), 'usual_client': any_value(usual_client),
     'usual_user_agent': any_value(usual_user_agent),
     'skipped_properties': nullif(concat_ws(', ', CASE WHEN bool_or(asn IS NULL) THEN 'asn' END,
                                            CASE WHEN bool_or(country IS NULL) THEN 'country' END), ''),
     'sample_records': list(first_record ORDER BY first_seen)[1:5]} AS evidence
FROM takeover_scored
WHERE unfamiliar >= $min_unfamiliar
  -- somewhere new, not only a new line: a new provider or country (a new phone on the user's own carrier
  -- is new network + new device + new client, all from the same provider); without ASN and location
  -- in the logs the count alone decides
  AND (new_asn OR new_country OR (asn IS NULL AND country IS NULL))
GROUP BY user_name
ORDER BY first_seen;
