"""Windows Security event codes and fields, mapped once for every Windows source.

Both the EVTX reader and the Sentinel ``SecurityEvent`` CSV reader hand a flat ``EventData``
dict to :func:`auth_row`, so a 4625 means the same thing whichever way it was exported.

Codes: NTSTATUS values in 4625 (``Status``/``SubStatus``) and 4776 (``Status``), Kerberos
result codes in 4768 and 4771 (``Status``/``FailureCode``). Sources: Microsoft's "Audit
Logon" / "4625(F)" / "4768(S, F)" / "4771(F)" / "4776(S, F)" event documentation
(learn.microsoft.com/windows/security/threat-protection/auditing/event-4768 etc.); the Kerberos
numbers were re-checked against RFC 4120 section 7.5.9 and MS-KILE: 3.3.5.7.1 (the conditions
behind KDC_ERR_CLIENT_REVOKED) and the AS exchange section ("If Pre-AuthenticationNotRequired
is set ... the KDC MUST issue a TGT without validating pre-authentication data").

Checked code by code against the tables of Microsoft's own pages (their source,
MicrosoftDocs/windows-itpro-docs auditing/event-4625.md "Windows logon status codes", event-4768.md
"TGT/TGS issue error codes" and "Kerberos Pre-Authentication types"): every KERBEROS code below is
in the 4768 table with the name and meaning given here (0x12: "account disabled, expired, or locked
out"; 0x18 "the wrong password was provided"; PreAuthType 0 "Logon without Pre-Authentication", 2
"standard password authentication"). Of NTSTATUS, the 17 codes the 4625 table lists agree
(0xC000018C, a trust failure, was missing and is added), with one note: 0xC000006E reads "Unknown
user name or bad password" there but is STATUS_ACCOUNT_RESTRICTION in ntstatus.h (where the table
itself points); either way it does not say the password was wrong, so it stays OTHER. 0xC000018D,
0xC0000199, 0xC000019A, 0xC0000371, 0xC000009A and 0xC00000E5 are not in Microsoft's table (names
from ntstatus.h): all read OTHER, with no claim on the password. Unmapped codes (0xC00000DC, 0xC0000225,
0xC00002EE, ...) are OTHER too.

* A 4768 success with ``PreAuthType`` 0 (the account has "Do not require Kerberos
  preauthentication") proves nothing about a password: anyone may ask for that TGT and crack
  its encrypted part offline (AS-REP roasting). It stays a success (``status_id`` 1, a ticket
  was issued) with ``password_correct`` **false** and ``client_app`` ``no-preauth``; the
  identity detections read "password confirmed" as a success whose ``password_correct`` is not
  false, and ``kerberos.no_preauth`` reports the account as roastable (low).
* The source of a logon without an address (4776 names only ``Workstation``; a local 4625 or
  OpenSSH for Windows writes ``IpAddress`` ``-``) is the workstation name, kept lowercased in
  ``src_endpoint_hostname`` (leading ``\\`` removed); detections key such sources by that name.

Decisions worth knowing:

* 4648 (logon with explicit credentials) is written by the machine where a process *tries*
  to use a credential; the outcome is not in the event. It is kept as an attempt with
  ``status_id`` 0 (OCSF Unknown) and ``status_detail`` OTHER, so spray detections can
  count it and success detections ignore it. Microsoft documents its ``IpAddress`` as the
  address of the machine the logon was attempted *to*; we still put it in
  ``src_endpoint_ip`` (the one network address the event has) -- ``dst_host`` is the
  machine that made the attempt.
* Kerberos events without ``TargetDomainName`` (4771) take the realm from
  ``ServiceName`` (``krbtgt/REALM``) so 4768 and 4771 name the same account the same way.
* Domain placeholders ``-`` and ``.`` (local machine) are treated as "no domain".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from nightowl import schema as S

STATUS_UNKNOWN = 0  # OCSF status_id 0: the event does not say whether the logon worked


class Outcome(NamedTuple):
    status_id: int
    status_code: str | None
    status_detail: str
    user_exists: bool | None
    password_correct: bool | None


# NTSTATUS -> (status_detail, user_exists, password_correct)
NTSTATUS: dict[int, tuple[str, bool | None, bool | None]] = {
    # STATUS_WRONG_PASSWORD: the account exists, the password is wrong.
    0xC000006A: (S.INVALID_CREDENTIALS, True, False),
    # STATUS_NO_SUCH_USER: the user name does not exist.
    0xC0000064: (S.USER_DOES_NOT_EXIST, False, None),
    # STATUS_LOGON_FAILURE: generic "unknown user name or bad password"; SubStatus says which.
    0xC000006D: (S.INVALID_CREDENTIALS, None, None),
    # STATUS_ACCOUNT_RESTRICTION: generic restriction; SubStatus says which.
    0xC000006E: (S.OTHER, True, None),
    # STATUS_ACCOUNT_LOCKED_OUT: reported whatever the password was.
    0xC0000234: (S.ACCOUNT_LOCKED_OUT, True, None),
    # STATUS_ACCOUNT_DISABLED.
    0xC0000072: (S.ACCOUNT_DISABLED, True, None),
    # STATUS_ACCOUNT_EXPIRED: the account (not the password) expired: unusable like disabled.
    0xC0000193: (S.ACCOUNT_DISABLED, True, None),
    # STATUS_PASSWORD_EXPIRED: only reported after the (old) password was verified.
    0xC0000071: (S.PASSWORD_EXPIRED, True, True),
    # STATUS_PASSWORD_MUST_CHANGE: "change at next logon"; the password was verified.
    0xC0000224: (S.PASSWORD_EXPIRED, True, True),
    # STATUS_INVALID_LOGON_HOURS: outside the account's allowed logon hours.
    0xC000006F: (S.BLOCKED_BY_POLICY, True, None),
    # STATUS_INVALID_WORKSTATION: not allowed to log on from this workstation.
    0xC0000070: (S.BLOCKED_BY_POLICY, True, None),
    # STATUS_LOGON_TYPE_NOT_GRANTED: right credentials, logon type (e.g. RDP) not allowed.
    0xC000015B: (S.BLOCKED_BY_POLICY, True, True),
    # STATUS_AUTHENTICATION_FIREWALL_FAILED: selective authentication across a trust.
    0xC0000413: (S.BLOCKED_BY_POLICY, None, None),
    # STATUS_TIME_DIFFERENCE_AT_DC: clock skew between client and DC.
    0xC0000133: (S.OTHER, None, None),
    # STATUS_NO_LOGON_SERVERS: no DC available to validate.
    0xC000005E: (S.OTHER, None, None),
    # STATUS_NETLOGON_NOT_STARTED.
    0xC0000192: (S.OTHER, None, None),
    # STATUS_TRUSTED_DOMAIN_FAILURE / STATUS_TRUSTED_RELATIONSHIP_FAILURE: the trust failed.
    0xC000018C: (S.OTHER, None, None),
    0xC000018D: (S.OTHER, None, None),
    # STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT / SERVER_TRUST_ACCOUNT: machine account used.
    0xC0000199: (S.OTHER, True, None),
    0xC000019A: (S.OTHER, True, None),
    # STATUS_ACCOUNT_NOT... "local account store does not contain secret material".
    0xC0000371: (S.OTHER, True, None),
    # STATUS_INSUFFICIENT_RESOURCES / STATUS_INTERNAL_ERROR: server-side problem.
    0xC000009A: (S.OTHER, None, None),
    0xC00000E5: (S.OTHER, None, None),
}

# Kerberos KDC result codes (RFC 4120 section 7.5.9, as Windows writes them in 4768/4771).
KERBEROS: dict[int, tuple[str, bool | None, bool | None]] = {
    # KDC_ERR_C_PRINCIPAL_UNKNOWN: the client (user) name is not in the directory.
    0x6: (S.USER_DOES_NOT_EXIST, False, None),
    # KDC_ERR_S_PRINCIPAL_UNKNOWN: the requested service is unknown.
    0x7: (S.OTHER, None, None),
    # KDC_ERR_POLICY: KDC policy rejects the request (e.g. logon restrictions).
    0xC: (S.BLOCKED_BY_POLICY, True, None),
    # KDC_ERR_ETYPE_NOSUPP: no common encryption type.
    0xE: (S.OTHER, True, None),
    # KDC_ERR_PADATA_TYPE_NOSUPP: e.g. smart card logon without a KDC certificate.
    0x10: (S.OTHER, True, None),
    # KDC_ERR_CLIENT_REVOKED: MS-KILE 3.3.5.7.1 returns it when the account is disabled, expired,
    # locked out, or outside its logon hours (Microsoft's 4768 table: "account disabled, expired, or
    # locked out") -- the event does not say which. Not counted as a
    # lockout: krbtgt, Guest and DefaultAccount (disabled by design) answer 0x12 to every request,
    # so a lockout wave would fire on any enumeration of built-in names. Mapped to ACCOUNT_DISABLED
    # ("the account cannot be used"), the one reading that holds in every case but a lockout.
    0x12: (S.ACCOUNT_DISABLED, True, None),
    # KDC_ERR_KEY_EXPIRED: the password expired.
    0x17: (S.PASSWORD_EXPIRED, True, None),
    # KDC_ERR_PREAUTH_FAILED: pre-authentication failed = wrong password.
    0x18: (S.INVALID_CREDENTIALS, True, False),
    # KDC_ERR_PREAUTH_REQUIRED: the normal first round trip of a Kerberos logon.
    0x19: (S.OTHER, True, None),
    # KRB_AP_ERR_TKT_EXPIRED.
    0x20: (S.OTHER, None, None),
    # KRB_AP_ERR_SKEW: clock skew too great.
    0x25: (S.OTHER, None, None),
    # KRB_AP_ERR_MODIFIED: message stream modified (often a duplicate SPN or wrong key).
    0x29: (S.OTHER, None, None),
    # KRB_ERR_GENERIC.
    0x3C: (S.OTHER, None, None),
    # KDC_ERR_WRONG_REALM.
    0x44: (S.OTHER, None, None),
}

# SubStatus values that refine a generic Status (0xC000006D / 0xC000006E).
GENERIC_NTSTATUS = {0xC000006D, 0xC000006E}

SUCCESS = Outcome(S.STATUS_SUCCESS, "0x0", S.SUCCESS, True, True)


def parse_code(raw: Any) -> int | None:
    """'0xc000006d', '0XC000006D', 3221225581, '%%2313'... -> int, None when not a code."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return raw & 0xFFFFFFFF
    text = str(raw).strip()
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        if text.isdigit():
            return int(text)
    except ValueError:
        return None
    return None


