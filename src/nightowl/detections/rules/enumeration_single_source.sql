/* nightowl-detection
id = "enumeration.single_source"
title = "Account enumeration from one source"
category = "account_enumeration"
severity = "medium"
attack = ["T1087.004", "T1589.002"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "top_user_agent", "top_application", "asn_org", "country", "sources",
  "unnamed_attempts", "sample_records",
]
settings = ["session_gap_minutes"]  # [prepare]: the quiet gap that ends a source's session
description = """
One source trying mostly usernames that do not exist (Entra 50034, Windows 0xC0000064, Kerberos 0x6,
sshd "invalid user", AWS masked usernames): it is mapping which accounts exist before a spray.
Sessions that share a fingerprint and follow each other within wave_gap_hours are one operation
(several sources probing in waves) and are reported as one finding with every source and wave.
Some logs do not name an unknown account: pam_unix writes "check pass; user unknown" and then the
failure without user=, AWS masks it. The shared facts keep those failures apart (unnamed_attempts:
no account to tally them under); the ones on unknown accounts are counted here per source and
session (the same quiet gap): min_nonexistent_users of them,
and no more than the share's complement of accounts that do exist failing from that source meanwhile,
is the same enumeration with the names unseen (unnamed_attempts in the evidence and the counts).
"""
false_positives = [
  "A misconfigured application with a wrong tenant domain or username format.",
  "A user mistyping their own name on an ssh client a few times (below the threshold of attempts).",
]

[thresholds]
min_nonexistent_users = { default = 10, anchor = "ten distinct unknown usernames from one source is more than typing mistakes; where the log does not name them, ten attempts on unknown accounts" }
wave_gap_hours = { default = 24, anchor = "sources probing with one fingerprint within a day of each other are one operation in waves, reported once" }
min_nonexistent_share = { default = 0.8, anchor = "the same share spray.single_source hands over" }
*/
-- Unknown accounts the log does not name (prepare's unnamed_attempts, which the per-account facts
-- leave out): sessions of one source's such failures, split by the same quiet gap.
CREATE OR REPLACE TEMP TABLE enum_unnamed AS
WITH unnamed AS (
    SELECT * FROM unnamed_attempts WHERE no_such_user
), marked AS (
    SELECT *, CASE WHEN time - lag(time) OVER (PARTITION BY src_key ORDER BY time, record_ref)
                        > to_minutes($session_gap_minutes) THEN 1 ELSE 0 END AS new_session
    FROM unnamed
), numbered AS (
    SELECT *, sum(new_session) OVER (PARTITION BY src_key ORDER BY time, record_ref ROWS UNBOUNDED PRECEDING) AS session_no
    FROM marked
), usual AS (  -- the session's most common fingerprint, ties to the smallest: the same pick on every engine
    SELECT src_key, session_no, fingerprint, user_agent, service_name,
           row_number() OVER (PARTITION BY src_key, session_no
                              ORDER BY count(*) DESC, fingerprint, user_agent, service_name) AS rank
    FROM numbered
    GROUP BY src_key, session_no, fingerprint, user_agent, service_name
)
SELECT n.src_key, n.session_no, min(n.time) AS first_seen, max(n.time) AS last_seen, count(*) AS attempts,
       list(DISTINCT n.ip ORDER BY n.ip) FILTER (WHERE n.ip IS NOT NULL) AS source_ips,
       any_value(u.fingerprint) AS fingerprint, any_value(u.user_agent) AS top_user_agent,
       any_value(u.service_name) AS top_service,
       min(n.src_asn_org) AS src_asn_org, min(n.src_country) AS src_country,
       list(n.record_ref ORDER BY n.time, n.record_ref)[1:5] AS sample_records
FROM numbered n
JOIN usual u ON u.src_key = n.src_key AND u.session_no = n.session_no AND u.rank = 1
GROUP BY n.src_key, n.session_no
HAVING count(*) >= $min_nonexistent_users;

CREATE OR REPLACE TEMP TABLE enum_sessions AS
SELECT s.src_key, s.first_seen, s.last_seen, s.attempts, s.failures, s.users, s.source_ips,
       s.nonexistent_users, 0 AS unnamed_attempts, s.fingerprint, s.top_user_agent, s.top_service,
       s.src_asn_org, s.src_country, s.sample_records
FROM source_sessions s
WHERE s.nonexistent_users >= $min_nonexistent_users
  AND s.nonexistent_users >= $min_nonexistent_share * s.distinct_users
