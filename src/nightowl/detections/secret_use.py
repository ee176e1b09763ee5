"""Were the leaked secrets used, by whom, against what? The join from secret findings to ``credential_uses``.

The scanner keeps each secret's SHA-256, never the secret. That is enough:

* GitHub's audit log records ``hashed_token``, the base64 of the SHA-256 of the token that made the
  call: the finding's hex digest, re-encoded, is the join key (any rule's value joins, not only the
  ``github.*`` rules: a token caught by a generic rule still matches);
* CloudTrail records the access key id in clear (``userIdentity.accessKeyId``); its SHA-256 is the
  ``secret_sha256`` of the scanner's ``aws.access-key-id`` finding. A secret access key is paired
  with the key id found beside it (same file or message part, within a few lines): CloudTrail never
  logs the secret key, only the id it signs with.

Each secret finding gets ``use``: the logs that could show its use, and what they show (first and
last use, addresses and their networks, actions, resources, failures), or that they show none, or
that no log that records this kind of credential was given. "Not used" is never said without logs.

A use is suspicious when it comes after the secret was exposed (the date its mail location carries;
with none, every use counts) and either from an address of the incident's attack findings or from a
network (/24, /64) outside the owner's history (see ``secret_use.sql``). Suspicious uses make one ``secret_used`` finding per
credential: critical when an attacker address used it, high otherwise (medium when every such use
failed). The SQL is ``secret_use.sql``; this module registers its small inputs and words the result.
"""

from __future__ import annotations

import base64
import ipaddress
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pyarrow as pa

from nightowl.categories import attacker_categories
from nightowl.findings import Finding, iso, stable_id
from nightowl.store import Store

DETECTION = "secret_use.credential_log"
CATEGORY = "secret_used"
MAX_LISTED = 50
PAIR_LINES = 5  # a secret access key pairs with a key id at most this many lines away
HABIT_DAYS = 3  # a network the credential is used from on this many distinct days is its owner's routine
SERVICES = {  # service -> (what logs its use, the formats that are that log, how the credential is named)
    "github": ("the GitHub audit log", ("github-audit-json", "github-audit-csv"), "GitHub token"),
    "aws": ("AWS CloudTrail", ("aws-cloudtrail-json", "aws-cloudtrail-csv"), "AWS access key"),
}
_VERBS = {"git.clone": "clone", "git.fetch": "fetch", "git.push": "push to"}


def service_of(rule_id: str) -> str | None:
    """Which service's log can show a secret of this rule being used (None: no log nightowl reads)."""
    if rule_id.startswith("github.") and rule_id != "github.oauth-client-secret":
        return "github"
    if rule_id in ("aws.access-key-id", "aws.secret-access-key"):
        return "aws"
    return None


