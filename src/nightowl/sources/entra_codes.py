"""Entra ID sign-in semantics shared by every Entra reader (Graph, Log Analytics, portal CSV).

Each reader only *extracts* raw text into the canonical columns of :data:`RAW_COLUMNS`; the
meaning (error code -> status_detail, legacy protocols, MFA, interactive or not) is decided
once, here, by :func:`normalize_sql`, so the four Entra formats cannot drift apart.

Error codes come from Microsoft's "Microsoft Entra authentication and authorization error
codes" reference (learn.microsoft.com/entra/identity-platform/reference-error-codes, also
https://login.microsoftonline.com/error?code=N). Client app names come from the Graph
``signIn.clientAppUsed`` documentation and the Entra sign-in log "Client app" filter
(learn.microsoft.com/entra/identity/monitoring-health/concept-sign-ins, "legacy authentication").
"""

from __future__ import annotations

from dataclasses import dataclass

from nightowl import schema
from nightowl.sources.records.sql import (
    BOOKKEEPING_SQL,
    in_list,
    literal,
    reject_sql,
    slash_time,
    sql_str,
    utc_time,
)


@dataclass(frozen=True)
class EntraCode:
    detail: str  # schema.STATUS_DETAILS value
    password_correct: bool | None  # None: the code does not say
    user_exists: bool | None
    note: str  # the AADSTS name and why it maps so


# fmt: off
CODES: dict[int, EntraCode] = {
    # AADSTS50126 InvalidUserNameOrPassword: wrong password for an existing account (the spray signal).
    50126: EntraCode(schema.INVALID_CREDENTIALS, False, True, "InvalidUserNameOrPassword"),
    # AADSTS50034 UserAccountNotFound: "The user account does not exist in the directory".
    50034: EntraCode(schema.USER_DOES_NOT_EXIST, False, False, "UserAccountNotFound"),
    # AADSTS50053 IdsLocked: smart lockout. The same code is also used for "sign-in was blocked
    # because it came from an IP address with malicious activity": see IP_BLOCK_MARKERS.
    50053: EntraCode(schema.ACCOUNT_LOCKED_OUT, None, True, "IdsLocked"),
    # AADSTS50055 InvalidPasswordExpiredPassword: the (correct) password has expired.
    50055: EntraCode(schema.PASSWORD_EXPIRED, True, True, "InvalidPasswordExpiredPassword"),
    # AADSTS50144 InvalidPasswordExpiredOnPremPassword: on-premises password expired.
    50144: EntraCode(schema.PASSWORD_EXPIRED, True, True, "InvalidPasswordExpiredOnPremPassword"),
    # AADSTS50133 SessionInvalidDueToPasswordChange: session revoked by a password change/expiry.
    50133: EntraCode(schema.PASSWORD_EXPIRED, True, True, "SessionInvalidDueToPasswordChange"),
    # AADSTS50057 UserDisabled: the account exists but is disabled.
    50057: EntraCode(schema.ACCOUNT_DISABLED, None, True, "UserDisabled"),
    # AADSTS50074 UserStrongAuthClientAuthNRequiredInterrupt: MFA asked after a correct password.
    50074: EntraCode(schema.MFA_REQUIRED, True, True, "UserStrongAuthClientAuthNRequiredInterrupt"),
    # AADSTS50076 UserStrongAuthClientAuthNRequired: MFA required (policy/location) after the password.
    50076: EntraCode(schema.MFA_REQUIRED, True, True, "UserStrongAuthClientAuthNRequired"),
    # AADSTS50079 UserStrongAuthEnrollmentRequired: must register MFA; the password was accepted.
    50079: EntraCode(schema.MFA_REQUIRED, True, True, "UserStrongAuthEnrollmentRequired"),
    # AADSTS50072 UserStrongAuthEnrollmentRequiredInterrupt: MFA enrollment interrupt after the password.
    50072: EntraCode(schema.MFA_REQUIRED, True, True, "UserStrongAuthEnrollmentRequiredInterrupt"),
    # AADSTS500121 AuthenticationFailedDuringStrongAuthRequest: the second factor failed/was denied.
    500121: EntraCode(schema.MFA_FAILED, True, True, "AuthenticationFailedDuringStrongAuthRequest"),
    # AADSTS53003 BlockedByConditionalAccess: CA evaluated after primary authentication succeeded.
    53003: EntraCode(schema.BLOCKED_BY_POLICY, True, True, "BlockedByConditionalAccess"),
    # AADSTS53000 DeviceNotCompliant: CA requires a compliant device.
    53000: EntraCode(schema.BLOCKED_BY_POLICY, None, True, "DeviceNotCompliant"),
    # AADSTS53001 DeviceNotDomainJoined: CA requires a domain-joined device.
    53001: EntraCode(schema.BLOCKED_BY_POLICY, None, True, "DeviceNotDomainJoined"),
    # AADSTS530032 BlockedByConditionalAccessOnSecurityPolicy: tenant security policy blocked it.
    530032: EntraCode(schema.BLOCKED_BY_POLICY, None, True, "BlockedByConditionalAccessOnSecurityPolicy"),
    # AADSTS50140 KmsiInterrupt: "Keep me signed in" prompt, shown only after a correct password.
    50140: EntraCode(schema.OTHER, True, True, "KmsiInterrupt"),
    # AADSTS50125 PasswordResetRegistrationRequiredInterrupt: SSPR registration prompt after the password.
    50125: EntraCode(schema.OTHER, True, True, "PasswordResetRegistrationRequiredInterrupt"),
    # Application (service principal) credentials, as Microsoft's "Troubleshoot service principal
    # authentication" table (learn.microsoft.com/azure/developer/java/sdk/troubleshooting-
    # authentication-service-principal) describes them:
    # AADSTS7000215 InvalidClientSecretProvided: a wrong client secret, the app's "wrong password".
    7000215: EntraCode(schema.INVALID_CREDENTIALS, False, True, "InvalidClientSecretProvided"),
    # AADSTS7000222 InvalidClientSecretExpiredKeysProvided: the secret matched a key that has expired.
    7000222: EntraCode(schema.PASSWORD_EXPIRED, None, True, "InvalidClientSecretExpiredKeysProvided"),
    # AADSTS700027 InvalidSignature (client assertion): the certificate is not the app's.
    700027: EntraCode(schema.INVALID_CREDENTIALS, False, True, "Client assertion contains an invalid signature"),
    # AADSTS700016 UnauthorizedClient_DoesNotMatchRequest: no such application in the tenant.
    700016: EntraCode(schema.USER_DOES_NOT_EXIST, False, False, "Application not found in the directory"),
}
# fmt: on

