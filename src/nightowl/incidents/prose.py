"""The incident told in words: its title and a few plain sentences a CISO reads in a minute.
Every value comes from findings (attacker text): the renderers escape it.

Per-category wording lives in the category registry (``Category.clause`` / ``noun``); this module
fills the clause's fields and strings the clauses together in time order."""

from __future__ import annotations

from collections import Counter
from typing import Any

from nightowl.categories import STAGES, category, is_attack, noun, stage_of
from nightowl.findings import SEVERITY_RANK, Finding
from nightowl.incidents.contract import accounts_in, mailboxes, permissions, role, sort_time, target_apps

POST_COMPROMISE_STAGES = ("persistence", "consent", "privilege", "collection")
# told in sentences of their own, not among what the attacker did next
TOLD_APART = frozenset({"account_compromise", "account_takeover", "secret", "secret_used"})


def join(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural_form or word + 's'}"


def title(group: list[Finding], ents: dict[str, Any]) -> str:
    attack = attack_phrase(group)
    comp = ents["compromised_accounts"]
    in_time = sorted(group, key=lambda f: sort_time(f.first_seen))
    stages = dict.fromkeys(stage_of(f.category) for f in in_time)
    post = [STAGES[s].lower() for s in stages if s in POST_COMPROMISE_STAGES]
    if ents["secrets"]:
        post.append(f"{len(ents['secrets'])} exposed secret{'s' if len(ents['secrets']) != 1 else ''}")
    used = sum(1 for f in group if f.category == "secret_used")
    if used:
        post.append(f"the use of {plural(used, 'leaked secret')}")
    head = attack[0].upper() + attack[1:] if attack else ""
    if comp:
        who = comp[0] + (f" and {len(comp) - 1} more" if len(comp) > 1 else "")
        if head:
            head = f"{head} compromised {who}"
        else:
            head = f"{'Takeover' if set(comp) <= set(taken_over_accounts(group)) else 'Compromise'} of {who}"
    elif not head:  # no attack or compromise in it: name it by its most severe finding
        top = min(group, key=lambda f: (SEVERITY_RANK[f.severity], sort_time(f.first_seen), f.id))
        head = top.title
        post = [p for p in post if p != STAGES[stage_of(top.category)].lower()]
        return head + (f"; {join(post)}" if post else "")
    return head + (f"; then {join(post)}" if post else "")


def attack_phrase(group: list[Finding]) -> str:
    """ "distributed password spray and brute force": the attacks in a group, most frequent first."""
    counts = Counter(f.category for f in group if is_attack(f.category))
    if not counts:
        return ""
    words = [noun(c) for c, _ in counts.most_common()]
    distributed = any(f.detection.endswith(".distributed") for f in group if is_attack(f.category))
    return ("distributed " if distributed else "") + join(words)


def story(group: list[Finding], ents: dict[str, Any], names: dict[str, str]) -> list[str]:
    """A few plain sentences a CISO reads in a minute (values are attacker text: render escaped)."""
    out: list[str] = []
    attacks = [f for f in group if is_attack(f.category)]
    comps = [f for f in group if f.category == "account_compromise"]
    if attacks:
        ips = {ip for f in attacks for ip in f.source_ips}
        nets = _networks(attacks)
        where = f" in {plural(nets, 'network')}" if nets else ""
        sentence = (
            f"A {attack_phrase(attacks)} from {plural(len(ips), 'address', 'addresses')}{where} "
            f"targeted {plural(len(ents['targeted_accounts']), 'account')}"
        )
        if ents["compromised_accounts"]:
            sentence += (
                f"; it confirmed the password of {_accounts_phrase(ents['compromised_accounts'], comps)}"
            )
        out.append(sentence + ".")
    elif ents["compromised_accounts"]:
        confirmed = [u for u in ents["compromised_accounts"] if any(u in f.compromised_users for f in comps)]
        if confirmed:
            out.append(f"The password of {_accounts_phrase(confirmed, comps)} was confirmed.")
    takeovers = _takeovers(group)
    if takeovers and not attacks:
        out.append(_takeover_sentence(takeovers))
    post = _post_compromise(group, names)
    if post:
        lead = (
            "The attacker then "
            if out
            else "An actor not linked to any password attack or compromise in these findings "
        )
        out.append(lead + join(post) + ".")
    n_secrets = len(ents["secrets"])
    if n_secrets:
        out.append(
            f"{plural(n_secrets, 'secret')} found in that mail must be rotated."
            if ents["mailboxes"]
            else f"{plural(n_secrets, 'secret')} must be rotated."
        )
    used = sorted((f for f in group if f.category == "secret_used"), key=lambda f: sort_time(f.first_seen))
    if used:  # the end of the story: what the leaked secrets were used for, in time order
        out.append("Then " + "; then ".join(f.summary for f in used if f.summary) + ".")
    if not out:
        top = sorted(group, key=lambda f: SEVERITY_RANK[f.severity])[0]
        out.append(top.summary or top.title)
    return out


def _takeovers(group: list[Finding]) -> list[Finding]:
    """The group's account takeovers at medium or above, in time order."""
    medium = SEVERITY_RANK["medium"]
    found = [f for f in group if f.category == "account_takeover" and SEVERITY_RANK[f.severity] <= medium]
    return sorted(found, key=lambda f: (sort_time(f.first_seen), f.id))


