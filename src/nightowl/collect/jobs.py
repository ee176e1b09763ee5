"""One function per provider: sign in, check permissions, build the streams, run them.

The CLI (``nightowl collect entra|o365|okta``) only turns options into these calls, so tests and
scripts can run a collection without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nightowl.collect import o365
from nightowl.collect.auth import MsalAuth, MsalCredential, OktaServiceAuth, OktaTokenAuth, SecretRef, granted
from nightowl.collect.clouds import Cloud
from nightowl.collect.graph import graph_streams
from nightowl.collect.http import Auth, Client, CollectError, new_session
from nightowl.collect.okta import OktaSystemLog
from nightowl.collect.runner import FLUSH_RECORDS, check_permissions, collect
from nightowl.collect.streams import Stream, TimeRange

ENTRA_KINDS = ("signins", "audits", "registration", "users")


def time_range(
    since: datetime | None, until: datetime | None, days: int | None, now: datetime | None = None
) -> TimeRange:
    """``--since/--until/--days``: until defaults to now, since to ``days`` (30) before until."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    end = (until or now).astimezone(UTC) if (until or now).tzinfo else (until or now).replace(tzinfo=UTC)
    if since is None:
        start = end - timedelta(days=days or 30)
    else:
        if days:
            raise CollectError("give --since or --days, not both")
        start = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    if start >= end:
        raise CollectError(
            f"empty range: --since {start:%Y-%m-%dT%H:%M:%SZ} is not before --until {end:%Y-%m-%dT%H:%M:%SZ}"
        )
    return TimeRange(start, end)


@dataclass
class RunOptions:
    out: Path
    span: TimeRange
    say: Callable[[str], None] = lambda _m: None
    flush_records: int = FLUSH_RECORDS
    sleep: Callable[[float], None] | None = None  # tests watch the waits instead of taking them
    max_attempts: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


def _client(auth: Auth | None, session, opts: RunOptions) -> Client:
    client = Client(session=session, auth=auth, max_attempts=opts.max_attempts, on_wait=opts.say)
    if opts.sleep is not None:
        client.sleep = opts.sleep
    return client


def _first_token(client: Client, auth: Any) -> set[str] | None:
    """Sign in now (a bad secret fails here, before anything is written) and read the grants."""
    auth.headers()
    return granted(auth.token) if auth.token else None


def _run(
    provider: str,
    streams: list[Stream],
    client: Client,
    auth: Any,
    opts: RunOptions,
    meta: dict[str, Any],
    who: str,
) -> dict[str, Any]:
    have = _first_token(client, auth)
    if have is None:
        opts.say(f"{who}: the token does not list its permissions; the API will say if one is missing")
    check_permissions(streams, have, who)
    return collect(opts.out, provider, opts.span, streams, client, meta, have, opts.say, opts.flush_records)


def collect_entra(cred: MsalCredential, cloud: Cloud, kinds: list[str], opts: RunOptions) -> dict[str, Any]:
    session = new_session()
    auth = MsalAuth(cred, cloud.login, cloud.graph, session, say=opts.say)
    client = _client(auth, session, opts)
    streams = graph_streams(cloud.graph, opts.span, kinds)
    meta = {"cloud": cloud.name, "tenant": cred.tenant, "client_id": cred.client_id,
            "auth": _auth_kind(cred)}  # fmt: skip
    return _run("entra", streams, client, auth, opts, meta, f"app {cred.client_id}")


def collect_o365(cred: MsalCredential, cloud: Cloud, opts: RunOptions) -> dict[str, Any]:
    session = new_session()
    auth = MsalAuth(cred, cloud.login, cloud.manage, session, say=opts.say)
    client = _client(auth, session, opts)
    span, cut = o365.clamp(opts.span)
    if cut:
        opts.say(f"the Management Activity API keeps 7 days: collecting from {span.since:%Y-%m-%d %H:%M} UTC")
    opts.span = span
    streams: list[Stream] = [o365.ExchangeAudit(cloud.manage, cred.tenant, span, say=opts.say)]
    meta = {"cloud": cloud.name, "tenant": cred.tenant, "client_id": cred.client_id, "auth": _auth_kind(cred),
            "content_type": o365.CONTENT_TYPE}  # fmt: skip
    return _run("o365", streams, client, auth, opts, meta, f"app {cred.client_id}")


def collect_okta(
    org_url: str,
    opts: RunOptions,
    token: SecretRef | None = None,
    client_id: str | None = None,
    private_key: SecretRef | None = None,
    key_id: str = "",
) -> dict[str, Any]:
    if not org_url.startswith("https://"):
        raise CollectError(f"--org must be the https:// address of the Okta org, not {org_url!r}")
    session = new_session()
    if client_id:
        if private_key is None:
            raise CollectError(
                "an Okta service app needs its private key (--private-key-env or --private-key-file)"
            )
        auth: Any = OktaServiceAuth(org_url, client_id, private_key, session, key_id)
        who = f"Okta service app {client_id}"
    else:
        auth = OktaTokenAuth(token or SecretRef(env="OKTA_API_TOKEN"))
        who = "the Okta API token"
    client = _client(auth, session, opts)
    streams: list[Stream] = [OktaSystemLog(org_url, opts.span)]
    meta = {"org": org_url.rstrip("/"), "auth": "service app (private key JWT)" if client_id else "API token"}
    return _run("okta", streams, client, auth, opts, meta, who)


def _auth_kind(cred: MsalCredential) -> str:
    if cred.device_code:
        return "device code (delegated)"
    return "certificate" if cred.certificate else "client secret"
