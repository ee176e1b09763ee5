"""Secret findings: the contract's JSON, SARIF 2.1.0, and a terminal table.

Plaintext never leaves this module unless the caller asked to show secrets: findings carry the
SHA-256 of the value and a redacted form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from nightowl import __version__
from nightowl.findings import Finding, sort_findings, stable_id
from nightowl.secrets.blob import Problem
from nightowl.secrets.rules import Rule
from nightowl.textsafe import term

if TYPE_CHECKING:  # rich is imported when a table is printed: JSON and SARIF runs never pay for it
    from rich.console import Console

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def sha256_hex(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def redact(secret: str) -> str:
    """Enough to recognise a value you already know, not enough to use it."""
    n = len(secret)
    if n >= 16:
        return secret[:4] + "…" + secret[-2:]
    if n >= 8:
        return secret[:2] + "…"
    return "…"


@dataclass
class SecretFinding:
    """One unique secret (rule + SHA-256) and every place it was seen."""

    rule: Rule
    sha256: str
    redacted: str
    plaintext: str | None = None  # only kept when the user asked to see secrets
    confidence: float = 1.0  # secrets.score: how sure the rule and the value's shape make us
    locations: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    order: dict[tuple, tuple] = field(default_factory=dict)  # sort key per location (history order)

    @property
    def id(self) -> str:
        return stable_id(self.rule.id, self.sha256)

    def add(self, loc: dict[str, Any], key: tuple, order: tuple) -> None:
        """Add a location; for git, one location per path: the commit that first introduced it."""
        if key not in self.locations or order < self.order[key]:
            self.locations[key] = loc
            self.order[key] = order

    def sorted_locations(self) -> list[dict[str, Any]]:
        return [self.locations[k] for k in sorted(self.locations, key=lambda k: (self.order[k], str(k)))]

    def to_finding(self, show_secrets: bool = False) -> Finding:
        locs = self.sorted_locations()
        first = locs[0] if locs else {}
        where = f"{first.get('path')}:{first.get('line')}" + (
            f" @ {first['commit'][:12]}" if first.get("commit") else ""
        )
        extra: dict[str, Any] = {
            "rule": self.rule.id,
            "secret_sha256": self.sha256,
            "redacted": self.redacted,
            "confidence": self.confidence,
            "locations": locs,
        }
        if show_secrets and self.plaintext is not None:
            extra["secret"] = self.plaintext
        return Finding(
            id=self.id,
            detection=self.rule.id,
            category="secret",
            severity=self.rule.severity,
            title=self.rule.title,
            summary=f"{self.rule.title} ({self.redacted}) in {len(locs)} location(s), first at {where}",
            counts={"locations": len(locs)},
            evidence={"family": self.rule.family, "introduced": first},
            extra=extra,
        )


def problems_summary(problems: list[Problem]) -> dict[str, int]:
    """Problem counts by reason (the reason without the path-specific part)."""
    out: dict[str, int] = {}
    for p in problems:
        key = p.reason.split(":")[0]
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# -- SARIF ---------------------------------------------------------------------------------------
def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/:@-._~!$&'()*+,;=")


def sarif(
    findings: list[Finding], rules: list[Rule], problems: list[Problem], show_secrets: bool = False
) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one result per unique secret, one location per place it was seen."""
    used = sorted({f.detection for f in findings})
    by_id = {r.id: r for r in rules}
    index = {rid: i for i, rid in enumerate(used)}
    sarif_rules = []
    for rid in used:
        r = by_id[rid]
        sarif_rules.append(
            {
                "id": r.id,
                "name": r.id.replace(".", "_").replace("-", "_"),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": f"{r.title} ({r.family})"},
                "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
                "properties": {
                    "family": r.family,
                    "security-severity": SECURITY_SEVERITY[r.severity],
                    "tags": ["security", "secret"],
                },
            }
        )
    results = []
    for f in sort_findings(findings):
        d = f.to_dict()
        locs = []
        for loc in d["locations"]:
            entry: dict[str, Any] = {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(loc["path"])},
                    "region": {"startLine": max(int(loc.get("line") or 1), 1)},
                }
            }
            props = {k: loc[k] for k in ("commit", "tag", "message_id", "part") if loc.get(k)}
            if props:
                entry["properties"] = props
            locs.append(entry)
        props: dict[str, Any] = {
            "redacted": d["redacted"],
            "secret_sha256": d["secret_sha256"],
            "severity": f.severity,
            "confidence": d.get("confidence"),
        }
        if show_secrets and "secret" in d:
            props["secret"] = d["secret"]
        results.append(
            {
                "ruleId": f.detection,
                "ruleIndex": index[f.detection],
                "level": SARIF_LEVEL[f.severity],
                "message": {"text": f.summary},
                "locations": locs[:1000],
                "partialFingerprints": {"secretSha256/v1": d["secret_sha256"]},
                "fingerprints": {"nightowl/v1": f.id},
                "properties": props,
            }
        )
    notifications = [
        {
            "level": "warning",
            "message": {"text": p.reason},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(p.path)}}}],
        }
        for p in problems
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nightowl",
                        "version": __version__,
                        "informationUri": "https://github.com/nightowl/nightowl",
                        "rules": sarif_rules,
                    }
                },
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }


# -- terminal ------------------------------------------------------------------------------------
def print_table(
    console: Console,
    findings: list[Finding],
    problems: list[Problem],
    summary: dict[str, Any],
    show_secrets: bool = False,
    max_problems: int = 20,
) -> None:
    """Findings as a table, then problems and the totals. Paths pass through textsafe.term."""
    if findings:
        from rich.table import Table

        table = Table(title=f"{len(findings)} secret(s) found", show_lines=False)
        table.add_column("severity")
        table.add_column("confidence", justify="right")
        table.add_column("rule", overflow="fold")  # wrapped, never cut: the rule id is what users look up
        table.add_column("secret" if show_secrets else "redacted")
        table.add_column("where (first)", overflow="fold")
        table.add_column("locations", justify="right")
        for f in sort_findings(findings):
            d = f.to_dict()
            first = d["locations"][0] if d["locations"] else {}
            where = f"{first.get('path')}:{first.get('line')}"
            if first.get("commit"):
                where += f" @{first['commit'][:10]}"
            if first.get("message_id"):
                where += f" <{first['message_id']}>"
            value = d.get("secret", d["redacted"]) if show_secrets else d["redacted"]
            sure = d.get("confidence")
            table.add_row(
                f.severity,
                f"{sure:.2f}" if isinstance(sure, (int, float)) else "",
                term(f.detection),
                term(value, 60),
                term(where, 120),
                str(len(d["locations"])),
            )
        console.print(table)
    else:
        console.print("No secrets found.")
    if problems:
        console.print(f"[yellow]{len(problems)} path(s) not (fully) scanned:[/yellow]")
        for p in problems[:max_problems]:
            console.print(f"  {term(p.path, 160)}: {term(p.reason)}")
        if len(problems) > max_problems:
            console.print(f"  … and {len(problems) - max_problems} more (see --format json)")
    parts = [f"{k}: {v}" for k, v in summary.items() if not isinstance(v, dict)]
    console.print(term(", ".join(parts), 400))
