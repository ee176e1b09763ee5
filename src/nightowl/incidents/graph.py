"""The linking graph: findings are nodes, joined when they share an entity the attacker controls;
connected components are incidents. Secrets join the component whose app read the mailbox they
were found in. (What does *not* link, and why, is in the package docstring.)"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePosixPath

from nightowl.categories import category
from nightowl.findings import Finding
from nightowl.incidents.contract import actor_values, applications, as_list, mailboxes
from nightowl.unionfind import UnionFind

DEFAULT_MAX_SHARED = 50


def _meaningful_ip(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return bool(ip) and ip not in ("-", "::", "0.0.0.0")
    return not (addr.is_loopback or addr.is_unspecified or addr.is_link_local)


def linking_entities(f: Finding) -> set[tuple[str, str]]:
    """The entities through which ``f`` can join others (see the package docstring for the rules)."""
    ents: set[tuple[str, str]] = {("finding", f.id)}
    accounts = set(f.compromised_users)
    if not category(f.category).attack and f.category != "mailbox_access":
        accounts |= set(f.users)
    for key in ("actor", "target"):
        if f.category == "mailbox_access" and key == "target":  # the mailbox owner: a victim
            continue
        for kind, value in actor_values(f.evidence.get(key)):
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


def components(events: list[Finding], max_shared: int = DEFAULT_MAX_SHARED) -> list[list[Finding]]:
    """Connected components of ``events`` over their linking entities, in order of their first member;
    an entity shared by more than ``max_shared`` findings (a NAT address) links nothing."""
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, f in enumerate(events):
        for e in linking_entities(f):
            holders[e].append(i)
    uf = UnionFind(range(len(events)))
    for entity, members in holders.items():
        if len(members) < 2 or (entity[0] != "finding" and len(members) > max_shared):
            continue
        for j in members[1:]:
            uf.union(members[0], j)
    groups: dict[int, list[Finding]] = defaultdict(list)
    for i, f in enumerate(events):
        groups[uf.find(i)].append(f)
    return list(groups.values())


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


def attach_secrets(groups: list[list[Finding]], secrets: list[Finding]) -> None:
    """Add each secret to every group whose mailbox reads covered the mailbox it was found in."""
    owners_of = [{m for f in g if f.category == "mailbox_access" for m in mailboxes(f)} for g in groups]
    all_owners = set().union(*owners_of) if owners_of else set()
    if not (secrets and all_owners):
        return
    index = by_local_part(all_owners)
    holders_of: dict[str, list[int]] = defaultdict(list)
    for k, owners in enumerate(owners_of):
        for owner in owners:
            holders_of[owner].append(k)
    for s in secrets:
        hit = secret_mailboxes(s, all_owners, index)
        for k in sorted({k for owner in hit for k in holders_of[owner]}):
            groups[k].append(s)
