/* nightowl-detection
id = "takeover.unfamiliar_signin"
title = "Successful sign-in with properties unfamiliar to the identity"
category = "account_takeover"
severity = "medium"
attack = ["T1078", "T1078.004", "T1550.004"]
description = """
A successful sign-in from a network (/24 or /48) this identity never used before and almost no one in
the tenant uses, on a device it never used before, scored by how surprising all its properties are:
the rarity is the sum over network, device, provider (ASN), country, client app or protocol, hour of
day and a missing device id of -ln P(value | identity), estimated from the identity's own history with
the tenant's as prior (additive smoothing). A value the identity never used weighs
ln((days + prior) / prior) for the identity plus ln(identities / identities using it) for the tenant,
so a provider a hundred colleagues use (a mobile carrier, a big home ISP) weighs far less than a proxy's
or a hosting network no one in the tenant uses. Medium from medium_score; high from high_score or when
single-factor. Low, told not alerted, when the new device is the owner's: it carries a device id (joined
or registered: the owner enrolled it), or it also signs in from a network the identity's older devices
use or many identities of the tenant share (a new phone that also works from home, the office or the
common carrier). A phished password, a bought one or a stolen session used from the attacker's machine.
"""
false_positives = [
  "A user's new phone or laptop used only on networks the user never used before and no colleague shares (a new device set up in a hotel): medium or high until the device is seen on the user's own networks.",
  "Identities with little history (fewer active days than min_history_days are not judged).",
  "Small tenants: 'no one else in the tenant uses it' is weaker evidence among 30 identities than among 3,000 (ln(identities / users) is smaller), so fewer sign-ins reach medium_score.",
]

evidence = ["unfamiliar", "unfamiliar_properties", "rarity", "rarity_by_property", "owner_device", "vouching_network", "vouched_by", "new_network", "new_device", "new_asn", "new_country", "new_client", "rare_hour", "unknown_device", "registered_device", "usual_known_device_share", "identity_days_before", "network", "network_identities_in_tenant", "asn", "asn_identity_days", "asn_identities_in_tenant", "country", "country_identity_days", "country_identities_in_tenant", "client", "client_identities_in_tenant", "hour_utc", "share_of_successes_near_this_hour", "user_agent", "applications", "single_factor", "legacy_protocol", "identity_active_days", "usual_country", "usual_asn", "usual_client", "usual_user_agent", "skipped_properties", "sample_records"]
settings = ["shared_network_users"]  # [prepare]: a /24 that many identities sign in from is the tenant's own egress, not an attacker's

[thresholds]
min_history_days = { default = 5, anchor = "Entra ID Protection learns a user's sign-in properties for at least 5 days before judging them; before that, every device and network is new" }
known_device_share = { default = 0.5, anchor = "an identity whose sign-ins mostly carry a device id (joined or registered devices) signing in from a device without one" }
prior_days = { default = 1.0, anchor = "the tenant's habits count as one day of the identity's own history (additive smoothing, the Bayesian estimate of P(value | identity) with the tenant as prior): after 5 days a never-used value is about 6x less likely than under the tenant prior alone" }
medium_score = { default = 18.0, anchor = "in a 3,000-identity tenant a network no one uses (about 10) plus a common browser (about 5) and a usual hour stay under it; one more rare property (a provider or country new to the identity, a missing device id where there usually is one) passes it. Set on development seeds 5-15, where the taken-over accounts' most unusual sign-ins scored 17.6 (one slow takeover, missed) and from 19.4 up" }
high_score = { default = 28.0, anchor = "four or more properties no one uses (network, device, provider, country) leave little room for the real user" }
rare_hour_share = { default = 0.02, anchor = "fewer than 2% of the identity's successes within an hour of this one: an hour it does not keep" }
*/
CREATE OR REPLACE TEMP TABLE takeover_scored AS
WITH tenant AS (
    SELECT count(*) + 1.0 AS ids FROM identity_profile
), judged AS (
    SELECT c.*, p.active_days, p.usual_country, p.usual_asn_org, p.usual_asn, p.usual_client, p.usual_user_agent,
           p.successes, p.known_device_share, dd.days_before,
           coalesce(tn.users, 0) AS net_users, coalesce(td.users, 0) AS device_users,
           a.first_day AS asn_first, a.days AS asn_days, coalesce(ta.users, 0) AS asn_users,
           g.first_day AS country_first, g.days AS country_days, coalesce(tg.users, 0) AS country_users,
           k.first_day AS client_first, coalesce(tk.users, 0) AS client_users,
           v.shared_network AS vouching_network, v.vouched_by,
           -- -ln P(a value never used before | identity): (0 + prior * P_tenant) / (days_before + prior)
           ln((dd.days_before + $prior_days) / $prior_days) AS never_used,
           (SELECT ids FROM tenant) AS tenant_ids
    FROM signin_combos c
    JOIN identity_profile p ON p.user_name = c.user_name
    JOIN identity_days dd ON dd.user_name = c.user_name AND dd.day = c.day
    JOIN identity_values n ON n.user_name = c.user_name AND n.feature = 'network' AND n.value = c.net
    JOIN tenant_values tn ON tn.feature = 'network' AND tn.value = c.net
    JOIN identity_values d ON d.user_name = c.user_name AND d.feature = 'device' AND d.value = CAST(c.device AS VARCHAR)
    JOIN tenant_values td ON td.feature = 'device' AND td.value = CAST(c.device AS VARCHAR)
    LEFT JOIN identity_values a ON a.user_name = c.user_name AND a.feature = 'asn' AND a.value = CAST(c.asn AS VARCHAR)
    LEFT JOIN tenant_values ta ON ta.feature = 'asn' AND ta.value = CAST(c.asn AS VARCHAR)
    LEFT JOIN identity_values g ON g.user_name = c.user_name AND g.feature = 'country' AND g.value = c.country
    LEFT JOIN tenant_values tg ON tg.feature = 'country' AND tg.value = c.country
    LEFT JOIN identity_values k ON k.user_name = c.user_name AND k.feature = 'client' AND k.value = c.client
    LEFT JOIN tenant_values tk ON tk.feature = 'client' AND tk.value = c.client
    LEFT JOIN vouched_devices v ON v.user_name = c.user_name AND v.device = c.device
    WHERE dd.days_before >= $min_history_days
      AND n.first_day = c.day AND tn.users < $shared_network_users  -- a network this identity never used before
      AND d.first_day = c.day                                      -- a device this identity never used before
), hours AS (
    SELECT j.user_name, j.day, j.net, j.device, j.client, j.asn, j.country, sum(h.n) AS near_hour
    FROM judged j
    JOIN identity_hours h ON h.user_name = j.user_name
     AND least(abs(h.hour_utc - j.first_hour), 24 - abs(h.hour_utc - j.first_hour)) <= 1
    GROUP BY ALL
), flagged AS (
    SELECT j.*,
           greatest(coalesce(h.near_hour, 0) - j.n, 0) AS near_hour_before,
           greatest(coalesce(h.near_hour, 0) - j.n, 0) * 1.0 / greatest(j.successes - j.n, 1) AS hour_share,
           coalesce(j.asn_first = j.day, false) AS new_asn,
           coalesce(j.country_first = j.day, false) AS new_country,
           j.client_first = j.day AS new_client,
           NOT j.known_device AND coalesce(j.known_device_share, 0) >= $known_device_share AS unknown_device
    FROM judged j
    LEFT JOIN hours h ON h.user_name = j.user_name AND h.day = j.day AND h.net = j.net AND h.device = j.device
         AND h.client = j.client AND h.asn IS NOT DISTINCT FROM j.asn AND h.country IS NOT DISTINCT FROM j.country
), rarity AS (
    -- each property's surprise, -ln P(value | identity) with the tenant as prior: a value this identity
    -- never used weighs ln((days + prior) / prior) for the identity plus ln(identities / others using it)
    -- for the tenant, so a carrier 100 colleagues use weighs ~4.6 less than a network no one uses
    SELECT f.*,
           never_used + ln(tenant_ids / net_users) AS r_network,
           never_used + ln(tenant_ids / device_users) AS r_device,
           CASE WHEN new_asn THEN never_used + ln(tenant_ids / asn_users) ELSE 0 END AS r_asn,
           CASE WHEN new_country THEN never_used + ln(tenant_ids / country_users) ELSE 0 END AS r_country,
           CASE WHEN new_client THEN never_used + ln(tenant_ids / client_users) ELSE 0 END AS r_client,
           -- the hour: share of the identity's successes within an hour of this one, prior uniform over the day
           -ln((near_hour_before + $prior_days * 3.0 / 24) / (successes - n + $prior_days)) AS r_hour,
           -- no device id from an identity whose sign-ins carry one, prior one half
           CASE WHEN known_device THEN 0
                ELSE -ln(((1 - coalesce(known_device_share, 0)) * (successes - n) + $prior_days * 0.5)
                         / (successes - n + $prior_days)) END AS r_no_device_id
    FROM flagged f
), scored AS (
SELECT *, hour_share < $rare_hour_share AS rare_hour,
       2 + CAST(new_asn AS INTEGER) + CAST(new_country AS INTEGER) + CAST(new_client AS INTEGER)
         + CAST(unknown_device AS INTEGER) + CAST(hour_share < $rare_hour_share AS INTEGER) AS unfamiliar,
       r_network + r_device + r_asn + r_country + r_client + r_hour + r_no_device_id AS rarity,
       concat_ws(', ', printf('network %.1f', r_network), printf('device %.1f', r_device),
                 CASE WHEN new_asn THEN printf('ASN %.1f', r_asn) END,
                 CASE WHEN new_country THEN printf('country %.1f', r_country) END,
                 CASE WHEN new_client THEN printf('client %.1f', r_client) END,
                 printf('hour %.1f', r_hour),
                 CASE WHEN NOT known_device THEN printf('no device id %.1f', r_no_device_id) END) AS rarity_terms,
       known_device OR vouching_network IS NOT NULL AS owner_device
FROM rarity
)
-- the sign-in a finding shows first: the rarest (or the one with most unfamiliar properties); ties go
-- to the earlier sign-in, then the record, so the evidence is the same whatever order the events came in
SELECT *,
       row_number() OVER (PARTITION BY user_name ORDER BY rarity DESC, first_seen, first_record) AS rarity_rank,
       row_number() OVER (PARTITION BY user_name ORDER BY unfamiliar DESC, rarity DESC, first_seen, first_record) AS unfamiliar_rank
