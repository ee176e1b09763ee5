"""A real HTTPS server on 127.0.0.1 that answers like Entra's token endpoint, Microsoft Graph, the Office
365 Management Activity API and Okta's System Log, serving generated records page by page.

Records are copies of the vendor-schema fixtures in tests/fixtures with fresh ids and times. Faults
are scripted per path prefix: ``faults["/beta/auditLogs/signIns"] = [429, 503]`` answers the next two
calls there with those statuses (429 and 503 with ``Retry-After``), then serves normally. ``expire_after``
makes the current access token "expire" after that many API calls (401, like Graph's
InvalidAuthenticationToken), so the client must get a new one. Every request is logged.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURES = Path(__file__).parent.parent / "fixtures"
TENANT = "11111111-2222-3333-4444-555555555555"
SIGNIN_KINDS = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (SAN IP), and its key: the server's TLS identity."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _first_json(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    rec = json.loads(text.splitlines()[0]) if path.suffix == ".jsonl" else json.loads(text)
    if isinstance(rec, dict) and "value" in rec:
        rec = rec["value"][0]
    if isinstance(rec, list):
        rec = rec[0]
    return rec


def _jwt(claims: dict[str, Any]) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.sig"


def iso(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


@dataclass
class Tenant:
    """What the fake providers hold: records with times, generated once."""

    now: dt.datetime
    signins: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audits: list[dict[str, Any]] = field(default_factory=list)
    registration: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    exchange: list[dict[str, Any]] = field(default_factory=list)  # with CreationTime
    okta: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def generate(cls, now: dt.datetime, per_kind: int = 30, days: int = 5) -> Tenant:
        t = cls(now=now)
        step = dt.timedelta(days=days) / max(per_kind, 1)
        base_si = _first_json(FIXTURES / "entra/graph_v1.jsonl")
        for k, kind in enumerate(SIGNIN_KINDS):
            rows = []
            for i in range(per_kind):
                r = copy.deepcopy(base_si)
                r["id"] = str(uuid.UUID(int=(k + 1) << 64 | i))
                r["createdDateTime"] = iso(now - step * (i + 1) - dt.timedelta(seconds=k))
                r["signInEventTypes"] = [kind]
                r["isInteractive"] = kind == "interactiveUser"
                r["userPrincipalName"] = f"user{i % 7}@contoso.com"
                rows.append(r)
            t.signins[kind] = rows
        base_au = _first_json(FIXTURES / "cloud/graph_directory_audits_benign.jsonl")
        for i in range(per_kind):
            r = copy.deepcopy(base_au)
            r["id"] = f"Directory_{uuid.UUID(int=9 << 64 | i)}"
            r["activityDateTime"] = iso(now - step * (i + 1))
            t.audits.append(r)
        base_rg = _first_json(FIXTURES / "cloud/user_registration_details.json")
        base_us = _first_json(FIXTURES / "cloud/graph_users_signinactivity.json")
        for i in range(per_kind):
            r = copy.deepcopy(base_rg)
            r["id"] = str(uuid.UUID(int=10 << 64 | i))
            r["userPrincipalName"] = f"user{i}@contoso.com"
            t.registration.append(r)
            u = copy.deepcopy(base_us)
            u["id"] = r["id"]
            u["userPrincipalName"] = r["userPrincipalName"]
            t.users.append(u)
        base_ex = _first_json(FIXTURES / "cloud/management_api_mailitemsaccessed.jsonl")
        for i in range(per_kind):
            r = copy.deepcopy(base_ex)
            r["Id"] = str(uuid.UUID(int=11 << 64 | i))
            r["CreationTime"] = iso(now - step * (i + 1))
            r["MailboxOwnerUPN"] = f"user{i % 9}@contoso.com"
            t.exchange.append(r)
        base_ok = _first_json(FIXTURES / "okta/system_log.jsonl")
        for i in range(per_kind):
            r = copy.deepcopy(base_ok)
            r["uuid"] = str(uuid.UUID(int=12 << 64 | i))
            r["published"] = iso(now - step * (per_kind - i)).replace("Z", ".000Z")
            t.okta.append(r)
        return t


class FakeApis:
    """The server; ``url`` is its https root. Use as a context manager."""

    def __init__(
        self, tenant: Tenant, tls: tuple[Path, Path], roles: list[str] | None = None, page_size: int = 7
    ):
        self.tenant = tenant
        self.roles = roles if roles is not None else [
            "AuditLog.Read.All", "Directory.Read.All", "ActivityFeed.Read"]  # fmt: skip
        self.scopes: list[str] | None = None  # Okta service-app token scopes
        self.page_size = page_size
        self.faults: dict[str, list[int]] = {}
        self.expire_after: int | None = None
        self.delay = 0.0  # seconds before each API answer (the kill test slows the run down)
        self.okta_token = "00okta-api-token-for-tests"
        self.subscribed = False
        self.log: list[tuple[str, str]] = []
        self.tokens_issued = 0
        self.device_codes = 0
        self.device_scope = ""  # what the device code was asked for (its token grant does not repeat it)
        self.token_requests: list[dict[str, list[str]]] = []
        self.verify_assertion_with: Any = None  # a public key: token requests must carry a signed assertion
        self._current_token = ""
        self._calls_on_token = 0
        self._lock = threading.Lock()
        self.cert, self.key = tls
        handler = type("H", (_Handler,), {"api": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeApis:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, prefix: str) -> int:
        return sum(1 for _m, p in self.log if p.startswith(prefix))

    # --- token ---
    def issue_token(self, form: dict[str, list[str]]) -> dict[str, Any]:
        with self._lock:
            self.tokens_issued += 1
            self.token_requests.append(form)
            scope = form.get("scope", [self.device_scope])[0]
            claims: dict[str, Any] = {"aud": scope.replace("/.default", ""), "tid": TENANT,
                                      "jti": self.tokens_issued, "exp": int(time.time()) + 3600}  # fmt: skip
            if self.scopes is not None:
                claims["scp"] = self.scopes
            else:
                claims["roles"] = self.roles
            self._current_token = _jwt(claims)
            self._calls_on_token = 0
            answer = {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "scope": scope,
                      "access_token": self._current_token}  # fmt: skip
            if (
                "device_code" in form or "refresh_token" in form
            ):  # a person: who signed in, and a refresh token
                client_id = form.get("client_id", [""])[0]
                answer["refresh_token"] = f"rt-{self.tokens_issued}"
                answer["client_info"] = base64.urlsafe_b64encode(
                    json.dumps({"uid": "user-oid", "utid": TENANT}).encode()).rstrip(b"=").decode()  # fmt: skip
                answer["id_token"] = _jwt({"iss": f"{self.url}/{TENANT}/v2.0", "sub": "s", "aud": client_id,
                                           "oid": "user-oid", "tid": TENANT, "preferred_username": "analyst@contoso.com",
                                           "iat": int(time.time()), "exp": int(time.time()) + 3600})  # fmt: skip
            return answer

    def token_ok(self, header: str) -> bool:
        if header.startswith("SSWS "):
            return header[5:] == self.okta_token
        with self._lock:
            if header != f"Bearer {self._current_token}" or not self._current_token:
                return False
            self._calls_on_token += 1
            if self.expire_after is not None and self._calls_on_token > self.expire_after:
                self.expire_after = None  # expire once
                self._current_token = ""
                return False
            return True

    def fault(self, path: str) -> int | None:
        with self._lock:
            for prefix, statuses in self.faults.items():
                if path.startswith(prefix) and statuses:
                    return statuses.pop(0)
        return None


class _Handler(BaseHTTPRequestHandler):
    api: FakeApis
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body leave in one write (no Nagle / delayed-ACK stall per request)

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        api = self.api
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        api.log.append((method, path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # Entra sign-in
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            root = f"{api.url}/{tenant}"
            return self._send(200, {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "issuer": f"{root}/v2.0", "tenant_region_scope": "EU"})  # fmt: skip
        if path.endswith("/oauth2/v2.0/devicecode"):
            api.device_codes += 1
            api.device_scope = parse_qs(body.decode()).get("scope", [""])[0]
            return self._send(200, {
                "device_code": f"dc-{api.device_codes}", "user_code": "FAKE-CODE", "expires_in": 900, "interval": 1,
                "verification_uri": "https://microsoft.com/devicelogin",
                "message": "To sign in, use a web browser to open https://microsoft.com/devicelogin and enter FAKE-CODE"})  # fmt: skip
        if path.endswith("/oauth2/v2.0/token") or path == "/oauth2/v1/token":
            form = parse_qs(body.decode())
            if api.verify_assertion_with is not None:
                import jwt

                try:
                    jwt.decode(form["client_assertion"][0], api.verify_assertion_with, algorithms=["RS256", "PS256"],
                               options={"verify_aud": False})  # fmt: skip
                except Exception:
                    return self._send(401, {"error": "invalid_client", "error_description": "bad assertion"})
            elif "client_secret" in form and form["client_secret"][0] != "s3cret-for-tests":
                return self._send(401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret provided."})  # fmt: skip
            return self._send(200, api.issue_token(form))
        if api.delay:
            time.sleep(api.delay)
        status = api.fault(path)
        if status is not None:
            return self._send(status, {"error": {"code": "TooManyRequests", "message": "slow down"}},
                              {"Retry-After": "1"})  # fmt: skip
        if not api.token_ok(self.headers.get("Authorization", "")):
            return self._send(401, {"error": {"code": "InvalidAuthenticationToken",
                                              "message": "Lifetime validation failed, the token is expired."}})  # fmt: skip
        if path == "/beta/auditLogs/signIns":
            flt = query["$filter"][0]
            kind = re.search(r"t eq '(\w+)'", flt).group(1)
            ge, lt = re.findall(r"(?:ge|lt) (\S+Z)", flt)
            rows = [
                r for r in api.tenant.signins[kind] if parse(ge) <= parse(r["createdDateTime"]) < parse(lt)
            ]
            return self._graph_page(path, query, rows, "auditLogs/signIns")
        if path == "/v1.0/auditLogs/directoryAudits":
            ge, lt = re.findall(r"(?:ge|lt) (\S+Z)", query["$filter"][0])
            rows = [r for r in api.tenant.audits if parse(ge) <= parse(r["activityDateTime"]) < parse(lt)]
            return self._graph_page(path, query, rows, "auditLogs/directoryAudits")
        if path == "/v1.0/reports/authenticationMethods/userRegistrationDetails":
            return self._graph_page(
                path, query, api.tenant.registration, "reports/authenticationMethods/userRegistrationDetails"
            )
        if path == "/v1.0/users":
            return self._graph_page(path, query, api.tenant.users, "users")
        feed = f"/api/v1.0/{TENANT}/activity/feed"
        if path == f"{feed}/subscriptions/list":
            subs = (
                [{"contentType": "Audit.Exchange", "status": "enabled", "webhook": None}]
                if api.subscribed
                else []
            )
            return self._send(200, subs)
        if path == f"{feed}/subscriptions/start" and method == "POST":
            api.subscribed = True
            return self._send(200, {"contentType": "Audit.Exchange", "status": "enabled", "webhook": None})
        if path == f"{feed}/subscriptions/content":
            return self._content(feed, query)
        if path.startswith(f"{feed}/audit/"):
            start, end = path.rsplit("/", 1)[1].split("_")
            rows = [
                r
                for r in api.tenant.exchange
                if int(start) <= int(parse(r["CreationTime"]).timestamp()) < int(end)
            ]
            return self._send(200, rows)
        if path == "/api/v1/logs":
            return self._okta(path, query)
        return self._send(404, {"error": {"code": "NotFound", "message": path}})

    def _graph_page(
        self, path: str, query: dict[str, list[str]], rows: list[dict[str, Any]], ctx: str
    ) -> None:
        top = min(int(query.get("$top", ["100"])[0]), self.api.page_size)
        skip = int(query.get("$skiptoken", ["0"])[0])
        body: dict[str, Any] = {
            "@odata.context": f"{self.api.url}/beta/$metadata#{ctx}",
            "value": rows[skip : skip + top],
        }
        if skip + top < len(rows):
            q = {k: v[0] for k, v in query.items()} | {"$skiptoken": str(skip + top)}
            body["@odata.nextLink"] = f"{self.api.url}{path}?{urlencode(q)}"
        self._send(200, body)

    def _content(self, feed: str, query: dict[str, list[str]]) -> None:
        """Blobs of 6 hours each inside the asked window, two blobs per listing page."""
        start, end = parse(query["startTime"][0]), parse(query["endTime"][0])
        if end - start > dt.timedelta(hours=24):
            return self._send(
                400,
                {
                    "error": {
                        "code": "AF20055",
                        "message": "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart.",
                    }
                },
            )
        edges = []
        t = start
        while t < end:
            nxt = min(t + dt.timedelta(hours=6), end)
            edges.append((int(t.timestamp()), int(nxt.timestamp())))
            t = nxt
        skip = int(query.get("nextPage", ["0"])[0])
        items = [{"contentType": "Audit.Exchange", "contentId": f"{a}_{b}",
                  "contentUri": f"{self.api.url}{feed}/audit/{a}_{b}",
                  "contentCreated": iso(dt.datetime.fromtimestamp(b, dt.UTC))} for a, b in edges[skip : skip + 2]]  # fmt: skip
        headers = {}
        if skip + 2 < len(edges):
            q = {k: v[0] for k, v in query.items()} | {"nextPage": str(skip + 2)}
            headers["NextPageUri"] = f"{self.api.url}{feed}/subscriptions/content?{urlencode(q)}"
        self._send(200, items, headers)

    def _okta(self, path: str, query: dict[str, list[str]]) -> None:
        since, until = parse(query["since"][0]), parse(query["until"][0])
        limit = min(int(query.get("limit", ["100"])[0]), self.api.page_size)
        rows = [r for r in self.api.tenant.okta if since <= parse(r["published"]) < until]
        after = int(query.get("after", ["0"])[0])
        page = rows[after : after + limit]
        headers = {
            "Link": f'<{self.api.url}{path}?{urlencode({k: v[0] for k, v in query.items()})}>; rel="self"'
        }
        if len(page) == limit:  # like Okta: a full page always links on, even when the next is empty
            q = {k: v[0] for k, v in query.items()} | {"after": str(after + limit)}
            headers["Link"] += f', <{self.api.url}{path}?{urlencode(q)}>; rel="next"'
        self._send(200, page, headers)
