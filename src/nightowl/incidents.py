"""Incidents: findings that share an attacker's accounts, applications, addresses or tooling, told as one story.

A defender does not want fifteen findings; they want "the spray that compromised legacy-test, then
the app abuse and the mailbox reads it led to", in order, with what to do about it. Findings are
nodes; two findings are joined when they share an entity (an account the attacker controlled, an
application id, an app credential's key id, a source address, a campaign fingerprint, or an explicit reference such as a
compromise naming the attack that confirmed it). Connected components are incidents.

What does *not* join findings, and why:
- the accounts a spray merely *targeted*: two unrelated campaigns often aim at the same directory;
  only accounts whose password was confirmed (``compromised_users``) are the attacker's;
- the mailbox owners whose mail an app read: they are victims, not actors (they link the secrets
  found in their mail to the incident instead);
- Microsoft's own resource applications (Graph, Exchange Online, ...) every consent points at;
- any entity shared by more than ``max_shared`` findings (a corporate NAT address, a
  user agent everyone has): it would glue the whole report into one blob;
- benign categories (stale credentials, password expiry waves), exposure (posture, not events).

Secret findings join an incident when they were found in a mailbox the incident's app read.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from nightowl.findings import SEVERITIES, SEVERITY_RANK, Finding, stable_id

# -- chain stages ------------------------------------------------------------------------------
STAGES: dict[str, str] = {  # key -> label, in chain order
    "spray": "Password attack",
    "compromise": "Account compromise",
    "persistence": "Persistence",
    "consent": "Consent",
    "privilege": "Privilege",
    "app_signin": "Application sign-in",
    "collection": "Mailbox access",
    "exposed_secrets": "Exposed secrets",
    "other": "Other activity",
}
STAGE_RANK = {s: i for i, s in enumerate(STAGES)}
ATTACK_CATEGORIES = frozenset(
    {"password_spray", "brute_force", "credential_stuffing", "account_enumeration", "lockout_wave"}
)
CATEGORY_STAGE: dict[str, str] = {
    **dict.fromkeys(ATTACK_CATEGORIES, "spray"),
    "account_compromise": "compromise",
    "app_credential": "persistence",
    "new_application": "persistence",
    "consent_grant": "consent",
    "sensitive_permission": "privilege",
    "privilege_escalation": "privilege",
    "app_signin": "app_signin",
    "mailbox_access": "collection",
    "secret": "exposed_secrets",
}
BENIGN_CATEGORIES = frozenset({"stale_credentials", "password_expiry_wave"})
NOT_EVENTS = frozenset({"exposure", "secret"})  # grouped separately (secrets) or never (posture)
DEFAULT_MAX_SHARED = 50
INCIDENT_MIN_SEVERITY = "medium"  # a component made only of low/info findings is not an incident

# Microsoft first-party resource apps (Graph 00000003-0000-0000-c000-..., Exchange 00000002-0000-0ff1-ce00-...).
_FIRST_PARTY_APP = re.compile(r"^0000000[0-9a-f]-0000-(?:0000-c000|0ff1-ce00)-000000000000$")
# ...and by name, because audit records name a tenant's own service principal object for them.
FIRST_PARTY_NAMES = frozenset(
    {
        "microsoft graph",
        "office 365 exchange online",
        "windows azure active directory",
        "office 365 sharepoint online",
        "microsoft teams services",
        "azure active directory powershell",
        "microsoft azure cli",
    }
)
_APP_TYPES = frozenset({"app", "application", "serviceprincipal", "service_principal", "appid"})
_ATTACK_WORDS = {
    "password_spray": "password spray",
    "brute_force": "brute force",
    "credential_stuffing": "credential stuffing",
    "account_enumeration": "account enumeration",
    "lockout_wave": "lockout wave",
}


# -- model ---------------------------------------------------------------------------------------
@dataclass
class Step:
    """One finding in an incident's timeline."""

    stage: str
    finding: Finding
    when: str | None

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {
            "stage": self.stage,
            "stage_label": self.stage_label,
            "when": self.when,
            "finding_id": f.id,
            "category": f.category,
            "severity": f.severity,
            "title": f.title,
            "summary": f.summary,
        }