def taken_over_accounts(group: list[Finding]) -> list[str]:
    """Accounts a takeover finding (medium or above) says an attacker signed in to, no attack needed."""
    return sorted(dict.fromkeys(u for f in _takeovers(group) for u in f.users))


def _takeover_sentence(takeovers: list[Finding]) -> str:
    """The opening sentence when no password attack came first: what the takeover findings saw."""
    parts = []
    for f in takeovers[:2]:
        what = f.title[:1].lower() + f.title[1:] if f.title else "signed in unlike itself"
        unfamiliar = f.evidence.get("unfamiliar")
        parts.append(
            what + (f" (unfamiliar: {unfamiliar})" if isinstance(unfamiliar, str) and unfamiliar else "")
        )
    more = f", and {plural(len(takeovers) - 2, 'more takeover finding')}" if len(takeovers) > 2 else ""
    return f"With no password attack before it, the sign-in logs show an account taken over: {join(parts)}{more}."


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
    text = join(shown) + (f" and {len(accounts) - 3} more" if len(accounts) > 3 else "")
    if no_mfa and set(accounts) <= no_mfa:
        text += ", which had no MFA" if len(accounts) == 1 else ", none of them with MFA"
    elif no_mfa:
        text += f" ({join(sorted(no_mfa)[:3])} without MFA)"
    return text


def app_label(f: Finding, names: dict[str, str]) -> str:
    apps = [names.get(a["id"], a["name"]) for a in target_apps(f)]
    return join([f'"{a}"' for a in dict.fromkeys(apps)]) or "an application"


class ClauseFields(dict):
    """The ``{fields}`` a category's story clause may use, each computed only when the clause asks."""

    def __init__(
        self, fs: list[Finding], names: dict[str, str], given: set[tuple[str, str]], attacks: list[Finding]
    ) -> None:
        super().__init__()
        self.fs, self.names, self.given, self.attacks = fs, names, given, attacks

    def __missing__(self, key: str) -> str:
        compute = getattr(self, f"_{key}", None)
        if compute is None:
            raise KeyError(key)
        self[key] = value = compute()
        return value

    def _apps(self) -> str:
        return join(list(dict.fromkeys(app_label(f, self.names) for f in self.fs)))

    def _credentials(self) -> str:
        return "a credential" if len(self.fs) == 1 else "credentials"

    def _consenters(self) -> str:
        who = dict.fromkeys(v for f in self.fs for v in (accounts_in(f, "actor") or f.users[:1]))
        return join(list(who)[:2]) or "a user"

    def _permissions(self) -> str:
        perms = list(dict.fromkeys(p for f in self.fs for p in permissions(f)))
        return join(perms[:4]) or "a sensitive permission"

    def _mailboxes(self) -> str:
        boxes = {m for f in self.fs for m in mailboxes(f)}
        return plural(len(boxes), "mailbox", "mailboxes")

    def _new_addresses(self) -> str:
        """ "5 new addresses, all of them used in the password spray": the link to the attack."""
        ips = {ip for f in self.fs for ip in f.source_ips}
        text = plural(len(ips), "new address", "new addresses")
        shared = len(ips & {ip for f in self.attacks for ip in f.source_ips})
        if shared:
            share = "all of them" if shared == len(ips) else f"{shared:,} of them"
            text += f", {share} used in the {attack_phrase(self.attacks)}"
        return text

    def _signed_in_apps(self) -> str:
        """The applications that signed in, by the name their sign-ins carry (else the audit's)."""
        actors = [(f.evidence.get("actor") or {}).get("name") for f in self.fs]
        names = dict.fromkeys(a for a in actors if isinstance(a, str) and a)
        return join([f'"{a}"' for a in names]) or self._apps()

    def _with_added_credential(self) -> str:
        fresh = any(f.evidence.get("credential_added_recently") for f in self.fs)
        return " with the credential added to it" if fresh else ""

    def _titles(self) -> str:
        return join([f.title[:1].lower() + f.title[1:] for f in self.fs[:2]])

    def _escalations(self) -> str:
        """Who got which role; an account created and then elevated is told once."""
        clauses = []
        for f in self.fs:
            targets = accounts_in(f, "target")
            who = join(targets[:2]) or "an account"
            granted = role(f)
            fresh = [(t, granted) for t in targets if (t, granted) not in self.given]
            if targets and granted and not fresh:
                continue  # already told: "created X and gave it the role"
            self.given.update((t, granted) for t in targets)
            if f.evidence.get("created"):
                clauses.append(
                    f"created the account {who}" + (f" and gave it the {granted} role" if granted else "")
                )
            elif granted:
                clauses.append(f"gave {who} the {granted} role")
            else:
                clauses.append(f.title[:1].lower() + f.title[1:])
        return join(clauses)


def _post_compromise(group: list[Finding], names: dict[str, str]) -> list[str]:
    """What happened after the compromise, in time order; consecutive findings of one kind make one clause."""
    runs: list[tuple[str, list[Finding]]] = []
    for f in sorted(group, key=lambda f: (sort_time(f.first_seen), f.id)):
        if is_attack(f.category) or f.category in TOLD_APART:
            continue
        if runs and runs[-1][0] == f.category:
            runs[-1][1].append(f)
        else:
            runs.append((f.category, [f]))
    given: set[tuple[str, str]] = set()
    attacks = [f for f in group if is_attack(f.category)]
    parts = [category(cat).clause.format_map(ClauseFields(fs, names, given, attacks)) for cat, fs in runs]
    return [p for p in dict.fromkeys(parts) if p]