def hash_b64(sha256_hex: str) -> str:
    """GitHub's ``hashed_token`` form of a hex SHA-256."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def network(ip: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to: one office, one home line, one provider block."""
    try:
        addr = ipaddress.ip_address(ip.strip().split("%")[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def _place(loc: dict[str, Any]) -> tuple:
    return (loc.get("path"), loc.get("message_id"), loc.get("part"), loc.get("commit"))


def key_pairs(secrets: list[Finding]) -> dict[str, Finding]:
    """Secret access key finding id -> the access key id finding seen beside it (nearest line)."""
    ids = [f for f in secrets if f.extra.get("rule") == "aws.access-key-id"]
    out: dict[str, Finding] = {}
    for f in secrets:
        if f.extra.get("rule") != "aws.secret-access-key":
            continue
        best: tuple[int, Finding] | None = None
        for loc in f.extra.get("locations") or []:
            for cand in ids:
                for other in cand.extra.get("locations") or []:
                    if _place(loc) != _place(other):
                        continue
                    gap = abs(int(loc.get("line") or 0) - int(other.get("line") or 0))
                    if gap <= PAIR_LINES and (best is None or gap < best[0]):
                        best = (gap, cand)
        if best:
            out[f.id] = best[1]
    return out


def exposed_at(f: Finding) -> datetime | None:
    """The earliest date a location of the secret carries (a mail message's Date), if any."""
    dates = []
    for loc in f.extra.get("locations") or []:
        value = loc.get("date") if isinstance(loc, dict) else None
        if isinstance(value, str) and value:
            try:
                ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            dates.append(ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts)
    return min(dates) if dates else None


def attacker_addresses(findings: list[Finding]) -> list[tuple[str, str]]:
    """(address, finding id) for every address an attack finding names."""
    attacker = attacker_categories()
    return sorted({(ip, f.id) for f in findings if f.category in attacker for ip in f.source_ips if ip})


def logs_given(store: Store) -> dict[str, list[dict[str, Any]]]:
    """service -> the inputs that were its log (path, format, records), with the time they cover."""
    if not store.has_table("inputs"):
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    spans = {}
    if store.has_table("credential_uses"):
        spans = {
            r["service"]: r
            for r in store.query(
                "SELECT service, min(time) AS first, max(time) AS last FROM credential_uses GROUP BY 1"
            )
        }
    for service, (_, formats, _) in SERVICES.items():
        rows = store.query(
            "SELECT path, format, records FROM inputs WHERE format IN (SELECT unnest(?)) ORDER BY path",
            [list(formats)],
        )
        span = spans.get(service, {})
        for r in rows:
            r["covers"] = [iso(span.get("first")), iso(span.get("last"))]
        if rows:
            out[service] = rows
    return out


def secret_use(store: Store, findings: list[Finding], max_listed: int = MAX_LISTED) -> list[Finding]:
    """Annotate every secret finding with ``use`` and return the ``secret_used`` findings."""
    secrets = [f for f in findings if f.category == "secret" and f.extra.get("secret_sha256")]
    if not secrets:
        return []
    given = logs_given(store)
    pairs = key_pairs(secrets)
    summaries = _summaries(store, secrets, findings, max_listed) if store.has_table("credential_uses") else {}
    out: list[Finding] = []
    for f in secrets:
        key = pairs.get(f.id, f)
        service = service_of(str(f.extra.get("rule")))
        found = summaries.get(key.id, {})
        f.extra["use"] = _use_note(f, key, service, given, found)
        if "suspicious" in found and key is f:  # a key pair makes one finding, on its key id
            out.append(_finding(f, found, [s for s, k in pairs.items() if k is f]))
    return out


def _summaries(
    store: Store, secrets: list[Finding], findings: list[Finding], max_listed: int
) -> dict[str, dict[str, dict[str, Any]]]:
    from nightowl.detections.runner import execute, split_statements

    con = store.con
    keys = pa.table(
        {
            "secret_id": [f.id for f in secrets],
            "hash_b64": [hash_b64(f.extra["secret_sha256"]) for f in secrets],
            "sha256_hex": [str(f.extra["secret_sha256"]).lower() for f in secrets],
            "exposed_at": pa.array([exposed_at(f) for f in secrets], pa.timestamp("us")),
        }
    )
    attackers = attacker_addresses(findings)
    attacker_table = pa.table(
        {
            "ip": pa.array([a for a, _ in attackers], pa.string()),
            "finding_id": pa.array([b for _, b in attackers], pa.string()),
        }
    )
    ips = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT src_ip FROM credential_uses WHERE src_ip IS NOT NULL"
        ).fetchall()
    ]
    nets = pa.table(
        {"ip": pa.array(ips, pa.string()), "net": pa.array([network(i) for i in ips], pa.string())}
    )
    tables = {"_secret_keys": keys, "_attacker_ips": attacker_table, "_use_nets": nets}
    for name, table in tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")
    sql = resources.files("nightowl.detections").joinpath("secret_use.sql").read_text()
    *setup, final = split_statements(sql)
    for statement in setup:
        execute(store, statement, {"habit_days": HABIT_DAYS})
    cur = execute(store, final, {"max_listed": max_listed})
    names = [d[0] for d in cur.description]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        out.setdefault(rec["secret_id"], {})[rec["scope"]] = rec
    return out


def _use_note(
    f: Finding, key: Finding, service: str | None, given: dict[str, list], found: dict[str, dict]
) -> dict[str, Any]:
    """What the logs say about one secret, for the report and the JSON."""
    note: dict[str, Any] = {"logs_given": [g["path"] for logs in given.values() for g in logs]}
    if key is not f:
        note["access_key_finding"] = key.id
    allrow = found.get("all")
    if allrow:
        note |= {
            "status": "used",
            "uses": allrow["uses"],
            "first_use": iso(allrow["first_use"]),
            "last_use": iso(allrow["last_use"]),
            "addresses": allrow["ips"] or [],
            "networks": allrow["networks"] or [],
            "actions": dict(sorted((allrow["actions"] or {}).items(), key=lambda kv: -kv[1])),
            "resources": allrow["resources"] or [],
            "failures": allrow["failures"],
            "actors": allrow["actors"] or [],
            "logs": allrow["logs"] or [],
            "suspicious_uses": found.get("suspicious", {}).get("uses", 0),
            "attacker_uses": found.get("suspicious", {}).get("attacker_uses", 0),
        }
        if not note["addresses"]:
            note["why"] = (
                "the log records no source address for these uses (GitHub: source IP disclosure is off), "
                "so the owner and anyone else cannot be told apart by network"
            )
        return note
    if service is None:
        note["status"] = "not_checkable"
        note["why"] = "no log nightowl reads records the use of this kind of secret"
    elif f.extra.get("rule") == "aws.secret-access-key" and key is f:
        note["status"] = "not_checkable"
        note["why"] = (
            "no access key id was found beside this secret key; CloudTrail logs the key id, never the secret"
        )
    elif service not in given:
        note["status"] = "no_log"
        note["why"] = f"{SERVICES[service][0]} was not given: its use cannot be checked"
    else:
        logs = given[service]
        note["status"] = "no_use_in_logs"
        spans = sorted({tuple(g["covers"]) for g in logs if g["covers"][0]})
        window = f" ({spans[0][0]} to {spans[-1][1]})" if spans else ""
        note["why"] = (
            f"no use in {SERVICES[service][0]}{window}: {', '.join(g['path'] for g in logs)}; "
            "a use from elsewhere, outside that window or by a log not exported is not excluded"
        )
    return note


