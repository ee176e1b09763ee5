"""The incident ends with the use of the leaked secrets, in time order, joined by the attack's addresses."""

from __future__ import annotations

from nightowl.findings import Finding
from nightowl.incidents import build_incidents


def used(fid: str, when: str, summary: str) -> Finding:
    return Finding(
        id=fid,
        detection="secret_use.credential_log",
        category="secret_used",
        severity="critical",
        title="Leaked GitHub token used from the attacker's addresses",
        summary=summary,
        first_seen=when,
        last_seen=when,
        source_ips=["45.83.1.10"],
        users=["alice"],
        evidence={"attack_finding_ids": ["spray1"]},
    )


def test_the_story_ends_with_the_secrets_used_in_time_order() -> None:
    spray = Finding(id="spray1", detection="spray.distributed", category="password_spray", severity="high",
                    title="spray", first_seen="2024-12-01T00:00:00Z", last_seen="2024-12-02T00:00:00Z",
                    source_ips=["45.83.1.10", "91.203.7.22"], users=["a@corp", "b@corp"])  # fmt: skip
    later = used("u2", "2024-12-03T05:00:00Z", "the AWS access key sent in message <k@x> was used 3 time(s)")
    first = used("u1", "2024-12-03T02:00:00Z", "the GitHub token sent in message <t@x> was used 12 time(s)")
    (incident,) = build_incidents([later, spray, first])
    assert [s.finding.id for s in incident.steps] == ["spray1", "u1", "u2"]
    assert incident.steps[-1].stage == "secret_use"
    assert incident.story[-1] == (
        "Then the GitHub token sent in message <t@x> was used 12 time(s); "
        "then the AWS access key sent in message <k@x> was used 3 time(s)."
    )
    assert incident.title.endswith("the use of 2 leaked secrets")
    assert any("Revoke first the secrets already used" in a.text for a in incident.actions)