FROM scored;

SELECT
    user_name || '|' || CAST(min(day) AS VARCHAR) AS key,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen,
    [user_name] AS users,
    list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
    sum(n) AS successes, 1 AS distinct_users,
    max(unfamiliar) AS n_unfamiliar_properties,
    -- the owner's device (a device id: joined or registered, an act of the owner behind MFA; or a device
    -- that also signs in from the identity's own networks) is told, not alerted
    CASE WHEN bool_and(owner_device) THEN 'low'
         WHEN max(rarity) >= $high_score OR bool_or(single_factor AND NOT owner_device) THEN 'high'
         ELSE 'medium' END AS severity,
    printf('%s signed in from %s with %d properties it never used before (rarity %.1f)', user_name,
           arg_min(coalesce(country, '?') || ' / ' || coalesce(asn_org, 'AS' || CAST(asn AS VARCHAR), 'unknown network') || ' / ' || net, rarity_rank),
           arg_min(unfamiliar, rarity_rank), max(rarity)) AS title,
    printf('%s signed in successfully at %s UTC from %s (%s, %s) on a device this identity never used (%s). Unfamiliar: %s '
           || '(rarity %.1f = -ln P of each property given the identity''s history, the tenant''s as prior: %s). '
           || 'In %d active days it usually signs in from %s via %s with %s. The network is used by %d identit%s in the tenant.%s',
           user_name, strftime(min(first_seen), '%Y-%m-%d %H:%M'),
           arg_min(ip, unfamiliar_rank), coalesce(arg_min(asn_org, unfamiliar_rank), 'AS' || CAST(arg_min(asn, unfamiliar_rank) AS VARCHAR), 'ASN unknown'),
           coalesce(arg_min(country, unfamiliar_rank), 'country unknown'),
           coalesce(nullif(arg_min(user_agent, unfamiliar_rank), ''), 'no user agent'),
           concat_ws(', ', 'network', 'device',
                CASE WHEN bool_or(new_asn) THEN 'ASN' END,
                CASE WHEN bool_or(new_country) THEN 'country' END,
                CASE WHEN bool_or(new_client) THEN 'client app / protocol' END,
                CASE WHEN bool_or(unknown_device) THEN 'no device id' END,
                CASE WHEN bool_or(rare_hour) THEN 'hour of day' END),
           max(rarity), arg_min(rarity_terms, rarity_rank),
           max(active_days), coalesce(any_value(usual_country), 'an unknown country'),
           coalesce(any_value(usual_asn_org), 'AS' || CAST(any_value(usual_asn) AS VARCHAR), 'an unknown network'),
           coalesce(nullif(any_value(usual_user_agent), ''), 'no user agent'),
           max(net_users), CASE WHEN max(net_users) = 1 THEN 'y' ELSE 'ies' END,
           CASE WHEN bool_or(asn IS NULL OR country IS NULL)
                THEN ' ASN or location was not in the logs, so those properties were skipped (see nightowl hunt --geoip).'
                ELSE '' END
           || CASE WHEN bool_and(known_device)
                   THEN ' The new device has a device id (joined or registered to the directory): most likely the user''s own new device; low unless the user did not enrol one.'
                   WHEN bool_and(owner_device)
                   THEN printf(' The new device also signs in from %s, %s: most likely the user''s own new device; low unless someone else shares that line.', arg_min(vouching_network, rarity_rank), arg_min(vouched_by, rarity_rank))
                   ELSE '' END) AS summary,
    {'unfamiliar': concat_ws(', ', 'network', 'device',
                CASE WHEN bool_or(new_asn) THEN 'ASN' END,
                CASE WHEN bool_or(new_country) THEN 'country' END,
                CASE WHEN bool_or(new_client) THEN 'client app / protocol' END,
                CASE WHEN bool_or(unknown_device) THEN 'no device id' END,
                CASE WHEN bool_or(rare_hour) THEN 'hour of day' END),
     'unfamiliar_properties': max(unfamiliar), 'rarity': round(max(rarity), 1),
     'rarity_by_property': arg_min(rarity_terms, rarity_rank), 'owner_device': bool_and(owner_device),
     'vouching_network': arg_min(vouching_network, rarity_rank), 'vouched_by': arg_min(vouched_by, rarity_rank),
     'new_network': true, 'new_device': true,
     'new_asn': bool_or(new_asn), 'new_country': bool_or(new_country), 'new_client': bool_or(new_client),
     'rare_hour': bool_or(rare_hour), 'unknown_device': bool_or(unknown_device), 'registered_device': bool_and(known_device),
     'usual_known_device_share': max(known_device_share), 'identity_days_before': min(days_before),
     'network': arg_min(net, unfamiliar_rank), 'network_identities_in_tenant': max(net_users),
     'asn': arg_min(asn, unfamiliar_rank), 'asn_identity_days': arg_min(asn_days, unfamiliar_rank),
     'asn_identities_in_tenant': arg_min(asn_users, unfamiliar_rank),
     'country': arg_min(country, unfamiliar_rank), 'country_identity_days': arg_min(country_days, unfamiliar_rank),
     'country_identities_in_tenant': arg_min(country_users, unfamiliar_rank),
     'client': coalesce(nullif(regexp_replace(arg_min(client, unfamiliar_rank), '^/|/$', ''), ''), 'client unknown'), 'client_identities_in_tenant': arg_min(client_users, unfamiliar_rank),
     'hour_utc': arg_min(first_hour, unfamiliar_rank), 'share_of_successes_near_this_hour': min(hour_share),
     'user_agent': arg_min(user_agent, unfamiliar_rank), 'applications': list(DISTINCT app ORDER BY app),
     'single_factor': bool_or(single_factor), 'legacy_protocol': bool_or(any_legacy),
     'identity_active_days': max(active_days), 'usual_country': any_value(usual_country),
     'usual_asn': coalesce(any_value(usual_asn_org), 'AS' || CAST(any_value(usual_asn) AS VARCHAR)), 'usual_client': any_value(usual_client),
     'usual_user_agent': any_value(usual_user_agent),
     'skipped_properties': nullif(concat_ws(', ', CASE WHEN bool_or(asn IS NULL) THEN 'asn' END,
                                            CASE WHEN bool_or(country IS NULL) THEN 'country' END), ''),
     'sample_records': list(first_record ORDER BY first_seen, first_record)[1:5]} AS evidence
FROM takeover_scored
WHERE rarity >= $medium_score
GROUP BY user_name
ORDER BY first_seen, key;
