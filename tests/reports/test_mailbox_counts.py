"""The report's mailbox tile tells the attacker's reads from every flagged app's reads."""

from __future__ import annotations

from nightowl.incidents import build_incidents
from nightowl.reports.html import key_numbers
from tests.test_incidents import chain, f


def test_mailboxes_read_by_the_attacker_are_counted_apart_from_all_flagged_apps():
    findings = chain()
    attacker = {m for x in findings if x.category == "mailbox_access" for m in x.extra.get("mailboxes", [])}
    others = [f"staff{i}@elsewhere.example" for i in range(30)]
    backup = f("backup-app", "mailbox_access", "medium", "2026-01-01T00:00:00Z", users=others,
               evidence={"actor": {"type": "application", "app_id": "bk-1", "name": "Backup"}},
               extra={"applications": [{"id": "bk-1", "name": "Backup", "type": "AppId"}], "mailboxes": others})  # fmt: skip
    findings.append(backup)
    incidents = build_incidents(findings)
    numbers = key_numbers(findings, incidents)
    assert attacker and not attacker & set(others)
    assert numbers["mailboxes_read"] == len(attacker) + len(others)  # every flagged app
    assert numbers["mailboxes_read_in_incidents"] == len(attacker)  # the attack's incident only