# 50053's failureReason for the malicious-IP block ("Sign-in was blocked because it came from an
# IP address with malicious activity") versus the lockout text ("Account is locked because user
# tried to sign in too many times with an incorrect user ID or password").
IP_BLOCK_MARKERS = ("malicious", "ip address")

# Graph clientAppUsed values for protocols that cannot do MFA (basic authentication), lowercased.
LEGACY_CLIENT_APPS = frozenset(
    {
        "exchange activesync",
        "imap4",
        "imap",
        "pop3",
        "pop",
        "authenticated smtp",
        "smtp",
        "exchange web services",
        "mapi over http",
        "offline address book",
        "outlook anywhere (rpc over http)",
        "autodiscover",
        "other clients",
        "exchange online powershell",
        "exchange remote powershell",
        "reporting web services",
        "universal outlook",  # legacy basic-auth Outlook for Windows Mail/Calendar sync
    }
)
# "Other clients; Older Office clients" and similar: anything starting with "other clients".
LEGACY_CLIENT_PREFIXES = ("other clients",)

# authenticationProtocol (Graph beta / Log Analytics / portal "Authentication Protocol"), compared
# after lowercasing and dropping non-alphanumerics ("OAuth 2.0" -> "oauth20").
PROTOCOLS: dict[str, str] = {
    "oauth2": "oauth2",
    "oauth20": "oauth2",
    "ropc": "ropc",
    "wsfederation": "wsfed",
    "wsfed": "wsfed",
    "saml20": "saml",
    "saml": "saml",
    "devicecode": "device_code",
}

