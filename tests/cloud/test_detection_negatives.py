"""What the post-compromise detections must not say: the chain fixture with one fact taken away
(the new user, the arming, the sensitive permission) and the finding that depended on it gone or
lowered, next to the same records with the fact in place."""

from __future__ import annotations

import copy
import json

import pytest

from tests.cloud.helpers import by_detection, fixture, hunt

CHAIN = fixture("graph_directory_audits_chain.json")
detection = pytest.mark.detection


def audit_file(tmp_path, keep=lambda r: True, change=lambda r: r):
    """The chain's directoryAudit page with only the records ``keep`` accepts, each passed through ``change``."""
    page = json.loads(CHAIN.read_text())
    page["value"] = [change(copy.deepcopy(r)) for r in page["value"] if keep(r)]
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(page))
    return path


@detection("cloud.new_user_then_privilege", fires=True)
@detection("cloud.new_user_then_privilege", fires=False)
def test_a_role_for_an_existing_user_is_not_a_new_user_escalation(tmp_path):
    (found,) = by_detection(hunt(audit_file(tmp_path)), "cloud.new_user_then_privilege")
    assert found.severity == "critical"
    findings = hunt(audit_file(tmp_path, keep=lambda r: r["activityDisplayName"] != "Add user"))
    assert by_detection(findings, "cloud.new_user_then_privilege") == []
    (role,) = [
        f for f in by_detection(findings, "cloud.privileged_role_assignment") if f.severity == "critical"
    ]
    assert "Global Administrator" in role.title  # the assignment itself is still reported


@detection("cloud.new_application", fires=True)
@detection("cloud.new_application", fires=False)
def test_a_new_app_nobody_armed_stays_low(tmp_path):
    (armed,) = by_detection(hunt(audit_file(tmp_path)), "cloud.new_application")
    assert armed.severity == "medium" and armed.evidence["armed_by"]
    created = {"Add application", "Add service principal"}
    (plain,) = by_detection(
        hunt(audit_file(tmp_path, keep=lambda r: r["activityDisplayName"] in created)),
        "cloud.new_application",
    )
    assert plain.severity == "low" and not plain.evidence["armed_by"]


def harmless_role(record: dict) -> dict:
    """The same app role assignment, for User.Read.All (a read permission no list calls sensitive)."""
    for target in record["targetResources"]:
        for prop in target.get("modifiedProperties") or []:
            if prop["displayName"] == "AppRole.Value":
                prop["newValue"] = '"User.Read.All"'
            elif prop["displayName"] == "AppRole.Id":
                prop["newValue"] = '"df021288-bdef-4463-88db-98f22de89214"'
    return record


@detection("cloud.sensitive_app_role", fires=True)
@detection("cloud.sensitive_app_role", fires=False)
def test_an_app_role_outside_the_sensitive_lists_is_not_reported(tmp_path):
    def roles(r):
        return r["activityDisplayName"].startswith("Add app role")

    sensitive = by_detection(hunt(audit_file(tmp_path, keep=roles)), "cloud.sensitive_app_role")
    assert sorted(f.severity for f in sensitive) == ["critical", "critical"]
    assert (
        by_detection(hunt(audit_file(tmp_path, keep=roles, change=harmless_role)), "cloud.sensitive_app_role")
        == []
    )
