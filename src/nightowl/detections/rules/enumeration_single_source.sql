/* nightowl-detection
id = "enumeration.single_source"
title = "Account enumeration from one source"
category = "account_enumeration"
severity = "medium"
attack = ["T1087.004", "T1589.002"]
evidence = [  # the keys of each finding's evidence; the rule lint checks them against the SQL
  "fingerprint", "top_user_agent", "top_application", "asn_org", "country", "sources",
  "sample_records",
]
description = """
One source trying mostly usernames that do not exist (Entra 50034, Windows 0xC0000064, Kerberos 0x6,
sshd "invalid user", AWS masked usernames): it is mapping which accounts exist before a spray.
Sessions that share a fingerprint and follow each other within wave_gap_hours are one operation
(several sources probing in waves) and are reported as one finding with every source and wave.
"""
false_positives = [
  "A misconfigured application with a wrong tenant domain or username format.",
]

[thresholds]
min_nonexistent_users = { default = 10, anchor = "ten distinct unknown usernames from one source is more than typing mistakes" }
wave_gap_hours = { default = 24, anchor = "sources probing with one fingerprint within a day of each other are one operation in waves, reported once" }
min_nonexistent_share = { default = 0.8, anchor = "the same share spray.single_source hands over" }
*/
CREATE OR REPLACE TEMP TABLE enum_sessions AS
SELECT s.*
FROM source_sessions s
WHERE s.nonexistent_users >= $min_nonexistent_users
  AND s.nonexistent_users >= $min_nonexistent_share * s.distinct_users;

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
       sum(nonexistent_users) AS n_nonexistent_users, count(*) AS n_source_sessions,
       printf('Account enumeration from %d source(s): %d sessions, %d usernames tried',
              count(DISTINCT src_key), count(*), len(list_distinct(flatten(list(users))))) AS title,
       printf('%s tried %d usernames (mostly unknown to the directory) in %d session(s) between %s and %s.',
              array_to_string(list_distinct(list(src_key))[1:5], ', '), len(list_distinct(flatten(list(users)))),
              count(*), strftime(min(first_seen), '%Y-%m-%d %H:%M'), strftime(max(last_seen), '%Y-%m-%d %H:%M')) AS summary,
       {'fingerprint': any_value(fingerprint), 'top_user_agent': any_value(top_user_agent),
        'top_application': any_value(top_service), 'asn_org': any_value(src_asn_org), 'country': any_value(src_country),
        'sources': list_distinct(list(src_key)), 'sample_records': flatten(list(sample_records))[1:5]} AS evidence
FROM enum_waves
GROUP BY op
ORDER BY first_seen;
