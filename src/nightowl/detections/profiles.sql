/* nightowl-prepare
# Per-identity sign-in profiles for the account-takeover detections: what each identity's successful
# sign-ins usually look like (network, ASN, country, device, user-agent family, client/protocol, hours)
# and how common each value is across the tenant. Aggregated in SQL (one row per identity, day and
# distinct combination of properties), so memory follows the number of identities, not of events.
*/

-- Every successful sign-in with the properties the profiles learn. The network is the /24 (IPv4) or
-- /48 (IPv6): one customer's line or one provider's pool, coarser than the address a phone or a
-- privacy extension changes every day. The device is the device id when the source gives one, else
-- the user agent with version numbers removed (the same browser updating is not a new device).
CREATE OR REPLACE TEMP TABLE ok_signins AS
SELECT
    e.time,
    CAST(e.time AS DATE) AS day,
    hour(e.time) AS hour_utc,
    e.record_ref,
    e.user_name,
    e.src_endpoint_ip AS ip,
    CASE WHEN e.src_endpoint_ip IS NULL THEN NULL
         WHEN e.src_endpoint_ip LIKE '%:%'
              THEN coalesce(nullif(regexp_extract(k.src_key, '^([0-9a-f]*:[0-9a-f]*:[0-9a-f]*):', 1), ''),
                            k.src_key) || '::/48'
         ELSE coalesce(nullif(regexp_extract(e.src_endpoint_ip, '^([0-9]+[.][0-9]+[.][0-9]+)[.]', 1), ''),
                       e.src_endpoint_ip) || '.0/24' END AS net,
    CAST(e.src_asn AS VARCHAR) AS asn,
    e.src_asn_org AS asn_org,
    e.src_country AS country,
    e.src_city AS city,
    e.src_lat AS lat,
    e.src_lon AS lon,
    coalesce(nullif(e.device_id, ''),
             'ua:' || regexp_replace(coalesce(e.user_agent, ''), '[0-9]+', '#', 'g')) AS device,
    regexp_replace(coalesce(e.user_agent, ''), '[0-9]+', '#', 'g') AS ua_family,
    coalesce(e.user_agent, '') AS user_agent,
    coalesce(e.client_app, '') || '/' || coalesce(e.auth_protocol, '') AS client,
    coalesce(e.service_name, '') AS app,
    coalesce(e.is_legacy_protocol, false) AS is_legacy,
    coalesce(e.is_mfa, false) AS is_mfa,
    e.session_id
FROM auth_events e
LEFT JOIN ip_keys k ON k.ip = e.src_endpoint_ip
WHERE e.status_id = 1
  AND e.user_name IS NOT NULL
  AND e.time IS NOT NULL
  AND e.user_name NOT IN ('', '-', 'anonymous logon', 'anonymous')
  AND NOT e.user_name LIKE '%$';

-- One row per identity, day and distinct combination of properties: the unit the detections score.
CREATE OR REPLACE TEMP TABLE signin_combos AS
SELECT user_name, day, net, asn, country, device, ua_family, client,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS n,
       min(hour_utc) AS first_hour,
       arg_min(ip, time) AS ip,
       arg_min(asn_org, time) AS asn_org,
       arg_min(city, time) AS city,
       arg_min(user_agent, time) AS user_agent,
       arg_min(app, time) AS app,
       bool_or(is_legacy) AS any_legacy,
       bool_and(NOT is_mfa) AS single_factor,
       arg_min(record_ref, time) AS first_record
FROM ok_signins
GROUP BY user_name, day, net, asn, country, device, ua_family, client;

-- Each identity's familiarity with each value: the first day it signed in with it, and on how many
-- distinct days it did.
CREATE OR REPLACE TEMP TABLE identity_values AS
WITH long AS (
    SELECT user_name, day, 'network' AS feature, net AS value FROM signin_combos WHERE net IS NOT NULL
    UNION ALL SELECT user_name, day, 'asn', asn FROM signin_combos WHERE asn IS NOT NULL
    UNION ALL SELECT user_name, day, 'country', country FROM signin_combos WHERE country IS NOT NULL
    UNION ALL SELECT user_name, day, 'device', device FROM signin_combos
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
       mode(c.country) AS usual_country,
       mode(c.asn_org) AS usual_asn_org,
       mode(c.asn) AS usual_asn,
       mode(c.client) AS usual_client,
       mode(c.user_agent) AS usual_user_agent,
       count(DISTINCT c.device) AS devices,
       sum(c.n) FILTER (WHERE c.device NOT LIKE 'ua:%') * 1.0 / sum(c.n) AS known_device_share,
       count(DISTINCT c.net) AS networks,
       bool_or(c.any_legacy) AS ever_legacy,
       count(DISTINCT c.day) FILTER (WHERE c.any_legacy) AS legacy_days
FROM signin_combos c
GROUP BY c.user_name;

-- Each identity's active days in order: how much history it had before a given day.
CREATE OR REPLACE TEMP TABLE identity_days AS
SELECT user_name, day, row_number() OVER (PARTITION BY user_name ORDER BY day) - 1 AS days_before,
       bool_or(device NOT LIKE 'ua:%') AS known_device_day
FROM signin_combos
GROUP BY user_name, day;

-- Each identity's hours of day (UTC; an identity's own history is its time zone), for "at an hour
-- this identity never signs in".
CREATE OR REPLACE TEMP TABLE identity_hours AS
SELECT user_name, hour_utc, count(*) AS n
FROM ok_signins
GROUP BY user_name, hour_utc;
