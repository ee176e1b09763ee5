"""Credentials: MSAL for Microsoft (client secret, certificate, device code), SSWS token or a private
key JWT service app for Okta.

A secret comes from an environment variable or a file, never from the command line (it would sit in
shell history and in ``ps``), and is never printed: errors name the variable or file, not the value.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from nightowl.collect.http import CollectError, api_error

DEFAULT_SECRET_ENV = "AZURE_CLIENT_SECRET"  # the azure-identity convention
DEFAULT_CERT_PASSWORD_ENV = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
DEFAULT_OKTA_TOKEN_ENV = "OKTA_API_TOKEN"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file (first line, whitespace trimmed)."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"file {self.file}" if self.file else f"environment variable {self.env}"

    def read(self) -> str:
        if self.file:
            try:
                value = self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CollectError(
                    f"{self.file}: cannot read the secret file ({exc.strerror or exc})"
                ) from exc
        else:
            value = os.environ.get(self.env or "", "").strip()
        if not value:
            raise CollectError(f"no secret found in the {self.describe()}")
        return value


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT access token, read without verifying it (we are its bearer, not its
    audience): only to tell the user up front which permissions it carries. {} when not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def granted(token: str) -> set[str] | None:
    """Permissions in a token: application ``roles`` plus delegated ``scp``. None when the token does
    not say (opaque token): then the API's own 403 is the check."""
    claims = token_claims(token)
    if "roles" not in claims and "scp" not in claims:
        return None
    roles = claims.get("roles") or []
    scp = claims.get("scp") or []
    scopes = scp.split() if isinstance(scp, str) else scp  # Entra: one string; Okta: a list
    return {str(r) for r in roles} | {str(s) for s in scopes}


# --- Microsoft (MSAL) -----------------------------------------------------------------------


@dataclass(frozen=True)
class MsalCredential:
    """How to sign in to Entra: an app registration (secret or certificate) or a person (device code)."""

    tenant: str
    client_id: str
    secret: SecretRef | None = None  # client secret
    certificate: Path | None = None  # PEM (key + certificate) or PFX/P12
    certificate_password: SecretRef | None = None
    device_code: bool = False


def _pem_credential(path: Path, password: bytes | None) -> dict[str, str]:
    """MSAL's certificate credential from a PEM holding the private key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=password)
        cert = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise CollectError(
            f"{path}: needs the private key and the certificate in PEM ({type(exc).__name__})"
        ) from exc
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "private_key": pem_key,
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # the key id Entra expects (x5t)
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


class MsalAuth:
    """Bearer tokens for one resource (Graph or the Management API) through MSAL.

    MSAL caches the token and returns a new one when it is within five minutes of expiry, so asking
    before every request is cheap and refreshes tokens during long runs; ``invalidate`` drops the
    cached token when the API says it has expired anyway.
    """

    def __init__(
        self,
        cred: MsalCredential,
        authority: str,
        resource: str,
        session: requests.Session,
        say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    ) -> None:
        import msal

        self.scopes = [resource.rstrip("/") + "/.default"]
        self.cred = cred
        self.say = say
        self.token = ""
        common = {
            "authority": f"{authority.rstrip('/')}/{cred.tenant}",
            "http_client": session,
            # The authority is one of Microsoft's clouds (or a test server): no instance discovery
            # round trip to login.microsoftonline.com, which a national cloud may not reach.
            "instance_discovery": False,
        }
        if cred.device_code:
            self.app = msal.PublicClientApplication(cred.client_id, **common)
        else:
            self.app = msal.ConfidentialClientApplication(
                cred.client_id, client_credential=self._client_credential(), **common
            )

    def _client_credential(self) -> Any:
        cred = self.cred
        if cred.certificate:
            password = cred.certificate_password.read().encode() if cred.certificate_password else None
            if cred.certificate.suffix.lower() in (".pfx", ".p12"):
                out = {"private_key_pfx_path": str(cred.certificate)}
                if password:
                    out["passphrase"] = password.decode()
                return out
            return _pem_credential(cred.certificate, password)
        if cred.secret:
            return cred.secret.read()
        raise CollectError("no credential: give --secret-env/--secret-file, --certificate or --device-code")

    def _acquire(self) -> dict[str, Any]:
        if not self.cred.device_code:
            return self.app.acquire_token_for_client(scopes=self.scopes)
        accounts = self.app.get_accounts()
        if accounts:
            result = self.app.acquire_token_silent(self.scopes, account=accounts[0])
            if result:
                return result
        flow = self.app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise CollectError(
                f"device code sign-in refused: {flow.get('error_description', flow.get('error'))}"
            )
        self.say(flow["message"])
        return self.app.acquire_token_by_device_flow(flow)

    def headers(self) -> dict[str, str]:
        result = self._acquire()
        if "access_token" not in result:
            code = result.get("error", "error")
            desc = str(result.get("error_description", "")).split("\r\n")[0].split("\n")[0]
            raise CollectError(f"Entra refused the sign-in for {self.cred.client_id}: {code}: {desc}")
        self.token = result["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def invalidate(self) -> None:
        cache = self.app.token_cache
        for at in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(at)


# --- Okta ------------------------------------------------------------------------------------


class OktaTokenAuth:
    """An Okta API token: ``Authorization: SSWS <token>``. It does not expire while in use."""

    def __init__(self, secret: SecretRef) -> None:
        self._value = secret.read()
        self.token = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {self._value}"}

    def invalidate(self) -> None:
        pass


class OktaServiceAuth:
    """An Okta API service app: client credentials with a private key JWT (RFC 7523), scope
    ``okta.logs.read``. The client assertion is signed with PyJWT (which MSAL already uses); the access
    token is renewed a minute before it expires or when the API says it has."""

    SCOPE = "okta.logs.read"

    def __init__(
        self,
        org_url: str,
        client_id: str,
        private_key: SecretRef,
        session: requests.Session,
        key_id: str = "",
    ) -> None:
        self.token_url = f"{org_url.rstrip('/')}/oauth2/v1/token"
        self.client_id = client_id
        self._key = private_key
        self.key_id = key_id
        self.session = session
        self.token = ""
        self._expires = 0.0

    def _assertion(self) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url,
                  "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}  # fmt: skip
        headers = {"kid": self.key_id} if self.key_id else None
        try:
            return jwt.encode(claims, self._key.read(), algorithm="RS256", headers=headers)
        except (ValueError, TypeError) as exc:
            raise CollectError(
                f"the Okta private key in the {self._key.describe()} is not a PEM RSA key"
            ) from exc

    def headers(self) -> dict[str, str]:
        if not self.token or time.time() > self._expires - 60:
            resp = self.session.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "scope": self.SCOPE,
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": self._assertion(),
                },
                headers={"Accept": "application/json"},
                timeout=60,
            )
            if resp.status_code != 200:
                raise CollectError(f"Okta refused the service app {self.client_id}: {api_error(resp)}")
            body = resp.json()
            self.token = body["access_token"]
            self._expires = time.time() + float(body.get("expires_in", 3600))
        return {"Authorization": f"Bearer {self.token}"}

    def invalidate(self) -> None:
        self.token = ""
