"""The report's secrets table says, per secret, whether and where it was used (or why it cannot say)."""

from __future__ import annotations

from nightowl.findings import Finding
from nightowl.reports.html import build_report, use_line


def secret(fid: str, use: dict | None) -> Finding:
    extra = {"rule": "github.pat-classic", "secret_sha256": "ab" * 32, "redacted": "ghp_…Zz",
             "locations": [{"path": "mail/a.mbox", "line": 3, "message_id": "<m@x>"}]}  # fmt: skip
    if use is not None:
        extra["use"] = use
    return Finding(
        id=fid, detection="github.pat-classic", category="secret", severity="high", title="t", extra=extra
    )


STOLEN = {"status": "used", "uses": 40, "first_use": "2024-08-01T09:00:00Z", "last_use": "2024-08-14T09:32:44Z",
          "addresses": ["198.51.100.7", "141.73.86.2"], "networks": ["198.51.100.0/24", "141.73.86.0/24"],
          "actions": {"git.fetch": 28, "git.clone": 12}, "resources": ["corp/api"], "failures": 0,
          "suspicious_uses": 12, "attacker_uses": 12}  # fmt: skip


def test_use_lines() -> None:
    assert use_line(STOLEN)[0] == "alert" and "ATTACKER" in use_line(STOLEN)[1]
    usual = STOLEN | {"suspicious_uses": 0, "attacker_uses": 0}
    assert use_line(usual) == ("", use_line(usual)[1]) and "owner's usual networks" in use_line(usual)[1]
    none = {"status": "no_use_in_logs", "why": "no use in the GitHub audit log: audit.json"}
    assert use_line(none)[1] == none["why"]
    assert "not checked" in use_line(None)[1]


def test_report_shows_use_per_secret() -> None:
    html = build_report(
        [
            secret("s1", STOLEN),
            secret("s2", {"status": "no_log", "why": "the GitHub audit log was not given"}),
        ]
    )
    assert "USED FROM THE ATTACKER&#39;S ADDRESSES" in html or "USED FROM THE ATTACKER'S ADDRESSES" in html
    assert "the GitHub audit log was not given" in html