@dataclass
class Action:
    """A recommended response step; ``targets`` are the exact accounts/apps/secrets it applies to."""

    text: str
    targets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "targets": self.targets}


@dataclass
class Incident:
    id: str
    title: str
    severity: str
    first_seen: str | None
    last_seen: str | None
    steps: list[Step]
    entities: dict[str, Any]
    actions: list[Action]
    story: list[str]  # the incident in a few plain sentences, for the summary

    @property
    def finding_ids(self) -> list[str]:
        return [s.finding.id for s in self.steps]

    @property
    def stages(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            if s.stage not in seen:
                seen.append(s.stage)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "stages": self.stages,
            "timeline": [s.to_dict() for s in self.steps],
            "entities": self.entities,
            "actions": [a.to_dict() for a in self.actions],
            "story": self.story,
        }


# -- reading findings from the JSON contract --------------------------------------------------------
_FINDING_FIELDS = (
    "summary",
    "attack",
    "first_seen",
    "last_seen",
    "source_ips",
    "users",
    "compromised_users",
    "counts",
    "evidence",
)


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """A contract finding dict back into a :class:`Finding`; unknown fields go to ``extra``.

    Raises ValueError on a finding without id/category/severity (the caller names the file).
    """
    if not isinstance(data, dict):
        raise ValueError("a finding is not a JSON object")
    try:
        fid, category, severity = str(data["id"]), str(data["category"]), str(data["severity"]).lower()
    except KeyError as exc:
        raise ValueError(f"a finding has no {exc.args[0]!r}") from None
    if severity not in SEVERITY_RANK:
        raise ValueError(f"finding {fid}: unknown severity {severity!r}")
    kwargs: dict[str, Any] = {}
    for name in _FINDING_FIELDS:
        if name in data and data[name] is not None:
            kwargs[name] = data[name]
    for name in ("source_ips", "users", "compromised_users", "attack"):
        value = kwargs.get(name)
        kwargs[name] = [str(v) for v in value] if isinstance(value, list) else []
    for name in ("counts", "evidence"):
        if not isinstance(kwargs.get(name), dict):
            kwargs[name] = {}
    for name in ("first_seen", "last_seen", "summary"):
        if name in kwargs and not isinstance(kwargs[name], str):
            kwargs[name] = str(kwargs[name])
    known = {"id", "detection", "category", "severity", "title", *_FINDING_FIELDS}
    extra = {k: v for k, v in data.items() if k not in known}
    for name in ("applications", "mailboxes", "locations"):  # lists by contract; drop anything else
        if name in extra and not isinstance(extra[name], list):
            del extra[name]
    return Finding(
        id=fid,
        detection=str(data.get("detection") or category),
        category=category,
        severity=severity,
        title=str(data.get("title") or category),
        extra=extra,
        **kwargs,
    )


# -- entities ---------------------------------------------------------------------------------------
def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def as_list(value: Any) -> list[Any]:
    """A list field of a finding read from someone's JSON: anything else counts as empty."""
    return value if isinstance(value, list) else []


def first_party(app_id: str, name: str) -> bool:
    """Microsoft's own resource apps (Graph, Exchange Online, ...): every consent points at them."""
    return bool(_FIRST_PARTY_APP.match(app_id)) or name.strip().lower() in FIRST_PARTY_NAMES


def applications(f: Finding, include_first_party: bool = False) -> list[dict[str, str]]:
    """The ``applications`` extra field as [{id, name}] (tolerates strings and odd shapes),
    without Microsoft's resource apps unless asked."""
    out = []
    for app in as_list(f.extra.get("applications")):
        if isinstance(app, dict):
            app_id = str(app.get("id") or app.get("app_id") or app.get("appId") or "").lower()
            name = str(app.get("name") or app.get("displayName") or app_id)
        else:
            app_id, name = str(app).lower(), str(app)
        if (app_id or name) and (include_first_party or not first_party(app_id, name)):
            out.append({"id": app_id or name.lower(), "name": name})
    return out


