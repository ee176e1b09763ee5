/* nightowl-detection
id = "spray.distributed"
title = "Distributed password spray campaign"
category = "password_spray"
severity = "high"
attack = ["T1110.003", "T1090.002"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "fingerprints", "top_user_agent", "distinct_user_agents", "top_application",
  "top_client", "legacy_protocol", "attempts_per_source", "attempts_per_user",
  "nonexistent_share", "asn_orgs", "sample_records", "method",
]
python = "campaigns:merge_groups"
description = """
A campaign spread over many sources (residential proxies), each used for one to a few attempts, so
no per-IP rule ever sees it. Method, in three steps:
1. Candidate attempts: failures that are never resolved (the user does not then sign in from that
   source) from low-activity sources that never confirmed any other user's password.
2. Grouping by what the attacker's tooling shares: a fingerprint of user agent, application and
   client protocol, cut into time-local groups (a group ends after campaign_gap_hours of quiet).
3. A graph whose nodes are these groups and whose edges join groups that overlap in time and
   share targets or sources (Jaccard similarity of targeted accounts, or of source addresses,
   >= merge_jaccard): a campaign rotating user agents or applications still reuses its target
   list or its proxies. Each connected component is a campaign; it is reported
   with every source and every targeted account, then expanded with attempts from busier sources
   that share its fingerprint and targets in its time window. A component is a campaign only if it
   behaves like one: a fifth of its accounts are hit from several sources, or many usernames are
   unknown, or fewer real users sign in with its fingerprint than it targets (the background of a
   large tenant, people failing once from a new network, does none of these).
The shape of the campaign decides its category: each username tried about once with many unknown
is credential stuffing (combination lists from other breaches), repeated tries at mostly unknown
usernames is enumeration, otherwise a spray.
"""
false_positives = [
  "A broken client rolled out to many home users at once (same new user agent failing everywhere); their failures resolve once fixed, and the users exist and sign in normally from those sources.",
  "Users behind a consumer VPN or privacy relay that changes address every request.",
]

[thresholds]
max_attempts_per_source = { default = 6, anchor = "Midnight Blizzard used each residential proxy address for very few attempts; 6 leaves room for proxies reused on a second day" }
max_ok_users_per_source = { default = 1, anchor = "a proxy address may carry the one compromised success; any busier address is a real user's network" }
campaign_gap_hours = { default = 48, anchor = "a low-and-slow campaign pauses for hours, not days" }
merge_jaccard = { default = 0.2, anchor = "groups whose target lists or proxy addresses overlap by a fifth or more belong to the same campaign" }
min_sources = { default = 10, anchor = "Splunk's multi-source spray rule needs more than 20 IPs in 5 minutes; over a campaign window we need 10 low-activity sources sharing a fingerprint" }
min_users = { default = 5, anchor = "as many accounts as Sentinel's per-IP rule" }
enumeration_share = { default = 0.8, anchor = "share of unknown usernames above which the campaign only enumerates" }
stuffing_share = { default = 0.3, anchor = "share of unknown usernames (leaked lists from other sites) at which one-try-per-user becomes stuffing" }
min_repeat_share = { default = 0.2, anchor = "a spray comes back to its accounts with more passwords from other proxies; a person who failed from a new network tried once, from one place" }
min_users_per_proxy = { default = 2, anchor = "a person failing from a new network tries their own account; a proxy reused by a campaign tries several" }
stuffing_attempts_per_user = { default = 1.3, anchor = "stuffing tries each leaked credential once" }

# The shape of a campaign can make it another detection; each is configured under its own id.
[variants."stuffing"]
thresholds = ["stuffing_share", "stuffing_attempts_per_user"]
[variants."enumeration.distributed"]
thresholds = ["enumeration_share"]
*/
CREATE OR REPLACE TEMP TABLE dist_candidates AS
SELECT a.*
FROM attempts a
JOIN pair_resolution r USING (src_key, user_name)
JOIN source_history h USING (src_key)
WHERE NOT r.resolved AND NOT r.known_pair
  AND h.attempts <= $max_attempts_per_source
  AND h.ok_users <= $max_ok_users_per_source;

