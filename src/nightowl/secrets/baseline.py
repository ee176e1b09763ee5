"""Accepted findings, stored as hashes only (rule + SHA-256 of the secret, never the value).

``--write-baseline FILE`` records the current findings; ``--baseline FILE`` suppresses them on
later runs, so only new secrets fail a pre-commit hook or CI job. A secret is suppressed whatever
rule reports it (rules get renamed; the value's hash does not change).
"""

from __future__ import annotations

import json
from pathlib import Path

from nightowl.findings import Finding

KIND = "nightowl-secrets-baseline"


class BaselineError(ValueError):
    """The baseline file is missing or malformed."""


def write_baseline(path: Path, findings: list[Finding]) -> None:
    entries = sorted(
        ({"id": f.id, "rule": f.detection, "secret_sha256": f.to_dict()["secret_sha256"]} for f in findings),
        key=lambda e: (e["rule"], e["secret_sha256"]),
    )
    doc = {"kind": KIND, "version": 1, "entries": entries}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def load_baseline(path: Path) -> set[str]:
    """The accepted secret hashes."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or not isinstance(doc.get("entries"), list):
        raise BaselineError(f"{path} is not a nightowl secrets baseline")
    out = set()
    for e in doc["entries"]:
        sha = e.get("secret_sha256") if isinstance(e, dict) else None
        if not isinstance(sha, str) or len(sha) != 64:
            raise BaselineError(f"{path}: entry without a valid secret_sha256")
        out.add(sha.lower())
    return out


def split_suppressed(findings: list[Finding], accepted: set[str]) -> tuple[list[Finding], list[Finding]]:
    """(new findings, suppressed findings)."""
    new, old = [], []
    for f in findings:
        (old if f.to_dict()["secret_sha256"] in accepted else new).append(f)
    return new, old
