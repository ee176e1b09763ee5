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

The package, by job: ``model`` (Incident, Step, Action), ``contract`` (reading findings and their
evidence), ``graph`` (linking entities, components, secrets), ``build`` (components into incidents),
``prose`` (title and story), ``actions`` (what to do). Per-category facts live in ``nightowl.categories``.
"""

from nightowl.categories import STAGE_RANK, STAGES
from nightowl.incidents.build import INCIDENT_MIN_SEVERITY, app_names, build_incidents
from nightowl.incidents.contract import (
    applications,
    as_list,
    finding_from_dict,
    first_party,
    mailboxes,
    parse_time,
    target_apps,
)
from nightowl.incidents.graph import DEFAULT_MAX_SHARED, linking_entities, secret_mailboxes
from nightowl.incidents.model import Action, Incident, Step, incidents_document

__all__ = [
    "DEFAULT_MAX_SHARED",
    "INCIDENT_MIN_SEVERITY",
    "STAGES",
    "STAGE_RANK",
    "Action",
    "Incident",
    "Step",
    "app_names",
    "applications",
    "as_list",
    "build_incidents",
    "finding_from_dict",
    "first_party",
    "incidents_document",
    "linking_entities",
    "mailboxes",
    "parse_time",
    "secret_mailboxes",
    "target_apps",
]
