"""``nightowl collect entra|o365|okta``: fetch exports from the providers' APIs into a folder ``hunt``
reads. The only networked command.

Secrets are named, never given: ``--secret-env VAR`` / ``--secret-file PATH`` (a value on the command
line would sit in shell history and ``ps``). Running the same command again after an interruption
resumes from the checkpoint in ``--out``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from nightowl.collect.auth import (
    DEFAULT_CERT_PASSWORD_ENV,
    DEFAULT_OKTA_TOKEN_ENV,
    DEFAULT_SECRET_ENV,
    MsalCredential,
    SecretRef,
)
from nightowl.collect.clouds import CLOUDS, cloud
from nightowl.collect.http import CollectError
from nightowl.collect.jobs import (
    ENTRA_KINDS,
    RunOptions,
    collect_entra,
    collect_o365,
    collect_okta,
    time_range,
)
from nightowl.collect.runner import FLUSH_RECORDS
from nightowl.reports.terminal import console
from nightowl.textsafe import term

collect_app = typer.Typer(
    name="collect",
    help="Fetch sign-in, audit and mailbox logs from Entra / Microsoft Graph, Office 365 and Okta into a folder "
    "`nightowl hunt` reads (resumable; secrets from an environment variable or a file).",
    no_args_is_help=True,
)
err = console(stderr=True)

# -- shared options ---------------------------------------------------------------------------------
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the files, manifest and checkpoint; run the same "
                                      "command again to resume an interrupted collection.")]  # fmt: skip
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Start (ISO 8601, UTC unless it says otherwise).")
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="End, exclusive (default: now).")]
DaysOpt = Annotated[int | None, typer.Option("--days", help="Days before --until (default 30).")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant id (GUID) or primary domain.")]
ClientOpt = Annotated[
    str, typer.Option("--client-id", help="Application (client) id of the app registration.")
]
SecretEnvOpt = Annotated[
    str | None,
    typer.Option("--secret-env", help=f"Variable holding the client secret (default {DEFAULT_SECRET_ENV})."),
]
SecretFileOpt = Annotated[Path | None, typer.Option("--secret-file", help="File holding the client secret.")]
CertOpt = Annotated[
    Path | None,
    typer.Option(
        "--certificate", help="PEM (private key + certificate) or PFX of the app's certificate credential."
    ),
]
CertPassOpt = Annotated[
    str | None,
    typer.Option(
        "--certificate-password-env",
        help=f"Variable holding the key's password (e.g. {DEFAULT_CERT_PASSWORD_ENV}).",
    ),
]
DeviceOpt = Annotated[
    bool,
    typer.Option("--device-code", help="Sign in as a person (delegated permissions) with a device code."),
]
CloudOpt = Annotated[str, typer.Option("--cloud", help=f"Microsoft cloud: {', '.join(CLOUDS)}.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the manifest as JSON on stdout.")]
PartOpt = Annotated[int, typer.Option("--part-records", help="Records per part file.", min=1)]
# Endpoint overrides (a private endpoint, a proxy that rewrites hosts, a test server): not in --help.
LoginUrl = Annotated[str | None, typer.Option("--login-url", hidden=True)]
GraphUrl = Annotated[str | None, typer.Option("--graph-url", hidden=True)]
ManageUrl = Annotated[str | None, typer.Option("--manage-url", hidden=True)]


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CollectError(
            f"{flag} {value!r}: not an ISO 8601 date or time (e.g. 2024-01-12 or 2024-01-12T08:00Z)"
        ) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _say(message: str) -> None:
    err.print(term(message, 1000), soft_wrap=True)


def _options(
    out: Path, since: str | None, until: str | None, days: int | None, part_records: int
) -> RunOptions:
    span = time_range(_when(since, "--since"), _when(until, "--until"), days)
    return RunOptions(out=out, span=span, say=_say, flush_records=part_records)


def _msal(
    tenant: str, client_id: str, secret_env: str | None, secret_file: Path | None,
    certificate: Path | None, certificate_password_env: str | None, device_code: bool,
) -> MsalCredential:  # fmt: skip
    chosen = sum(bool(x) for x in (secret_file or secret_env, certificate, device_code))
    if chosen > 1:
        raise CollectError("give one of --secret-env/--secret-file, --certificate, --device-code")
    if certificate and not certificate.is_file():
        raise CollectError(f"{certificate}: no such certificate file")
    secret = None
    if not certificate and not device_code:
        secret = (
            SecretRef(file=secret_file) if secret_file else SecretRef(env=secret_env or DEFAULT_SECRET_ENV)
        )
    password = SecretRef(env=certificate_password_env) if certificate_password_env else None
    return MsalCredential(tenant, client_id, secret, certificate, password, device_code)


def _finish(manifest: dict[str, Any], out: Path, as_json: bool) -> None:
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        return
    table = Table(
        show_edge=False, title=f"collected {manifest['range']['since']} to {manifest['range']['until']}"
    )
    table.add_column("stream", no_wrap=True)
    table.add_column("format", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("files", justify="right")
    table.add_column("permission")
    for name, s in manifest["streams"].items():
        table.add_row(name, s["format"], f"{s['records']:,}", str(len(s["files"])), s["permissions"])
    err.print(table)
    req = manifest["requests"]
    err.print(
        f"{req['requests']:,} requests, {req['throttled']} throttled, {req['retried']} retried, "
        f"{req['token_refreshes']} token refresh(es); manifest: {term(str(out / 'manifest.json'))}"
    )
    err.print(f"next: [bold]nightowl hunt {term(str(out))}[/]")


@collect_app.command("entra")
def entra(
    tenant: TenantOpt,
    client_id: ClientOpt,
    out: OutOpt = Path("nightowl-entra"),
    secret_env: SecretEnvOpt = None,
    secret_file: SecretFileOpt = None,
    certificate: CertOpt = None,
    certificate_password_env: CertPassOpt = None,
    device_code: DeviceOpt = False,
    cloud_name: CloudOpt = "global",
    since: SinceOpt = None,
    until: UntilOpt = None,
    days: DaysOpt = None,
    only: Annotated[
        str, typer.Option("--only", help=f"Comma-separated subset of: {', '.join(ENTRA_KINDS)}.")
    ] = ",".join(ENTRA_KINDS),
    part_records: PartOpt = FLUSH_RECORDS,
    as_json: JsonOpt = False,
    login_url: LoginUrl = None,
    graph_url: GraphUrl = None,
) -> None:
    """Entra ID via Microsoft Graph: sign-ins (interactive, non-interactive, service principal, managed
    identity), directory audits, user registration details, users with signInActivity.
    Needs AuditLog.Read.All and Directory.Read.All."""
    kinds = [k.strip() for k in only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(ENTRA_KINDS))
    if unknown or not kinds:
        raise CollectError(
            f"--only: unknown {', '.join(unknown) or 'empty list'} (choose from {', '.join(ENTRA_KINDS)})"
        )
    cred = _msal(
        tenant, client_id, secret_env, secret_file, certificate, certificate_password_env, device_code
    )
    where = _cloud(cloud_name, login_url, graph_url, None)
    manifest = collect_entra(cred, where, kinds, _options(out, since, until, days, part_records))
    _finish(manifest, out, as_json)


@collect_app.command("o365")
def o365(
    tenant: TenantOpt,
    client_id: ClientOpt,
    out: OutOpt = Path("nightowl-o365"),
    secret_env: SecretEnvOpt = None,
    secret_file: SecretFileOpt = None,
    certificate: CertOpt = None,
    certificate_password_env: CertPassOpt = None,
    device_code: DeviceOpt = False,
    cloud_name: CloudOpt = "global",
    since: SinceOpt = None,
    until: UntilOpt = None,
    days: DaysOpt = None,
    part_records: PartOpt = FLUSH_RECORDS,
    as_json: JsonOpt = False,
    login_url: LoginUrl = None,
    manage_url: ManageUrl = None,
) -> None:
    """Exchange mailbox audit (MailItemsAccessed and other mailbox operations) from the Office 365
    Management Activity API (Audit.Exchange; the last 7 days). Needs ActivityFeed.Read."""
    cred = _msal(
        tenant, client_id, secret_env, secret_file, certificate, certificate_password_env, device_code
    )
    where = _cloud(cloud_name, login_url, None, manage_url)
    manifest = collect_o365(cred, where, _options(out, since, until, days, part_records))
    _finish(manifest, out, as_json)


@collect_app.command("okta")
def okta(
    org: Annotated[str, typer.Option("--org", help="The org's address, e.g. https://acme.okta.com.")],
    out: OutOpt = Path("nightowl-okta"),
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env", help=f"Variable holding an API token (default {DEFAULT_OKTA_TOKEN_ENV})."
        ),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="File holding an API token.")
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="Client id of an API service app (OAuth, private key JWT)."),
    ] = None,
    private_key_env: Annotated[
        str | None,
        typer.Option("--private-key-env", help="Variable holding the service app's PEM private key."),
    ] = None,
    private_key_file: Annotated[
        Path | None, typer.Option("--private-key-file", help="PEM file of the service app's private key.")
    ] = None,
    key_id: Annotated[
        str, typer.Option("--key-id", help="The key's kid in the service app, if several.")
    ] = "",
    since: SinceOpt = None,
    until: UntilOpt = None,
    days: DaysOpt = None,
    part_records: PartOpt = FLUSH_RECORDS,
    as_json: JsonOpt = False,
) -> None:
    """Okta System Log (GET /api/v1/logs). An API token of a read-only administrator, or a service app
    granted okta.logs.read."""
    token = SecretRef(file=token_file) if token_file else SecretRef(env=token_env or DEFAULT_OKTA_TOKEN_ENV)
    key = None
    if private_key_file or private_key_env:
        key = SecretRef(file=private_key_file) if private_key_file else SecretRef(env=private_key_env)
    manifest = collect_okta(
        org, _options(out, since, until, days, part_records), token, client_id, key, key_id
    )
    _finish(manifest, out, as_json)


def _cloud(name: str, login: str | None, graph: str | None, manage: str | None):
    try:
        return cloud(name, login, graph, manage)
    except ValueError as exc:
        raise CollectError(f"--cloud: {exc}") from None
