"""Finding categories: the one registry that detections, exposure, incidents, evaluation and the
reports read, so that "is this an attack?", "which stage of the chain?", "how is it told?" and
"what should the responder do?" have one answer each.

A finding's ``category`` comes from its rule's metadata block (or from the SQL, when the shape of a
campaign decides it). Adding a category is one ``Category(...)`` entry in ``CATEGORIES`` below (or a
``register`` call in the module that introduces it); a category nobody registered still works
everywhere: stage "other", told by its findings' titles, generic advice.

The attack flags, and why ``lockout_wave`` has the first and not the others:

- ``attack``: a password attack. Its findings open an incident's story (stage "Password attack"),
  are scored against the simulated campaigns by ``evaluate``, and are drawn on the report's time axis.
- ``campaign``: an attack whose findings name the attacker's own sources and targets, so a later
  success from those sources confirms a compromise (detections' stage 2) and its targets count as
  sprayed (exposure).
- ``attacker_sources``: the findings' addresses are the attacker's own (campaigns, the compromise,
  the actor of an app, consent or role change, the reader of mail): a leaked secret later used from
  one of them is the attacker's use (``detections.secret_use``).

A lockout wave is an attack (it is what a spray that trips lockout looks like, and it is scored as an
alert), but neither a campaign nor attacker sources: its finding collects every address that locked
an account in the window, including users who locked themselves out with a typo, so a success (or a
secret's use) from one of them proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# Chain stages, in the order an incident tells them: key -> label.
STAGES: dict[str, str] = {
    "spray": "Password attack",
    "compromise": "Account compromise",
    "persistence": "Persistence",
    "consent": "Consent",
    "privilege": "Privilege",
    "app_signin": "Application sign-in",
    "collection": "Mailbox access",
    "exposed_secrets": "Exposed secrets",
    "secret_use": "Use of leaked secrets",
    "other": "Other activity",
}
STAGE_RANK = {s: i for i, s in enumerate(STAGES)}


@dataclass(frozen=True)
class Category:
    """What nightowl knows about one finding category.

    ``clause`` tells consecutive findings of the category in an incident's story, with the attacker
    as subject; its ``{fields}`` are filled by ``incidents.prose``: ``apps`` (the apps acted on),
    ``credentials`` ("a credential" / "credentials"), ``consenters``, ``permissions``, ``mailboxes``
    ("3 mailboxes"), ``escalations`` (who got which role), ``new_addresses`` ("2 new addresses"),
    ``with_added_credential`` (" with the credential it added" or ""), ``titles`` (the findings' titles).
    ``action`` is the incident's recommended action, applied to ``action_targets`` ("apps": the
    apps the findings acted on). ``advice`` is the next step printed under a finding in the terminal.
    """

    name: str
    stage: str = "other"
    attack: bool = False
    campaign: bool = False
    attacker_sources: bool = False  # its source addresses are the attacker's own (see attacker_categories)
    benign: bool = False  # routine hygiene: never part of an incident
    event: bool = True  # False: posture (exposure) or found later (secrets); incidents group them apart
    noun: str = ""  # how an incident title names it ("password spray")
    clause: str = "{titles}"
    action: str = ""
    action_targets: str = "apps"
    advice: str = ""

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"category {self.name}: unknown stage {self.stage!r}")
        if self.campaign and not self.attack:
            raise ValueError(f"category {self.name}: a campaign is an attack")


CATEGORIES: dict[str, Category] = {}


def register(*categories: Category) -> None:
    for c in categories:
        CATEGORIES[c.name] = c


def category(name: str) -> Category:
    """The registered category, or a neutral one for a name nobody registered."""
    return CATEGORIES.get(name) or Category(name)


def attack_categories() -> frozenset[str]:
    return frozenset(c.name for c in CATEGORIES.values() if c.attack)


def campaign_categories() -> frozenset[str]:
    return frozenset(c.name for c in CATEGORIES.values() if c.campaign)


def attacker_categories() -> frozenset[str]:
    """Categories whose findings' addresses are the attacker's own: a campaign's sources, the sign-in
    that confirmed a compromise, the actor of an app, consent or role change, the reader of mail.
    (Not a lockout wave's: it mixes in everyone who locked themselves out.)"""
    return frozenset(c.name for c in CATEGORIES.values() if c.attacker_sources)


def is_attack(name: str) -> bool:
    return category(name).attack


def stage_of(name: str) -> str:
    return category(name).stage


def noun(name: str) -> str:
    return category(name).noun or name.replace("_", " ")


def _attack(name: str, noun: str, advice: str, campaign: bool = True) -> Category:
    return Category(
        name, "spray", attack=True, campaign=campaign, attacker_sources=campaign, noun=noun, advice=advice
    )


register(
    _attack(
        "password_spray",
        "password spray",
        "Reset any account the spray confirmed, block the sources, and check the targeted accounts for MFA.",
    ),
    _attack(
        "brute_force",
        "brute force",
        "Check the account for a success after the attempts; lockout and MFA settings for it.",
    ),
    _attack(
        "credential_stuffing",
        "credential stuffing",
        "Force resets for valid accounts in the list and check them against known breach corpora.",
    ),
    _attack(
        "account_enumeration",
        "account enumeration",
        "Expect a spray next: make sure the enumerated accounts that exist have MFA.",
    ),
    _attack(
        "lockout_wave",
        "lockout wave",
        "Find the spray or brute force that caused it; unlock accounts once the source is blocked.",
        campaign=False,
    ),
    Category(
        "account_compromise",
        "compromise",
        attacker_sources=True,
        advice="Reset the password, revoke sessions and refresh tokens, review the account's sign-ins, "
        "app consents and mailbox rules since the compromise.",
    ),
    Category(
        "account_takeover",
        "compromise",
        advice="Confirm with the user; if it was not them, revoke sessions and refresh tokens, reset the "
        "password, block legacy authentication, and review the account's consents, app credentials and "
        "mailbox rules since the sign-in.",
    ),
    Category(
        "app_credential",
        "persistence",
        attacker_sources=True,
        clause="added {credentials} to the app {apps}",
        action="Remove the credentials (secrets, certificates) added to these applications and "
        "review every credential they hold.",
    ),
    Category(
        "app_signin",
        "app_signin",
        clause="signed in as {signed_in_apps}{with_added_credential} from {new_addresses}",
        action="Block the addresses these applications signed in from and check what the apps did with "
        "their tokens (Graph activity, mailbox audit) since their first sign-in from them.",
        advice="Confirm with the app's owner; if unknown, remove the credential it used and block the addresses.",
    ),
    Category(
        "new_application",
        "persistence",
        attacker_sources=True,
        clause="created the app {apps}",
        action="Delete or disable the applications created during the incident, with their service principals.",
    ),
    Category(
        "consent_grant",
        "consent",
        attacker_sources=True,
        clause="had {consenters} consent to {apps}",
        action="Revoke the consents granted to these applications (delete the OAuth2 permission "
        "grants) and review who can consent.",
    ),
    Category(
        "sensitive_permission",
        "privilege",
        attacker_sources=True,
        clause="granted {apps} {permissions}",
        action="Remove the sensitive application permissions (app role assignments such as "
        "full_access_as_app, Mail.Read) granted during the incident.",
    ),
    Category("privilege_escalation", "privilege", attacker_sources=True, clause="{escalations}"),
    Category("mailbox_access", "collection", attacker_sources=True, clause="read {mailboxes} through {apps}"),
    Category("secret", "exposed_secrets", event=False),
    Category(
        "secret_used",
        "secret_use",
        action="Revoke first the secrets already used from the attacker's or unknown addresses (GitHub: "
        "revoke the token; AWS: deactivate the access key), then review every call they made (the "
        "findings' record references): repositories cloned or pushed to, buckets and objects read.",
        action_targets="users",
        advice="Revoke the credential now, then review what it touched: the actions, repositories and "
        "resources in the evidence, and the raw records it points to.",
    ),
    Category("exposure", event=False),
    Category(
        "stale_credentials",
        benign=True,
        advice="Ask the user to update the password on the device or service; no attack indicated.",
    ),
    Category(
        "roastable_account",
        advice="Require Kerberos pre-authentication for the account, or give it a long random password.",
    ),
    Category(
        "password_expiry_wave",
        benign=True,
        advice="Expected after a password policy change; nothing to do unless failures follow.",
    ),
)
