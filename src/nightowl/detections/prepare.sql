/* nightowl-prepare
# Shared facts every identity detection reads. Built once per run from auth_events.
[thresholds]
resolve_before_minutes = { default = 60, anchor = "a user who fails and then signs in from the same source within hours had a typo; 1 h before covers clock skew between log sources" }
session_gap_minutes = { default = 360, anchor = "a source's attempts belong to one session until it is quiet for 6 h: long enough to chain a slow spray (one user every 10-60 min), short enough to split separate days of a NAT's activity" }
peak_window_minutes = { default = 20, anchor = "Microsoft Sentinel's password-spray rule counts distinct failed users per IP in 20 minutes; we report the same peak so the two can be compared" }
resolve_after_hours = { default = 12, anchor = "Entra typo-then-success and password-change flows complete within minutes to hours; 12 h also covers an expired password changed the next morning" }
*/

-- Every event with a source key (IPv6 grouped by /64, from ip_keys built by the runner) and the
-- outcome folded into three flags:
--   is_fail  wrong password, unknown user, locked, disabled: the password was not confirmed
--   pw_ok    success, or an interruption that only follows a correct password (MFA, CA, expiry)
--   is_unknown  outcome not recorded (Windows 4648 explicit-credential logons)
-- A view, not a table: a copy of every event would be the largest thing a hunt holds (beyond the
-- memory limit it spills); each reader filters it (failures, successes) straight from the store.
CREATE OR REPLACE TEMP VIEW ev AS
SELECT
    e.time,
    e.record_ref,
    e.source_format,
    e.user_name,
    coalesce(e.user_exists, true) AS user_exists,
    -- a source without an address is its host name (pam rhost, Windows Workstation), shown as
    -- 'host:NAME' wherever findings list sources; else the machine that recorded the attempt
    coalesce(e.src_endpoint_ip, 'host:' || lower(e.src_endpoint_hostname)) AS ip,
    coalesce(k.src_key, e.src_endpoint_ip, 'host:' || lower(e.src_endpoint_hostname),
             'host:' || coalesce(e.dst_host, '?')) AS src_key,
    e.src_asn,
    e.src_asn_org,
    e.src_country,
    coalesce(e.user_agent, '') AS user_agent,
    coalesce(e.service_name, '') AS service_name,
    coalesce(e.client_app, e.auth_protocol, '') AS client,
    coalesce(e.is_legacy_protocol, false) AS is_legacy,
    e.is_mfa,
    e.status_detail,
    e.status_id = 2 AND NOT coalesce(e.password_correct, false) AS is_fail,
    -- a success that checked no password (a Kerberos TGT without pre-authentication) is not pw_ok
    (e.status_id = 1 AND e.password_correct IS DISTINCT FROM false) OR coalesce(e.password_correct, false) AS pw_ok,
    coalesce(e.status_id NOT IN (1, 2), true) AND NOT coalesce(e.password_correct, false) AS is_unknown,
    e.status_detail = 'USER_DOES_NOT_EXIST' OR NOT coalesce(e.user_exists, true) AS no_such_user,
    -- what an attacker's tooling chooses and a campaign shares
    concat_ws(' | ', coalesce(e.user_agent, '-'), coalesce(e.service_name, '-'),
              coalesce(e.client_app, e.auth_protocol, '-')) AS fingerprint
FROM auth_events e
LEFT JOIN ip_keys k ON k.ip = e.src_endpoint_ip
WHERE e.user_name IS NOT NULL
  AND e.time IS NOT NULL
  AND e.user_name NOT IN ('', '-', 'anonymous logon', 'anonymous')
  AND NOT e.user_name LIKE '%$';  -- machine accounts authenticate constantly and are not sprayed

-- Failures whose log names no account: pam_unix's failure after "check pass; user unknown" (or
-- without user=), CloudTrail's masked names, a Windows '-'. They tell nothing about an account, so
-- `ev` and every per-account fact leave them out; they are guesses from a source all the same, so
-- the per-source rules count them from here: enumeration.single_source (unknown accounts) and
-- bruteforce.burst (guess volume); the spray rules show how many came from a spraying source (a
-- spray is a count of accounts, which these cannot add to). An application's own sign-in (service
-- principal, managed identity) has no user by nature and is not one of them.
CREATE OR REPLACE TEMP TABLE unnamed_attempts AS
SELECT e.time, e.record_ref, e.source_format,
       coalesce(k.src_key, e.src_endpoint_ip, 'host:' || lower(e.src_endpoint_hostname),
                'host:' || coalesce(e.dst_host, '?')) AS src_key,
       coalesce(e.src_endpoint_ip, 'host:' || lower(e.src_endpoint_hostname)) AS ip,
       e.src_asn_org, e.src_country,
       coalesce(e.user_agent, '') AS user_agent, coalesce(e.service_name, '') AS service_name,
       coalesce(e.client_app, e.auth_protocol, '') AS client,
       e.status_detail,
       coalesce(e.status_detail = 'USER_DOES_NOT_EXIST', false) OR NOT coalesce(e.user_exists, true) AS no_such_user,
       concat_ws(' | ', coalesce(e.user_agent, '-'), coalesce(e.service_name, '-'),
                 coalesce(e.client_app, e.auth_protocol, '-')) AS fingerprint