def _actor_values(value: Any) -> Iterable[tuple[str, str]]:
    """(kind, value) pairs from evidence.actor / evidence.target: ``account`` (a UPN), ``app`` (an
    application / service principal object id or appId) and ``appname`` (its display name, which
    links the app registration, its service principal and its appId when the records name them
    by different ids)."""
    if isinstance(value, str):
        if "@" in value or "\\" in value:
            yield "account", value.lower()
    elif isinstance(value, dict):
        for key in ("upn", "userPrincipalName", "user"):
            if isinstance(value.get(key), str) and value[key]:
                yield "account", value[key].lower()
        kind = str(value.get("type") or "").lower()
        name = value.get("name") if isinstance(value.get("name"), str) else ""
        app_ids = [value.get(k) for k in ("app_id", "appId")]
        if kind in _APP_TYPES:
            app_ids.append(value.get("id"))
        app_ids = [str(a).lower() for a in app_ids if isinstance(a, str) and a]
        if first_party(app_ids[0] if app_ids else "", name or ""):
            return
        for app_id in app_ids:
            yield "app", app_id
        if name and (kind in _APP_TYPES or app_ids):
            yield "appname", name.strip().lower()
    elif isinstance(value, list):
        for item in value[:50]:
            yield from _actor_values(item)


def mailboxes(f: Finding) -> list[str]:
    """Mailbox owners an app or user read (the ``mailboxes`` field, else users minus the actor)."""
    boxes = as_list(f.extra.get("mailboxes"))
    if boxes:
        return sorted({str(b).lower() for b in boxes if b})
    actors = {v for _, v in _actor_values(f.evidence.get("actor"))}
    return sorted({u for u in f.users if u not in actors})


