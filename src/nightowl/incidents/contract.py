"""Reading findings as the contract gives them: a finding dict back into a ``Finding``, and the
entities incidents need out of fields and ``evidence`` that anyone's JSON may have filled oddly
(accounts, applications, mailboxes, roles, permissions, times)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from nightowl.findings import SEVERITY_RANK, Finding

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
# The ``evidence`` keys incidents read. The rule lint holds each to a rule that declares it, except
# the spellings other tools' findings documents use for the same thing (read as fallbacks).
EVIDENCE_READ = frozenset(
    {"actor", "target", "fingerprint", "fingerprints", "attack_finding_ids", "established", "asn_orgs",
     "asn_org", "single_factor", "created", "role", "roles", "permissions", "credential_key_ids",
     "credential_added_by"}
)  # fmt: skip
EVIDENCE_FALLBACKS = frozenset({"permission", "scopes", "scope"})
_APP_TYPES = frozenset({"app", "application", "serviceprincipal", "service_principal", "appid"})


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


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def sort_time(value: str | None) -> float:
    """A time for sorting: unknown times last."""
    ts = parse_time(value)
    return ts.timestamp() if ts else float("inf")


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


def actor_values(value: Any) -> Iterable[tuple[str, str]]:
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
            yield from actor_values(item)


def accounts_in(f: Finding, key: str) -> list[str]:
    """The accounts (UPNs) that evidence ``key`` ("actor" or "target") names."""
    return [v for k, v in actor_values(f.evidence.get(key)) if k == "account"]


def mailboxes(f: Finding) -> list[str]:
    """Mailbox owners an app or user read (the ``mailboxes`` field, else users minus the actor)."""
    boxes = as_list(f.extra.get("mailboxes"))
    if boxes:
        return sorted({str(b).lower() for b in boxes if b})
    actors = {v for _, v in actor_values(f.evidence.get("actor"))}
    return sorted({u for u in f.users if u not in actors})


def target_apps(f: Finding) -> list[dict[str, str]]:
    """The applications a finding acted *on*: its ``applications`` minus Microsoft's resources and,
    except for mailbox reads (where the app is the reader), minus the app that acted."""
    apps = applications(f)
    if f.category != "mailbox_access":
        actor = {(k, v) for k, v in actor_values(f.evidence.get("actor")) if k != "account"}
        apps = [
            a for a in apps if ("app", a["id"]) not in actor and ("appname", a["name"].lower()) not in actor
        ] or apps
    seen: dict[str, dict[str, str]] = {}
    for a in apps:
        seen.setdefault(a["name"].strip().lower(), a)
    return list(seen.values())


def role(f: Finding) -> str:
    """The role a privilege finding names (evidence ``role`` / ``roles``), or ""."""
    for value in (f.evidence.get("role"), f.evidence.get("roles")):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
                return item["name"]
            if isinstance(item, str) and item:
                return item
    return ""


def permissions(f: Finding) -> list[str]:
    """The permissions or scopes a finding names."""
    for key in ("permissions", "permission", "scopes", "scope"):
        value = f.evidence.get(key) or f.extra.get(key)
        if isinstance(value, list):
            return [str(v) for v in value if v]
        if isinstance(value, str) and value:
            return [value]
    return []
