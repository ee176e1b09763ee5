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
-- distinct address (ip_keys), not per event. net_id numbers the networks, so the per-identity profiles
-- group on small integers instead of strings (see signin_combo_keys).
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
SELECT ip, net, dense_rank() OVER (ORDER BY net) AS net_id, row_number() OVER (ORDER BY ip) AS ip_id
FROM netted;

-- The family of each user agent (version numbers removed: the same browser updating is not a new
-- device), once per distinct user agent.
CREATE OR REPLACE TEMP TABLE ua_families AS
SELECT user_agent, regexp_replace(user_agent, '[0-9]+', '#', 'g') AS ua_family,
       hash('ua:' || regexp_replace(user_agent, '[0-9]+', '#', 'g')) AS ua_device,
       row_number() OVER (ORDER BY user_agent) AS ua_id
FROM (SELECT DISTINCT coalesce(user_agent, '') AS user_agent FROM auth_events WHERE status_id = 1);

-- Numbers for the identities and for the client app / protocol pairs (see signin_combo_keys).
CREATE OR REPLACE TEMP TABLE signin_identities AS
SELECT user_name, row_number() OVER (ORDER BY user_name) AS user_id
FROM (SELECT DISTINCT user_name FROM auth_events WHERE status_id = 1 AND user_name IS NOT NULL);

CREATE OR REPLACE TEMP TABLE signin_clients AS
-- The client key joins app and protocol with a '/' even when one is missing ('Browser/', Okta's
-- 'user.session.start/'): the saved profile history holds these keys. Findings show the pair without
-- the dangling separator (coalesce(nullif(regexp_replace(client, '^/|/$', ''), ''), 'client unknown')).
SELECT client_app, auth_protocol, coalesce(client_app, '') || '/' || coalesce(auth_protocol, '') AS client,
       row_number() OVER (ORDER BY client_app, auth_protocol) AS client_id
FROM (SELECT DISTINCT client_app, auth_protocol FROM auth_events WHERE status_id = 1);

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
    -- (computed only by the readers that use it: the view joins nothing it does not need)
    CASE WHEN e.device_id <> '' THEN hash(e.device_id)
         ELSE hash('ua:' || regexp_replace(coalesce(e.user_agent, ''), '[0-9]+', '#', 'g')) END AS device,
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
WHERE e.status_id = 1
  AND e.user_name IS NOT NULL
  AND e.time IS NOT NULL
  AND e.user_name NOT IN ('', '-', 'anonymous logon', 'anonymous')
  AND NOT e.user_name LIKE '%$';

-- One row per identity, day and distinct combination of properties (network, ASN, country, device,
-- client): the unit the detections score. Grouped on numbers, with numeric states only (the first
-- sign-in is kept as its time and a 64-bit hash of its record), so a month's millions of groups spill
-- to disk under the memory limit; text states (a first address, city or user agent) do not, and ran
-- out of memory at a quarter of the default limit with four times the events.
CREATE OR REPLACE TEMP TABLE signin_combo_keys AS
SELECT i.user_id, CAST(s.time AS DATE) AS day, s.net_id, s.asn, s.country, s.device, c.client_id,
       min(s.time) AS first_seen, max(s.time) AS last_seen, count(*) AS n,
       arg_min(hash(s.record_ref), s.time) AS record_hash,
       bool_or(s.is_legacy) AS any_legacy,
       bool_or(s.known_device) AS known_device,
       bool_and(NOT s.is_mfa) AS single_factor
FROM (
    SELECT e.time, e.record_ref, e.user_name, n.net_id, e.src_asn AS asn, e.src_country AS country,
           CASE WHEN e.device_id <> '' THEN hash(e.device_id) ELSE u.ua_device END AS device,
           nullif(e.device_id, '') IS NOT NULL AS known_device, e.client_app, e.auth_protocol,
           coalesce(e.is_legacy_protocol, false) AS is_legacy, coalesce(e.is_mfa, false) AS is_mfa
    FROM auth_events e
    LEFT JOIN ip_nets n ON n.ip = e.src_endpoint_ip
    JOIN ua_families u ON u.user_agent = coalesce(e.user_agent, '')
    WHERE e.status_id = 1
      AND e.time IS NOT NULL
      AND e.user_name NOT IN ('', '-', 'anonymous logon', 'anonymous')
      AND NOT e.user_name LIKE '%$'
) s
JOIN signin_identities i ON i.user_name = s.user_name
JOIN signin_clients c ON c.client_app IS NOT DISTINCT FROM s.client_app
     AND c.auth_protocol IS NOT DISTINCT FROM s.auth_protocol
