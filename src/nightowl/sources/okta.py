"""Okta System Log (``GET /api/v1/logs``: a JSON array, or one LogEvent per line).

Only authentication events are normalized: ``user.session.start``, ``user.authentication.*``
(sso, verify, auth_via_mfa, auth_via_IDP, ...) and ``user.account.lock``; every other event type
is counted as ignored. ``outcome.reason`` values follow Okta's "Common Okta login failures"
(INVALID_CREDENTIALS E0000004, LOCKED_OUT E0000069, UNKNOWN_USER E0000007, VERIFICATION_ERROR,
PASSWORD_BASED_LOGIN_DISALLOWED, GENERAL_NONSUCCESS) plus the free-text reasons the System Log
writes for policy denials. Okta gives the network owner directly (securityContext asNumber,
asOrg, isp, isProxy), which the spray detections use.

``user.authentication.auth_via_mfa`` is also written for the *password* when a sign-on policy
checks it as a factor (``debugContext.debugData.factor`` PASSWORD_AS_FACTOR, requestUri
``/api/v1/authn/factors/password/verify``): that event is a password check, not MFA (a failure
without a reason is a wrong password, a success proves no second factor).

Microsoft Sentinel's Okta connector (the ``Okta_CL`` custom log, Azure Functions data connector)
stores the same LogEvent flattened by the Log Analytics Data Collector API: nested keys joined by
``_`` and a suffix naming the column's type (``_s`` string, ``_d`` double, ``_b`` boolean, ``_t``
datetime, ``_g`` GUID; a value of another type than the column's first lands in a second column
with another suffix), arrays as JSON text (``target_s``), and ``TimeGenerated`` the ingestion time.
Exports of that table (Logs > Export, ``az monitor log-analytics query``: JSON; the portal's CSV,
with its ``[UTC]`` headers and local slash dates) are read by the same mapping: every field is
looked up under each suffix.

The newer Okta Single Sign-On connector (Codeless Connector Platform, ``OktaSSOv2``) writes the
``OktaV2_CL`` table through a data collection rule that renames the LogEvent's fields into ASIM-like
columns (its ``transformKql``): ``EventOriginalType`` (eventType), ``OriginalOutcomeResult`` and
``EventOriginalResultDetails`` (outcome), ``OriginalActorAlternateId`` (actor.alternateId; the rule's
``ActorUsername`` keeps it only when it holds an '@'), ``SrcIpAddr``, ``HttpUserAgent``,
``SecurityContextAsNumber``... and ``TimeGenerated`` = ``published``; ``DebugData`` and
``OriginalTarget`` stay JSON (or JSON text in a CSV export). It has no ``device`` object. Its
exports are read by the same mapping (``okta-sentinel-v2-json`` / ``-csv``). The ASIM-normalized
tables (``ASimAuthenticationEventLogs`` with ``EventProduct`` Okta) are not read.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from nightowl import schema
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.records.csv_rows import csv_json_records, header_names
from nightowl.sources.records.json_duckdb import JsonFormat, JsonSource
from nightowl.sources.records.json_python import json_keys
from nightowl.sources.records.sql import BOOKKEEPING_SQL, literal, reject_sql, sql_str, utc_time

OKTA_PATHS: dict[str, str] = {
    "uuid": "$.uuid",
    "published": "$.published",
    "event_type": "$.eventType",
    "result": "$.outcome.result",
    "reason": "$.outcome.reason",
    "alt_id": "$.actor.alternateId",
    "actor_type": "$.actor.type",
    "ip": "$.client.ipAddress",
    "ua": "$.client.userAgent.rawUserAgent",
    "city": "$.client.geographicalContext.city",
    "country": "$.client.geographicalContext.country",
    "lat": "$.client.geographicalContext.geolocation.lat",
    "lon": "$.client.geographicalContext.geolocation.lon",
    "asn": "$.securityContext.asNumber",
    "as_org": "$.securityContext.asOrg",
    "isp": "$.securityContext.isp",
    "proxy": "$.securityContext.isProxy",
    "credential_type": "$.authenticationContext.credentialType",
    "provider": "$.authenticationContext.authenticationProvider",
    "session": "$.authenticationContext.externalSessionId",
    "transaction": "$.transaction.id",
    "target": "$.target",
    "device_id": "$.device.id",
    "managed": "$.device.managed",
    "factor": "$.debugContext.debugData.factor",
}

AUTH_EVENT_TYPES = ("user.session.start", "user.account.lock", "user.account.lock.limit")
AUTH_EVENT_PREFIX = "user.authentication."
IGNORE_REASON = "not an Okta authentication event"

# outcome.reason (upper-cased) -> (status_detail, password_correct, user_exists)
REASONS: dict[str, tuple[str, bool | None, bool | None]] = {
    "INVALID_CREDENTIALS": (schema.INVALID_CREDENTIALS, False, True),
    "VERIFICATION_ERROR": (schema.INVALID_CREDENTIALS, False, None),  # wrong password or unknown user
    "UNKNOWN_USER": (schema.USER_DOES_NOT_EXIST, False, False),
    "LOCKED_OUT": (schema.ACCOUNT_LOCKED_OUT, None, True),
    "PASSWORD_EXPIRED": (schema.PASSWORD_EXPIRED, True, True),
    "USER_SUSPENDED": (schema.ACCOUNT_DISABLED, None, True),
    "USER_DEACTIVATED": (schema.ACCOUNT_DISABLED, None, True),
    "PASSWORD_BASED_LOGIN_DISALLOWED": (schema.BLOCKED_BY_POLICY, None, True),
}


def _reason_case(idx: int, typ: str) -> str:
    whens = " ".join(f"WHEN {sql_str(k)} THEN {literal(v[idx])}" for k, v in REASONS.items())
    return f"CASE reason_k {whens} ELSE CAST(NULL AS {typ}) END"


# Log Analytics custom-log column suffixes (Data Collector API: string, GUID, datetime, double,
# boolean), and no suffix (tables made by the Logs Ingestion API keep the names as sent)
LA_SUFFIXES = ("_s", "_g", "_t", "_d", "_b", "")


def flat_name(path: str) -> str:
    """'$.client.geographicalContext.city' -> 'client_geographicalContext_city' (Okta_CL's flattening)."""
    return path[2:].replace(".", "_")


# the suffix of the LogEvent field's own type comes first (a number that once came as text has a
# second column, _s, whose values lose to the typed one's)
TYPED_SUFFIX = {
    "asn": "_d",
    "lat": "_d",
    "lon": "_d",
    "proxy": "_b",
    "managed": "_b",
    "published": "_t",
    "uuid": "_g",
}


def _suffixes(key: str) -> tuple[str, ...]:
    first = TYPED_SUFFIX.get(key, "_s")
    return (first, *(s for s in LA_SUFFIXES if s != first))


# Okta_CL: each field under every suffix; the event time is published, else the ingestion time
FLAT_KEYS: dict[str, tuple[str, ...]] = {
    k: tuple(flat_name(path) + sfx for sfx in _suffixes(k)) for k, path in OKTA_PATHS.items()
}
FLAT_KEYS["published"] = (*FLAT_KEYS["published"], "TimeGenerated")
FLAT_PATHS = tuple(f"$.{key}" for keys in FLAT_KEYS.values() for key in keys)


def _native_fields() -> dict[str, str]:
    return {k: f"f[{i + 1}]" for i, k in enumerate(OKTA_PATHS)}


def _flat_fields() -> dict[str, str]:
    """Each field: the first of its suffixed columns that holds a value (the export writes '' for the
    columns an event does not have; unset numbers as the text null, which the casts drop)."""
    out, i = {}, 0
    for k, keys in FLAT_KEYS.items():
        cols = [f"nullif(f[{i + n + 1}], '')" for n in range(len(keys))]
        out[k] = f"coalesce({', '.join(cols)})"
        i += len(keys)
    return out


def _okta_query(records: str, f: dict[str, str] | None = None, source_format: str = "okta-system-log") -> str:
    f = f or _native_fields()
    auth_types = ", ".join(sql_str(t) for t in AUTH_EVENT_TYPES)
    return f"""
WITH records AS NOT MATERIALIZED ({records}),
r AS NOT MATERIALIZED (
  SELECT pre_reject, raw, lineno, sub, k,
    {f["uuid"]} AS uuid, {f["event_type"]} AS event_type, lower({f["event_type"]}) AS et,
    upper({f["result"]}) AS result, upper(replace(trim({f["reason"]}), ' ', '_')) AS reason_k, {f["reason"]} AS reason,
    {f["ip"]} AS ip, {f["ua"]} AS ua, {f["city"]} AS city, {f["country"]} AS country,
    try_cast({f["lat"]} AS DOUBLE) AS lat, try_cast({f["lon"]} AS DOUBLE) AS lon,
    try_cast(try_cast({f["asn"]} AS DOUBLE) AS BIGINT) AS asn, coalesce(nullif({f["as_org"]}, ''), nullif({f["isp"]}, '')) AS as_org,
    lower({f["proxy"]}) AS proxy, lower({f["credential_type"]}) AS credential_type,
    coalesce({f["session"]}, {f["transaction"]}) AS session, {f["device_id"]} AS device_id,
    lower({f["managed"]}) AS managed,
    lower({f["actor_type"]}) AS actor_type, upper({f["factor"]}) AS factor,
    {utc_time(f["published"])} AS ts,
    lower(nullif(trim(CASE WHEN lower({f["alt_id"]}) IN ('unknown', '') THEN NULL ELSE {f["alt_id"]} END), '')) AS uname,
    try(list_filter(from_json({f["target"]}, '[{{"type":"VARCHAR","displayName":"VARCHAR"}}]'),
                    lambda t: t.type = 'AppInstance')[1].displayName) AS app
  FROM records
),
s AS NOT MATERIALIZED (
  SELECT *,
    CASE WHEN pre_reject IS NULL AND NOT (list_contains([{auth_types}], et) OR starts_with(et, '{AUTH_EVENT_PREFIX}'))
         THEN {sql_str(IGNORE_REASON)} END AS ign,
    CASE WHEN et LIKE 'user.account.lock%' THEN 2
         WHEN result IN ('SUCCESS', 'ALLOW') THEN 1
         WHEN result IN ('FAILURE', 'DENY', 'CHALLENGE') THEN 2 ELSE 0 END AS sid,
    et = 'user.authentication.auth_via_mfa' AND factor IS DISTINCT FROM 'PASSWORD_AS_FACTOR' AS is_mfa_event,
    et = 'user.authentication.auth_via_mfa' AND factor = 'PASSWORD_AS_FACTOR' AS is_password_factor
  FROM r
),
s3 AS NOT MATERIALIZED (
  SELECT *,
    {reject_sql()} AS rej
  FROM s
)
SELECT
  CASE WHEN rej IS NULL THEN ts END AS time,
  {sql_str(source_format)} AS source_format,
  nullif(uuid, '') AS event_uid,
  CASE WHEN et LIKE 'user.account.lock%' THEN 'account_lock' WHEN et = 'user.session.start' THEN 'logon'
       ELSE 'authentication' END AS activity_name,
  uname AS user_name,
  CASE WHEN sid = 1 THEN TRUE ELSE {_reason_case(2, "BOOLEAN")} END AS user_exists,
  nullif(actor_type, '') AS user_type,
  nullif(ip, '') AS src_endpoint_ip,
  asn AS src_asn,
  as_org AS src_asn_org,
  nullif(country, '') AS src_country,
  nullif(city, '') AS src_city,
  lat AS src_lat,
  lon AS src_lon,
  CASE proxy WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS src_is_proxy,
  nullif(ua, '') AS user_agent,
  coalesce(nullif(app, ''), 'Okta') AS service_name,
  CAST(NULL AS VARCHAR) AS dst_host,
  nullif(credential_type, '') AS auth_protocol,
  nullif(event_type, '') AS client_app,
  CAST(NULL AS BOOLEAN) AS is_legacy_protocol,
  CAST(NULL AS VARCHAR) AS logon_type,
  CAST(sid AS INTEGER) AS status_id,
  coalesce(nullif(reason, ''), result) AS status_code,
  CASE WHEN sid = 1 THEN 'SUCCESS'
       WHEN et LIKE 'user.account.lock%' THEN 'ACCOUNT_LOCKED_OUT'
       WHEN is_mfa_event AND sid = 2 THEN 'MFA_FAILED'
       WHEN is_password_factor AND sid = 2 AND nullif(reason_k, '') IS NULL THEN 'INVALID_CREDENTIALS'
       WHEN result = 'CHALLENGE' THEN 'MFA_REQUIRED'
       WHEN result = 'DENY' AND {_reason_case(0, "VARCHAR")} IS NULL THEN 'BLOCKED_BY_POLICY'
       WHEN sid = 2 THEN coalesce({_reason_case(0, "VARCHAR")},
                                  CASE WHEN contains(lower(reason), 'policy') THEN 'BLOCKED_BY_POLICY' END, 'OTHER')
       ELSE 'OTHER' END AS status_detail,
  CASE WHEN sid = 1 THEN TRUE WHEN is_mfa_event THEN NULL
       WHEN is_password_factor AND sid = 2 AND nullif(reason_k, '') IS NULL THEN FALSE
       ELSE {_reason_case(1, "BOOLEAN")} END AS password_correct,
  CASE WHEN is_mfa_event THEN sid = 1 END AS is_mfa,
  nullif(device_id, '') AS device_id,
  CASE managed WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END AS is_managed,
  nullif(session, '') AS session_id,
  CAST(NULL AS VARCHAR) AS tenant_id,
  {BOOKKEEPING_SQL}
FROM s3
"""


# OktaV2_CL (the OktaSSOv2 connector's DCR): the LogEvent field each column holds; None: not kept
V2_COLUMNS: dict[str, str | None] = {
    "uuid": "EventOriginalUid",
    "published": "TimeGenerated",
    "event_type": "EventOriginalType",
    "result": "OriginalOutcomeResult",
    "reason": "EventOriginalResultDetails",
    "alt_id": "OriginalActorAlternateId",
    "actor_type": "OriginalUserType",
    "ip": "SrcIpAddr",
    "ua": "HttpUserAgent",
    "city": "SrcGeoCity",
    "country": "SrcGeoCountry",
    "lat": "SrcGeoLatitude",
    "lon": "SrcGeoLongtitude",  # sic: the table's column name
    "asn": "SecurityContextAsNumber",
    "as_org": "SecurityContextAsOrg",
    "isp": "SrcIsp",
    "proxy": "SecurityContextIsProxy",
    "credential_type": "LogonMethod",
    "provider": "AuthenticationContextAuthenticationProvider",
    "session": "ActorSessionId",
    "transaction": "TransactionId",
    "target": "OriginalTarget",
    "device_id": None,
    "managed": None,
    "factor": "DebugData",  # debugContext.debugData: an object, or its JSON text
}
V2_PATHS = tuple(f"$.{col}" for col in V2_COLUMNS.values() if col)


def _v2_fields() -> dict[str, str]:
    out, i = {}, 0
    for k, col in V2_COLUMNS.items():
        if col is None:
            out[k] = "CAST(NULL AS VARCHAR)"
            continue
        i += 1
        out[k] = f"nullif(f[{i}], '')"
    out["factor"] = f"try(json_extract_string({out['factor']}, '$.factor'))"
    return out


OKTA = JsonFormat(paths=tuple(OKTA_PATHS.values()), normalize=_okta_query)
SENTINEL_JSON = JsonFormat(
    paths=FLAT_PATHS, normalize=lambda records: _okta_query(records, _flat_fields(), "okta-sentinel-json")
)
SENTINEL_CSV = JsonFormat(
    paths=FLAT_PATHS, normalize=lambda records: _okta_query(records, _flat_fields(), "okta-sentinel-csv")
)
SENTINEL_V2_JSON = JsonFormat(
    paths=V2_PATHS, normalize=lambda records: _okta_query(records, _v2_fields(), "okta-sentinel-v2-json")
)
SENTINEL_V2_CSV = JsonFormat(
    paths=V2_PATHS, normalize=lambda records: _okta_query(records, _v2_fields(), "okta-sentinel-v2-csv")
)
_V2_CSV_KEYS = {col.casefold(): col for col in V2_COLUMNS.values() if col}
# CSV header (normalized: lower case, ' [UTC]' dropped) -> the column name
_CSV_KEYS = {key.casefold(): key for keys in FLAT_KEYS.values() for key in keys}
_CSV_TIMES = tuple(k for k in FLAT_KEYS["published"] if k.endswith(("_t", "_s", "TimeGenerated")))


class OktaSystemLog(JsonSource):
    name = "okta-system-log"
    title = "Okta System Log (LogEvent JSON)"
    export_hint = (
        "GET https://<org>.okta.com/api/v1/logs?since=...&filter=... (follow the Link: next header); "
        "save the JSON array or one event per line"
    )
    fmt = OKTA

    def sniff(self, head: bytes, name: str) -> bool:
        text = head[:32768]
        return (
            b'"eventType"' in text
            and b'"published"' in text
            and (b'"actor"' in text or b'"outcome"' in text or b'"legacyEventType"' in text)
        )


# Okta_CL columns only the flattened LogEvent has (eventType_s and an actor or outcome column)
_FLAT_MARKS = ("actor_alternateId_s", "outcome_result_s", "published_t")
_SENTINEL_QUERY = "Okta_CL | where TimeGenerated > ago(30d)"


def _flattened(names: set[str]) -> bool:
    """True for the column names (case-folded) of an Okta_CL export."""
    return "eventtype_s" in names and any(m.casefold() in names for m in _FLAT_MARKS)


class OktaSentinelJson(JsonSource):
    name, fmt = "okta-sentinel-json", SENTINEL_JSON
    title = "Okta System Log from Microsoft Sentinel (Okta_CL custom log, JSON export)"
    export_hint = (
        f"az monitor log-analytics query -w <workspace> --analytics-query '{_SENTINEL_QUERY}' > okta.json"
    )
    columns = staticmethod(_flattened)  # the export's column names (case-folded) are this table's

    def sniff(self, head: bytes, name: str) -> bool:
        return self.columns(json_keys(head))


class OktaSentinelCsv:
    name = "okta-sentinel-csv"
    title = "Okta System Log from Microsoft Sentinel (Okta_CL custom log, CSV export)"
    export_hint = "Log Analytics > Logs > run 'Okta_CL' > Export > CSV (all columns)"
    columns = staticmethod(_flattened)
    fmt, keys, times = SENTINEL_CSV, _CSV_KEYS, _CSV_TIMES

    def sniff(self, head: bytes, name: str) -> bool:
        return self.columns(set(header_names(head)))

    def read(self, inp: InputFile, tally: Tally, opts: ReadOptions) -> Iterator[pa.RecordBatch]:
        return csv_json_records(inp, tally, opts, self.fmt, self.keys, self.times)


# OktaV2_CL columns: the renamed event type and an actor or outcome column only this table has
_V2_MARKS = ("originalactoralternateid", "originaloutcomeresult")
_SENTINEL_V2_QUERY = "OktaV2_CL | where TimeGenerated > ago(30d)"


def _okta_v2(names: set[str]) -> bool:
    """True for the column names (case-folded) of an OktaV2_CL export."""
    return "eventoriginaltype" in names and any(m in names for m in _V2_MARKS)


class OktaSentinelV2Json(OktaSentinelJson):
    name, fmt = "okta-sentinel-v2-json", SENTINEL_V2_JSON
    title = "Okta System Log from Microsoft Sentinel (OktaV2_CL, Okta SSO CCP connector, JSON export)"
    export_hint = (
        f"az monitor log-analytics query -w <workspace> --analytics-query '{_SENTINEL_V2_QUERY}' > okta.json"
    )
    columns = staticmethod(_okta_v2)


class OktaSentinelV2Csv(OktaSentinelCsv):
    name = "okta-sentinel-v2-csv"
    title = "Okta System Log from Microsoft Sentinel (OktaV2_CL, Okta SSO CCP connector, CSV export)"
    export_hint = "Log Analytics > Logs > run 'OktaV2_CL' > Export > CSV (all columns)"
    columns = staticmethod(_okta_v2)
    fmt, keys, times = SENTINEL_V2_CSV, _V2_CSV_KEYS, ("TimeGenerated",)


SOURCES = [OktaSystemLog(), OktaSentinelJson(), OktaSentinelCsv(), OktaSentinelV2Json(), OktaSentinelV2Csv()]
