"""Account exposure: which accounts an attacker would pick, and which the logs say were picked.

Reads the ``accounts`` table (registration details and users exports, merged by UPN) and, when
sign-in logs were ingested, facts from ``auth_events`` and the identity findings. One finding per
exposed account (category ``exposure``), and :func:`exposure_rows` for a report table.

Rules (each a *class* an account may have; severity is the worst class, then raised by the logs):

* ``no_mfa`` - enabled member account with no strong method registered (high when it is also an
  admin, a test/legacy/service account, or signs in single-factor; medium otherwise).
* ``admin_without_phishing_resistant_mfa`` - isAdmin and no FIDO2 / Windows Hello / passkey /
  certificate method (medium; high without any MFA).
* ``test_or_legacy_account`` / ``service_account`` - by name (test, legacy, demo, svc, ...), or for
  service accounts by behaviour: password never expires, legacy-protocol successes, or successes that
  are all single-factor, none from a browser (a script's; low with MFA, high without).
* ``legacy_protocol`` - a person (browser sign-ins too) whose successes include a legacy protocol
  (IMAP, POP, SMTP AUTH, ActiveSync basic): the password alone opens the account there (high).
* ``dormant_but_signing_in`` - no interactive sign-in for ``dormant_days`` but non-interactive
  sign-ins (tokens still used) or successes in the logs since (medium).
* ``guest`` - guest account (low; medium without MFA).

The sign-in logs raise it: an account a password attack targeted goes up one level (at least
high); an account whose password the attacker confirmed is critical. The reference time for
"dormant" is the newest timestamp in the data, never the wall clock, so a run is reproducible.

Last sign-in (``last_sign_in_status``): ``seen`` with a time (the users export's signInActivity,
else the newest success in the sign-in logs); ``never`` only when the inputs hold sign-in data
(some account has a signInActivity time, or sign-in logs were given) and none for this account;
``unknown`` when they hold none at all (a registration-details export alone says nothing about
sign-ins, so "never" would be a false claim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nightowl.categories import campaign_categories
from nightowl.findings import SEVERITIES, SEVERITY_RANK, Finding, iso, stable_id
from nightowl.store import Store

DETECTION = "exposure.account"
CATEGORY = "exposure"

# methodsRegistered values that resist phishing (Microsoft: "phishing-resistant MFA" = FIDO2
# security keys and passkeys, Windows Hello for Business, platform credential for macOS,
# certificate-based authentication).
PHISHING_RESISTANT = frozenset(
    {
        "fido2securitykey", "passkeydevicebound", "passkeydeviceboundauthenticator",
        "passkeydeviceboundwindowshello", "windowshelloforbusiness", "macossecureenclavekey",
        "x509certificatemultifactor", "x509certificatesinglefactor", "certificatebasedauthentication",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ExposureConfig:
    """Thresholds (override with ``[exposure]`` in the TOML config)."""

    # Microsoft's guidance on inactive accounts and Entra access reviews use 90 days of no sign-in.
    dormant_days: int = 90
    # Name parts of accounts that are not a person's everyday account (Midnight Blizzard's first
    # foothold was a legacy, non-production test tenant account without MFA).
    test_pattern: str = r"(^|[^a-z])(test|tst|legacy|demo|temp|tmp|dev|staging|stage|sandbox|poc|trial|uat|qa|nonprod)([^a-z]|$)"
    service_pattern: str = (
        r"(^|[^a-z])(svc|srv|service|sa|noreply|no-reply|scan|scanner|printer|print|sync|automation|"
        r"bot|api|batch|backup|app|system|sql|mailer)([^a-z]|$)"
    )

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The ``[exposure]`` keys and their defaults (the config check reads them)."""
        return {name: f.default for name, f in cls.__dataclass_fields__.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> ExposureConfig:
        """From the ``[exposure]`` table, which ``check_config`` has checked when it came from a file."""
        return cls(**(config or {}).get("exposure", {}))


_MERGE_SQL = """
WITH a AS (
    SELECT upn,
           max(display_name) AS display_name,
           max(user_id) AS user_id,
           coalesce(max(user_type), CASE WHEN upn LIKE '%#ext#%' THEN 'guest' END) AS user_type,
           bool_or(account_enabled) AS account_enabled,
           bool_or(is_admin) AS is_admin,
           bool_or(is_mfa_registered) AS is_mfa_registered,
           bool_or(is_mfa_capable) AS is_mfa_capable,
           list_distinct(flatten(list(coalesce(methods_registered, [])))) AS methods,
           bool_or(methods_registered IS NOT NULL OR is_mfa_registered IS NOT NULL) AS has_registration,
           max(password_policies) AS password_policies,
           max(created) AS created,
           max(last_sign_in) AS last_sign_in,
           max(last_non_interactive_sign_in) AS last_non_interactive_sign_in,
           max(last_successful_sign_in) AS last_successful_sign_in,
           list(DISTINCT record_ref ORDER BY record_ref) AS record_refs  -- one order on every run
    FROM accounts WHERE upn IS NOT NULL GROUP BY upn
)
SELECT * FROM a ORDER BY upn
"""

_AUTH_SQL = """
SELECT user_name,
       count(*) FILTER (WHERE status_id = 1) AS successes,
       count(*) FILTER (WHERE status_id = 1 AND is_mfa = false) AS single_factor_successes,
       count(*) FILTER (WHERE status_id = 1 AND coalesce(is_legacy_protocol, false)) AS legacy_successes,
       -- a person signs in through a browser now and then; a script or a device never does
       count(*) FILTER (WHERE status_id = 1 AND user_agent ILIKE 'Mozilla/%') AS browser_successes,
       list(DISTINCT client_app ORDER BY client_app) FILTER (WHERE coalesce(is_legacy_protocol, false) AND client_app IS NOT NULL) AS legacy_clients,
       max(time) FILTER (WHERE status_id = 1) AS last_success
FROM auth_events WHERE user_name IS NOT NULL GROUP BY user_name
"""


def _reference_time(store: Store) -> datetime | None:
    row = store.query(
        "SELECT greatest(max(report_time), max(last_sign_in), max(last_non_interactive_sign_in), "
        "max(last_successful_sign_in)) AS t FROM accounts"
    )
    ref = row[0]["t"] if row else None
    if store.event_count():
        t = store.query("SELECT max(time) AS t FROM auth_events")[0]["t"]
        ref = max(x for x in (ref, t) if x is not None) if (ref or t) else None
    return ref


def _has_sign_in_data(store: Store) -> bool:
    """True when the inputs say anything about sign-ins: a signInActivity time on some account, or
    sign-in logs."""
    if store.event_count():
        return True
    row = store.query(
        "SELECT count(*) AS n FROM accounts WHERE last_sign_in IS NOT NULL "
        "OR last_non_interactive_sign_in IS NOT NULL OR last_successful_sign_in IS NOT NULL"
    )
    return bool(row and row[0]["n"])


def last_sign_in_status(last: str | None, known: bool) -> str:
    """``seen`` (there is a time), ``never`` (sign-in data, none for the account) or ``unknown``."""
    return "seen" if last else ("never" if known else "unknown")


def _raise(severity: str, levels: int = 1) -> str:
    return SEVERITIES[max(0, SEVERITY_RANK[severity] - levels)]


def assess(
    store: Store, findings: list[Finding] | None = None, config: dict[str, Any] | None = None
) -> list[dict]:
    """One dict per exposed account: the rows of the exposure table (worst first)."""
    if not store.row_count("accounts"):
        return []
    cfg = ExposureConfig.from_config(config)
    test_re, service_re = re.compile(cfg.test_pattern, re.I), re.compile(cfg.service_pattern, re.I)
    auth = {r["user_name"]: r for r in store.query(_AUTH_SQL)} if store.event_count() else {}
    sprayed: dict[str, list[str]] = {}
    compromised: dict[str, list[str]] = {}
    campaigns = campaign_categories()
    for f in findings or []:
        if f.category in campaigns:
            for u in f.users:
                sprayed.setdefault(u, []).append(f.id)
        for u in f.compromised_users:
            compromised.setdefault(u, []).append(f.id)
    ref = _reference_time(store)
    known = _has_sign_in_data(store)
    rows = []
    for acc in store.query(_MERGE_SQL):
        row = _assess_one(acc, auth.get(acc["upn"]), cfg, test_re, service_re, ref)
        if row is None:
            continue
        upn = acc["upn"]
        last = row["last_sign_in"] or iso((auth.get(upn) or {}).get("last_success"))
        row["last_sign_in_status"] = last_sign_in_status(last, known)
        row["last_seen_sign_in"] = last
        row["sprayed_by"] = sorted(set(sprayed.get(upn, [])))
        row["compromised_by"] = sorted(set(compromised.get(upn, [])))
        if row["compromised_by"]:
            row["severity"] = "critical"
            row["reasons"].append("the sign-in logs show the attacker confirmed this account's password")
        elif row["sprayed_by"]:
            row["severity"] = _raise(row["severity"]) if row["severity"] not in ("low", "info") else "high"
            row["reasons"].append("a password attack in the sign-in logs targeted this account")
        rows.append(row)
    rows.sort(key=lambda r: (SEVERITY_RANK[r["severity"]], r["upn"]))
    return rows


def _assess_one(
    acc: dict[str, Any],
    auth: dict[str, Any] | None,
    cfg: ExposureConfig,
    test_re: re.Pattern,
    service_re: re.Pattern,
    ref: datetime | None,
) -> dict[str, Any] | None:
    if acc["account_enabled"] is False:
        return None  # disabled accounts cannot sign in: not exposed
    upn = acc["upn"]
    local = upn.split("@")[0].split("#ext#")[0]
    name = f"{local} {acc['display_name'] or ''}"
    methods = [m for m in acc["methods"] or [] if m]
    strong = {m.lower() for m in methods} & PHISHING_RESISTANT
    no_mfa = acc["has_registration"] and not acc["is_mfa_registered"] and not acc["is_mfa_capable"]
    guest = (acc["user_type"] or "") == "guest" or "#ext#" in upn
    single = (auth or {}).get("single_factor_successes") or 0
    legacy = (auth or {}).get("legacy_successes") or 0
    classes: list[str] = []
    reasons: list[str] = []
    severity = "info"

    def add(cls: str, sev: str, reason: str) -> None:
        nonlocal severity
        classes.append(cls)
        reasons.append(reason)
        if SEVERITY_RANK[sev] < SEVERITY_RANK[severity]:
            severity = sev

    test_like = bool(test_re.search(name))
    service_like = (
        bool(service_re.search(name))
        or "disablepasswordexpiration" in (acc["password_policies"] or "").lower()
    )
    browser = (auth or {}).get("browser_successes") or 0
    successes = (auth or {}).get("successes") or 0
    # by behaviour: a script's sign-ins (legacy protocols, or only ever single-factor), never in a
    # browser. A person without MFA who signs in from a browser is exposed (no_mfa, below), and a person
    # whose phone mail uses a legacy protocol is (legacy_protocol), but neither is a service account.
    scripted = bool(legacy) or (single > 0 and single == successes)
    service_behaviour = not guest and not browser and scripted
    if test_like:
        add(
            "test_or_legacy_account",
            "high" if no_mfa else "low",
            "named like a test, legacy or non-production account",
        )
    if service_like or service_behaviour:
        why = []
        if service_like:
            why.append("named like a service account or its password never expires")
        if legacy:
            why.append(f"{legacy} legacy-protocol sign-in(s) in the logs")
        if single:
            why.append(f"{single} single-factor sign-in(s) in the logs")
        add(
            "service_account", "high" if no_mfa or legacy else ("medium" if single else "low"), "; ".join(why)
        )
    elif legacy:
        clients = ", ".join((auth or {}).get("legacy_clients") or []) or "unnamed client"
        add(
            "legacy_protocol",
            "high",
            f"{legacy} legacy-protocol sign-in(s) in the logs ({clients}): the password alone opens the "
            "account there, MFA or not",
        )
    if no_mfa and not guest:
        elevated = acc["is_admin"] or test_like or service_like or single or legacy
        add("no_mfa", "high" if elevated else "medium", "enabled without any MFA method registered")
    if acc["is_admin"] and not strong:
        add(
            "admin_without_phishing_resistant_mfa",
            "high" if no_mfa else "medium",
            "admin role without a phishing-resistant method (registered: "
            + (", ".join(methods) or "none")
            + ")",
        )
    if ref is not None:
        since = ref - acc["last_sign_in"] if acc["last_sign_in"] else None
        dormant = (
            since is None and acc["created"] is not None and (ref - acc["created"]).days >= cfg.dormant_days
        ) or (since is not None and since.days >= cfg.dormant_days)
        recent = [
            t
            for t in (acc["last_non_interactive_sign_in"], (auth or {}).get("last_success"))
            if t is not None and (ref - t).days < cfg.dormant_days
        ]
        if dormant and recent:
            add(
                "dormant_but_signing_in",
                "medium",
                f"no interactive sign-in for {cfg.dormant_days}+ days, yet tokens or passwords still used "
                f"(last {iso(max(recent))})",
            )
    if guest:
        add("guest", "medium" if no_mfa else "low", "guest account" + (" without MFA" if no_mfa else ""))
    if not classes:
        return None
    return {
        "upn": upn,
        "display_name": acc["display_name"],
        "user_type": acc["user_type"],
        "enabled": acc["account_enabled"],
        "admin": acc["is_admin"],
        "mfa_registered": acc["is_mfa_registered"],
        "methods": methods,
        "phishing_resistant": bool(strong),
        "last_sign_in": iso(acc["last_sign_in"]),
        "last_non_interactive_sign_in": iso(acc["last_non_interactive_sign_in"]),
        "single_factor_sign_ins": single,
        "legacy_sign_ins": legacy,
        "legacy_clients": (auth or {}).get("legacy_clients") or [],
        "classes": classes,
        "reasons": reasons,
        "severity": severity,
        "record_refs": acc["record_refs"][:10],
    }


TITLES = {
    "no_mfa": "no MFA",
    "admin_without_phishing_resistant_mfa": "admin without phishing-resistant MFA",
    "test_or_legacy_account": "test/legacy account",
    "service_account": "service account",
    "legacy_protocol": "legacy protocol in use",
    "dormant_but_signing_in": "dormant but signing in",
    "guest": "guest",
}


def exposure_findings(
    store: Store, findings: list[Finding] | None = None, config: dict[str, Any] | None = None
) -> list[Finding]:
    """One ``exposure`` finding per exposed account."""
    out = []
    for row in assess(store, findings, config):
        labels = ", ".join(TITLES.get(c, c) for c in row["classes"])
        out.append(
            Finding(
                id=stable_id(DETECTION, row["upn"]),
                detection=DETECTION,
                category=CATEGORY,
                severity=row["severity"],
                title=f"Exposed account {row['upn']}: {labels}",
                summary="; ".join(row["reasons"]) + ".",
                attack=["T1078"],
                first_seen=None,
                last_seen=row["last_sign_in"] or row["last_non_interactive_sign_in"],
                users=[row["upn"]],
                compromised_users=[row["upn"]] if row["compromised_by"] else [],
                evidence={k: row[k] for k in row if k not in ("upn", "severity")},
                extra={"exposure_classes": row["classes"]},
            )
        )
    return out


def exposure_rows(
    store: Store, findings: list[Finding] | None = None, config: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows for an exposure table in a report: account, classes, MFA, last sign-in, what the logs say."""
    return [
        {
            "account": r["upn"],
            "severity": r["severity"],
            "exposure": [TITLES.get(c, c) for c in r["classes"]],
            "admin": bool(r["admin"]),
            "mfa": "none"
            if r["mfa_registered"] is False
            else (
                "phishing-resistant" if r["phishing_resistant"] else ("yes" if r["methods"] else "unknown")
            ),
            "methods": r["methods"],
            "last_sign_in": r["last_sign_in"],
            "last_seen_sign_in": r["last_seen_sign_in"],
            "last_sign_in_status": r["last_sign_in_status"],
            "single_factor_sign_ins": r["single_factor_sign_ins"],
            "legacy_sign_ins": r["legacy_sign_ins"],
            "sprayed": bool(r["sprayed_by"]),
            "compromised": bool(r["compromised_by"]),
            "reasons": r["reasons"],
        }
        for r in assess(store, findings, config)
    ]