def ntstatus_outcome(status: Any, substatus: Any = None) -> Outcome:
    """Outcome of a 4625/4776 ``Status`` (and ``SubStatus`` when Status is generic)."""
    code = parse_code(status)
    sub = parse_code(substatus)
    if code == 0 and not sub:
        return SUCCESS
    if code in GENERIC_NTSTATUS and sub and sub in NTSTATUS:
        code = sub
    if code is None:
        code = sub
    if code is None:
        return Outcome(S.STATUS_FAILURE, None, S.OTHER, None, None)
    detail, exists, pw = NTSTATUS.get(code, (S.OTHER, None, None))
    return Outcome(S.STATUS_FAILURE, f"0x{code:08X}", detail, exists, pw)


def kerberos_outcome(status: Any) -> Outcome:
    """Outcome of a 4768/4771 Kerberos result code."""
    code = parse_code(status)
    if code == 0:
        return Outcome(S.STATUS_SUCCESS, "0x0", S.SUCCESS, True, True)
    if code is None:
        return Outcome(S.STATUS_FAILURE, None, S.OTHER, None, None)
    detail, exists, pw = KERBEROS.get(code, (S.OTHER, None, None))
    return Outcome(S.STATUS_FAILURE, f"0x{code:X}", detail, exists, pw)