-- Time-local groups per fingerprint.
-- Every candidate with its time-local fingerprint group (a group ends after campaign_gap_hours of quiet).
CREATE OR REPLACE TEMP TABLE dist_members AS
WITH marked AS (
    SELECT c.*, CASE WHEN time - lag(time) OVER (PARTITION BY fingerprint ORDER BY time)
                          > to_hours($campaign_gap_hours) THEN 1 ELSE 0 END AS new_group
    FROM dist_candidates c
)
SELECT m.* EXCLUDE (new_group), fingerprint || '#' ||
       sum(new_group) OVER (PARTITION BY fingerprint ORDER BY time ROWS UNBOUNDED PRECEDING) AS group_id
FROM marked m;

CREATE OR REPLACE TEMP TABLE dist_groups AS
SELECT group_id, any_value(fingerprint) AS fingerprint,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS attempts,
       count(DISTINCT src_key) AS sources, list(DISTINCT user_name) AS users,
       list(DISTINCT src_key) AS sources_list
FROM dist_members GROUP BY group_id;

-- @python
-- (campaigns.merge_groups runs here: the group graph's connected components, in SQL, fill
-- dist_campaign_of: group_id -> campaign_id)

-- A campaign must look like one, not like the background of a large tenant (people failing once
-- from a new network and giving up, under the most common fingerprint): it hits accounts again from
-- other sources, or tries unknown usernames, or uses a fingerprint few real users sign in with.
CREATE OR REPLACE TEMP TABLE dist_campaigns AS
WITH members AS (
    SELECT o.campaign_id, m.* FROM dist_members m JOIN dist_campaign_of o USING (group_id)
), per_user AS (
    SELECT campaign_id, user_name, count(DISTINCT src_key) AS sources, bool_or(no_such_user) AS unknown
    FROM members GROUP BY ALL
), fingerprint_users AS (  -- real users signing in with the candidates' fingerprints (no others are read)
    SELECT fingerprint, count(DISTINCT user_name) AS ok_users FROM ev
    WHERE pw_ok AND fingerprint IN (SELECT fingerprint FROM dist_members)
    GROUP BY 1
), shape AS (
    SELECT campaign_id, count(*) FILTER (WHERE sources >= 2) / count(*) AS repeat_share,
           count(*) FILTER (WHERE unknown) / count(*) AS unknown_share
    FROM per_user GROUP BY 1
)
SELECT m.campaign_id, min(m.time) AS first_seen, max(m.time) AS last_seen,
       list(DISTINCT m.fingerprint) AS fingerprints, list(DISTINCT m.user_name) AS users,
       count(DISTINCT m.src_key) AS sources, count(DISTINCT m.user_name) AS distinct_users,
       any_value(s.repeat_share) AS repeat_share, any_value(s.unknown_share) AS unknown_share,
       coalesce(max(f.ok_users), 0) AS fingerprint_ok_users
FROM members m
JOIN shape s USING (campaign_id)
LEFT JOIN fingerprint_users f ON f.fingerprint = m.fingerprint
GROUP BY m.campaign_id
HAVING count(DISTINCT m.src_key) >= $min_sources
   AND count(DISTINCT m.user_name) >= $min_users
   AND (any_value(s.repeat_share) >= $min_repeat_share
        OR any_value(s.unknown_share) >= $stuffing_share
        OR coalesce(max(f.ok_users), 0) < count(DISTINCT m.user_name));

-- Every attempt of the campaign: its candidates plus, in its window, (a) attempts from sources
-- with few successful users that share a fingerprint and target one of its accounts, and (b) every
-- attempt of sources that nobody ever signed in from, that tried several accounts, and whose every
-- attempt carries the campaign's fingerprints (proxies reused beyond max_attempts_per_source;
-- stuffing never repeats a target, so (a) cannot see them).
CREATE OR REPLACE TEMP TABLE dist_attempts AS
SELECT DISTINCT c.campaign_id, a.*
FROM dist_campaigns c
JOIN attempts a ON list_contains(c.fingerprints, a.fingerprint) AND list_contains(c.users, a.user_name)
               AND a.time BETWEEN c.first_seen - INTERVAL 1 DAY AND c.last_seen + INTERVAL 1 DAY
JOIN source_history h ON h.src_key = a.src_key AND h.ok_users <= $max_ok_users_per_source
JOIN pair_resolution r ON r.src_key = a.src_key AND r.user_name = a.user_name AND NOT r.resolved
UNION
SELECT c.campaign_id, a.*
FROM dist_campaigns c
JOIN attempts a ON list_contains(c.fingerprints, a.fingerprint)
               AND a.time BETWEEN c.first_seen - INTERVAL 1 DAY AND c.last_seen + INTERVAL 1 DAY
