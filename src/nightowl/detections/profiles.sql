/* nightowl-prepare
# Per-identity sign-in profiles for the account-takeover detections: what each identity's successful
# sign-ins usually look like (network, ASN, country, device, user-agent family, client/protocol, hours)
# and how common each value is across the tenant. Aggregated in SQL (one row per identity, day and
# distinct combination of properties), so memory follows the number of identities, not of events.

[thresholds]
shared_network_users = { default = 5, anchor = "a /24 that 5 or more identities sign in from is the tenant's own egress (office NAT, VPN, carrier NAT): a device that also signs in from there is inside the tenant's habits; every takeover rule reads it (one setting): such a network is the tenant's, never an attacker's" }
*/

-- The network of each address: the /24 (IPv4) or /48 (IPv6), one customer's line or one provider's
-- pool, coarser than the address a phone or a privacy extension changes every day. Computed once per
-- distinct address (ip_keys), not per event.
CREATE OR REPLACE TEMP TABLE ip_nets AS
SELECT ip,
       CASE WHEN src_key LIKE '%:%'
            THEN coalesce(nullif(regexp_extract(src_key, '^([0-9a-f]*:[0-9a-f]*:[0-9a-f]*):', 1), ''), src_key) || '::/48'
            ELSE coalesce(nullif(regexp_extract(src_key, '^([0-9]+[.][0-9]+[.][0-9]+)[.]', 1), ''), src_key) || '.0/24' END AS net
FROM (
    SELECT d.ip, coalesce(k.src_key, d.ip) AS src_key  -- ip_keys holds only the addresses that are not IPv4
    FROM (SELECT DISTINCT src_endpoint_ip AS ip FROM auth_events WHERE status_id = 1 AND src_endpoint_ip IS NOT NULL) d
    LEFT JOIN ip_keys k ON k.ip = d.ip
) a;

-- The family of each user agent (version numbers removed: the same browser updating is not a new
-- device), once per distinct user agent.
CREATE OR REPLACE TEMP TABLE ua_families AS
SELECT user_agent, regexp_replace(user_agent, '[0-9]+', '#', 'g') AS ua_family,
       hash('ua:' || regexp_replace(user_agent, '[0-9]+', '#', 'g')) AS ua_device
FROM (SELECT DISTINCT coalesce(user_agent, '') AS user_agent FROM auth_events WHERE status_id = 1);

-- Successful sign-ins with the properties the profiles learn. The device is the device id when the
-- source gives one, else the user-agent family.
CREATE OR REPLACE TEMP VIEW ok_signins AS
SELECT
    e.time,
    CAST(e.time AS DATE) AS day,
    hour(e.time) AS hour_utc,
    e.record_ref,
    e.user_name,
    e.src_endpoint_ip AS ip,
    n.net,
    e.src_asn AS asn,
    e.src_asn_org AS asn_org,
    e.src_country AS country,
    e.src_city AS city,
    e.src_lat AS lat,
    e.src_lon AS lon,
    -- a 64-bit key keeps the grouping narrow; the user agent shown in findings is kept beside it
    CASE WHEN e.device_id <> '' THEN hash(e.device_id) ELSE u.ua_device END AS device,
    nullif(e.device_id, '') IS NOT NULL AS known_device,
    coalesce(e.user_agent, '') AS user_agent,
    e.client_app,
    e.auth_protocol,
    coalesce(e.service_name, '') AS app,
    coalesce(e.is_legacy_protocol, false) AS is_legacy,
    coalesce(e.is_mfa, false) AS is_mfa,
    e.session_id
FROM auth_events e
LEFT JOIN ip_nets n ON n.ip = e.src_endpoint_ip
JOIN ua_families u ON u.user_agent = coalesce(e.user_agent, '')
WHERE e.status_id = 1
  AND e.user_name IS NOT NULL
  AND e.time IS NOT NULL
  AND e.user_name NOT IN ('', '-', 'anonymous logon', 'anonymous')
  AND NOT e.user_name LIKE '%$';

-- One row per identity, day and distinct combination of properties: the unit the detections score.
CREATE OR REPLACE TEMP TABLE signin_combos AS
SELECT user_name, day, net, asn, country, device,
       coalesce(client_app, '') || '/' || coalesce(auth_protocol, '') AS client,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS n,
       min(hour_utc) AS first_hour,
       arg_min(ip, time) AS ip,
       any_value(asn_org) AS asn_org,
       any_value(city) AS city,
       any_value(lat) AS lat,
       any_value(lon) AS lon,
       any_value(user_agent) AS user_agent,
       any_value(app) AS app,
       bool_or(is_legacy) AS any_legacy,
       bool_or(known_device) AS known_device,
       bool_and(NOT is_mfa) AS single_factor,
       arg_min(record_ref, time) AS first_record