UNION ALL
-- unnamed attempts, unless accounts that exist fail from the same source meanwhile (a brute force
-- or spray the other rules report, with a few unknown names in it)
SELECT u.src_key, u.first_seen, u.last_seen, u.attempts, u.attempts AS failures, CAST([] AS VARCHAR[]) AS users,
       u.source_ips, 0 AS nonexistent_users, u.attempts AS unnamed_attempts, u.fingerprint, u.top_user_agent,
       u.top_service, u.src_asn_org, u.src_country, u.sample_records
FROM enum_unnamed u
LEFT JOIN (
    SELECT u2.src_key, u2.session_no, count(DISTINCT a.user_name) AS existing_users
    FROM enum_unnamed u2
    JOIN attempts a ON a.src_key = u2.src_key AND NOT a.no_such_user AND a.time BETWEEN u2.first_seen AND u2.last_seen
    GROUP BY u2.src_key, u2.session_no
) x ON x.src_key = u.src_key AND x.session_no = u.session_no
WHERE u.attempts >= $min_nonexistent_share * (u.attempts + coalesce(x.existing_users, 0));

-- Waves: sessions with one fingerprint, each starting within wave_gap_hours of the previous one's end.
CREATE OR REPLACE TEMP TABLE enum_waves AS
WITH ordered AS (
    SELECT *, CASE WHEN first_seen - max(last_seen) OVER (PARTITION BY fingerprint ORDER BY first_seen
                                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                        > to_hours($wave_gap_hours) THEN 1 ELSE 0 END AS new_op
    FROM enum_sessions
)
SELECT *, fingerprint || '#' || sum(new_op) OVER (PARTITION BY fingerprint ORDER BY first_seen
                                                   ROWS UNBOUNDED PRECEDING) AS op
FROM ordered;

SELECT op AS key, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       list_distinct(flatten(list(users))) AS users, list_distinct(flatten(list(source_ips))) AS source_ips,
       sum(attempts) AS attempts, sum(failures) AS failures,
       len(list_distinct(flatten(list(users)))) AS distinct_users,
       len(list_distinct(flatten(list(source_ips)))) AS distinct_ips,
       sum(nonexistent_users) AS n_nonexistent_users, sum(unnamed_attempts) AS n_unnamed_attempts,
       count(*) AS n_source_sessions,
       printf('Account enumeration from %d source(s): %d sessions, %s',
              count(DISTINCT src_key), count(*),
              CASE WHEN sum(unnamed_attempts) = 0
                   THEN printf('%d usernames tried', len(list_distinct(flatten(list(users)))))
                   WHEN len(list_distinct(flatten(list(users)))) = 0
                   THEN printf('%d attempts on unknown accounts (names not logged)', sum(unnamed_attempts))
                   ELSE printf('%d usernames tried and %d attempts on unknown accounts (names not logged)',
                               len(list_distinct(flatten(list(users)))), sum(unnamed_attempts)) END) AS title,
       printf('%s %s in %d session(s) between %s and %s.',
              array_to_string(list(DISTINCT src_key ORDER BY src_key)[1:5], ', '),
              CASE WHEN sum(unnamed_attempts) = 0
                   THEN printf('tried %d usernames (mostly unknown to the directory)', len(list_distinct(flatten(list(users)))))
                   ELSE printf('made %d attempts on accounts the system does not know (the log does not name them)%s',
                               sum(unnamed_attempts),
                               CASE WHEN len(list_distinct(flatten(list(users)))) > 0
                                    THEN printf(' and tried %d named usernames', len(list_distinct(flatten(list(users))))) ELSE '' END) END,
              count(*), strftime(min(first_seen), '%Y-%m-%d %H:%M'), strftime(max(last_seen), '%Y-%m-%d %H:%M')) AS summary,
       {'fingerprint': mode(fingerprint ORDER BY fingerprint), 'top_user_agent': mode(top_user_agent ORDER BY top_user_agent),
        'top_application': mode(top_service ORDER BY top_service), 'asn_org': mode(src_asn_org ORDER BY src_asn_org),
        'country': mode(src_country ORDER BY src_country),
        'sources': list(DISTINCT src_key ORDER BY src_key), 'unnamed_attempts': sum(unnamed_attempts),
        'sample_records': flatten(list(sample_records ORDER BY first_seen, src_key))[1:5]} AS evidence
FROM enum_waves
GROUP BY op
ORDER BY first_seen;