# --------------------------------------------------------------------------- field mapping

AUTH_EVENT_IDS = frozenset({4624, 4625, 4648, 4768, 4771, 4776})

ACTIVITY = {
    4624: "logon",
    4625: "logon",
    4648: "explicit_credentials",
    4768: "authentication_ticket",
    4771: "authentication_ticket",
    4776: "credential_validation",
}

_EMPTY = {"", "-", "null", "none"}
_NO_DOMAIN = {"", "-", "."}


def clean(value: Any) -> str | None:
    """EventData value as text; Windows writes '-' for 'not applicable'."""
    if value is None:
        return None
    if isinstance(value, dict):  # {"#text": ...} for values with attributes
        value = value.get("#text")
        if value is None:
            return None
    text = str(value).strip()
    return None if text.lower() in _EMPTY else text


def event_id(raw: object) -> int | None:
    """An EventID as exports write it: a number, its digits as text, or the evtx parser's
    ``{"#text": ...}`` of an element with attributes (``<EventID Qualifiers="...">``); None otherwise."""
    if isinstance(raw, dict):
        raw = raw.get("#text")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 10:
        return int(raw.strip())
    return None


def ignore_reason(event_id: int | None) -> str:
    if event_id is None:
        return "record without an event id"
    return f"event {event_id} is not an authentication event"