JOIN source_history h ON h.src_key = a.src_key AND h.ok_users = 0 AND h.failed_users >= $min_users_per_proxy
WHERE NOT EXISTS (SELECT 1 FROM ev b WHERE b.src_key = a.src_key AND NOT list_contains(c.fingerprints, b.fingerprint));

WITH shaped AS (
    SELECT campaign_id,
           min(time) AS first_seen, max(time) AS last_seen,
           list(DISTINCT user_name ORDER BY user_name) AS users,
           list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS source_ips,
           count(*) AS attempts, count(*) FILTER (WHERE is_fail) AS failures,
           count(DISTINCT user_name) AS distinct_users, count(DISTINCT ip) AS distinct_ips,
           count(DISTINCT src_key) AS distinct_sources,
           count(DISTINCT user_name) FILTER (WHERE no_such_user) AS nonexistent_users,
           count(DISTINCT src_asn) AS asns, count(DISTINCT src_country) AS countries,
           list(DISTINCT fingerprint ORDER BY fingerprint) AS fingerprints,
           mode(fingerprint ORDER BY fingerprint) AS fingerprint, mode(user_agent ORDER BY user_agent) AS top_user_agent, count(DISTINCT user_agent) AS user_agents,
           mode(service_name ORDER BY service_name) AS top_service, mode(client ORDER BY client) AS top_client, bool_or(is_legacy) AS any_legacy,
           list(record_ref ORDER BY time, record_ref)[1:5] AS sample_records,
           histogram(src_asn_org) AS asn_orgs
    FROM dist_attempts GROUP BY campaign_id
), classified AS (
    SELECT *, nonexistent_users / distinct_users AS nonexistent_share, attempts / distinct_users AS attempts_per_user,
           CASE WHEN nonexistent_users >= $stuffing_share * distinct_users
                     AND attempts <= $stuffing_attempts_per_user * distinct_users THEN 'credential_stuffing'
                WHEN nonexistent_users >= $enumeration_share * distinct_users THEN 'account_enumeration'
                ELSE 'password_spray' END AS category
    FROM shaped
)
SELECT campaign_id AS key, first_seen, last_seen, users, source_ips,
       attempts, failures, distinct_users, distinct_ips, nonexistent_users AS n_nonexistent_users,
       asns AS n_asns, countries AS n_countries,
       category,
       CASE category WHEN 'credential_stuffing' THEN 'stuffing' WHEN 'account_enumeration' THEN 'enumeration.distributed'
                     ELSE 'spray.distributed' END AS detection,
       CASE category WHEN 'account_enumeration' THEN 'medium' ELSE 'high' END AS severity,
       printf('%s from %d addresses against %d accounts',
              CASE category WHEN 'password_spray' THEN 'Distributed password spray'
                            WHEN 'credential_stuffing' THEN 'Credential stuffing'
                            ELSE 'Distributed account enumeration' END,
              distinct_ips, distinct_users) AS title,
       -- where the addresses are, as far as the logs say (a Graph v1.0 export has no ASN; some have no location)
       printf('%d attempts from %d addresses%s, %.1f attempts per address, against %d accounts (%d unknown) between %s and %s; shared fingerprint: %s.',
              attempts, distinct_ips,
              CASE WHEN asns > 0 AND countries > 0 THEN printf(' in %d networks (%d countries)', asns, countries)
                   WHEN asns > 0 THEN printf(' in %d networks', asns)
                   WHEN countries > 0 THEN printf(' in %d countries', countries) ELSE '' END,
              attempts / distinct_sources, distinct_users, nonexistent_users,
              strftime(first_seen, '%Y-%m-%d %H:%M'), strftime(last_seen, '%Y-%m-%d %H:%M'), fingerprint) AS summary,
       {'fingerprint': fingerprint, 'fingerprints': fingerprints, 'top_user_agent': top_user_agent,
        'distinct_user_agents': user_agents, 'top_application': top_service, 'top_client': top_client,
        'legacy_protocol': any_legacy, 'attempts_per_source': round(attempts / distinct_sources, 2),
        'attempts_per_user': round(attempts_per_user, 2), 'nonexistent_share': round(nonexistent_share, 3),
        'asn_orgs': asn_orgs, 'sample_records': sample_records,
        'method': 'fingerprint groups joined by shared targets (connected components)'} AS evidence
FROM classified
ORDER BY first_seen;
