"""From findings to incidents: the events that can link, their components, the secrets read, then
one :class:`Incident` per component worth one (timeline, entities, title, story, actions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nightowl.categories import STAGE_RANK, category, is_attack, stage_of
from nightowl.findings import SEVERITIES, SEVERITY_RANK, Finding, stable_id
from nightowl.incidents.actions import recommended_actions
from nightowl.incidents.contract import applications, mailboxes, parse_time, sort_time
from nightowl.incidents.graph import DEFAULT_MAX_SHARED, attach_secrets, components, linking_entities
from nightowl.incidents.model import Incident, Step
from nightowl.incidents.prose import story, taken_over_accounts, title

CLOSING_STAGES = {"exposed_secrets": 1, "secret_use": 2}  # after the attack's events, in this order
INCIDENT_MIN_SEVERITY = "medium"  # a component made only of low/info findings is not an incident


def build_incidents(findings: list[Finding], max_shared: int = DEFAULT_MAX_SHARED) -> list[Incident]:
    """Group findings into incidents, most severe first (then earliest)."""
    events = [
        f
        for f in findings
        if not category(f.category).benign and category(f.category).event and f.severity != "info"
    ]
    limit = SEVERITY_RANK[INCIDENT_MIN_SEVERITY]
    # An incident needs something worth one: a finding at medium or above that is not routine
    # (an established integration, e.g. a backup app that has read mail since the logs begin, joins
    # an incident other findings start, but does not start one alone).
    groups = [
        g
        for g in components(events, max_shared)
        if any(SEVERITY_RANK[f.severity] <= limit and not f.evidence.get("established") for f in g)
    ]
    attach_secrets(groups, [f for f in findings if f.category == "secret"])
    names = app_names(findings)
    incidents = [_incident(g, names) for g in groups]
    # most severe first; among equals the longest chain (a whole attack story before a lone app's reads)
    return sorted(
        incidents, key=lambda i: (SEVERITY_RANK[i.severity], -len(i.stages), sort_time(i.first_seen), i.id)
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


def _incident(group: list[Finding], names: dict[str, str]) -> Incident:
    # Time order; secrets (found later in the read mail, not events of the attack) close the story,
    # followed by the uses of those secrets, in time order.
    steps = sorted(
        (Step(stage_of(f.category), f, f.first_seen) for f in group),
        key=lambda s: (
            CLOSING_STAGES.get(s.stage, 0),
            sort_time(s.when),
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
        title=title(group, entities),
        severity=severity,
        first_seen=parsed[0][1] if parsed else None,
        last_seen=parsed[-1][1] if parsed else None,
        steps=steps,
        entities=entities,
        actions=recommended_actions(group, entities, names),
        story=story(group, entities, names),
    )


def _entities(group: list[Finding], names: dict[str, str]) -> dict[str, Any]:
    attacks = [f for f in group if is_attack(f.category)]
    compromised = sorted({u for f in group for u in f.compromised_users} | set(taken_over_accounts(group)))
    apps: dict[str, dict[str, str]] = {}  # by name: an app registration and its service principal are one app
    for f in group:
        for app in applications(f):
            name = names.get(app["id"], app["name"])
            apps.setdefault(name.strip().lower(), {"id": app["id"], "name": name})
    accounts = sorted(
        {
            a
            for f in group
            if not is_attack(f.category) and f.category not in ("secret", "mailbox_access", "secret_used")
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