def _meaningful_ip(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return bool(ip) and ip not in ("-", "::", "0.0.0.0")
    return not (addr.is_loopback or addr.is_unspecified or addr.is_link_local)


def linking_entities(f: Finding) -> set[tuple[str, str]]:
    """The entities through which ``f`` can join others (see the module docstring for the rules)."""
    ents: set[tuple[str, str]] = {("finding", f.id)}
    accounts = set(f.compromised_users)
    if f.category not in ATTACK_CATEGORIES and f.category != "mailbox_access":
        accounts |= set(f.users)
    for key in ("actor", "target"):
        if f.category == "mailbox_access" and key == "target":  # the mailbox owner: a victim
            continue
        for kind, value in _actor_values(f.evidence.get(key)):
            if kind == "account":
                accounts.add(value)
            else:
                ents.add((kind, value))
    ents |= {("account", a.lower()) for a in accounts if a}
    ents |= {("ip", ip) for ip in f.source_ips if _meaningful_ip(ip)}
    for app in applications(f):
        ents.add(("app", app["id"]))
        if app["name"] and app["name"].lower() != app["id"]:
            ents.add(("appname", app["name"].strip().lower()))
    fps = f.evidence.get("fingerprints")
    for fp in [f.evidence.get("fingerprint"), *(fps if isinstance(fps, list) else [])]:
        if isinstance(fp, str) and fp:
            ents.add(("fingerprint", fp))
    # an app credential: the credential added (persistence) and the sign-ins made with it
    keys = f.evidence.get("credential_key_ids")
    for key in keys if isinstance(keys, list) else []:
        if isinstance(key, str) and key:
            ents.add(("credential", key.lower()))
    refs = f.evidence.get("attack_finding_ids")
    for ref in refs if isinstance(refs, list) else []:
        ents.add(("finding", str(ref)))
    return ents


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


# -- secrets in mail ---------------------------------------------------------------------------------
def by_local_part(owners: Iterable[str]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for owner in owners:
        index[owner.split("@")[0]].add(owner)
    return index


def secret_mailboxes(f: Finding, owners: set[str], index: dict[str, set[str]] | None = None) -> set[str]:
    """Which of ``owners`` (mailbox UPNs) a secret was found in: a ``mailbox`` key, the UPN in the
    path (``mail/alice@corp.example.mbox``), or a path part named after the local part (``alice.mbox``).
    ``index`` is :func:`by_local_part` of ``owners``, when the caller checks many secrets."""
    by_local = by_local_part(owners) if index is None else index
    found: set[str] = set()
    locations = as_list(f.extra.get("locations"))
    candidates = [f.extra.get("mailbox")] + [loc.get("mailbox") for loc in locations if isinstance(loc, dict)]
    found |= {str(c).lower() for c in candidates if c and str(c).lower() in owners}
    for loc in locations:
        if not isinstance(loc, dict) or not loc.get("path"):
            continue
        for part in PurePosixPath(str(loc["path"]).replace("\\", "/").lower()).parts:
            stem = part.split("@")[0] if "@" in part else part.rsplit(".", 1)[0]
            for owner in by_local.get(stem, ()):
                if "@" not in part or part.startswith(owner):
                    found.add(owner)
    return found


# -- grouping -------------------------------------------------------------------------------------------
def build_incidents(findings: list[Finding], max_shared: int = DEFAULT_MAX_SHARED) -> list[Incident]:
    """Group findings into incidents, most severe first (then earliest)."""
    events = [
        f
        for f in findings
        if f.category not in BENIGN_CATEGORIES and f.category not in NOT_EVENTS and f.severity != "info"
    ]
    ents = [linking_entities(f) for f in events]
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, es in enumerate(ents):
        for e in es:
            holders[e].append(i)
    uf = _UnionFind(len(events))
    for entity, members in holders.items():
        if len(members) < 2 or (entity[0] != "finding" and len(members) > max_shared):
            continue
        for j in members[1:]:
            uf.union(members[0], j)
    groups: dict[int, list[Finding]] = defaultdict(list)
    for i, f in enumerate(events):
        groups[uf.find(i)].append(f)
    limit = SEVERITY_RANK[INCIDENT_MIN_SEVERITY]
    # An incident needs something worth one: a finding at medium or above that is not routine
    # (an established integration, e.g. a backup app that has read mail since the logs begin, joins
    # an incident other findings start, but does not start one alone).
    components = [
        g
        for g in groups.values()
        if any(SEVERITY_RANK[f.severity] <= limit and not f.evidence.get("established") for f in g)
    ]

    secrets = [f for f in findings if f.category == "secret"]
    owners_of = [{m for f in g if f.category == "mailbox_access" for m in mailboxes(f)} for g in components]
    all_owners = set().union(*owners_of) if owners_of else set()
    if secrets and all_owners:
        index = by_local_part(all_owners)
        holders_of: dict[str, list[int]] = defaultdict(list)
        for k, owners in enumerate(owners_of):
            for owner in owners:
                holders_of[owner].append(k)
        for s in secrets:
            hit = secret_mailboxes(s, all_owners, index)
            for k in sorted({k for owner in hit for k in holders_of[owner]}):
                components[k].append(s)
    names = app_names(findings)
    incidents = [_incident(g, names) for g in components]
    # most severe first; among equals the longest chain (a whole attack story before a lone app's reads)
    return sorted(
        incidents, key=lambda i: (SEVERITY_RANK[i.severity], -len(i.stages), _sort_time(i.first_seen), i.id)
    )


def app_names(findings: Iterable[Finding]) -> dict[str, str]:
    """id -> display name, from every place a finding names an app (mailbox reads carry only the appId;
    a consent on the same app names it beside its appId)."""
    names: dict[str, str] = {}
    for f in findings:
        for app in applications(f):
            if app["name"] and app["name"].lower() != app["id"]:
                names.setdefault(app["id"], app["name"])
        for key in ("actor", "target"):
            value = f.evidence.get(key)
            if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
                for id_key in ("app_id", "appId", "id"):
                    if isinstance(value.get(id_key), str) and value[id_key]:
                        names.setdefault(value[id_key].lower(), value["name"])
    return names


def _sort_time(value: str | None) -> float:
    ts = parse_time(value)
    return ts.timestamp() if ts else float("inf")


def stage_of(f: Finding) -> str:
    return CATEGORY_STAGE.get(f.category, "other")


def _incident(group: list[Finding], names: dict[str, str]) -> Incident:
    # Time order; secrets (found later in the read mail, not events of the attack) close the story.
    steps = sorted(
        (Step(stage_of(f), f, f.first_seen) for f in group),
        key=lambda s: (
            s.stage == "exposed_secrets",
            _sort_time(s.when),
            STAGE_RANK[s.stage],
            SEVERITY_RANK[s.finding.severity],
            s.finding.id,
        ),
    )
    severity = SEVERITIES[min(SEVERITY_RANK[f.severity] for f in group)]
    times = [t for f in group if f.category != "secret" for t in (f.first_seen, f.last_seen) if t]
    parsed = sorted((parse_time(t), t) for t in times if parse_time(t))
    entities = _entities(group, names)
    return Incident(
        id=stable_id("incident", [f.id for f in group]),
        title=_title(group, entities),
        severity=severity,
        first_seen=parsed[0][1] if parsed else None,
        last_seen=parsed[-1][1] if parsed else None,
        steps=steps,
        entities=entities,
        actions=recommended_actions(group, entities, names),
        story=story(group, entities, names),
    )


def _entities(group: list[Finding], names: dict[str, str]) -> dict[str, Any]:
    attacks = [f for f in group if f.category in ATTACK_CATEGORIES]
    compromised = sorted({u for f in group for u in f.compromised_users})
    apps: dict[str, dict[str, str]] = {}  # by name: an app registration and its service principal are one app
    for f in group:
        for app in applications(f):
            name = names.get(app["id"], app["name"])
            apps.setdefault(name.strip().lower(), {"id": app["id"], "name": name})
    accounts = sorted(
        {
            a
            for f in group
            if f.category not in ATTACK_CATEGORIES | {"secret", "mailbox_access"}
            for a in f.users
        }
        | set(compromised)
    )
    boxes = sorted({m for f in group if f.category == "mailbox_access" for m in mailboxes(f)})
    secrets = [
        {
            "rule": f.extra.get("rule") or f.detection,
            "redacted": f.extra.get("redacted") or "…",
            "finding_id": f.id,
        }
        for f in group
        if f.category == "secret"
    ]
    fps = sorted({e[1] for f in group for e in linking_entities(f) if e[0] == "fingerprint"})
    return {
        "targeted_accounts": sorted({u for f in attacks for u in f.users}),
        "compromised_accounts": compromised,
        "accounts": accounts,
        "applications": [apps[k] for k in sorted(apps)],
        "source_ips": sorted({ip for f in group for ip in f.source_ips}),
        "fingerprints": fps,
        "mailboxes": boxes,
        "secrets": secrets,
    }


def _title(group: list[Finding], ents: dict[str, Any]) -> str:
    attack = _attack_phrase(group)
    comp = ents["compromised_accounts"]
    in_time = sorted(group, key=lambda f: _sort_time(f.first_seen))
    stages = dict.fromkeys(CATEGORY_STAGE.get(f.category, "other") for f in in_time)
    post = [STAGES[s].lower() for s in stages if s in ("persistence", "consent", "privilege", "collection")]
    if ents["secrets"]:
        post.append(f"{len(ents['secrets'])} exposed secret{'s' if len(ents['secrets']) != 1 else ''}")
    head = attack[0].upper() + attack[1:] if attack else ""
    if comp:
        who = comp[0] + (f" and {len(comp) - 1} more" if len(comp) > 1 else "")
        head = f"{head} compromised {who}" if head else f"Compromise of {who}"
    elif not head:  # no attack or compromise in it: name it by its most severe finding
        top = min(group, key=lambda f: (SEVERITY_RANK[f.severity], _sort_time(f.first_seen), f.id))
        head = top.title
        post = [p for p in post if p != STAGES[stage_of(top)].lower()]
        return head + (f"; {_join(post)}" if post else "")
    return head + (f"; then {_join(post)}" if post else "")


def _attack_phrase(group: list[Finding]) -> str:
    counts = Counter(f.category for f in group if f.category in ATTACK_CATEGORIES)
    if not counts:
        return ""
    words = [_ATTACK_WORDS[c] for c, _ in counts.most_common()]
    distributed = any(f.detection.endswith(".distributed") for f in group if f.category in ATTACK_CATEGORIES)
    return ("distributed " if distributed else "") + _join(words)


def _join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def target_apps(f: Finding) -> list[dict[str, str]]:
    """The applications a finding acted *on*: its ``applications`` minus Microsoft's resources and,
    except for mailbox reads (where the app is the reader), minus the app that acted."""
    apps = applications(f)
    if f.category != "mailbox_access":
        actor = {(k, v) for k, v in _actor_values(f.evidence.get("actor")) if k != "account"}
        apps = [
            a for a in apps if ("app", a["id"]) not in actor and ("appname", a["name"].lower()) not in actor
        ] or apps
    seen: dict[str, dict[str, str]] = {}
    for a in apps:
        seen.setdefault(a["name"].strip().lower(), a)
    return list(seen.values())


def _app_label(f: Finding, names: dict[str, str]) -> str:
    apps = [names.get(a["id"], a["name"]) for a in target_apps(f)]
    return _join([f'"{a}"' for a in dict.fromkeys(apps)]) or "an application"


# -- the story ---------------------------------------------------------------------------------------------
def story(group: list[Finding], ents: dict[str, Any], names: dict[str, str]) -> list[str]:
    """A few plain sentences a CISO reads in a minute (values are attacker text: render escaped)."""
    out: list[str] = []
    attacks = [f for f in group if f.category in ATTACK_CATEGORIES]
    comps = [f for f in group if f.category == "account_compromise"]
    if attacks:
        ips = {ip for f in attacks for ip in f.source_ips}
        nets = _networks(attacks)
        where = f" in {_plural(nets, 'network')}" if nets else ""
        sentence = (
            f"A {_attack_phrase(attacks)} from {_plural(len(ips), 'address', 'addresses')}{where} "
            f"targeted {_plural(len(ents['targeted_accounts']), 'account')}"
        )
        if ents["compromised_accounts"]:
            sentence += (
                f"; it confirmed the password of {_accounts_phrase(ents['compromised_accounts'], comps)}"
            )
        out.append(sentence + ".")
    elif ents["compromised_accounts"]:
        out.append(f"The password of {_accounts_phrase(ents['compromised_accounts'], comps)} was confirmed.")
    post = _post_compromise(group, names)
    if post:
        lead = (
            "The attacker then "
            if out
            else "An actor not linked to any password attack or compromise in these findings "
        )
        out.append(lead + _join(post) + ".")
    n_secrets = len(ents["secrets"])
    if n_secrets:
        out.append(
            f"{_plural(n_secrets, 'secret')} found in that mail must be rotated."
            if ents["mailboxes"]
            else f"{_plural(n_secrets, 'secret')} must be rotated."
        )
    if not out:
        top = sorted(group, key=lambda f: SEVERITY_RANK[f.severity])[0]
        out.append(top.summary or top.title)
    return out


def _networks(attacks: list[Finding]) -> int:
    orgs: set[str] = set()
    best = 0
    for f in attacks:
        n = f.counts.get("asns")
        if isinstance(n, int):
            best = max(best, n)
        hist = f.evidence.get("asn_orgs")
        if isinstance(hist, dict):
            orgs |= set(hist)
        elif isinstance(f.evidence.get("asn_org"), str):
            orgs.add(f.evidence["asn_org"])
    return max(best, len(orgs))


def _accounts_phrase(accounts: list[str], comps: list[Finding]) -> str:
    no_mfa = {u for f in comps if f.evidence.get("single_factor") for u in f.compromised_users}
    shown = accounts[:3]
    text = _join(shown) + (f" and {len(accounts) - 3} more" if len(accounts) > 3 else "")
    if no_mfa and set(accounts) <= no_mfa:
        text += ", which had no MFA" if len(accounts) == 1 else ", none of them with MFA"
    elif no_mfa:
        text += f" ({_join(sorted(no_mfa)[:3])} without MFA)"
    return text


def _phrase(cat: str, fs: list[Finding], names: dict[str, str], given: set[tuple[str, str]]) -> str:
    """One clause of the story for consecutive findings of one category (subject: the attacker)."""
    apps = _join(list(dict.fromkeys(_app_label(f, names) for f in fs)))
    if cat == "app_credential":
        return f"added {'a credential' if len(fs) == 1 else 'credentials'} to the app {apps}"
    if cat == "new_application":
        return f"created the app {apps}"
    if cat == "consent_grant":
        who = list(
            dict.fromkeys(
                v
                for f in fs
                for v in (
                    [v for k, v in _actor_values(f.evidence.get("actor")) if k == "account"] or f.users[:1]
                )
            )
        )
        return f"had {_join(who[:2]) or 'a user'} consent to {apps}"
    if cat == "sensitive_permission":
        perms = list(dict.fromkeys(p for f in fs for p in _permission_list(f)))
        return f"granted {apps} {_join(perms[:4]) or 'a sensitive permission'}"
    if cat == "app_signin":
        ips = {ip for f in fs for ip in f.source_ips}
        how = (
            " with the credential it added" if any(f.evidence.get("credential_added_by") for f in fs) else ""
        )
        return f"signed in as {apps}{how} from {_plural(len(ips), 'new address', 'new addresses')}"
    if cat == "mailbox_access":
        boxes = {m for f in fs for m in mailboxes(f)}
        return f"read {_plural(len(boxes), 'mailbox', 'mailboxes')} through {apps}"
    if cat == "privilege_escalation":
        clauses = []
        for f in fs:
            targets = [v for k, v in _actor_values(f.evidence.get("target")) if k == "account"]
            who = _join(targets[:2]) or "an account"
            role = _role(f)
            fresh = [(t, role) for t in targets if (t, role) not in given]
            if targets and role and not fresh:
                continue  # already told: "created X and gave it the role"
            given.update((t, role) for t in targets)
            if f.evidence.get("created"):
                clauses.append(
                    f"created the account {who}" + (f" and gave it the {role} role" if role else "")
                )
            elif role:
                clauses.append(f"gave {who} the {role} role")
            else:
                clauses.append(f.title[:1].lower() + f.title[1:])
        return _join(clauses)
    return _join([f.title[:1].lower() + f.title[1:] for f in fs[:2]])


def _role(f: Finding) -> str:
    for value in (f.evidence.get("role"), f.evidence.get("roles")):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
                return item["name"]
            if isinstance(item, str) and item:
                return item
    return ""


def _permission_list(f: Finding) -> list[str]:
    for key in ("permissions", "permission", "scopes", "scope"):
        value = f.evidence.get(key) or f.extra.get(key)
        if isinstance(value, list):
            return [str(v) for v in value if v]
        if isinstance(value, str) and value:
            return [value]
    return []


def _post_compromise(group: list[Finding], names: dict[str, str]) -> list[str]:
    """What happened after the compromise, in time order; consecutive findings of one kind make one clause."""
    runs: list[tuple[str, list[Finding]]] = []
    for f in sorted(group, key=lambda f: (_sort_time(f.first_seen), f.id)):
        if f.category in ATTACK_CATEGORIES or f.category in ("account_compromise", "secret"):
            continue
        if runs and runs[-1][0] == f.category:
            runs[-1][1].append(f)
        else:
            runs.append((f.category, [f]))
    given: set[tuple[str, str]] = set()
    parts = [_phrase(cat, fs, names, given) for cat, fs in runs]
    return [p for p in dict.fromkeys(parts) if p]


# -- what to do ---------------------------------------------------------------------------------------------
def recommended_actions(group: list[Finding], ents: dict[str, Any], names: dict[str, str]) -> list[Action]:
    """Containment first (accounts, apps, consents), then the secrets, then hardening."""
    actions: list[Action] = []
    cats = defaultdict(list)
    for f in group:
        cats[f.category].append(f)
    if ents["compromised_accounts"]:
        actions.append(
            Action(
                "Reset the password of each compromised account, revoke its sessions and refresh tokens "
                "(Revoke-MgUserSignInSession), require MFA, and review its sign-ins, consents and mailbox "
                "rules since the compromise.",
                ents["compromised_accounts"],
            )
        )
    created = sorted(
        {
            v
            for f in cats.get("privilege_escalation", [])
            for k, v in _actor_values(f.evidence.get("target"))
            if k == "account"
        }
    )
    if created:
        actions.append(
            Action(
                "Disable the accounts the attacker created or elevated and remove their role assignments.",
                created,
            )
        )
    for cat, text in (
        (
            "app_credential",
            "Remove the credentials (secrets, certificates) added to these applications and "
            "review every credential they hold.",
        ),
        (
            "app_signin",
            "Block the addresses these applications signed in from and check what the apps did with "
            "their tokens (Graph activity, mailbox audit) since their first sign-in from them.",
        ),
        (
            "new_application",
            "Delete or disable the applications created during the incident, with their service principals.",
        ),
        (
            "consent_grant",
            "Revoke the consents granted to these applications (delete the OAuth2 permission "
            "grants) and review who can consent.",
        ),
        (
            "sensitive_permission",
            "Remove the sensitive application permissions (app role assignments such as "
            "full_access_as_app, Mail.Read) granted during the incident.",
        ),
    ):
        if cats.get(cat):
            targets = sorted({names.get(a["id"], a["name"]) for f in cats[cat] for a in target_apps(f)})
            actions.append(Action(text, targets))
    if ents["mailboxes"]:
        actions.append(
            Action(
                f"Treat the {_plural(len(ents['mailboxes']), 'mailbox', 'mailboxes')} read in this incident as "
                "disclosed: tell their owners, export and scan them for secrets (nightowl secrets), and "
                "review what was read (MailItemsAccessed).",
                ents["mailboxes"],
            )
        )
    if ents["secrets"]:
        actions.append(
            Action(
                "Rotate every secret found in the mail read in this incident, then check its provider's logs for "
                "use since the first mailbox access.",
                [f"{s['rule']}: {s['redacted']}" for s in ents["secrets"]],
            )
        )
    attacks = [f for f in group if f.category in ATTACK_CATEGORIES]
    if attacks:
        n_ips = len({ip for f in attacks for ip in f.source_ips})
        actions.append(
            Action(
                f"Block or watch the {_plural(n_ips, 'source address', 'source addresses')}; make sure the "
                f"{_plural(len(ents['targeted_accounts']), 'targeted account')} have MFA and that legacy "
                "authentication is off.",
                [],
            )
        )
    if not actions:
        actions.append(Action("Review the evidence of each finding in this incident.", []))
    return actions


def incidents_document(incidents: list[Incident]) -> list[dict[str, Any]]:
    """Incidents as JSON-ready dicts (for ``document(..., incidents=...)``)."""
    return [i.to_dict() for i in incidents]
