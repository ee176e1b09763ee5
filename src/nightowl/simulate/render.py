"""Graph beta ``signIn`` objects, built from parts so the bulk path can reuse pre-serialised bytes.

Both paths build the same dict parts in the same order: :meth:`GraphRenderer.record` for the
(few) special events returns a dict; :meth:`GraphRenderer.bulk_lines` joins cached fragments of
those very parts, which is what makes millions of lines per minute possible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from nightowl.simulate import catalog as C
from nightowl.simulate.geo import coordinates
from nightowl.simulate.network import IPInfo
from nightowl.simulate.population import Device, Tenant, User

PRE_AUTH_FAILURES = {50126, 50034, 50053, 50057, 50055, 50144, 50089}
NULL_USER_ID = "00000000-0000-0000-0000-000000000000"


def _frag(d: dict[str, Any]) -> bytes:
    return orjson.dumps(d)[1:-1] + b","


def user_part(tenant: Tenant, u: User | None, upn: str | None = None) -> dict[str, Any]:
    if u is None:  # a username that does not exist in the tenant
        return {
            "userDisplayName": None,
            "userPrincipalName": upn,
            "userId": NULL_USER_ID,
            "userType": "member",
            "crossTenantAccessType": "none",
            "homeTenantId": tenant.tenant_id,
            "resourceTenantId": tenant.tenant_id,
        }
    guest = u.kind == "guest"
    return {
        "userDisplayName": u.display,
        "userPrincipalName": u.upn,
        "userId": u.id,
        "userType": "guest" if guest else "member",
        "crossTenantAccessType": "b2bCollaboration" if guest else "none",
        "homeTenantId": tenant.tenant_id,
        "resourceTenantId": tenant.tenant_id,
    }


def app_part(name: str) -> dict[str, Any]:
    app_id, (res_id, res_name) = C.APPS[name]
    return {"appId": app_id, "appDisplayName": name, "resourceDisplayName": res_name, "resourceId": res_id}


def net_part(ip: IPInfo) -> dict[str, Any]:
    location: dict[str, Any] = {"city": ip.city, "state": ip.state, "countryOrRegion": ip.country}
    geo = coordinates(ip.city)
    if geo:
        location["geoCoordinates"] = geo
    return {"ipAddress": ip.ip, "autonomousSystemNumber": ip.asn, "location": location}


def dev_part(d: Device, interactive: bool, client_app: str | None = None) -> dict[str, Any]:
    token = "none" if interactive or not d.managed or d.kind != "desktop" else "primaryRefreshToken"
    return {
        "clientAppUsed": client_app or C.CLIENT_APP_USED[d.kind],
        "authenticationProtocol": d.protocol,
        "incomingTokenType": token,
        "userAgent": d.user_agent,
        "deviceDetail": {
            "deviceId": d.device_id,
            "displayName": d.display_name,
            "operatingSystem": d.os,
            "browser": d.browser,
            "isCompliant": d.compliant,
            "isManaged": d.managed,
            "trustType": d.trust_type,
        },
    }


def status_part(
    code: int,
    interactive: bool,
    mfa_user: bool,
    mfa_method: int,
    risk: str = "none",
    detail: str | None = None,
) -> dict[str, Any]:
    """Status, MFA and Conditional Access fields, consistent with each other."""
    pre_auth = code in PRE_AUTH_FAILURES
    mfa_req = (mfa_user and not pre_auth) or code in (50074, 50076, 50079, 500121)
    additional = detail
    mfa_detail = None
    if code == 0 and mfa_req:
        if interactive:
            mfa_detail = {"authMethod": C.MFA_METHODS[mfa_method], "authDetail": None}
            additional = additional or "MFA completed in Azure AD"
        else:
            additional = additional or "MFA requirement satisfied by claim in the token"
    elif code == 50126 and additional is None:
        additional = "The user didn't enter the right credentials. It's expected to see some number of these errors in your logs due to users making mistakes."
    ca = "notApplied" if pre_auth else ("failure" if code == 53003 else "success")
    return {
        "isInteractive": interactive,
        "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"],
        "authenticationRequirement": "multiFactorAuthentication" if mfa_req else "singleFactorAuthentication",
        "status": {
            "errorCode": code,
            "failureReason": C.FAILURE_REASONS.get(code, "Other."),
            "additionalDetails": additional,
        },
        "mfaDetail": mfa_detail,
        "conditionalAccessStatus": ca,
        "riskLevelDuringSignIn": risk,
        "riskLevelAggregated": risk,
        "riskState": "none" if risk == "none" else "atRisk",
        "riskDetail": "none",
        "tokenIssuerType": "AzureAD",
    }


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_UUID_SLOTS = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))


def uuid_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUIDs as an (n, 36) uint8 array of ASCII (vectorised, no per-id Python)."""
    raw = np.frombuffer(rng.bytes(16 * n), np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    out = np.full((n, 36), ord("-"), np.uint8)
    for a, b, h in _UUID_SLOTS:
        out[:, a:b] = hexed[:, h : h + b - a]
    return out


def uuids(rng: np.random.Generator, n: int) -> list[bytes]:
    buf = uuid_matrix(rng, n).tobytes()
    return [buf[i : i + 36] for i in range(0, 36 * n, 36)]


def iso_matrix(ts: np.ndarray) -> np.ndarray:
    """Epoch seconds -> (n, 20) uint8 array of ``2024-01-08T09:15:32Z``."""
    s = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype("S19")
    out = np.full((len(ts), 20), ord("Z"), np.uint8)
    out[:, :19] = np.frombuffer(s.tobytes(), np.uint8).reshape(len(ts), 19)
    return out


def iso_seconds(ts: np.ndarray) -> list[bytes]:
    buf = iso_matrix(ts).tobytes()
    return [buf[i : i + 20] for i in range(0, 20 * len(ts), 20)]


def _fixed(parts: list[bytes | np.ndarray], n: int) -> list[bytes]:
    """Concatenate constant bytes and (n, k) arrays column-wise; one bytes object per row."""
    cols = [
        np.broadcast_to(np.frombuffer(p, np.uint8), (n, len(p))) if isinstance(p, bytes) else p for p in parts
    ]
    mat = np.concatenate(cols, axis=1)
    w = mat.shape[1]
    buf = np.ascontiguousarray(mat).tobytes()
    return [buf[i : i + w] for i in range(0, w * n, w)]


class GraphRenderer:
    """Caches the serialised parts; renders bulk arrays and special events."""

    def __init__(self, tenant: Tenant) -> None:
        self.t = tenant
        self.user_frag = [_frag(user_part(tenant, u)) for u in tenant.users]
        self.app_frag = [_frag(app_part(n)) for n in C.APP_NAMES]
        self._net: dict[int, bytes] = {}
        self._dev: dict[tuple[int, bool], bytes] = {}
        self._status: dict[tuple[int, bool, bool, int], bytes] = {}
        self.mfa = np.array([u.mfa for u in tenant.users], np.int64)
        self.method = np.array([u.mfa_method for u in tenant.users], np.int64)

    def net_frag(self, ip: int) -> bytes:
        f = self._net.get(ip)
        if f is None:
            f = self._net[ip] = _frag(net_part(self.t.net.ips[ip]))
        return f

    def dev_frag(self, dev: int, inter: bool) -> bytes:
        f = self._dev.get((dev, inter))
        if f is None:
            f = self._dev[(dev, inter)] = _frag(dev_part(self.t.devices[dev], inter))
        return f

    def status_frag(self, code: int, inter: bool, mfa: bool, method: int) -> bytes:
        key = (code, inter, mfa, method)
        f = self._status.get(key)
        if f is None:
            f = self._status[key] = _frag(status_part(code, inter, mfa, method))
        return f

    def bulk_lines(
        self,
        rng: np.random.Generator,
        t: np.ndarray,
        user: np.ndarray,
        dev: np.ndarray,
        app: np.ndarray,
        ip: np.ndarray,
        code: np.ndarray,
        inter: np.ndarray,
    ) -> list[bytes]:
        """One JSON line per row (newline included). Fragments are looked up per distinct key (np.unique), so the loop
        body is list indexing and one bytes join."""
        n = len(t)
        if not n:
            return []
        head = _fixed([b'{"id":"', uuid_matrix(rng, n), b'","createdDateTime":"', iso_matrix(t), b'",'], n)
        tail = _fixed([b'"correlationId":"', uuid_matrix(rng, n), b'"}\n'], n)
        it = inter.astype(np.int64)
        dk, dinv = np.unique(dev.astype(np.int64) * 2 + it, return_inverse=True)
        dfr = [self.dev_frag(k >> 1, bool(k & 1)) for k in dk.tolist()]
        nk, ninv = np.unique(ip, return_inverse=True)
        nfr = [self.net_frag(k) for k in nk.tolist()]
        skey = ((code.astype(np.int64) * 2 + it) * 2 + self.mfa[user]) * 8 + self.method[user]
        sk, sinv = np.unique(skey, return_inverse=True)
        sfr = [self.status_frag(k >> 5, bool((k >> 4) & 1), bool((k >> 3) & 1), k & 7) for k in sk.tolist()]
        uf, af = self.user_frag, self.app_frag
        return [
            b"".join((h, uf[u], af[a], nfr[p], dfr[d], sfr[c], r))
            for h, u, a, p, d, c, r in zip(
                head,
                user.tolist(),
                app.tolist(),
                ninv.tolist(),
                dinv.tolist(),
                sinv.tolist(),
                tail,
                strict=True,
            )
        ]

    def record(self, rng: np.random.Generator, ev: dict[str, Any]) -> dict[str, Any]:
        """A special event (trap, attack, chain) as a full Graph dict, same key order as bulk lines."""
        u = self.t.users[ev["user"]] if ev.get("user") is not None else None
        dev = ev["device"] if isinstance(ev.get("device"), Device) else self.t.devices[ev["device"]]
        inter = ev.get("inter", True)
        rec: dict[str, Any] = {
            "id": uuids(rng, 1)[0].decode(),
            "createdDateTime": iso_seconds(np.array([ev["t"]]))[0].decode(),
        }
        rec.update(user_part(self.t, u, ev.get("upn")))
        rec.update(app_part(ev["app"]))
        rec.update(net_part(self.t.net.ips[ev["ip"]]))
        rec.update(dev_part(dev, inter, ev.get("client_app")))
        rec.update(
            status_part(
                ev["code"],
                inter,
                bool(u and u.mfa),
                u.mfa_method if u else 0,
                ev.get("risk", "none"),
                ev.get("detail"),
            )
        )
        rec["correlationId"] = ev.get("correlation") or uuids(rng, 1)[0].decode()
        return rec