GROUP BY i.user_id, CAST(s.time AS DATE), s.net_id, s.asn, s.country, s.device, c.client_id;

-- Each combination's first sign-in found again by identity, time and record hash: its record, address,
-- location, network owner, user agent and application, the address and user agent as their ids (the
-- DISTINCT, which keeps one row should a source repeat a record, then compares short rows).
CREATE OR REPLACE TEMP TABLE signin_firsts AS
SELECT DISTINCT c.user_id, c.first_seen, c.record_hash, e.record_ref, n.ip_id, e.src_asn_org AS asn_org,
       e.src_city AS city, e.src_lat AS lat, e.src_lon AS lon, u.ua_id, coalesce(e.service_name, '') AS app
FROM signin_combo_keys c
JOIN signin_identities i ON i.user_id = c.user_id
JOIN auth_events e ON e.user_name = i.user_name AND e.time = c.first_seen AND hash(e.record_ref) = c.record_hash
LEFT JOIN ip_nets n ON n.ip = e.src_endpoint_ip
JOIN ua_families u ON u.user_agent = coalesce(e.user_agent, '')
WHERE e.status_id = 1;

-- The combinations with their texts.
CREATE OR REPLACE TEMP TABLE signin_combos AS
SELECT i.user_name, c.day, n.net, c.asn, c.country, c.device, k.client,
       c.first_seen, c.last_seen, c.n, hour(c.first_seen) AS first_hour, a.ip, f.asn_org, f.city, f.lat, f.lon,
       u.user_agent, f.app, c.any_legacy, c.known_device, c.single_factor, f.record_ref AS first_record
FROM signin_combo_keys c
JOIN signin_firsts f ON f.user_id = c.user_id AND f.first_seen = c.first_seen AND f.record_hash = c.record_hash
JOIN signin_identities i ON i.user_id = c.user_id
LEFT JOIN (SELECT DISTINCT net_id, net FROM ip_nets) n ON n.net_id = c.net_id
LEFT JOIN ip_nets a ON a.ip_id = f.ip_id
JOIN ua_families u ON u.ua_id = f.ua_id
JOIN signin_clients k ON k.client_id = c.client_id;

-- Both steps are spent: dropped, so that the tables the rules still read keep the memory.
DROP TABLE signin_firsts;
DROP TABLE signin_combo_keys;

-- Incremental hunts add the identity's earlier days (carried in the state folder) to signin_combos here,
-- and build identity_first_events and log_span (detections/profile_history.py):
-- @python

-- Each identity's familiarity with each value: the first day it signed in with it, and on how many
-- distinct days it did. Each feature is grouped on its own column (numbers for the ASN and the
-- device), its distinct days first and then counted (cheaper than a distinct count per group), and
-- only the result is turned into the text the rules compare.
CREATE OR REPLACE TEMP TABLE identity_values AS
SELECT user_name, 'network' AS feature, net AS value, min(day) AS first_day, count(*) AS days
FROM (SELECT DISTINCT user_name, net, day FROM signin_combos WHERE net IS NOT NULL) GROUP BY user_name, net
UNION ALL
SELECT user_name, 'asn', CAST(asn AS VARCHAR), min(day), count(*)
FROM (SELECT DISTINCT user_name, asn, day FROM signin_combos WHERE asn IS NOT NULL) GROUP BY user_name, asn
UNION ALL
SELECT user_name, 'country', country, min(day), count(*)
FROM (SELECT DISTINCT user_name, country, day FROM signin_combos WHERE country IS NOT NULL)
GROUP BY user_name, country
UNION ALL
SELECT user_name, 'device', CAST(device AS VARCHAR), min(day), count(*)
FROM (SELECT DISTINCT user_name, device, day FROM signin_combos) GROUP BY user_name, device
UNION ALL
SELECT user_name, 'client', client, min(day), count(*)
FROM (SELECT DISTINCT user_name, client, day FROM signin_combos) GROUP BY user_name, client;

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
       coalesce(nullif(regexp_replace(r.client, '^/|/$', ''), ''), 'client unknown') AS usual_client, r.user_agent AS usual_user_agent, t.known_device_share
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