FROM auth_events e
LEFT JOIN ip_keys k ON k.ip = e.src_endpoint_ip
WHERE (e.user_name IS NULL OR trim(e.user_name) IN ('', '-'))
  AND coalesce(e.actor_type, 'user') = 'user'
  AND e.time IS NOT NULL
  AND e.status_id = 2 AND NOT coalesce(e.password_correct, false);

-- Attempts whose password was not confirmed (failures, and unknown outcomes).
CREATE OR REPLACE TEMP TABLE attempts AS
SELECT * FROM ev WHERE is_fail OR is_unknown;

-- Per (source, user): was the failure resolved by the same user succeeding from the same source
-- soon after (typo, expired password changed, new device set up)? Attackers' failures are not.
CREATE OR REPLACE TEMP TABLE pair_resolution AS
WITH fails AS (
    SELECT src_key, user_name, min(time) AS first_fail, max(time) AS last_fail, count(*) AS n
    FROM attempts GROUP BY ALL
)
SELECT f.src_key, f.user_name, f.first_fail, f.last_fail, f.n,
       coalesce(bool_or(o.time BETWEEN f.first_fail - to_minutes($resolve_before_minutes)
                                   AND f.last_fail + to_hours($resolve_after_hours)), false) AS resolved,
       coalesce(bool_or(o.time < f.first_fail - to_minutes($resolve_before_minutes)), false) AS known_pair
FROM fails f
LEFT JOIN ev o ON o.pw_ok AND o.src_key = f.src_key AND o.user_name = f.user_name
GROUP BY ALL;

-- Per (source, user): its successes and failures there, in one pass over every event that the
-- per-source and per-user histories below then read (two passes over the events before, each with
-- a distinct count of text per group).
CREATE OR REPLACE TEMP TABLE source_users AS
SELECT src_key, user_name,
       count(*) FILTER (WHERE pw_ok) AS ok_events,
       count(*) FILTER (WHERE is_fail) AS fail_events,
       count(*) FILTER (WHERE is_fail OR is_unknown) AS attempts,
       bool_or(NOT no_such_user) AS exists_somewhere,
       min(time) AS first_seen,
       max(time) AS last_seen
FROM ev GROUP BY src_key, user_name;

