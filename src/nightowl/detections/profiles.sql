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
-- distinct address (ip_keys), not per event. ip_id and net_id number them, so the per-identity profiles
-- group and carry small integers instead of strings (a month holds millions of combinations).
CREATE OR REPLACE TEMP TABLE ip_nets AS
WITH keyed AS (
    SELECT d.ip, coalesce(k.src_key, d.ip) AS src_key  -- ip_keys holds only the addresses that are not IPv4
    FROM (SELECT DISTINCT src_endpoint_ip AS ip FROM auth_events WHERE status_id = 1 AND src_endpoint_ip IS NOT NULL) d
    LEFT JOIN ip_keys k ON k.ip = d.ip
), netted AS (
    SELECT ip,
           CASE WHEN src_key LIKE '%:%'
                THEN coalesce(nullif(regexp_extract(src_key, '^([0-9a-f]*:[0-9a-f]*:[0-9a-f]*):', 1), ''), src_key) || '::/48'
                ELSE coalesce(nullif(regexp_extract(src_key, '^([0-9]+[.][0-9]+[.][0-9]+)[.]', 1), ''), src_key) || '.0/24' END AS net
    FROM keyed
)
SELECT ip, net, row_number() OVER (ORDER BY ip) AS ip_id, dense_rank() OVER (ORDER BY net) AS net_id
FROM netted;

-- The family of each user agent (version numbers removed: the same browser updating is not a new
-- device), once per distinct user agent; ua_id numbers them (see ip_id).
CREATE OR REPLACE TEMP TABLE ua_families AS
SELECT user_agent, regexp_replace(user_agent, '[0-9]+', '#', 'g') AS ua_family,
       hash('ua:' || regexp_replace(user_agent, '[0-9]+', '#', 'g')) AS ua_device,
       row_number() OVER (ORDER BY user_agent) AS ua_id
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
    n.ip_id,
    n.net,
    n.net_id,
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
    u.ua_id,
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
-- Grouped on numbers (the network's and the first address's ids, the user agent's id), the strings
-- looked up afterwards in the small ip_nets and ua_families tables: a month's millions of groups then
-- stay narrow enough to aggregate in memory instead of spilling.
CREATE OR REPLACE TEMP TABLE signin_combos AS
WITH combos AS (
    SELECT user_name, day, net_id, asn, country, device, client_app, auth_protocol,
           min(time) AS first_seen, max(time) AS last_seen, count(*) AS n,
           min(hour_utc) AS first_hour,
           arg_min(ip_id, time) AS ip_id,
           any_value(asn_org) AS asn_org,
           any_value(city) AS city,
           any_value(lat) AS lat,
           any_value(lon) AS lon,
           any_value(ua_id) AS ua_id,
           any_value(app) AS app,
           bool_or(is_legacy) AS any_legacy,
           bool_or(known_device) AS known_device,
           bool_and(NOT is_mfa) AS single_factor,
           arg_min(record_ref, time) AS first_record
    FROM ok_signins
    GROUP BY user_name, day, net_id, asn, country, device, client_app, auth_protocol
), nets AS (
    SELECT DISTINCT net_id, net FROM ip_nets
)
SELECT c.user_name, c.day, n.net, c.asn, c.country, c.device,
       coalesce(c.client_app, '') || '/' || coalesce(c.auth_protocol, '') AS client,
       c.first_seen, c.last_seen, c.n, c.first_hour, i.ip, c.asn_org, c.city, c.lat, c.lon,
       u.user_agent, c.app, c.any_legacy, c.known_device, c.single_factor, c.first_record
FROM combos c
LEFT JOIN nets n ON n.net_id = c.net_id
LEFT JOIN ip_nets i ON i.ip_id = c.ip_id
JOIN ua_families u ON u.ua_id = c.ua_id;

-- Incremental hunts add the identity's earlier days (carried in the state folder) to signin_combos here,
-- and build identity_first_events and log_span (detections/profile_history.py):
-- @python

-- Each identity's familiarity with each value: the first day it signed in with it, and on how many
-- distinct days it did. Each feature is grouped on its own column (numbers for the ASN and the
-- device), and only the result is turned into the text the rules compare.
CREATE OR REPLACE TEMP TABLE identity_values AS
SELECT user_name, 'network' AS feature, net AS value, min(day) AS first_day, count(DISTINCT day) AS days
FROM signin_combos WHERE net IS NOT NULL GROUP BY user_name, net
UNION ALL
SELECT user_name, 'asn', CAST(asn AS VARCHAR), min(day), count(DISTINCT day)
FROM signin_combos WHERE asn IS NOT NULL GROUP BY user_name, asn
UNION ALL
SELECT user_name, 'country', country, min(day), count(DISTINCT day)
FROM signin_combos WHERE country IS NOT NULL GROUP BY user_name, country
UNION ALL
SELECT user_name, 'device', CAST(device AS VARCHAR), min(day), count(DISTINCT day)
FROM signin_combos GROUP BY user_name, device
UNION ALL
SELECT user_name, 'client', client, min(day), count(DISTINCT day)
FROM signin_combos GROUP BY user_name, client;

-- The tenant's view of each value: how many identities use it.
CREATE OR REPLACE TEMP TABLE tenant_values AS
SELECT feature, value, count(*) AS users
FROM identity_values
GROUP BY feature, value;

-- Each identity's history: active days, its usual networks, countries and devices (for the finding's
-- "usually signs in from ..."), and whether it ever used a legacy protocol. "Usual" is its most used
-- combination, the earliest on ties (first_record tells any two combinations apart): one row, chosen
-- the same way on every run and engine, where arg_max(x, n) picked among ties by row order.
CREATE OR REPLACE TEMP TABLE identity_profile AS
WITH totals AS (
    SELECT user_name,
           count(DISTINCT day) AS active_days,
           sum(n) AS successes,
           min(first_seen) AS first_success,
           max(last_seen) AS last_success,
           sum(n) FILTER (WHERE known_device) * 1.0 / sum(n) AS known_device_share,
           max(n) AS top_n
    FROM signin_combos
    GROUP BY user_name
), ranked AS (  -- only the identity's most used combinations are ranked
    SELECT c.user_name, c.country, c.asn_org, c.asn, c.client, c.user_agent,
           row_number() OVER (PARTITION BY c.user_name ORDER BY c.first_seen, c.first_record) AS rank
    FROM signin_combos c
    JOIN totals t ON t.user_name = c.user_name AND c.n = t.top_n
)
SELECT t.user_name, t.active_days, t.successes, t.first_success, t.last_success,
       r.country AS usual_country, r.asn_org AS usual_asn_org, r.asn AS usual_asn,
       r.client AS usual_client, r.user_agent AS usual_user_agent, t.known_device_share
FROM totals t
JOIN ranked r ON r.user_name = t.user_name AND r.rank = 1;

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
SELECT user_name, device,
       coalesce(min(net) FILTER (WHERE rank = 1), min(net)) AS shared_network,  -- the same one on every run
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
