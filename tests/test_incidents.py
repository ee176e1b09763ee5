"""Incidents: the whole Midnight Blizzard chain becomes one story, in order; noise stays apart."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from nightowl.categories import category
from nightowl.findings import SEVERITIES, Finding, stable_id
from nightowl.incidents import (
    build_incidents,
    finding_from_dict,
    secret_mailboxes,
)

DOMAIN = "corp.example"
X = f"legacy-test@{DOMAIN}"
Y = f"svc-admin2@{DOMAIN}"
MAILBOXES = [f"m{i}@{DOMAIN}" for i in range(1, 6)]
APP_A = {"id": "a1a1a1a1-0000-4000-8000-00000000000a", "name": "Legacy Test App"}
APP_B = {"id": "b2b2b2b2-0000-4000-8000-00000000000b", "name": "MailSync Helper"}
GRAPH = {"id": "00000003-0000-0000-c000-000000000000", "name": "Microsoft Graph"}
EXCHANGE = {"id": "00000002-0000-0ff1-ce00-000000000000", "name": "Office 365 Exchange Online"}
NAT_IP = "198.51.100.1"


def f(fid: str, category: str, severity: str, first: str, **kw) -> Finding:
    extra = kw.pop("extra", {})
    return Finding(
        id=stable_id("test", fid),
        detection=kw.pop("detection", f"test.{category}"),
        category=category,
        severity=severity,
        title=kw.pop("title", f"{category} {fid}"),
        first_seen=first,
        last_seen=kw.pop("last", first),
        extra=extra,
        **kw,
    )


def secret(fid: str, path: str, redacted: str) -> Finding:
    return f(
        fid,
        "secret",
        "high",
        None,
        detection="aws.access-key-id",
        extra={
            "rule": "aws.access-key-id",
            "secret_sha256": "0" * 64,
            "redacted": redacted,
            "locations": [{"path": path, "line": 12, "message_id": "<x@mail>", "part": "body"}],
        },
    )


def chain() -> list[Finding]:
    spray_ips = [f"100.64.{i // 200}.{i % 200 + 1}" for i in range(40)]
    spray = f(
        "spray",
        "password_spray",
        "critical",
        "2026-01-10T01:00:00Z",
        last="2026-01-12T05:00:00Z",
        detection="spray.distributed",
        users=sorted([X, *(f"user{i}@{DOMAIN}" for i in range(59))]),
        compromised_users=[X],
        source_ips=spray_ips,
        counts={"attempts": 300, "asns": 12},
        evidence={"fingerprint": "ua1|app|ropc", "asn_orgs": {"ISP one": 20, "ISP two": 20}},
    )
    return [
        spray,
        f(
            "compromise",
            "account_compromise",
            "critical",
            "2026-01-11T03:00:00Z",
            users=[X],
            compromised_users=[X],
            source_ips=[spray_ips[3], NAT_IP],
            evidence={"attack_finding_ids": [spray.id], "single_factor": True},
        ),
        f(
            "cred",
            "app_credential",
            "high",
            "2026-01-13T09:00:00Z",
            users=[X],
            source_ips=["192.0.2.50"],
            evidence={"actor": X, "target": {"app_id": APP_A["id"], "name": APP_A["name"]}},
            extra={"applications": [APP_A]},
        ),
        f(
            "newapp",
            "new_application",
            "high",
            "2026-01-14T01:00:00Z",
            evidence={"actor": {"app_id": APP_A["id"]}},
            extra={"applications": [APP_A, APP_B]},
        ),
        f(
            "newadmin",
            "privilege_escalation",
            "critical",
            "2026-01-14T02:00:00Z",
            users=[Y],
            evidence={"actor": {"app_id": APP_A["id"]}, "target": Y, "role": "Global Administrator"},
            extra={"applications": [APP_A]},
        ),
        f(
            "consent",
            "consent_grant",
            "high",
            "2026-01-15T00:00:00Z",
            users=[Y],
            evidence={"actor": Y},
            extra={"applications": [APP_B, GRAPH]},
        ),
        f(
            "perm",
            "sensitive_permission",
            "critical",
            "2026-01-15T01:00:00Z",
            evidence={"permission": "full_access_as_app"},
            extra={"applications": [APP_B, EXCHANGE]},
        ),
        f(
            "mail",
            "mailbox_access",
            "high",
            "2026-01-16T00:00:00Z",
            last="2026-01-20T00:00:00Z",
            users=MAILBOXES,
            source_ips=["192.0.2.51"],
            evidence={"actor": {"app_id": APP_B["id"]}},
            extra={"applications": [APP_B, EXCHANGE], "mailboxes": MAILBOXES},
        ),
        secret("s1", "mail/m1.mbox", "AKIA…XY"),
        secret("s2", f"exports/mail/{MAILBOXES[1]}.mbox", "ghp_…Zq"),
    ]


def noise() -> list[Finding]:
    out = [
        f(
            "bf",
            "brute_force",
            "medium",
            "2026-01-12T00:00:00Z",
            users=[f"bob@{DOMAIN}"],
            source_ips=["203.0.113.77"],
        ),
        f("stale", "stale_credentials", "low", "2026-01-09T00:00:00Z", users=[f"carol@{DOMAIN}"]),
        # a benign user consent: shares only Microsoft Graph (a resource everyone consents to) with the chain
        f(
            "zoom",
            "consent_grant",
            "medium",
            "2026-01-15T05:00:00Z",
            users=[f"dave@{DOMAIN}"],
            evidence={"actor": f"dave@{DOMAIN}"},
            extra={"applications": [{"id": "c3c3c3c3-0000-4000-8000-00000000000c", "name": "Zoom"}, GRAPH]},
        ),
        secret("repo", "src/settings.py", "xoxb…12"),
    ]
    # 60 findings that all come from the office NAT address (which the compromise also used): too common to link
    out += [
        f(
            f"nat{i}",
            "brute_force",
            "medium",
            "2026-01-11T00:00:00Z",
            users=[f"u{i}@{DOMAIN}"],
            source_ips=[NAT_IP],
        )
        for i in range(60)
    ]
    return out


def by_id(findings: list[Finding]) -> dict[str, str]:
    return {fd.id: fd.title for fd in findings}


def test_whole_chain_is_one_incident_in_order_with_secrets():
    ch, nz = chain(), noise()
    incidents = build_incidents(nz[:2] + ch + nz[2:])
    spray_id = ch[0].id
    holding = [i for i in incidents if spray_id in i.finding_ids]
    assert len(holding) == 1
    inc = holding[0]
    assert inc.finding_ids == [x.id for x in ch]  # time order, secrets last
    assert [s.stage for s in inc.steps] == [
        "spray",
        "compromise",
        "persistence",
        "persistence",
        "privilege",
        "consent",
        "privilege",
        "collection",
        "exposed_secrets",
        "exposed_secrets",
    ]
    assert inc.severity == "critical"
    assert inc.first_seen == "2026-01-10T01:00:00Z" and inc.last_seen == "2026-01-20T00:00:00Z"
    assert inc.entities["compromised_accounts"] == [X]
    assert inc.entities["mailboxes"] == MAILBOXES
    assert {a["name"] for a in inc.entities["applications"]} == {APP_A["name"], APP_B["name"]}
    assert sorted(s["redacted"] for s in inc.entities["secrets"]) == ["AKIA…XY", "ghp_…Zq"]
    # noise stays out of the chain
    noise_ids = {x.id for x in nz}
    assert not noise_ids & set(inc.finding_ids)


def test_noise_is_separate_and_benign_is_not_an_incident():
    ch, nz = chain(), noise()
    incidents = build_incidents(ch + nz)
    bf, stale, zoom, repo = nz[:4]
    owners = {fid: i.id for i in incidents for fid in i.finding_ids}
    assert owners[bf.id] != owners[ch[0].id]
    assert owners[zoom.id] != owners[ch[0].id]  # Microsoft Graph does not glue consents together
    assert stale.id not in owners  # benign category
    assert repo.id not in owners  # a secret in a repository is not part of an incident
    nat = [owners[x.id] for x in nz[4:]]
    assert ch[0].id not in {fid for i in incidents if i.id in nat for fid in i.finding_ids}
    assert len(set(nat)) == 60  # the NAT address is in 61 findings: ignored as a link


def test_common_entity_links_when_threshold_allows():
    ch, nz = chain(), noise()
    incidents = build_incidents(ch + nz, max_shared=100)
    chain_inc = next(i for i in incidents if ch[0].id in i.finding_ids)
    assert nz[4].id in chain_inc.finding_ids  # with a high threshold the NAT address does join them


def test_actions_and_story_name_what_to_do():
    inc = next(i for i in build_incidents(chain() + noise()) if "spray" in i.stages)
    texts = [a.text for a in inc.actions]
    reset = next(a for a in inc.actions if a.text.startswith("Reset"))
    assert reset.targets == [X]
    assert any(a.text.startswith("Disable") and a.targets == [Y] for a in inc.actions)
    consent = next(a for a in inc.actions if a.text.startswith("Revoke the consents"))
    assert consent.targets == [APP_B["name"]]  # not Microsoft Graph
    rotate = next(a for a in inc.actions if a.text.startswith("Rotate"))
    assert rotate.targets == ["aws.access-key-id: AKIA…XY", "aws.access-key-id: ghp_…Zq"]
    assert texts.index(reset.text) < texts.index(rotate.text)
    text = " ".join(inc.story)
    assert "60 accounts" in text and "40 addresses" in text and "12 networks" in text
    assert f"{X}, which had no MFA" in text
    assert "read 5 mailboxes" in text and "2 secrets" in text
    assert "full_access_as_app" in text
    assert inc.title.startswith("Distributed password spray compromised legacy-test@")


def test_secret_mailbox_matching():
    owners = {"alice@corp.example", "al@corp.example"}
    s = secret("x", "mail/alice@corp.example.mbox", "…")
    assert secret_mailboxes(s, owners) == {"alice@corp.example"}
    s = secret("y", "dump/alice.mbox", "…")
    assert secret_mailboxes(s, owners) == {"alice@corp.example"}
    s = secret("z", "dump/alicexyz.mbox", "…")
    assert secret_mailboxes(s, owners) == set()
    s = secret("w", "repo/a.py", "…")
    s.extra["mailbox"] = "AL@corp.example"
    assert secret_mailboxes(s, owners) == {"al@corp.example"}


def test_finding_round_trip_through_the_contract():
    for x in chain():
        back = finding_from_dict(x.to_dict())
        assert back == x


def test_bad_finding_dicts_are_rejected():
    import pytest

    for bad in ({}, {"id": "1", "category": "x"}, {"id": "1", "category": "x", "severity": "urgent"}, []):
        with pytest.raises(ValueError):
            finding_from_dict(bad)  # type: ignore[arg-type]


CATS = [
    "password_spray",
    "brute_force",
    "account_compromise",
    "app_credential",
    "consent_grant",
    "mailbox_access",
    "stale_credentials",
    "exposure",
    "weird_new_category",
]
finding_st = st.builds(
    lambda i, cat, sev, users, ips, comp: f(
        str(i),
        cat,
        sev,
        f"2026-01-{i % 28 + 1:02d}T00:00:00Z",
        users=users,
        source_ips=ips,
        compromised_users=comp,
    ),
    st.integers(0, 10_000),
    st.sampled_from(CATS),
    st.sampled_from(SEVERITIES),
    st.lists(st.sampled_from(["a@x", "b@x", "c@x", "<script>@x"]), max_size=3),
    st.lists(st.sampled_from(["10.0.0.1", "10.0.0.2", "::1", "not an ip"]), max_size=3),
    st.lists(st.sampled_from(["a@x", "b@x"]), max_size=1),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(finding_st, max_size=40, unique_by=lambda x: x.id))
def test_incidents_partition_the_eligible_findings(findings):
    incidents = build_incidents(findings)
    seen: dict[str, str] = {}
    for inc in incidents:
        assert inc.steps, "an incident without findings"
        assert min(SEVERITIES.index(s.finding.severity) for s in inc.steps) <= SEVERITIES.index("medium")
        for fid in inc.finding_ids:
            assert fid not in seen, "a finding in two incidents"
            seen[fid] = inc.id
    for x in findings:
        cat = category(x.category)
        eligible = not cat.benign and cat.event and x.severity in ("critical", "high", "medium")
        if eligible:
            assert x.id in seen
        if cat.benign or x.category == "exposure":
            assert x.id not in seen


# -- the shapes the cloud detections emit: one app under three ids (registration object, service
# principal object, appId), app-initiated actions that name the actor only by service principal ----
def demo_shaped() -> tuple[list[Finding], list[Finding]]:
    x, y = "nonprod-vertex@kestrel.example", "deborah.rossi@kestrel.example"
    a_obj, a_sp, a_appid = "128d8e18-aaaa", "04752ad4-aaaa", "09bd6a07-aaaa"
    b_obj, b_sp, b_appid = "9f3d29bf-bbbb", "16d15bf2-bbbb", "cbd2aa3a-bbbb"
    boxes = ["denise.patel@kestrel.example", "willie.suzuki@kestrel.example", "gary.ward@kestrel.example"]
    spray = f(
        "spray",
        "password_spray",
        "critical",
        "2024-08-12T00:00:00Z",
        last="2024-08-15T00:00:00Z",
        detection="spray.distributed",
        users=[x, "u1@kestrel.example"],
        compromised_users=[x],
        source_ips=["108.43.73.152", "68.48.226.246"],
        evidence={"fingerprint": "fp"},
    )
    comp = f(
        "comp",
        "account_compromise",
        "critical",
        "2024-08-15T08:00:00Z",
        users=[x],
        compromised_users=[x],
        source_ips=["84.95.128.38"],
        evidence={"attack_finding_ids": [spray.id], "single_factor": True},
    )
    cred = f(
        "cred",
        "app_credential",
        "high",
        "2024-08-16T11:13:21Z",
        users=[x],
        source_ips=["84.95.128.38"],
        evidence={
            "actor": {"type": "user", "upn": x, "id": "u-x", "name": None},
            "target": {"type": "Application", "id": a_obj, "name": "meridian-test-app", "app_id": a_appid},
        },
        extra={"applications": [{"id": a_obj, "name": "meridian-test-app", "type": "Application"}]},
    )
    newapp = f(
        "newapp",
        "new_application",
        "high",
        "2024-08-16T13:30:14Z",
        evidence={
            "actor": {"type": "app", "upn": None, "id": a_sp, "name": "meridian-test-app"},
            "target": {"type": "Application", "id": b_obj, "name": "ComplianceHelper", "app_id": b_appid},
        },
        extra={
            "applications": [
                {"id": b_obj, "name": "ComplianceHelper", "type": "Application"},
                {"id": b_sp, "name": "ComplianceHelper", "type": "ServicePrincipal"},
            ]
        },
    )
    priv = f(
        "priv",
        "privilege_escalation",
        "high",
        "2024-08-16T15:31:30Z",
        users=[y],
        evidence={
            "actor": {"type": "user", "upn": None},
            "target": {"type": "User", "upn": y, "id": "u-y"},
            "permissions": ["Cloud Application Administrator"],
        },
    )
    graph = f(
        "graph",
        "consent_grant",
        "medium",
        "2024-08-16T16:19:28Z",
        users=[y],
        evidence={
            "actor": {"type": "user", "upn": y},
            "target": {
                "type": "ServicePrincipal",
                "id": "929b7e08-cccc",
                "name": "Microsoft Graph",
                "app_id": None,
            },
        },
        extra={"applications": [{"id": "929b7e08-cccc", "name": "Microsoft Graph"}]},
    )
    consent = f(
        "consent",
        "consent_grant",
        "high",
        "2024-08-16T16:19:28Z",
        users=[y],
        evidence={
            "actor": {"type": "user", "upn": y},
            "target": {"type": "ServicePrincipal", "id": b_sp, "name": "ComplianceHelper", "app_id": b_appid},
        },
        extra={"applications": [{"id": b_sp, "name": "ComplianceHelper", "type": "ServicePrincipal"}]},
    )
    role = f(
        "role",
        "sensitive_permission",
        "critical",
        "2024-08-16T16:19:58Z",
        users=[y],
        evidence={
            "actor": {"type": "user", "upn": y},
            "permissions": ["full_access_as_app"],
            "target": {"type": "ServicePrincipal", "id": b_sp, "name": "ComplianceHelper", "app_id": b_appid},
            "resource": {"id": "4f56c070-dddd", "name": "Office 365 Exchange Online"},
        },
        extra={"applications": [{"id": b_sp, "name": "ComplianceHelper", "type": "ServicePrincipal"}]},
    )
    mail = f(
        "mail",
        "mailbox_access",
        "high",
        "2024-08-17T02:00:00Z",
        last="2024-08-20T00:00:00Z",
        users=boxes,
        source_ips=["78.85.66.6"],
        evidence={
            "actor": {"type": "application", "app_id": b_appid, "name": "ComplianceHelper"},
            "target": {"type": "mailboxes", "mailboxes": boxes},
        },
        extra={
            "applications": [{"id": b_appid, "name": "ComplianceHelper", "type": "AppId"}],
            "mailboxes": boxes,
        },
    )
    s1 = secret("s-aws", "demo/mail/willie.suzuki.mbox", "AKIA…7Q")
    s2 = secret("s-pw", "demo/mail/denise.patel.mbox", "Su…")
    chain_ = [spray, comp, cred, newapp, priv, consent, graph, role, mail, s1, s2]
    benign = [
        f(
            f"zoom{i}",
            "consent_grant",
            "medium",
            f"2024-08-{10 + i:02d}T12:00:00Z",
            users=[f"user{i}@kestrel.example"],
            evidence={
                "actor": {"type": "user", "upn": f"user{i}@kestrel.example"},
                "target": {
                    "type": "ServicePrincipal",
                    "id": f"zoom-sp-{i}",
                    "name": "Zoom",
                    "app_id": "zoom-app",
                },
            },
            extra={
                "applications": [
                    {"id": f"zoom-sp-{i}", "name": "Zoom"},
                    {"id": "929b7e08-cccc", "name": "Microsoft Graph"},
                ]
            },
        )
        for i in range(5)
    ]
    return chain_, benign


def test_demo_shaped_chain_links_across_app_ids():
    chain_, benign = demo_shaped()
    incidents = build_incidents(benign + chain_)
    inc = next(i for i in incidents if chain_[0].id in i.finding_ids)
    assert set(inc.finding_ids) == {x.id for x in chain_}
    assert not {x.id for x in benign} & set(inc.finding_ids)
    assert [a["name"] for a in inc.entities["applications"]] == ["ComplianceHelper", "meridian-test-app"]
    assert inc.entities["mailboxes"] == sorted(chain_[8].extra["mailboxes"])
    assert sorted(s["redacted"] for s in inc.entities["secrets"]) == ["AKIA…7Q", "Su…"]
    text = " ".join(inc.story)
    assert 'created the app "ComplianceHelper"' in text and "Microsoft Graph" not in text
    assert 'granted "ComplianceHelper" full_access_as_app' in text
    consent = next(a for a in inc.actions if a.text.startswith("Revoke the consents"))
    assert consent.targets == ["ComplianceHelper"]
    zoom = {i.id for i in incidents for x in benign if x.id in i.finding_ids}
    assert len(zoom) == 1  # the five Zoom consents are one (separate) story: same app


def test_an_established_integration_joins_but_does_not_start_an_incident():
    backup = f(
        "backup",
        "mailbox_access",
        "medium",
        "2026-01-01T00:00:00Z",
        users=["m1@corp.example"],
        evidence={"established": True},
        extra={"mailboxes": ["m1@corp.example"], "applications": [{"id": "app-backup", "name": "Backup"}]},
    )
    leaked = secret("s1", "mail/m1@corp.example.mbox/3", "AKIA…XY")
    assert build_incidents([backup, leaked]) == []
    grant = f(
        "grant",
        "sensitive_permission",
        "critical",
        "2026-01-02T00:00:00Z",
        extra={"applications": [{"id": "app-backup", "name": "Backup"}]},
    )
    (incident,) = build_incidents([backup, leaked, grant])
    assert {s.finding.id for s in incident.steps} >= {backup.id, grant.id, leaked.id}


def test_a_takeover_is_a_compromise_the_story_and_the_report_count():
    from nightowl.reports.html import key_numbers

    victim = f"erin@{DOMAIN}"
    takeover = f(
        "takeover",
        "account_takeover",
        "high",
        "2026-01-10T01:00:00Z",
        detection="takeover.unfamiliar_signin",
        title=f"{victim} signed in from NL / AS64999 with 5 properties it never used before",
        users=[victim],
        source_ips=["203.0.113.9"],
        evidence={"unfamiliar": "network, device, ASN, country"},
    )
    travel = f("travel", "account_takeover", "low", "2026-01-10T01:00:00Z", users=[f"zoe@{DOMAIN}"])
    (chain_consent,) = [x for x in chain() if x.category == "consent_grant"]  # the chain's, by the victim
    consent = replace(
        chain_consent, first_seen="2026-01-10T02:00:00Z", users=[victim], evidence={"actor": victim}
    )
    incidents = build_incidents([takeover, travel, consent])
    (inc,) = incidents  # a low takeover finding alone is no incident
    assert inc.finding_ids == [takeover.id, consent.id]
    assert inc.title == f"Takeover of {victim}; then consent"
    assert inc.entities["compromised_accounts"] == [victim]
    assert (
        inc.story[0].startswith("With no password attack before it")
        and "(unfamiliar: network" in inc.story[0]
    )
    assert inc.story[1] == f'The attacker then had {victim} consent to "{APP_B["name"]}".'
    assert key_numbers([takeover, travel, consent], incidents)["compromised_accounts"] == 1