# The text columns every Entra reader produces (all VARCHAR, null when absent), plus the
# bookkeeping columns pos/ref/pre_reject/raw shared with the JSON record reader.
RAW_COLUMNS = (
    "event_id",  # signIn.id / Id / Request ID
    "time_raw",  # ISO 8601 text, any offset; or a US slash time (records.sql.slash_time)
    "upn",
    "user_id",
    "user_type",
    "ip",
    "asn",
    "city",
    "country",
    "lat",  # location.geoCoordinates.latitude
    "lon",
    "ua",
    "app",
    "client_app",
    "protocol",
    "auth_req",  # singleFactorAuthentication / multiFactorAuthentication / "Single-factor authentication"
    "interactive",  # true/false, or a category/event-type word (see _INTERACTIVE_WORDS)
    "code",  # error code as text ("0", "50126")
    "reason",  # failureReason / ResultDescription
    "status_text",  # portal "Status": Success / Failure / Interrupted
    "correlation",
    "session",  # sessionId / SessionId: one id for every sign-in of a session (refreshes included)
    "device_id",
    "managed",
    "mfa_method",  # mfaDetail.authMethod
    "mfa_result",  # portal "Multifactor authentication result"; status.additionalDetails elsewhere
    "auth_details",  # authenticationDetails as JSON text
    "tenant",
    "home_tenant",
    # applications signing in with their own credential (service principal / managed identity)
    "actor_kind",  # signInEventTypes / Category / Type: says whether the actor is an app
    "app_id",  # appId / AppId: the client application
    "sp_name",  # servicePrincipalName / ServicePrincipalName
    "resource",  # resourceDisplayName: what an app signed in to
    "cred_key_id",  # servicePrincipalCredentialKeyId
)

# actor_kind values (compared as _key: lowercase without separators) that name an app actor.
ACTOR_KINDS = (("managedidentity", "managed_identity"), ("serviceprincipal", "service_principal"))

_INTERACTIVE_WORDS = ("true", "interactive", "interactiveuser", "signinlogs", "yes")
_NON_INTERACTIVE_WORDS = (
    "false",
    "noninteractive",
    "noninteractiveuser",
    "noninteractiveusersigninlogs",
    "no",
)


def _case_by_code(attr: str, sql_type: str) -> str:
    whens = " ".join(
        f"WHEN {code} THEN {literal(getattr(info, attr))}" for code, info in sorted(CODES.items())
    )
    return f"CASE code_num {whens} ELSE CAST(NULL AS {sql_type}) END"


def extract_select(cols: dict[str, str]) -> str:
    """The ``raw`` step: bookkeeping columns plus one SQL expression per RAW_COLUMNS name."""
    missing = set(RAW_COLUMNS) - set(cols)
    exprs = {**{c: "CAST(NULL AS VARCHAR)" for c in missing}, **cols}
    if "ign" not in exprs:
        exprs["ign"] = "CAST(NULL AS VARCHAR)"
    select = ",\n  ".join(f"{expr} AS {col}" for col, expr in exprs.items())
    return f"SELECT pre_reject, raw, rec, lineno, sub, k,\n  {select}\nFROM records"


# authenticationStepResultDetail / "Multifactor authentication result" texts of a satisfied MFA.
MFA_DONE = sql_str("MFA (successfully completed|completed in|requirement satisfied)")
# a success that asked for MFA but did not get it: per-user MFA's trusted IPs / named locations let the
# sign-in through on the password alone ("MFA requirement skipped due to IP address"), while
# authenticationRequirement still says multiFactorAuthentication.
MFA_SKIPPED = sql_str("MFA requirement skipped due to (IP address|location)")
# Most successes carry an additionalDetails text, so the MFA_SKIPPED search is guarded by a cheap test
# that every match passes: its text holds "due to" in some case. Only letters whose one case partner
# is ASCII (d, u, e, t, o; not s, which case-insensitive matching also pairs with the long s) keep the
# guard exact under lower().
_MAY_BE_SKIPPED = "contains(lower(mfa_result), 'due to')"


def _key(col: str) -> str:
    """A comparison key: lowercase without spaces, dashes, dots, underscores ("OAuth 2.0" -> oauth20).
    The replacements only run on values that hold one of them (most values are single words)."""
    expr = f"lower(coalesce({col}, ''))"
    cut = expr
    for ch in " -._":
        cut = f"replace({cut}, '{ch}', '')"
    holds = " OR ".join(f"contains({col}, '{ch}')" for ch in " -._")
    return f"CASE WHEN {holds} THEN {cut} ELSE {expr} END"