def _finding(f: Finding, found: dict[str, dict], paired: list[str]) -> Finding:
    sus, allrow = found["suspicious"], found["all"]
    service = "github" if "github" in (sus["services"] or []) else "aws"
    noun = SERVICES[service][2]
    attacker = sus["attacker_uses"] > 0
    all_failed = sus["failures"] == sus["uses"]
    severity = "critical" if attacker else ("medium" if all_failed else "high")
    where = _exposure_phrase(f)
    addr = (
        f"{len(sus['attacker_ips'])} of the attack's addresses"
        if attacker
        else f"{len(sus['ips'])} address(es) outside the owner's history"
    )
    summary = f"the {noun} {where} was used {sus['uses']} time(s) from {addr} to {_doing(sus)}"
    if sus["failures"]:
        summary += f"; {sus['failures']} attempt(s) refused ({', '.join(sus['error_codes'] or [])})"
    return Finding(
        id=stable_id(DETECTION, f.extra["secret_sha256"]),
        detection=DETECTION,
        category=CATEGORY,
        severity=severity,
        title=f"Leaked {noun} used"
        + (" from the attacker's addresses" if attacker else " from a new network"),
        summary=summary,
        attack=["T1078.004", "T1552"],
        first_seen=iso(sus["first_use"]),
        last_seen=iso(sus["last_use"]),
        source_ips=list(sus["ips"] or []),
        users=list(sus["actors"] or []),
        counts={
            "attempts": sus["uses"],
            "failures": sus["failures"],
            "successes": sus["uses"] - sus["failures"],
            "distinct_ips": len(sus["ips"] or []),
            "n_attacker_uses": sus["attacker_uses"],
            "n_resources": sus["distinct_resources"],
            "n_all_uses": allrow["uses"],
        },
        evidence={
            "secret_finding_ids": [f.id, *paired],
            "attack_finding_ids": list(sus["attacker_findings"] or []),
            "attacker_ips": list(sus["attacker_ips"] or []),
            "networks": list(sus["networks"] or []),
            "actions": dict(Counter(sus["actions"] or {}).most_common(20)),
            "resources": list(sus["resources"] or []),
            "user_agents": list(sus["user_agents"] or []),
            "logs": list(sus["logs"] or []),
            "record_refs": list(sus["record_refs"] or [])[:20],
            "exposed": where,
        },
        extra={"secret_sha256": f.extra["secret_sha256"], "redacted": f.extra.get("redacted")},
    )


def _exposure_phrase(f: Finding) -> str:
    locs = [loc for loc in f.extra.get("locations") or [] if isinstance(loc, dict)]
    mail = next((loc for loc in locs if loc.get("message_id")), None)
    when = exposed_at(f)
    on = f" on {when:%Y-%m-%d}" if when else ""
    if mail:
        return f"sent in message {mail['message_id']}{on}"
    if locs:
        return f"found in {locs[0].get('path')}{on}"
    return "found"


def _doing(sus: dict[str, Any]) -> str:
    actions = Counter(sus["actions"] or {})
    n_res = sus["distinct_resources"]
    verbs = [v for a, v in _VERBS.items() if a in actions]
    if verbs and set(actions) <= set(_VERBS):
        noun = "repository" if n_res == 1 else "repositories"
        return f"{' and '.join(verbs)} {n_res} {noun}"
    top = ", ".join(a for a, _ in actions.most_common(3))
    more = f" and {len(actions) - 3} other action(s)" if len(actions) > 3 else ""
    on = f" on {n_res} resource(s)" if n_res else ""
    return f"call {top}{more}{on}"
