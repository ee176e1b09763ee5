-- Secret use: every recorded use of a leaked credential, and whether it looks like its owner.
--
-- Inputs (temporary tables the Python side registers, all small):
--   _secret_keys(secret_id, hash_b64, sha256_hex, exposed_at)  one row per secret finding
--   _attacker_ips(ip, finding_id)                              addresses of the incident's attack findings
--   _use_nets(ip, net)                                         each address of credential_uses -> its /24 or /64
-- Keys: GitHub logs hashed_token = base64(SHA-256(token)) = hash_b64; CloudTrail logs the access key
-- id in clear, whose SHA-256 is the secret_sha256 of the scanner's aws.access-key-id finding.
-- Owner history: the networks from which the credential's actors acted before the exposure or
-- without this credential (web sessions, other tokens), and the networks the credential itself is
-- used from on at least habit_days distinct days (an exposure before the logs begin leaves no
-- "before"). A use after the exposure from a network outside that history is "new". Known miss: a
-- thief who uses the credential from one network on that many days becomes "habitual" (still
-- flagged when the address is an attack finding's).

CREATE OR REPLACE TEMP TABLE secret_matches AS
WITH direct AS (
    SELECT k.secret_id, u.*
    FROM credential_uses u JOIN _secret_keys k ON u.credential_hash = k.hash_b64
    UNION ALL
    SELECT k.secret_id, u.*
    FROM credential_uses u JOIN _secret_keys k ON sha256(u.credential_id) = k.sha256_hex
    WHERE u.credential_id IS NOT NULL
)
SELECT * FROM direct
UNION ALL  -- calls signed with a temporary key the secret obtained (sts:GetSessionToken, AssumeRole)
SELECT d.secret_id, u.*
FROM (SELECT DISTINCT secret_id, issued_credential_id FROM direct WHERE issued_credential_id IS NOT NULL) d
JOIN credential_uses u ON u.credential_id = d.issued_credential_id;

CREATE OR REPLACE TEMP TABLE secret_owner_nets AS
WITH owners AS (
    SELECT DISTINCT secret_id, actor FROM secret_matches WHERE actor IS NOT NULL
),
own_actions AS (  -- the owner before the exposure, or without this credential at any time
    SELECT o.secret_id, n.net
    FROM owners o
    JOIN _secret_keys k USING (secret_id)
    JOIN credential_uses u ON u.actor = o.actor
    JOIN _use_nets n ON n.ip = u.src_ip
    WHERE u.time < k.exposed_at
       OR NOT EXISTS (
            SELECT 1 FROM secret_matches m
            WHERE m.secret_id = o.secret_id AND m.event_uid = u.event_uid AND m.source_format = u.source_format)
),
habitual AS (  -- networks the credential itself is used from on many days: its owner's routine
    SELECT m.secret_id, n.net
    FROM secret_matches m JOIN _use_nets n ON n.ip = m.src_ip
    GROUP BY ALL
    HAVING count(DISTINCT CAST(m.time AS DATE)) >= $habit_days
)
SELECT DISTINCT secret_id, net FROM own_actions
UNION
SELECT secret_id, net FROM habitual;

CREATE OR REPLACE TEMP TABLE secret_use_rows AS
SELECT
    m.*,
    n.net,
    (k.exposed_at IS NULL OR m.time >= k.exposed_at) AS after_exposure,
    a.finding_ids IS NOT NULL AS from_attacker,
    a.finding_ids AS attacker_findings,
    n.net IS NOT NULL AND h.net IS NULL AS new_network  -- no address logged: cannot say
FROM secret_matches m
JOIN _secret_keys k USING (secret_id)
LEFT JOIN _use_nets n ON n.ip = m.src_ip
LEFT JOIN (SELECT ip, list(DISTINCT finding_id) AS finding_ids FROM _attacker_ips GROUP BY ip) a ON a.ip = m.src_ip
LEFT JOIN secret_owner_nets h ON h.secret_id = m.secret_id AND h.net = n.net;

-- One summary per secret for all its uses (scope 'all') and one for the suspicious ones (after the
-- exposure, from the attacker's addresses or from networks outside the owner's history).
SELECT
    secret_id,
    CASE WHEN grouping(suspicious) = 1 THEN 'all' WHEN suspicious THEN 'suspicious' ELSE 'usual' END AS scope,
    count(*) AS uses,
    count(*) FILTER (WHERE outcome = 'failure') AS failures,
    count(*) FILTER (WHERE from_attacker) AS attacker_uses,
    min(time) AS first_use,
    max(time) AS last_use,
    list(DISTINCT src_ip ORDER BY src_ip) FILTER (WHERE src_ip IS NOT NULL) AS ips,
    list(DISTINCT net ORDER BY net) FILTER (WHERE net IS NOT NULL) AS networks,
    list(DISTINCT src_ip ORDER BY src_ip) FILTER (WHERE from_attacker) AS attacker_ips,
    list_sort(list_distinct(flatten(list(attacker_findings) FILTER (WHERE from_attacker)))) AS attacker_findings,
    histogram(action) AS actions,
    count(DISTINCT resource) AS distinct_resources,
    (list(DISTINCT resource ORDER BY resource) FILTER (WHERE resource IS NOT NULL))[1:$max_listed] AS resources,
    list(DISTINCT actor ORDER BY actor) FILTER (WHERE actor IS NOT NULL) AS actors,
    list(DISTINCT service ORDER BY service) AS services,
    list(DISTINCT source_format ORDER BY source_format) AS logs,
    (list(DISTINCT user_agent ORDER BY user_agent) FILTER (WHERE user_agent IS NOT NULL))[1:10] AS user_agents,
    (list(DISTINCT error_code ORDER BY error_code) FILTER (WHERE error_code IS NOT NULL))[1:10] AS error_codes,
    (list(record_ref ORDER BY time, record_ref))[1:$max_listed] AS record_refs
FROM (SELECT *, after_exposure AND (from_attacker OR new_network) AS suspicious FROM secret_use_rows)
GROUP BY GROUPING SETS ((secret_id), (secret_id, suspicious))
ORDER BY secret_id, scope;