# Long IN lists become hash joins in DuckDB, and a join may reorder rows; the engine numbers
# lines by the order of the staged rows, so membership tests use list_contains instead.


def _trimmed_lower(col: str) -> str:
    """``lower(nullif(trim(col), ''))``, skipping the trim (which copies every value) when the value
    starts and ends with a printable ASCII character other than a space: trim only strips space
    separators, and those are a space or not ASCII."""
    printable = f"ascii({col}) BETWEEN 33 AND 126 AND ascii(right({col}, 1)) BETWEEN 33 AND 126"
    return f"CASE WHEN {printable} THEN lower({col}) ELSE lower(nullif(trim({col}), '')) END"


# an application's own sign-in has no user; it needs the application's name or id instead
_APP_NEEDS_NO_USER = (
    "actor_t IS NOT NULL AND coalesce(nullif(app_id, ''), nullif(sp_name, ''), nullif(app, '')) IS NOT NULL"
)

# the record's time as ISO text (a US slash time rewritten), and whether it reads both ways: built once
_TIME_TEXT, _TIME_AMBIGUOUS = slash_time("time_raw")


def normalize_sql(
    records_cte: str, source_format: str, extract: str, auth_details: str = "auth_details"
) -> str:
    """Full query: ``records_cte`` -> ``extract`` (see :func:`extract_select`) -> every AUTH_SCHEMA
    column but record_ref, plus the bookkeeping columns the engine expects (see JsonFormat).

    ``auth_details`` is the SQL of the authenticationDetails text; it is evaluated only for the
    few successes whose MFA the other columns leave open, so a reader can pass an expression
    over ``rec`` and skip serializing that array for every record."""
    legacy = in_list(sorted(LEGACY_CLIENT_APPS))
    legacy_prefix = " OR ".join(f"starts_with(ca_l, {sql_str(p)})" for p in LEGACY_CLIENT_PREFIXES)
    proto_case = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in PROTOCOLS.items())
    ip_block = " OR ".join(f"contains(lower(reason), {sql_str(m)})" for m in IP_BLOCK_MARKERS)
    kind = _key("actor_kind")
    actor_case = (
        "CASE "
        + " ".join(f"WHEN contains({kind}, {sql_str(k)}) THEN {sql_str(v)}" for k, v in ACTOR_KINDS)
        + " END"
    )
    return f"""
WITH records AS NOT MATERIALIZED ({records_cte}),
raw AS NOT MATERIALIZED ({extract}),
s1 AS NOT MATERIALIZED (
  SELECT *,
    try_cast(code AS BIGINT) AS code_num,
    lower(status_text) AS st,
    lower(client_app) AS ca_l,
    {_key("protocol")} AS proto_k,
    {_key("auth_req")} AS req_k,
    {_key("interactive")} AS inter_k,
    {utc_time(_TIME_TEXT)} AS ts,
    {_TIME_AMBIGUOUS} AS time_ambiguous,
    {actor_case} AS actor_t
  FROM raw
),
s2 AS NOT MATERIALIZED (
  SELECT *,
    CASE WHEN actor_t IS NOT NULL THEN NULL
         -- the usual upn needs no trim (which copies every name)
         WHEN upn <> '' AND NOT starts_with(upn, ' ') AND NOT ends_with(upn, ' ') THEN lower(upn)
         ELSE lower(coalesce(nullif(trim(upn), ''), nullif(trim(user_id), ''))) END AS uname,
    CASE WHEN code_num = 0 THEN 1 WHEN code_num IS NOT NULL THEN 2
         WHEN st = 'success' THEN 1 WHEN st IN ('failure', 'interrupted') THEN 2 ELSE 0 END AS sid,
    (code_num = 50053 AND ({ip_block})) AS ip_block,
    (list_contains([{legacy}], ca_l) OR {legacy_prefix}) AS legacy_client
  FROM s1
),
s3 AS NOT MATERIALIZED (
  SELECT *,
    {reject_sql(_APP_NEEDS_NO_USER, "time_ambiguous")} AS rej
  FROM s2
)
SELECT
  CASE WHEN rej IS NULL THEN ts END AS time,
  {sql_str(source_format)} AS source_format,
  nullif(event_id, '') AS event_uid,
  'logon' AS activity_name,
  uname AS user_name,
  CASE WHEN sid = 1 THEN TRUE WHEN ip_block THEN NULL ELSE {_case_by_code("user_exists", "BOOLEAN")} END
    AS user_exists,
  lower(nullif(user_type, '')) AS user_type,
  nullif(ip, '') AS src_endpoint_ip,
  try_cast(asn AS BIGINT) AS src_asn,
  CAST(NULL AS VARCHAR) AS src_asn_org,
  nullif(country, '') AS src_country,
  nullif(city, '') AS src_city,
  try_cast(lat AS DOUBLE) AS src_lat,
  try_cast(lon AS DOUBLE) AS src_lon,
  CAST(NULL AS BOOLEAN) AS src_is_proxy,
  nullif(ua, '') AS user_agent,
  CASE WHEN actor_t IS NOT NULL THEN coalesce(nullif(resource, ''), nullif(app, '')) ELSE nullif(app, '') END
    AS service_name,
  CAST(NULL AS VARCHAR) AS dst_host,
  CASE proto_k {proto_case} ELSE CASE WHEN legacy_client THEN 'basic' END END AS auth_protocol,
  nullif(client_app, '') AS client_app,
  CASE WHEN legacy_client OR proto_k = 'ropc' THEN TRUE
       WHEN ca_l <> '' OR proto_k NOT IN ('', 'none') THEN FALSE END AS is_legacy_protocol,
  CASE WHEN list_contains([{in_list(_INTERACTIVE_WORDS)}], inter_k) THEN 'interactive'
       WHEN list_contains([{in_list(_NON_INTERACTIVE_WORDS)}], inter_k) THEN 'non_interactive'
       WHEN actor_t IS NOT NULL THEN 'non_interactive' END AS logon_type,
  CAST(sid AS INTEGER) AS status_id,
  nullif(code, '') AS status_code,
  CASE WHEN sid = 1 THEN 'SUCCESS' WHEN ip_block THEN 'BLOCKED_BY_POLICY'
       ELSE coalesce({_case_by_code("detail", "VARCHAR")}, 'OTHER') END AS status_detail,
  CASE WHEN sid = 1 THEN TRUE WHEN ip_block THEN NULL ELSE {_case_by_code("password_correct", "BOOLEAN")} END
    AS password_correct,
  CASE WHEN sid = 1 AND CASE WHEN {_MAY_BE_SKIPPED} THEN regexp_matches(mfa_result, {MFA_SKIPPED}, 'i') END
         THEN FALSE
       WHEN sid = 1 AND req_k = 'multifactorauthentication' THEN TRUE
       WHEN nullif(mfa_method, '') IS NOT NULL THEN TRUE
       WHEN sid = 1 AND (regexp_matches(coalesce(mfa_result, ''), {MFA_DONE}, 'i')
                         OR regexp_matches(coalesce({auth_details}, ''), {MFA_DONE}, 'i')) THEN TRUE
       WHEN req_k IN ('multifactorauthentication', 'singlefactorauthentication') THEN FALSE END AS is_mfa,
  nullif(device_id, '') AS device_id,
  CASE WHEN lower(managed) IN ('true', 'yes') THEN TRUE
       WHEN lower(managed) IN ('false', 'no') THEN FALSE END AS is_managed,
  coalesce(nullif(session, ''), nullif(correlation, '')) AS session_id,
  coalesce(nullif(tenant, ''), nullif(home_tenant, '')) AS tenant_id,
  CAST(NULL AS VARCHAR) AS src_endpoint_hostname,
  coalesce(actor_t, 'user') AS actor_type,
  {_trimmed_lower("app_id")} AS actor_app_uid,
  CASE WHEN actor_t IS NOT NULL THEN coalesce(nullif(sp_name, ''), nullif(app, '')) ELSE nullif(app, '') END
    AS actor_app_name,
  {_trimmed_lower("cred_key_id")} AS credential_key_id,
  {BOOKKEEPING_SQL}
FROM s3
"""