-- Per source: how many distinct users ever confirmed a password from it (offices, VPNs and
-- carrier NAT have many; an attacker's proxy has none or only its victims).
CREATE OR REPLACE TEMP TABLE source_history AS
SELECT src_key,
       count(*) FILTER (WHERE ok_events > 0) AS ok_users,
       count(*) FILTER (WHERE attempts > 0) AS failed_users,
       CAST(sum(attempts) AS BIGINT) AS attempts,
       min(first_seen) AS first_seen,
       max(last_seen) AS last_seen
FROM source_users GROUP BY src_key;

-- Per user: normal failure rate (how often this account fails on a day), used to tell accounts
-- that rarely fail (a campaign's targets) from those that always do.
CREATE OR REPLACE TEMP TABLE user_history AS
SELECT user_name,
       CAST(sum(ok_events) AS BIGINT) AS ok_events,
       CAST(sum(fail_events) AS BIGINT) AS fail_events,
       count(*) FILTER (WHERE ok_events > 0) AS ok_sources,
       bool_or(exists_somewhere) AS exists_somewhere
FROM source_users GROUP BY user_name;
DROP TABLE source_users;  -- spent (see source_sessions)

-- Sessions of one source's unconfirmed attempts: a new session starts after a quiet gap, so a
-- burst is never split the way fixed buckets split it, and a slow spray chains into one session.
-- Each attempt with its session and the distinct users its source tried in the window before it.
CREATE OR REPLACE TEMP TABLE attempt_sessions AS
WITH marked AS (
    SELECT *, CASE WHEN time - lag(time) OVER (PARTITION BY src_key ORDER BY time)
                        > to_minutes($session_gap_minutes) THEN 1 ELSE 0 END AS new_session
    FROM attempts
), numbered AS (
    SELECT *, sum(new_session) OVER (PARTITION BY src_key ORDER BY time ROWS UNBOUNDED PRECEDING) AS session_no
    FROM marked
)
SELECT *, count(DISTINCT user_name) OVER (
           PARTITION BY src_key, session_no ORDER BY time
           RANGE BETWEEN to_minutes($peak_window_minutes) PRECEDING AND CURRENT ROW) AS window_users
FROM numbered;
-- Per session, in three steps so that no one aggregate holds every text state at once (lists,
-- modes and distinct counts stay in memory; split, each fits under a small memory limit):
-- the counts and lists,
CREATE OR REPLACE TEMP TABLE session_counts AS

    SELECT p.src_key, p.session_no,
           min(p.time) AS first_seen, max(p.time) AS last_seen,
           count(*) AS attempts,
           count(*) FILTER (WHERE p.is_fail) AS failures,
           count(*) FILTER (WHERE p.is_unknown) AS unknown_outcome,
           count(DISTINCT p.user_name) AS distinct_users,
           count(DISTINCT p.user_name) FILTER (WHERE NOT r.resolved) AS unresolved_users,
           count(DISTINCT p.user_name) FILTER (WHERE r.known_pair) AS known_pairs,
           count(DISTINCT p.user_name) FILTER (WHERE p.no_such_user) AS nonexistent_users,
           count(DISTINCT p.user_name) FILTER (WHERE p.status_detail = 'ACCOUNT_LOCKED_OUT') AS locked_users,
           max(p.window_users) AS peak_window_users,
           list(DISTINCT p.user_name ORDER BY p.user_name) AS users,
           list(DISTINCT p.ip ORDER BY p.ip) FILTER (WHERE p.ip IS NOT NULL) AS source_ips,
           count(DISTINCT p.fingerprint) AS distinct_fingerprints,
           bool_or(p.is_legacy) AS any_legacy
    FROM attempt_sessions p
    JOIN pair_resolution r ON r.src_key = p.src_key AND r.user_name = p.user_name
    GROUP BY p.src_key, p.session_no;
-- what the session's attempts look like,
CREATE OR REPLACE TEMP TABLE session_described AS

    SELECT src_key, session_no,
           mode(fingerprint ORDER BY fingerprint) AS fingerprint,
           mode(user_agent ORDER BY user_agent) AS top_user_agent,
           mode(service_name ORDER BY service_name) AS top_service,
           mode(client ORDER BY client) AS top_client,
           any_value(src_asn) AS src_asn,
           any_value(src_asn_org) AS src_asn_org,
           any_value(src_country) AS src_country,
           list(DISTINCT source_format ORDER BY source_format) AS source_formats,
           list(record_ref ORDER BY time, record_ref)[1:5] AS sample_records
    FROM attempt_sessions
    GROUP BY src_key, session_no;
-- and one row per session.
CREATE OR REPLACE TEMP TABLE source_sessions AS
SELECT c.src_key, c.session_no, c.first_seen, c.last_seen, c.attempts, c.failures, c.unknown_outcome,
       c.distinct_users, c.unresolved_users, c.known_pairs, c.nonexistent_users, c.locked_users,
       c.peak_window_users, c.users, c.source_ips, c.distinct_fingerprints, d.fingerprint, d.top_user_agent,
       d.top_service, d.top_client, c.any_legacy, d.src_asn, d.src_asn_org, d.src_country, d.source_formats,
       d.sample_records
FROM session_counts c JOIN session_described d ON d.src_key = c.src_key AND d.session_no = c.session_no;
-- The steps are spent: dropped, so that under the memory limit the tables the rules read keep the memory.
DROP TABLE session_described;
DROP TABLE session_counts;
DROP TABLE attempt_sessions;

-- Users who confirmed a password from each session's source while it was active (a busy office
-- NAT has hundreds; an attacker's address has none, or only its victims).
-- And the failures naming no account that came from that source during the session.
CREATE OR REPLACE TEMP TABLE session_context AS
WITH ok AS (
    SELECT s.src_key, s.session_no, count(DISTINCT e.user_name) AS ok_users_during
    FROM source_sessions s
    LEFT JOIN ev e ON e.pw_ok AND e.src_key = s.src_key
         AND e.time BETWEEN s.first_seen - INTERVAL 1 HOUR AND s.last_seen + INTERVAL 1 HOUR
    GROUP BY ALL
), unnamed AS (
    SELECT s.src_key, s.session_no, count(*) AS unnamed_attempts
    FROM source_sessions s
    JOIN unnamed_attempts u ON u.src_key = s.src_key AND u.time BETWEEN s.first_seen AND s.last_seen
    GROUP BY ALL
)
SELECT o.src_key, o.session_no, o.ok_users_during, coalesce(n.unnamed_attempts, 0) AS unnamed_attempts
FROM ok o LEFT JOIN unnamed n ON n.src_key = o.src_key AND n.session_no = o.session_no;