def user_name(data: dict, event_id: int) -> str | None:
    user = clean(data.get("TargetUserName"))
    if user is None:
        return None
    if "\\" in user or "@" in user:
        return user.lower()
    domain = data.get("TargetDomainName")
    domain = None if domain is None else str(domain).strip()
    if (not domain or domain in _NO_DOMAIN) and event_id in (4768, 4771):
        service = clean(data.get("ServiceName")) or ""
        if service.lower().startswith("krbtgt/"):
            domain = service.split("/", 1)[1]
    if domain and domain not in _NO_DOMAIN:
        return f"{domain}\\{user}".lower()
    return user.lower()


def ip_address(raw: Any) -> str | None:
    ip = clean(raw)
    if ip is None:
        return None
    if ip.lower().startswith("::ffff:") and "." in ip:
        ip = ip[7:]
    return ip


def _protocol(event_id: int, data: dict) -> tuple[str | None, str | None, bool | None]:
    """(auth_protocol, client_app, is_legacy_protocol)."""
    if event_id in (4768, 4771):
        return "kerberos", None, False
    if event_id == 4776:
        # NTLM validated by a DC for another machine: network authentication by definition.
        return "ntlm", clean(data.get("PackageName")), True
    if event_id in (4624, 4625):
        package = clean(data.get("AuthenticationPackageName"))
        lm = clean(data.get("LmPackageName"))
        client = lm or package
        if package is None:
            return None, client, None
        low = package.lower()
        if low == "ntlm" or low.startswith("ntlm"):
            return "ntlm", client, clean(data.get("LogonType")) == "3"
        if low == "kerberos":
            return "kerberos", client, False
        if low == "negotiate":
            return "negotiate", client, False
        return low, client, False
    return None, None, None


NO_PREAUTH = "no-preauth"


def without_preauth(event_id: int, data: dict) -> bool:
    """A TGT issued without pre-authentication (4768, PreAuthType 0): no password was checked."""
    return event_id == 4768 and parse_code(clean(data.get("PreAuthType"))) == 0


def workstation(data: dict, event_id: int) -> str | None:
    """The source host name: WorkstationName (4624/4625) or Workstation (4776), without ``\\``."""
    if event_id not in (4624, 4625, 4776):
        return None
    name = clean(data.get("Workstation" if event_id == 4776 else "WorkstationName"))
    if name is None:
        return None
    name = name.lstrip("\\").strip().lower()
    return name or None


def outcome(event_id: int, data: dict) -> Outcome:
    if event_id == 4624:
        return SUCCESS
    if event_id == 4648:
        return Outcome(STATUS_UNKNOWN, None, S.OTHER, None, None)
    if event_id == 4625:
        return ntstatus_outcome(data.get("Status"), data.get("SubStatus"))
    if event_id == 4776:
        return ntstatus_outcome(data.get("Status") or data.get("ErrorCode"))
    status = data.get("Status")
    if status is None:
        status = data.get("FailureCode")
    result = kerberos_outcome(status)
    if result.status_id == S.STATUS_SUCCESS and without_preauth(event_id, data):
        return result._replace(password_correct=False)
    return result


def auth_row(
    event_id: int,
    data: dict,
    *,
    time: datetime | None,
    computer: str | None,
    source_format: str,
    record_ref: str,
    event_uid: str | None,
) -> dict:
    """One normalized row (a dict for :func:`nightowl.schema.batch_from_rows`)."""
    out = outcome(event_id, data)
    protocol, client_app, legacy = _protocol(event_id, data)
    if without_preauth(event_id, data):
        client_app = NO_PREAUTH
    # 4624/4625/4776: the target is the recording computer (dst_host); the source workstation
    # name (WorkstationName / Workstation) is src_endpoint_hostname.
    service = None
    if event_id == 4648:
        service = clean(data.get("TargetServerName"))
    elif event_id in (4768, 4771):
        service = clean(data.get("ServiceName"))
    return {
        "time": time,
        "source_format": source_format,
        "record_ref": record_ref,
        "event_uid": event_uid,
        "activity_name": ACTIVITY[event_id],
        "user_name": user_name(data, event_id),
        "user_exists": out.user_exists,
        "src_endpoint_ip": ip_address(data.get("IpAddress")),
        "src_endpoint_hostname": workstation(data, event_id),
        "service_name": service,
        "dst_host": clean(computer),
        "auth_protocol": protocol,
        "client_app": client_app,
        "is_legacy_protocol": legacy,
        "logon_type": clean(data.get("LogonType")),
        "status_id": out.status_id,
        "status_code": out.status_code,
        "status_detail": out.status_detail,
        "password_correct": out.password_correct,
        "session_id": clean(data.get("TargetLogonId")) if event_id == 4624 else None,
    }