FROM ok_signins
GROUP BY user_name, day, net, asn, country, device, client_app, auth_protocol;

-- Incremental hunts add the identity's earlier days (carried in the state folder) to signin_combos here,
-- and build identity_first_events and log_span (detections/profile_history.py):
-- @python

-- Each identity's familiarity with each value: the first day it signed in with it, and on how many
-- distinct days it did.
CREATE OR REPLACE TEMP TABLE identity_values AS
WITH long AS (
    SELECT user_name, day, 'network' AS feature, net AS value FROM signin_combos WHERE net IS NOT NULL
    UNION ALL SELECT user_name, day, 'asn', CAST(asn AS VARCHAR) FROM signin_combos WHERE asn IS NOT NULL
    UNION ALL SELECT user_name, day, 'country', country FROM signin_combos WHERE country IS NOT NULL
    UNION ALL SELECT user_name, day, 'device', CAST(device AS VARCHAR) FROM signin_combos
    UNION ALL SELECT user_name, day, 'client', client FROM signin_combos
)
SELECT user_name, feature, value, min(day) AS first_day, count(DISTINCT day) AS days
FROM long
GROUP BY user_name, feature, value;

-- The tenant's view of each value: how many identities use it.
CREATE OR REPLACE TEMP TABLE tenant_values AS
SELECT feature, value, count(*) AS users
FROM identity_values
GROUP BY feature, value;

-- Each identity's history: active days, its usual networks, countries and devices (for the finding's
-- "usually signs in from ..."), and whether it ever used a legacy protocol.
CREATE OR REPLACE TEMP TABLE identity_profile AS
SELECT c.user_name,
       count(DISTINCT c.day) AS active_days,
       sum(c.n) AS successes,
       min(c.first_seen) AS first_success,
       max(c.last_seen) AS last_success,
       arg_max(c.country, c.n) AS usual_country,  -- of its most used combination
       arg_max(c.asn_org, c.n) AS usual_asn_org,
       arg_max(c.asn, c.n) AS usual_asn,
       arg_max(c.client, c.n) AS usual_client,
       arg_max(c.user_agent, c.n) AS usual_user_agent,
       sum(c.n) FILTER (WHERE c.known_device) * 1.0 / sum(c.n) AS known_device_share
FROM signin_combos c
GROUP BY c.user_name;

-- Each identity's active days in order: how much history it had before a given day.
CREATE OR REPLACE TEMP TABLE identity_days AS
SELECT user_name, day, row_number() OVER (PARTITION BY user_name ORDER BY day) - 1 AS days_before,
       bool_or(known_device) AS known_device_day
FROM signin_combos
GROUP BY user_name, day;

-- Devices vouched for as the identity's own: a device first used on a later day that also signs in (any
-- day) from a network where one of the identity's older devices signs in, or from a network many
-- identities of the tenant share (the office, the VPN, the carrier NAT colleagues' phones use). A new
-- phone or mail app that also works from the person's home line, the office or the common carrier is
-- the person's; an attacker's machine is seen only on the attacker's own networks.
CREATE OR REPLACE TEMP TABLE vouched_devices AS
WITH dev_nets AS (
    SELECT user_name, device, net FROM signin_combos WHERE net IS NOT NULL GROUP BY ALL
), dev_first AS (
    SELECT user_name, device, min(day) AS first_day FROM signin_combos GROUP BY ALL
), vouches AS (
    SELECT a.user_name, a.device, a.net, 1 AS rank
    FROM dev_nets a
    JOIN dev_first fa ON fa.user_name = a.user_name AND fa.device = a.device
    JOIN dev_nets b ON b.user_name = a.user_name AND b.net = a.net AND b.device <> a.device
    JOIN dev_first fb ON fb.user_name = b.user_name AND fb.device = b.device
    WHERE fb.first_day < fa.first_day
    UNION ALL
    SELECT a.user_name, a.device, a.net, 2 AS rank
    FROM dev_nets a
    JOIN tenant_values t ON t.feature = 'network' AND t.value = a.net
    WHERE t.users >= $shared_network_users
)
SELECT user_name, device, arg_min(net, rank) AS shared_network,
       CASE WHEN min(rank) = 1 THEN 'a network the identity''s older devices use'
            ELSE 'a network many identities of the tenant share' END AS vouched_by
FROM vouches
GROUP BY user_name, device;

-- Each identity's hours of day (UTC; an identity's own history is its time zone), for "at an hour
-- this identity never signs in".
CREATE OR REPLACE TEMP TABLE identity_hours AS
SELECT user_name, hour_utc, count(*) AS n
FROM ok_signins
GROUP BY user_name, hour_utc;
