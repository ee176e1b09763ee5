"""One HTTP client for every provider: throttling, transient retries and token refresh in one place.

``requests`` rather than ``httpx``: MSAL already depends on ``requests`` and takes a
``requests.Session`` as its ``http_client``, so token requests and API calls share one stack (the
same proxy, CA bundle from ``REQUESTS_CA_BUNDLE``, and connection pool) and nightowl adds no second
HTTP library. Nothing here logs a header: the bearer token lives only in the request.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from nightowl.sources.base import InputError

USER_AGENT = "nightowl-collect"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 300.0  # never sleep longer than this on one Retry-After


class CollectError(InputError):
    """A collection cannot go on (refused permission, bad credentials, retries exhausted). One line;
    the CLI prints it like a bad input (exit code 2, traceback only with --debug)."""


class Auth(Protocol):
    """Supplies the Authorization header; ``invalidate`` drops a token the server called expired."""

    def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def retry_after(resp: requests.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` (seconds or an HTTP date), or Okta's
    ``X-Rate-Limit-Reset`` (epoch seconds when the window resets). None when it did not say."""
    now = time.time() if now is None else now
    value = resp.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = resp.headers.get("X-Rate-Limit-Reset")
    if reset and resp.status_code == 429:
        try:
            return max(0.0, float(reset) - now) + 1.0
        except ValueError:
            pass
    return None


def api_error(resp: requests.Response) -> str:
    """The provider's own error code and message, short (Graph, Okta and Management API shapes)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.reason or ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")[:300]
        if "errorCode" in body:  # Okta
            return f"{body.get('errorCode')}: {body.get('errorSummary', '')}"[:300]
        if isinstance(err, str):
            return f"{err}: {body.get('error_description', '')}"[:300]
    return (resp.reason or "")[:300]


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0
    retried: int = 0
    token_refreshes: int = 0
    waited_seconds: float = 0.0


@dataclass
class Client:
    """GET/POST with retries. ``sleep`` is injectable so tests can see the waits without taking them."""

    session: requests.Session
    auth: Auth | None = None
    max_attempts: int = 8
    base_backoff: float = 1.0
    timeout: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    stats: Stats = field(default_factory=Stats)
    on_wait: Callable[[str], None] = lambda _m: None

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        return self.request("GET", url, params=params)

    def post(self, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        return self.request("POST", url, params=params)

    def request(self, method: str, url: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """The response of a 2xx; CollectError for anything that retries cannot fix."""
        refreshed = False
        for attempt in range(1, self.max_attempts + 1):
            headers = self.auth.headers() if self.auth else {}
            self.stats.requests += 1
            try:
                resp = self.session.request(method, url, params=params, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.max_attempts:
                    raise CollectError(
                        f"{_where(url)}: {type(exc).__name__} after {attempt} attempts"
                    ) from exc
                self._wait(self._backoff(attempt), f"{type(exc).__name__}; retrying")
                continue
            if resp.status_code < 300:
                return resp
            if resp.status_code == 401 and self.auth and not refreshed:
                # An access token can expire between MSAL's cache check and the call (long runs, clock
                # skew) or be revoked: get a new one once, then treat a second 401 as a real refusal.
                self.auth.invalidate()
                self.stats.token_refreshes += 1
                refreshed = True
                continue
            if resp.status_code in RETRY_STATUS and attempt < self.max_attempts:
                asked = retry_after(resp)
                if resp.status_code == 429:
                    self.stats.throttled += 1
                self.stats.retried += 1
                wait = min(asked, MAX_WAIT_SECONDS) if asked is not None else self._backoff(attempt)
                self._wait(wait, f"HTTP {resp.status_code}; waiting {wait:.0f}s")
                continue
            raise CollectError(f"{_where(url)}: HTTP {resp.status_code} {api_error(resp)}".rstrip())
        raise CollectError(f"{_where(url)}: still failing after {self.max_attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at a minute."""
        return random.uniform(0, min(60.0, self.base_backoff * 2 ** (attempt - 1)))

    def _wait(self, seconds: float, why: str) -> None:
        self.stats.waited_seconds += seconds
        self.on_wait(why)
        self.sleep(seconds)


def _where(url: str) -> str:
    """The URL without its query string (skip tokens are long and say nothing to a person)."""
    return url.split("?", 1)[0]
