"""The OktaSSOv2 connector's data collection rule (Azure-Sentinel, Solutions/Okta Single Sign-On/Data
Connectors/OktaNativePollerConnectorV2/OktaSSOv2_DCR.json, its transformKql), written out in Python:
an Okta LogEvent -> the OktaV2_CL row it becomes, as an export writes it (``az monitor
log-analytics query``: KQL's tostring() of a missing value is '', dynamic columns are JSON text)."""

from __future__ import annotations

import json
from typing import Any

SEVERITY = {"DEBUG": "Informational", "INFO": "Informational", "WARN": "Medium", "ERROR": "High"}
RESULT = {"SUCCESS": "Success", "ALLOW": "Success", "DENY": "Failure", "SKIPPED": "Failure", "FAILURE": "Failure",
          "CHALLENGE": "Partial", "UNKNOWN": "NA"}  # fmt: skip
ACTION = {"ALLOW": "Allow", "DENY": "Deny", "SKIPPED": "Drop"}
USER_TYPE = {"SystemPrincipal": "System Principal", "PublicClientApp": "Application", "User": "Regular"}


def _get(rec: dict, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(rec, dict):
            return None
        rec = rec.get(key)
    return rec


def _s(rec: dict, path: str) -> str:
    v = _get(rec, path)
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v)


def _dyn(rec: dict, path: str, as_text: bool) -> Any:
    v = _get(rec, path)
    return json.dumps(v) if as_text and v is not None else v


def _num(rec: dict, path: str, cast: type) -> Any:
    v = _get(rec, path)
    try:
        return None if v is None else cast(v)
    except (TypeError, ValueError):
        return None


def to_v2(rec: dict, dynamic_as_text: bool = True) -> dict[str, Any]:
    actor_id = _s(rec, "actor.id")
    user_id = "" if actor_id == "unknown" else actor_id
    alt = _s(rec, "actor.alternateId")
    username = alt if "@" in alt else ""
    result = _s(rec, "outcome.result")
    proxy = _get(rec, "securityContext.isProxy")
    return {
        "TenantId": "a123456z-a123-1234-1234-1234aabbcc56",
        "TimeGenerated": _s(rec, "published"),
        "ActorDetailEntry": _dyn(rec, "actor.detailEntry", dynamic_as_text),
        "ActorDisplayName": _s(rec, "actor.displayName"),
        "OriginalUserId": actor_id,
        "OriginalActorAlternateId": alt,
        "ActorUserId": user_id,
        "ActorUserIdType": "OktaId" if user_id else "",
        "ActorUsername": username,
        "ActorUsernameType": "UPN" if username else "",
        "ActorUserType": USER_TYPE.get(_s(rec, "actor.type"), ""),
        "OriginalUserType": _s(rec, "actor.type"),
        "AuthenticationContextAuthenticationProvider": _s(
            rec, "authenticationContext.authenticationProvider"
        ),
        "AuthenticationContextAuthenticationStep": _num(rec, "authenticationContext.authenticationStep", int),
        "AuthenticationContextCredentialProvider": _s(rec, "authenticationContext.credentialProvider"),
        "LogonMethod": _s(rec, "authenticationContext.credentialType"),
        "ActorSessionId": _s(rec, "authenticationContext.externalSessionId"),
        "AuthenticationContextInterface": _s(rec, "authenticationContext.interface"),
        "AuthenticationContextIssuerId": _s(rec, "authenticationContext.issuer.id"),
        "AuthenticationContextIssuerType": _s(rec, "authenticationContext.issuer.type"),
        "OriginalClientDevice": _s(rec, "client.device"),
        "SrcDeviceType": "Computer" if _s(rec, "client.device") == "Computer" else "",
        "SrcGeoCity": _s(rec, "client.geographicalContext.city"),
        "SrcGeoCountry": _s(rec, "client.geographicalContext.country"),
        "SrcGeoLatitude": _num(rec, "client.geographicalContext.geolocation.lat", float),
        "SrcGeoLongtitude": _num(rec, "client.geographicalContext.geolocation.lon", float),
        "SrcGeoPostalCode": _s(rec, "client.geographicalContext.postalCode"),
        "SrcGeoRegion": _s(rec, "client.geographicalContext.state"),
        "SrcDvcIdType": "OktaId" if _get(rec, "client.id") else "",
        "SrcDvcId": _s(rec, "client.id"),
        "SrcIpAddr": _s(rec, "client.ipAddress"),
        "ActingAppName": _s(rec, "client.userAgent.browser"),
        "ActingAppType": "Browser",
        "SrcDvcOs": _s(rec, "client.userAgent.os"),
        "HttpUserAgent": _s(rec, "client.userAgent.rawUserAgent"),
        "SrcZone": _s(rec, "client.zone"),
        "DebugData": _dyn(rec, "debugContext.debugData", dynamic_as_text),
        "EventMessage": _s(rec, "displayMessage"),
        "EventOriginalType": _s(rec, "eventType"),
        "LegacyEventType": _s(rec, "legacyEventType"),
        "EventOriginalUid": _s(rec, "uuid"),
        "EventOriginalResultDetails": _s(rec, "outcome.reason"),
        "EventResult": RESULT.get(result, ""),
        "OriginalOutcomeResult": result,
        "Request": _dyn(rec, "request", dynamic_as_text),
        "SecurityContextAsNumber": _num(rec, "securityContext.asNumber", int),
        "SecurityContextAsOrg": _s(rec, "securityContext.asOrg"),
        "SecurityContextDomain": _s(rec, "securityContext.domain"),
        "SrcIsp": _s(rec, "securityContext.isp"),
        "SecurityContextIsProxy": proxy if isinstance(proxy, bool) else None,
        "EventSeverity": SEVERITY.get(_s(rec, "severity"), ""),
        "OriginalSeverity": _s(rec, "severity"),
        "OriginalTarget": _dyn(rec, "target", dynamic_as_text),
        "Version": _s(rec, "version"),
        "TransactionType": _s(rec, "transaction.type"),
        "TransactionId": _s(rec, "transaction.id"),
        "TransactionDetail": _dyn(rec, "transaction.detail", dynamic_as_text),
        "DvcAction": ACTION.get(result, ""),
        "Type": "OktaV2_CL",
    }
