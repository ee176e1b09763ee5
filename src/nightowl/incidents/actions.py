"""What to do about an incident: containment first (accounts, apps, consents), then the mail and
the secrets in it, then hardening. Per-category actions come from the category registry."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nightowl.categories import CATEGORIES, is_attack
from nightowl.findings import Finding
from nightowl.incidents.contract import accounts_in, target_apps
from nightowl.incidents.model import Action
from nightowl.incidents.prose import plural


def recommended_actions(group: list[Finding], ents: dict[str, Any], names: dict[str, str]) -> list[Action]:
    """Containment first (accounts, apps, consents), then the secrets, then hardening."""
    actions: list[Action] = []
    cats: dict[str, list[Finding]] = defaultdict(list)
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
    created = sorted({a for f in cats.get("privilege_escalation", []) for a in accounts_in(f, "target")})
    if created:
        actions.append(
            Action(
                "Disable the accounts the attacker created or elevated and remove their role assignments.",
                created,
            )
        )
    for cat in CATEGORIES.values():
        if cat.action and cats.get(cat.name):
            fs = cats[cat.name]
            if cat.action_targets == "apps":
                targets = sorted({names.get(a["id"], a["name"]) for f in fs for a in target_apps(f)})
            else:
                targets = sorted({u for f in fs for u in f.users})
            actions.append(Action(cat.action, targets))
    if ents["mailboxes"]:
        actions.append(
            Action(
                f"Treat the {plural(len(ents['mailboxes']), 'mailbox', 'mailboxes')} read in this incident as "
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
    attacks = [f for f in group if is_attack(f.category)]
    if attacks:
        n_ips = len({ip for f in attacks for ip in f.source_ips})
        actions.append(
            Action(
                f"Block or watch the {plural(n_ips, 'source address', 'source addresses')}; make sure the "
                f"{plural(len(ents['targeted_accounts']), 'targeted account')} have MFA and that legacy "
                "authentication is off.",
                [],
            )
        )
    if not actions:
        actions.append(Action("Review the evidence of each finding in this incident.", []))
    return actions
