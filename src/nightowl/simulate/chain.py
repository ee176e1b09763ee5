"""After the spray: the Midnight Blizzard post-compromise chain, in Microsoft's own formats.

The compromised legacy test account owns a legacy test OAuth app that had no credential for years.
The attacker adds a secret to it, uses it to create a new app and a new user, makes the user an
admin, has the user consent, grants the new app Exchange ``full_access_as_app`` (and Graph
Mail.Read), then reads chosen mailboxes through EWS. Benign noise around it: directory churn,
a routine credential rotation on an app with history, user consents to low-risk scopes, users
reading their own mail, and a backup product syncing every mailbox (a labelled look-alike).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nightowl.simulate import catalog as C
from nightowl.simulate import mailgen
from nightowl.simulate.benign import DAY, _epoch
from nightowl.simulate.population import Device, Tenant, User, uuid4
from nightowl.simulate.traps import Event, ev
from nightowl.simulate.truth import Labelled, iso

FULL_ACCESS_AS_APP = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
MAIL_READ_APP = "810c84a8-4a9e-49e6-bf7d-12d183f40d01"
CERTS_OP = "Update application – Certificates and secrets management "  # en dash and trailing space, as Entra writes it
EXO_APP_ID = C.EXO[0]


def ts7(epoch: float) -> str:
    """activityDateTime with 7 fractional digits, as directoryAudit shows it."""
    dt = datetime.fromtimestamp(int(epoch), UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int((epoch % 1) * 1e7):07d}Z"


def q(v: Any) -> str:
    """modifiedProperties values are JSON text."""
    return orjson.dumps(v).decode()


@dataclass
class App:
    name: str
    app_id: str
    object_id: str
    sp_id: str


@dataclass
class ChainOut:
    signins: list[Event] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    mail_access: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)
    mail_paths: list[Path] = field(default_factory=list)
    new_users: list[User] = field(default_factory=list)
    traps: list[Labelled] = field(default_factory=list)


class Audit:
    """Builds Graph directoryAudit objects."""

    def __init__(self, rng: np.random.Generator, tn: Tenant) -> None:
        self.rng, self.tn = rng, tn
        self.records: list[dict[str, Any]] = []

    def by_user(self, u: User, ip: str | None) -> dict[str, Any]:
        return {
            "user": {
                "id": u.id,
                "displayName": None,
                "userPrincipalName": u.upn,
                "ipAddress": ip,
                "userType": None,
                "homeTenantId": None,
                "homeTenantName": None,
            },
            "app": None,
        }

    def by_app(self, a: App) -> dict[str, Any]:
        return {
            "user": None,
            "app": {
                "appId": a.app_id,
                "displayName": a.name,
                "servicePrincipalId": a.sp_id,
                "servicePrincipalName": None,
            },
        }

    def add(
        self,
        t: float,
        category: str,
        activity: str,
        op: str,
        initiated: dict[str, Any],
        targets: list[dict[str, Any]],
        service: str = "Core Directory",
        ua: str | None = None,
        corr: str | None = None,
        extra: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        corr = corr or uuid4(self.rng)
        details = [{"key": "User-Agent", "value": ua}] if ua else []
        rec = {
            "id": f"Directory_{corr}_{mailgen._rand(self.rng, mailgen.B32, 5)}_{int(self.rng.integers(10**7, 10**8))}",
            "category": category,
            "correlationId": corr,
            "result": "success",
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": ts7(t + float(self.rng.random())),
            "loggedByService": service,
            "operationType": op,
            "initiatedBy": initiated,
            "userAgent": ua,
            "targetResources": [
                {"administrativeUnits": [], "groupType": None, "userPrincipalName": None, **x}
                for x in targets
            ],
            "additionalDetails": details + (extra or []),
        }
        self.records.append(rec)
        return rec


def target(
    id_: str, name: str | None, type_: str, props: list[tuple[str, Any, Any]], upn: str | None = None
) -> dict[str, Any]:
    return {
        "id": id_,
        "displayName": name,
        "type": type_,
        "userPrincipalName": upn,
        "modifiedProperties": [{"displayName": n, "oldValue": o, "newValue": v} for n, o, v in props],
    }


def key_desc(key_id: str, name: str, kind: str = "Password") -> str:
    return f"[KeyIdentifier={key_id},KeyType={kind},KeyUsage=Verify,DisplayName={name}]"


@dataclass
class Chain:
    """What the steps of the chain share: the tenant, one random stream, the clock ``t`` that each
    step moves forward, the audit log being written, and what earlier steps made for later ones
    (apps, the new user, the attacker's addresses). Steps read and write it; nothing else does."""

    tn: Tenant
    seed: int
    rng: np.random.Generator
    au: Audit
    out: ChainOut
    info: dict[str, Any]
    out_dir: Path
    start: float
    end: float
    victim: User
    t: float = 0.0
    apps: dict[str, App] = field(default_factory=dict)
    attacker_ips: list[int] = field(default_factory=list)  # indexes into tn.net.ips
    steps: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)  # extra truth.json keys a step wants recorded
    new_user: User | None = None
    role: str = ""
    user_agent: str = ""  # the user agent of the step's actor (the tool, or the new user's browser)
    session_ip: int = -1  # the new user's sign-in address (an index into tn.net.ips)
    mailboxes_read: list[User] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ips(self) -> list[Any]:
        return self.tn.net.ips

    def new_app(self, name: str) -> App:
        return App(name, uuid4(self.rng), uuid4(self.rng), uuid4(self.rng))

    def members(self) -> list[User]:
        """Enabled members: the mailboxes the attacker can pick from and whose owners read their mail."""
        return [u for u in self.tn.users if u.kind == "member" and u.disabled_at is None]

    def record(self, t: float, action: str, actor: str, obj: str, rec: dict[str, Any] | None = None) -> None:
        """One step of the truth's attack timeline."""
        self.steps.append(
            {
                "time": iso(t),
                "action": action,
                "actor": actor,
                "object": obj,
                "audit_id": rec["id"] if rec else None,
            }
        )

    def stream(self, key: int) -> np.random.Generator:
        """An independent random stream for a new step, so adding one does not shift what the others draw."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, 300, key]))


def existing_apps(c: Chain) -> None:
    """The apps the tenant already has: the legacy test app, an ordinary one, a backup product."""
    c.apps["legacy"] = c.new_app(
        C.pick(
            c.rng, [f"{w}-test-app" for w in C.WORDS[:20]] + ["LegacyTestApp", "oauth-test", "DevTestClient"]
        )
    )
    c.apps["normal"] = c.new_app(
        C.pick(
            c.rng,
            ["HR Portal Integration", "Expense Sync", "Intranet SSO", "Build Pipeline", "CRM Connector"],
        )
    )
    c.apps["backup"] = c.new_app(
        C.pick(c.rng, ["Backup for Microsoft 365", "M365 Archiver", "Mail Retention Service"])
    )


def credential_on_legacy_app(c: Chain) -> None:
    """The compromised account signs in to the portal and adds a secret to the legacy test app."""
    kit, legacy, victim = c.info["kit"], c.apps["legacy"], c.victim
    avail = c.end - c.info["epoch"]
    c.t = c.info["epoch"] + min(c.rng.uniform(0.5, 2.5) * DAY, avail * 0.3)
    ip1 = c.info["proxies"].new()
    c.attacker_ips.append(ip1)
    c.out.signins.append(
        ev(c.t - 120, victim.idx, kit.devices[0], "Azure Portal", ip1, 0, client_app="Browser")
    )
    new_key = uuid4(c.rng)
    secret_name = C.pick(c.rng, ["", "key1", "backup", "test", "secret", "sync"])
    r = c.au.add(
        c.t,
        "ApplicationManagement",
        CERTS_OP,
        "Update",
        c.au.by_user(victim, c.ips[ip1].ip),
        [
            target(
                legacy.object_id,
                legacy.name,
                "Application",
                [
                    ("KeyDescription", "[]", q([key_desc(new_key, secret_name)])),
                    ("Included Updated Properties", None, q("KeyDescription")),
                ],
            )
        ],
        ua=kit.devices[0].user_agent,
    )
    c.record(c.t, "credential_added_to_legacy_app", victim.upn, legacy.name, r)
    c.truth.setdefault("app_keys", {})["legacy"] = new_key  # the key its sign-ins use (app_signins.py)


def new_application(c: Chain) -> None:
    """Acting as the legacy app, the attacker creates a new app and its service principal."""
    rng, au, legacy = c.rng, c.au, c.apps["legacy"]
    c.t += rng.uniform(600, 6 * 3600)
    evil = c.apps["evil"] = c.new_app(
        C.pick(
            rng,
            [
                "Mail Sync Service",
                "Outlook Analytics",
                "O365 Connector",
                "ComplianceHelper",
                "MailFlow Monitor",
                "Exchange Reporting",
            ],
        )
        + C.pick(rng, ["", " v2", " (prod)"])
    )
    c.user_agent = f"Microsoft.OData.Client/7.{int(rng.integers(12, 20))}.{int(rng.integers(0, 5))}"
    r = au.add(
        c.t,
        "ApplicationManagement",
        "Add application",
        "Add",
        au.by_app(legacy),
        [
            target(
                evil.object_id,
                evil.name,
                "Application",
                [
                    (
                        "AppAddress",
                        "[]",
                        q([{"AddressType": 0, "Address": "https://localhost", "ReplyAddressClientType": 1}]),
                    ),
                    ("AppId", "[]", q([evil.app_id])),
                    ("AvailableToOtherTenants", "[]", "[false]"),
                    ("DisplayName", "[]", q([evil.name])),
                    (
                        "Included Updated Properties",
                        None,
                        q("AppAddress, AppId, AvailableToOtherTenants, DisplayName"),
                    ),
                ],
            )
        ],
        ua=c.user_agent,
    )
    c.record(c.t, "application_created", legacy.name, evil.name, r)
    c.t += rng.uniform(2, 30)
    r = au.add(
        c.t,
        "ApplicationManagement",
        "Add service principal",
        "Add",
        au.by_app(legacy),
        [
            target(
                evil.sp_id,
                evil.name,
                "ServicePrincipal",
                [
                    ("AccountEnabled", "[]", "[true]"),
                    ("AppPrincipalId", "[]", q([evil.app_id])),
                    ("DisplayName", "[]", q([evil.name])),
                    ("ServicePrincipalName", "[]", q([evil.app_id])),
                ],
            )
        ],
        ua=c.user_agent,
    )
    c.record(c.t, "service_principal_created", legacy.name, evil.name, r)


def credential_on_new_app(c: Chain) -> None:
    """The legacy app adds a secret to the new app."""
    legacy, evil = c.apps["legacy"], c.apps["evil"]
    c.t += c.rng.uniform(10, 300)
    r = c.au.add(
        c.t,
        "ApplicationManagement",
        CERTS_OP,
        "Update",
        c.au.by_app(legacy),
        [
            target(
                evil.object_id,
                evil.name,
                "Application",
                [
                    ("KeyDescription", "[]", q([key_desc(evil_key := uuid4(c.rng), "")])),
                    ("Included Updated Properties", None, q("KeyDescription")),
                ],
            )
        ],
        ua=c.user_agent,
    )
    c.record(c.t, "credential_added_to_new_app", legacy.name, evil.name, r)
    c.truth.setdefault("app_keys", {})["malicious"] = evil_key


def new_admin_user(c: Chain) -> None:
    """The legacy app creates a user and makes it an administrator."""
    rng, au, tn, legacy, victim = c.rng, c.au, c.tn, c.apps["legacy"], c.victim
    c.t += rng.uniform(600, 4 * 3600)
    first, last = C.pick(rng, C.FIRST), C.pick(rng, C.LAST)
    nu = c.new_user = User(
        len(tn.users),
        uuid4(rng),
        f"{C.pick(rng, [f'{first}.{last}', f'adm-{first}', f'{first}{last[0]}.svc'])}@{tn.domain}",
        f"{first.title()} {last.title()}",
        "member",
        "IT",
        victim.country,
        victim.tz,
        False,
        0,
        datetime.fromtimestamp(int(c.t), UTC).replace(tzinfo=None),
    )
    nu.devices = []
    tn.users.append(nu)
    c.out.new_users.append(nu)
    r = au.add(
        c.t,
        "UserManagement",
        "Add user",
        "Add",
        au.by_app(legacy),
        [
            target(
                nu.id,
                None,
                "User",
                [
                    ("AccountEnabled", "[]", "[true]"),
                    ("DisplayName", "[]", q([nu.display])),
                    ("UserPrincipalName", "[]", q([nu.upn])),
                    ("UserType", "[]", q(["Member"])),
                    (
                        "Included Updated Properties",
                        None,
                        q("AccountEnabled, DisplayName, UserPrincipalName, UserType"),
                    ),
                ],
                upn=nu.upn,
            )
        ],
        ua=c.user_agent,
    )
    c.record(c.t, "user_created", legacy.name, nu.upn, r)
    c.t += rng.uniform(30, 1200)
    role = c.role = C.pick(
        rng, ["Global Administrator", "Privileged Role Administrator", "Cloud Application Administrator"]
    )
    r = au.add(
        c.t,
        "RoleManagement",
        "Add member to role",
        "Assign",
        au.by_app(legacy),
        [
            target(
                nu.id,
                None,
                "User",
                [
                    ("Role.ObjectID", None, q(uuid4(rng))),
                    ("Role.DisplayName", None, q(role)),
                    ("Role.TemplateId", None, q(uuid4(rng))),
                    ("Role.WellKnownObjectName", None, q(role.replace(" ", ""))),
                ],
                upn=nu.upn,
            )
        ],
        ua=c.user_agent,
    )
    c.record(c.t, "role_assigned_to_new_user", legacy.name, f"{nu.upn}:{role}", r)


def new_user_signs_in(c: Chain) -> None:
    """The new user signs in: an MFA registration interrupt, then a single-factor success."""
    nu = c.new_user
    assert nu is not None
    c.t += c.rng.uniform(300, 3 * 3600)
    ip2 = c.session_ip = c.info["proxies"].new()
    c.attacker_ips.append(ip2)
    ua, osd, br = C.browser_ua(c.rng, "Windows")
    c.user_agent = ua
    dev = Device(nu.idx, "browser", "", "", ua, osd, br, False, False, "")
    c.out.signins += [
        ev(c.t, nu.idx, dev, "Azure Portal", ip2, 50079),
        ev(c.t + 40, nu.idx, dev, "Azure Portal", ip2, 0),
    ]
    c.record(c.t + 40, "new_user_signed_in", nu.upn, c.ips[ip2].ip)


def admin_consent(c: Chain) -> None:
    """The new admin consents to the new app for the whole tenant (and a delegated User.Read grant)."""
    rng, au, nu, evil = c.rng, c.au, c.new_user, c.apps["evil"]
    assert nu is not None
    ip = c.ips[c.session_ip].ip
    c.t += rng.uniform(120, 1800)
    corr = uuid4(rng)
    perms = (
        f"[] => [[Id: {mailgen._rand(rng, mailgen.B62 + '-_', 43)}, ClientId: {evil.sp_id}, PrincipalId: , "
        f"ResourceId: {uuid4(rng)}, ConsentType: AllPrincipals, Scope:  User.Read, CreatedDateTime: , "
        f"LastModifiedDateTime ]]; "
    )
    r = au.add(
        c.t,
        "ApplicationManagement",
        "Consent to application",
        "Assign",
        au.by_user(nu, ip),
        [
            target(
                evil.sp_id,
                evil.name,
                "ServicePrincipal",
                [
                    ("ConsentContext.IsAdminConsent", None, q("True")),
                    ("ConsentContext.IsAppOnly", None, q("False")),
                    ("ConsentContext.OnBehalfOfAll", None, q("True")),
                    ("ConsentContext.Tags", None, q("WindowsAzureActiveDirectoryIntegratedApp")),
                    ("ConsentAction.Permissions", None, q(perms)),
                    ("ConsentAction.Reason", None, q("Risky application detected")),
                    ("TargetId.ServicePrincipalNames", None, q(evil.app_id)),
                ],
            )
        ],
        ua=c.user_agent,
        corr=corr,
    )
    c.record(c.t, "admin_consent_granted", nu.upn, evil.name, r)
    c.apps["graph"] = App("Microsoft Graph", C.GRAPH[0], "", uuid4(rng))
    c.apps["exchange"] = App("Office 365 Exchange Online", EXO_APP_ID, "", uuid4(rng))
    r = au.add(
        c.t,
        "ApplicationManagement",
        "Add delegated permission grant",
        "Assign",
        au.by_user(nu, ip),
        [
            target(
                c.apps["graph"].sp_id,
                "Microsoft Graph",
                "ServicePrincipal",
                [
                    ("DelegatedPermissionGrant.Scope", None, q(" User.Read")),
                    ("DelegatedPermissionGrant.ConsentType", None, q("AllPrincipals")),
                    ("ServicePrincipal.ObjectID", None, q(evil.sp_id)),
                    ("TargetId.ServicePrincipalNames", None, q(f"{C.GRAPH[0]};https://graph.microsoft.com")),
                ],
            ),
            target(evil.sp_id, None, "ServicePrincipal", []),
        ],
        ua=c.user_agent,
        corr=corr,
    )
    c.record(c.t, "delegated_grant", nu.upn, f"{evil.name}:User.Read", r)


def mail_app_roles(c: Chain) -> None:
    """The new admin grants the new app Exchange ``full_access_as_app`` and Graph ``Mail.Read``."""
    rng, au, nu, evil = c.rng, c.au, c.new_user, c.apps["evil"]
    assert nu is not None
    exo, graph = c.apps["exchange"], c.apps["graph"]
    for role_id, value, desc, res in (
        (FULL_ACCESS_AS_APP, "full_access_as_app", "Use Exchange Web Services with full access to all mailboxes", exo),
        (MAIL_READ_APP, "Mail.Read", "Read mail in all mailboxes", graph),
    ):  # fmt: skip
        c.t += rng.uniform(5, 120)
        created = ts7(c.t)
        r = au.add(
            c.t,
            "ApplicationManagement",
            "Add app role assignment to service principal",
            "Assign",
            au.by_user(nu, c.ips[c.session_ip].ip),
            [
                target(
                    res.sp_id,
                    res.name,
                    "ServicePrincipal",
                    [
                        ("AppRole.Id", None, q(role_id)),
                        ("AppRole.Value", None, q(value)),
                        ("AppRole.DisplayName", None, q(desc)),
                        ("AppRoleAssignment.CreatedDateTime", None, q(created)),
                        ("AppRoleAssignment.LastModifiedDateTime", None, q(created)),
                        ("ServicePrincipal.ObjectID", None, q(evil.sp_id)),
                        ("ServicePrincipal.DisplayName", None, q(evil.name)),
                        ("ServicePrincipal.AppId", None, q(evil.app_id)),
                        ("ServicePrincipal.Name", None, q(evil.app_id)),
                        ("TargetId.ServicePrincipalNames", None, q(f"{res.app_id}")),
                    ],
                ),
                target(evil.sp_id, None, "ServicePrincipal", []),
            ],
            ua=c.user_agent,
        )
        c.record(c.t, f"app_role_{value}", nu.upn, f"{evil.name}->{res.name}", r)


def read_mailboxes(c: Chain) -> None:
    """The new app reads chosen mailboxes through EWS (senior staff first); the mail is written out."""
    rng, tn, evil = c.rng, c.tn, c.apps["evil"]
    pool = c.members()
    senior = [u for u in pool if u.department in ("Executive", "Security", "Legal")]
    n_read = int(min(len(pool), rng.integers(8, 30)))
    picked = c.mailboxes_read = (
        senior[:n_read]
        + [u for u in rng.permutation(pool).tolist() if u not in senior][: max(0, n_read - len(senior))]
    )
    colleagues = [(u.upn, u.display) for u in pool[:200]]
    paths, c.secrets, msgids = mailgen.build_mailboxes(
        c.out_dir / "mail",
        rng,
        [(u.upn, u.display) for u in picked],
        colleagues,
        tn.domain,
        c.start,
        int(c.t),
    )
    c.out.mail_paths = paths
    ews_ua = C.pick(
        rng,
        [
            f"ExchangeServicesClient/15.0{int(rng.integers(0, 1))}.{int(rng.integers(800, 1000)):04d}.{int(rng.integers(0, 20)):03d}",
            f"python-requests/2.{int(rng.integers(25, 32))}.0",
            "Microsoft.Exchange.WebServices.Data",
        ],
    )
    read_ips = [c.info["proxies"].new() for _ in range(int(rng.integers(1, 4)))]
    c.attacker_ips += read_ips
    tm = c.t + rng.uniform(600, 3 * 3600)
    for u in picked:
        ids = msgids[u.upn]
        for batch in range(0, len(ids), 10):
            c.out.mail_access.append(
                mail_record(
                    rng,
                    tn,
                    u,
                    tm,
                    ids[batch : batch + 10],
                    "Bind",
                    f"Client=WebServices;{ews_ua};",
                    EXO_APP_ID,
                    evil.app_id,
                    c.ips[read_ips[int(rng.integers(0, len(read_ips)))]].ip,
                    "Delegate",
                )
            )
            tm += rng.uniform(1, 40)
        tm += rng.uniform(30, 1800)
        if tm > c.end - 60:
            tm = c.end - 60
    c.t = tm
    c.record(tm, "mailboxes_read_via_ews", evil.name, f"{len(picked)} mailboxes")


def benign_audit(c: Chain) -> None:
    """Directory churn by the helpdesk, and a routine credential rotation on an ordinary app."""
    helpdesk = [u for u in c.tn.users if u.kind == "admin"] or [c.tn.users[0]]
    normal = c.apps["normal"]
    (old, new), rotated_at = _benign_audit(c.au, c.rng, c.tn, c.start, c.end, normal, helpdesk)
    c.truth.setdefault("app_keys", {})["benign"] = {
        "appId": normal.app_id,
        "old": old,
        "new": new,
        "rotated_at": iso(rotated_at),
    }


def benign_mail_access(c: Chain) -> None:
    """Owners' mail clients every day, and a backup product syncing every mailbox (a labelled trap)."""
    rng, tn, ips, backup = c.rng, c.tn, c.ips, c.apps["backup"]
    pool = c.members()
    backup_ip = ips[tn.net.new_v4(C.pick(rng, [8075, 16509]))].ip
    ma = c.out.mail_access
    for d in range(tn.days):
        day0 = c.start + d * DAY
        sample = rng.choice(len(pool), size=min(len(pool), max(5, len(pool) // 12)), replace=False)
        for i in sample.tolist():
            u = pool[i]
            client = C.pick(
                rng,
                [
                    ("Client=OutlookService;Outlook-iOS/2.0;", "27922004-5251-4030-b22d-91ecd9a37ea4"),
                    ("Client=MSExchangeRPC", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
                    ("Client=OWA;Action=ViaProxy", "9199bf20-a13f-4107-85dc-02114787ef48"),
                    ("Client=REST;Client=RESTSystem;;", "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"),
                ],
            )
            tt = day0 + (u.start_hour - u.tz) % 24 * 3600 + rng.uniform(0, u.hours * 3600)
            ip = ips[u.home_ip if u.office < 0 else tn.offices[u.office].ips[0]].ip
            ma.append(
                mail_record(
                    rng,
                    tn,
                    u,
                    min(tt, day0 + DAY - 1),
                    [f"<{uuid4(rng)}@{tn.domain}>"],
                    C.pick(rng, ["Sync", "Bind"], [0.6, 0.4]),
                    client[0],
                    client[1],
                    client[1],
                    ip,
                    "Owner",
                )
            )
        tb = day0 + rng.uniform(1, 4) * 3600
        for u in pool[: max(10, len(pool) // 4)]:
            ma.append(
                mail_record(
                    rng,
                    tn,
                    u,
                    tb,
                    [],
                    "Sync",
                    "Client=WebServices;BackupAgent/6.2;",
                    EXO_APP_ID,
                    backup.app_id,
                    backup_ip,
                    "Delegate",
                )
            )
            tb += rng.uniform(1, 20)
    c.out.traps.append(
        Labelled(
            "trap-backup_app_mailbox_sync",
            "backup_app_mailbox_sync",
            source_ips=[backup_ip],
            details={"app_id": backup.app_id, "app": backup.name},
        )
    )


# The chain, in order. A step is a function of the shared ``Chain``: it moves ``c.t`` forward, writes
# sign-ins / audit records / mail access to ``c.out``, and calls ``c.record`` for the truth timeline.
# A new step that draws random numbers should take them from ``c.stream(<its own key>)``, so the
# steps after it (and every existing seed's output) stay the same.
ATTACK_STEPS: list[Callable[[Chain], None]] = [
    credential_on_legacy_app,
    new_application,
    credential_on_new_app,
    new_admin_user,
    new_user_signs_in,
    admin_consent,
    mail_app_roles,
    read_mailboxes,
]
BENIGN_STEPS: list[Callable[[Chain], None]] = [benign_audit, benign_mail_access]


def run_chain(tn: Tenant, seed: int, info: dict[str, Any], out_dir: Path) -> ChainOut:
    """The post-compromise chain after the spray found ``info["victim"]``, with the benign noise around it."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 300]))
    start = _epoch(tn.start)
    c = Chain(
        tn=tn, seed=seed, rng=rng, au=Audit(rng, tn), out=ChainOut(), info=info, out_dir=out_dir,
        start=start, end=start + tn.days * DAY, victim=tn.users[info["victim"]],
    )  # fmt: skip
    existing_apps(c)
    for run_step in ATTACK_STEPS + BENIGN_STEPS:
        run_step(c)
    return finish(c)


def finish(c: Chain) -> ChainOut:
    """Sort what was written and record the truth: what the detections should find."""
    out, apps, nu = c.out, c.apps, c.new_user
    assert nu is not None
    legacy, evil = apps["legacy"], apps["evil"]
    out.audit = sorted(c.au.records, key=lambda r: r["activityDateTime"])
    out.mail_access.sort(key=lambda r: r["TimeGenerated"])
    out.truth = {
        "compromised_account": c.victim.upn.lower(),
        "legacy_app": {"displayName": legacy.name, "appId": legacy.app_id, "objectId": legacy.object_id},
        "malicious_app": {"displayName": evil.name, "appId": evil.app_id, "servicePrincipalId": evil.sp_id},
        "new_user": nu.upn.lower(),
        "new_user_role": c.role,
        "attacker_ips": sorted({c.ips[i].ip for i in c.attacker_ips}),
        "mailboxes_read": sorted(u.upn.lower() for u in c.mailboxes_read),
        "steps": c.steps,
        "secrets": c.secrets,
        "benign_app_with_credential_rotation": apps["normal"].name,
        **c.truth,
    }
    return out


def mail_record(
    rng,
    tn: Tenant,
    u: User,
    t: float,
    msg_ids: list[str],
    access: str,
    client: str,
    app_id: str,
    client_app: str,
    ip: str,
    logon: str,
) -> dict[str, Any]:
    """An OfficeActivity (Log Analytics) MailItemsAccessed row, field names as in the real export."""
    when = iso(t)
    sid = f"S-1-5-21-{int(tn.tenant_id[:8], 16)}-{int(u.id[:8], 16)}-{u.idx + 1000}"
    folders = (
        [
            {
                "FolderItems": [{"InternetMessageId": m} for m in msg_ids],
                "Id": mailgen._rand(rng, mailgen.B62, 44),
                "Path": "\\Inbox",
            }
        ]
        if msg_ids
        else []
    )
    rid = uuid4(rng)
    return {
        "TenantId": tn.tenant_id,
        "RecordType": "50",
        "TimeGenerated": when,
        "Operation": "MailItemsAccessed",
        "OrganizationId": tn.tenant_id,
        "UserType": "Regular",
        "UserKey": u.id.replace("-", "")[:16].upper(),
        "OfficeWorkload": "Exchange",
        "ResultStatus": "Succeeded",
        "ResultReasonType": "Succeeded",
        "UserId": u.upn,
        "ExternalAccess": "False",
        "OriginatingServer": f"{mailgen._rand(rng, mailgen.B32[:26], 6)}{int(rng.integers(10, 99))}MB{int(rng.integers(1000, 9999))} (15.20.{int(rng.integers(7000, 7999))}.0{int(rng.integers(10, 40))})\r\n",
        "OrganizationName": tn.initial_domain,
        "Logon_Type": logon,
        "MailboxGuid": uuid4(rng),
        "MailboxOwnerUPN": u.upn,
        "MailboxOwnerSid": sid,
        "LogonUserSid": sid,
        "ClientInfoString": client,
        "Client_IPAddress": ip,
        "Folders": orjson.dumps(folders).decode(),
        "SourceSystem": "OfficeActivityManager",
        "OfficeId": rid,
        "SourceRecordId": rid,
        "Start_Time": when,
        "OfficeTenantId": tn.tenant_id,
        "OperationProperties": orjson.dumps(
            [{"Name": "MailAccessType", "Value": access}, {"Name": "IsThrottled", "Value": "False"}]
        ).decode(),
        "AppId": app_id,
        "ClientAppId": client_app,
        "Type": "OfficeActivity",
    }


def _benign_audit(
    au: Audit, rng, tn: Tenant, start: int, end: int, normal: App, helpdesk: list[User]
) -> tuple[tuple[str, str], float]:
    members = [u for u in tn.users if u.kind == "member"]
    groups = [
        (
            uuid4(rng),
            f"{C.pick(rng, C.WORDS).title()} {C.pick(rng, ['Team', 'Project', 'All Staff', 'Admins', 'Readers'])}",
        )
        for _ in range(25)
    ]
    n = max(20, len(members) // 40) * tn.days
    for _ in range(n):
        t = float(rng.uniform(start, end))
        adm = C.pick(rng, helpdesk)
        u = C.pick(rng, members)
        kind = C.pick(
            rng,
            ["update", "group_add", "group_remove", "reset", "sspr", "secinfo", "consent"],
            [0.3, 0.2, 0.1, 0.08, 0.12, 0.12, 0.08],
        )
        aip = tn.net.ips[adm.home_ip if adm.office < 0 else tn.offices[adm.office].ips[0]].ip
        if kind == "update":
            prop = C.pick(rng, ["Department", "JobTitle", "Manager", "MobilePhone", "StreetAddress"])
            au.add(
                t,
                "UserManagement",
                "Update user",
                "Update",
                au.by_user(adm, aip),
                [
                    target(
                        u.id,
                        None,
                        "User",
                        [
                            (prop, "[]", q([C.pick(rng, C.WORDS).title()])),
                            ("Included Updated Properties", None, q(prop)),
                        ],
                        upn=u.upn,
                    )
                ],
            )
        elif kind in ("group_add", "group_remove"):
            gid, gname = C.pick(rng, groups)
            act = "Add member to group" if kind == "group_add" else "Remove member from group"
            au.add(
                t,
                "GroupManagement",
                act,
                "Assign" if kind == "group_add" else "Unassign",
                au.by_user(adm, aip),
                [
                    target(
                        u.id,
                        None,
                        "User",
                        [("Group.ObjectID", None, q(gid)), ("Group.DisplayName", None, q(gname))],
                        upn=u.upn,
                    ),
                    target(gid, None, "Group", []),
                ],
            )
        elif kind == "reset":
            au.add(
                t,
                "UserManagement",
                "Reset user password",
                "Update",
                au.by_user(adm, aip),
                [target(u.id, None, "User", [], upn=u.upn)],
            )
        elif kind == "sspr":
            au.add(
                t,
                "UserManagement",
                "Reset password (self-service)",
                "Update",
                au.by_user(u, tn.net.ips[u.home_ip].ip),
                [target(u.id, None, "User", [], upn=u.upn)],
                service="Self-service Password Management",
            )
        elif kind == "secinfo":
            au.add(
                t,
                "UserManagement",
                "User registered security info",
                "Add",
                au.by_user(u, tn.net.ips[u.home_ip].ip),
                [target(u.id, None, "User", [], upn=u.upn)],
                service="Authentication Methods",
            )
        else:
            app = C.pick(rng, ["Zoom", "Adobe Acrobat", "Miro", "Calendly", "Grammarly", "Slack", "Trello"])
            perms = f"[] => [[Id: , ClientId: {uuid4(rng)}, PrincipalId: {u.id}, ResourceId: , ConsentType: Principal, Scope:  openid profile email offline_access User.Read, CreatedDateTime: , LastModifiedDateTime ]]; "
            au.add(
                t,
                "ApplicationManagement",
                "Consent to application",
                "Assign",
                au.by_user(u, tn.net.ips[u.home_ip].ip),
                [
                    target(
                        uuid4(rng),
                        app,
                        "ServicePrincipal",
                        [
                            ("ConsentContext.IsAdminConsent", None, q("False")),
                            ("ConsentContext.IsAppOnly", None, q("False")),
                            ("ConsentContext.OnBehalfOfAll", None, q("False")),
                            ("ConsentAction.Permissions", None, q(perms)),
                        ],
                    )
                ],
            )
    # new hires and leavers
    for u in tn.users:
        if u.kind == "member" and u.created > tn.start:
            adm = C.pick(rng, helpdesk)
            au.add(
                _epoch(u.created),
                "UserManagement",
                "Add user",
                "Add",
                au.by_user(adm, None),
                [
                    target(
                        u.id,
                        None,
                        "User",
                        [
                            ("AccountEnabled", "[]", "[true]"),
                            ("DisplayName", "[]", q([u.display])),
                            ("UserPrincipalName", "[]", q([u.upn])),
                        ],
                        upn=u.upn,
                    )
                ],
            )
        if u.disabled_at is not None:
            adm = C.pick(rng, helpdesk)
            au.add(
                _epoch(u.disabled_at),
                "UserManagement",
                "Disable account",
                "Update",
                au.by_user(adm, None),
                [target(u.id, None, "User", [("AccountEnabled", "[true]", "[false]")], upn=u.upn)],
            )
    # routine credential rotation on an app with history: old key kept, new added, old removed later
    t = float(rng.uniform(start, end - DAY))
    old_key, new_key = uuid4(rng), uuid4(rng)
    adm = C.pick(rng, helpdesk)

    def key_update(when: float, before: list[str], after: list[str]) -> None:
        keys = {old_key: "prod-2023", new_key: "prod-2024"}
        au.add(
            when,
            "ApplicationManagement",
            CERTS_OP,
            "Update",
            au.by_user(adm, None),
            [
                target(
                    normal.object_id,
                    normal.name,
                    "Application",
                    [
                        (
                            "KeyDescription",
                            q([key_desc(k, keys[k]) for k in before]),
                            q([key_desc(k, keys[k]) for k in after]),
                        ),
                        ("Included Updated Properties", None, q("KeyDescription")),
                    ],
                )
            ],
        )

    key_update(t, [old_key], [old_key, new_key])
    rotation = (old_key, new_key), t
    key_update(t + rng.uniform(3600, DAY - 60), [old_key, new_key], [new_key])
    # a PIM activation, the benign way to gain a role
    adm = C.pick(rng, helpdesk)
    au.add(
        float(rng.uniform(start, end)),
        "RoleManagement",
        "Add member to role completed (PIM activation)",
        "Assign",
        au.by_user(adm, None),
        [
            target(
                adm.id, None, "User", [("Role.DisplayName", None, q("Exchange Administrator"))], upn=adm.upn
            )
        ],
        service="PIM",
    )
    return rotation
