/* nightowl-detection
id = "takeover.impossible_travel"
title = "Impossible or atypical travel between two successful sign-ins"
category = "account_takeover"
severity = "medium"
attack = ["T1078", "T1078.004"]
description = """
Two consecutive successful sign-ins of one identity from places farther apart than anyone can travel
in the time between them (great-circle distance over elapsed time), where neither end is a network
the tenant shares (a VPN or cloud egress, an office or carrier NAT: many identities sign in from it,
so its location says nothing about where the person is). Medium when the far end also uses a device
without a device id that the identity had never used before that day and that never signs in from a
network the identity's older devices use (someone else's machine); low when it is the identity's usual
device (most likely the person travelling, or a roaming phone), so an analyst can confirm in a glance.
Needs coordinates: the vendor's own (Entra geoCoordinates, Okta geolocation) or an offline GeoIP
database (nightowl hunt --geoip); without them the rule is silent.
"""
false_positives = [
  "A personal VPN or a privacy relay only this user uses (its exit moves the user's apparent location); the finding names the network so it can be allow-listed.",
  "A user on a flight with in-flight Wi-Fi whose exit is on another continent.",
]

evidence = ["km", "kmh", "minutes", "from_ip", "from_country", "from_city", "to_ip", "to_country", "to_city", "to_network_identities_in_tenant", "from_network_identities_in_tenant", "new_device", "user_agent", "usual_country", "usual_user_agent", "identity_active_days", "records"]
settings = ["shared_network_users"]  # [prepare]: a /24 that many identities sign in from is the tenant's own egress, not an attacker's

[thresholds]
min_history_days = { default = 5, anchor = "a device counts as new only after 5 earlier active days (Entra ID Protection's learning period); before that every device is new" }
max_speed_kmh = { default = 1000, anchor = "faster than a commercial airliner (about 900 km/h) once time-zone slack is allowed for; Microsoft Defender for Cloud Apps' impossible travel uses the same idea" }
min_distance_km = { default = 500, anchor = "GeoIP places the same person hundreds of km apart (city centroids of a country, mobile gateways); below 500 km the distance is noise" }
*/
CREATE OR REPLACE TEMP TABLE travel_legs AS
WITH located AS (  -- one row per identity, day and combination of properties (signin_combos), located,
    -- with what orders, measures and filters the legs (the few that remain get their places at the end)
    SELECT c.user_name, c.first_seen AS time, c.last_seen, c.net, c.lat, c.lon, c.device, c.known_device, c.day,
           c.first_record AS record_ref
    FROM signin_combos c
    WHERE c.lat IS NOT NULL AND c.lon IS NOT NULL
), legs AS (
    SELECT l.*,
           -- the previous combination's last sign-in; its first when it runs on past this sign-in (the
           -- usual laptop at 09:04 and 16:04, the far place at 09:30): a leg never ends before it starts
           CASE WHEN lag(l.last_seen) OVER w > l.time THEN lag(l.time) OVER w ELSE lag(l.last_seen) OVER w END AS prev_time,
           lag(l.time) OVER w AS prev_first_seen, lag(l.net) OVER w AS prev_net,
           lag(l.lat) OVER w AS prev_lat, lag(l.lon) OVER w AS prev_lon, lag(l.record_ref) OVER w AS prev_record
    FROM located l
    WINDOW w AS (PARTITION BY l.user_name ORDER BY l.time, l.record_ref)  -- the record: the same order whatever the scan
), measured AS (
    SELECT *,
           2 * 6371 * asin(sqrt(power(sin(radians(lat - prev_lat) / 2), 2)
                + cos(radians(prev_lat)) * cos(radians(lat)) * power(sin(radians(lon - prev_lon) / 2), 2))) AS km,
           -- a double on both engines (Spark divides by the literal 3600.0 as a decimal: 280490 km/h
           -- where DuckDB's double gives 280487)
           greatest(date_diff('second', prev_time, time), 1) / CAST(3600 AS DOUBLE) AS hours,  -- overlapping visits: 1 s
           -- whole minutes, half up, from whole seconds: hours * 60 lands on either side of .5 by engine
           CAST(floor((greatest(date_diff('second', prev_time, time), 1) + 30) / 60) AS BIGINT) AS minutes
    FROM legs
    WHERE prev_time IS NOT NULL AND (lat <> prev_lat OR lon <> prev_lon)
), kept AS (
    SELECT m.*, m.km / m.hours AS kmh,
           -- the fastest leg of the day tells the story; ties go to the earlier one, then the record
           row_number() OVER (PARTITION BY m.user_name, m.day ORDER BY m.km / m.hours DESC, m.time, m.record_ref) AS leg_rank,
           coalesce(t1.users, 0) AS net_users, coalesce(t0.users, 0) AS prev_net_users,
           d.first_day = m.day AND dd.days_before >= $min_history_days AND NOT m.known_device
             AND v.device IS NULL AS new_device,  -- new, no device id, not seen on the identity's own networks
           p.active_days, p.usual_country, p.usual_user_agent
    FROM measured m
    LEFT JOIN tenant_values t1 ON t1.feature = 'network' AND t1.value = m.net
    LEFT JOIN tenant_values t0 ON t0.feature = 'network' AND t0.value = m.prev_net
    JOIN identity_values d ON d.user_name = m.user_name AND d.feature = 'device' AND d.value = CAST(m.device AS VARCHAR)
    JOIN identity_profile p ON p.user_name = m.user_name
    JOIN identity_days dd ON dd.user_name = m.user_name AND dd.day = m.day
    LEFT JOIN vouched_devices v ON v.user_name = m.user_name AND v.device = m.device
    WHERE m.km >= $min_distance_km AND m.km / m.hours > $max_speed_kmh
      AND coalesce(t1.users, 0) < $shared_network_users AND coalesce(t0.users, 0) < $shared_network_users
)
-- both ends' places (identity, first sign-in and record tell a combination apart)
SELECT k.*, c.ip, c.country, c.city, c.user_agent, b.ip AS prev_ip, b.country AS prev_country, b.city AS prev_city
FROM kept k
JOIN signin_combos c ON c.user_name = k.user_name AND c.first_seen = k.time
     AND c.first_record IS NOT DISTINCT FROM k.record_ref
JOIN signin_combos b ON b.user_name = k.user_name AND b.first_seen = k.prev_first_seen
     AND b.first_record IS NOT DISTINCT FROM k.prev_record;

SELECT
    user_name || '|' || CAST(min(time) AS VARCHAR) AS key,
    min(prev_time) AS first_seen, max(time) AS last_seen,
    [user_name] AS users,
    list_concat(list(DISTINCT ip), list(DISTINCT prev_ip)) AS source_ips,
    count(*) AS n_legs, 1 AS distinct_users,
    CASE WHEN bool_or(new_device) THEN 'medium' ELSE 'low' END AS severity,
    printf('%s: %s to %s, %d km in %d min', user_name,
           coalesce(arg_min(prev_city, leg_rank), '?') || ' (' || coalesce(arg_min(prev_country, leg_rank), '?') || ')',
           coalesce(arg_min(city, leg_rank), '?') || ' (' || coalesce(arg_min(country, leg_rank), '?') || ')',
           CAST(round(arg_min(km, leg_rank)) AS BIGINT), arg_min(minutes, leg_rank)) AS title,
    printf('%s signed in from %s (%s) at %s and from %s (%s) %d min later: %d km apart, %d km/h. %s',
           user_name, arg_min(prev_ip, leg_rank), coalesce(arg_min(prev_country, leg_rank), '?'),
           strftime(arg_min(prev_time, leg_rank), '%Y-%m-%d %H:%M'), arg_min(ip, leg_rank), coalesce(arg_min(country, leg_rank), '?'),
           arg_min(minutes, leg_rank), CAST(round(arg_min(km, leg_rank)) AS BIGINT), CAST(round(max(kmh)) AS BIGINT),
           CASE WHEN bool_or(new_device)
                THEN 'The far end used a device this identity had never used before that day: treat as a takeover until the user confirms.'
                ELSE 'Neither end used a device new to this identity after its learning days: probably the person travelling or a roaming phone; confirm with the user.' END) AS summary,
    {'km': CAST(round(arg_min(km, leg_rank)) AS BIGINT), 'kmh': CAST(round(max(kmh)) AS BIGINT), 'minutes': arg_min(minutes, leg_rank),
     'from_ip': arg_min(prev_ip, leg_rank), 'from_country': arg_min(prev_country, leg_rank), 'from_city': arg_min(prev_city, leg_rank),
     'to_ip': arg_min(ip, leg_rank), 'to_country': arg_min(country, leg_rank), 'to_city': arg_min(city, leg_rank),
     'to_network_identities_in_tenant': arg_min(net_users, leg_rank), 'from_network_identities_in_tenant': arg_min(prev_net_users, leg_rank),
     'new_device': bool_or(new_device), 'user_agent': arg_min(user_agent, leg_rank),
     'usual_country': any_value(usual_country), 'usual_user_agent': any_value(usual_user_agent),
     'identity_active_days': max(active_days),
     'records': [arg_min(prev_record, leg_rank), arg_min(record_ref, leg_rank)]} AS evidence
FROM travel_legs
GROUP BY user_name, day
ORDER BY first_seen, key;
