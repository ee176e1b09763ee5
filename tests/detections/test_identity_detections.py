"""Windowed, aggregated behaviour of the identity detections, on sequences of events.

Each test builds the events an attack (or a benign look-alike) produces and asserts on the
finding that comes out: who, from where, how many, which category, and what must stay quiet.
"""

from __future__ import annotations

import random

import pytest

from tests.detections.events import Events, attack_findings, by_detection

ATTACKER = "203.0.113.7"
OFFICE_NAT = "198.51.100.10"


def corp(i: int) -> str:
    return f"user{i}@corp.example"


def office_monday(ev: Events, users: int = 300, typos: int = 40, seed: int = 1) -> None:
    """A busy office NAT on a Monday: everyone signs in, some mistype first, a few give up."""
    rnd = random.Random(seed)
    for i in range(users):
        start = rnd.uniform(0, 120)
        if i < typos:
            ev.add(start, corp(i), OFFICE_NAT, "bad_password")
            ev.add(start + rnd.uniform(0.2, 5), corp(i), OFFICE_NAT, "ok")
        elif i < typos + 4:  # mistyped and went to a meeting: never resolved from here
            ev.add(start, corp(i), OFFICE_NAT, "bad_password")
        else:
            ev.add(start, corp(i), OFFICE_NAT, "ok")


def test_single_source_spray_names_every_target_and_the_compromise():
    ev = Events()
    for i in range(30):
        ev.add(i * 0.5, corp(i), ATTACKER)
    ev.add(20, corp(3), ATTACKER, "ok", mfa=False)
    findings = ev.hunt()
    (spray,) = by_detection(findings, "spray.single_source")
    assert spray.users == sorted(corp(i) for i in range(30))
    assert spray.source_ips == [ATTACKER]
    assert spray.compromised_users == [corp(3)]
    assert spray.counts["attempts"] == 30
    (comp,) = by_detection(findings, "compromise.after_attack")
    assert comp.severity == "critical" and comp.compromised_users == [corp(3)]


def test_office_nat_on_monday_morning_stays_quiet():
    ev = Events()
    office_monday(ev)
    assert attack_findings(ev.hunt()) == []


def test_spray_through_the_office_nat_is_still_found_when_it_dominates_the_source():
    ev = Events()
    office_monday(ev, users=20, typos=2)
    for i in range(100, 160):  # 60 accounts sprayed from the same NAT (a compromised host inside)
        ev.add(200 + (i - 100) * 0.2, corp(i), OFFICE_NAT)
    sprays = by_detection(ev.hunt(), "spray.single_source")
    assert len(sprays) == 1 and {corp(i) for i in range(100, 160)} <= set(sprays[0].users)


def test_slow_spray_over_three_days_is_one_finding_that_per_window_rules_miss():
    ev = Events()
    for i in range(400):  # one account every ten minutes for ~2.8 days
        ev.add(i * 10, corp(i), ATTACKER)
    findings = ev.hunt()
    (slow,) = by_detection(findings, "spray.slow")
    assert len(slow.users) == 400 and slow.counts["peak_window_users"] < 5  # below Sentinel's 5 per 20 min
    assert by_detection(findings, "spray.single_source") == []


def test_ipv6_sources_in_one_64_are_one_source():
    ev = Events()
    for i in range(12):
        ev.add(i, corp(i), f"2001:db8:1:2::{i + 1:x}")
    (spray,) = by_detection(ev.hunt(), "spray.single_source")
    assert len(spray.source_ips) == 12 and len(spray.users) == 12


def distributed_campaign(
    ev: Events,
    ips: int = 400,
    targets: int = 60,
    seed: int = 7,
    ua: str = "Mozilla/5.0 (X11) spray",
    rotate_uas: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    rnd = random.Random(seed)
    addresses = [f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{n % 250 + 1}" for n in range(ips)]
    addresses = list(dict.fromkeys(addresses))
    users = [corp(1000 + i) for i in range(targets - 5)] + [f"ghost{i}@corp.example" for i in range(5)]
    for _n, ip in enumerate(addresses):
        for _ in range(rnd.choice([1, 1, 2, 3])):
            user = rnd.choice(users)
            agent = rnd.choice(rotate_uas) if rotate_uas else ua
            ev.add(
                rnd.uniform(0, 10 * 24 * 60),
                user,
                ip,
                "no_user" if user.startswith("ghost") else "bad_password",
                ua=agent,
                client="Other clients",
                legacy=True,
            )
    return addresses, users


def benign_background(ev: Events, users: int = 500, days: int = 10, seed: int = 3) -> None:
    """Home users on their own addresses, signing in daily, sometimes mistyping."""
    rnd = random.Random(seed)
    for u in range(users):
        home = f"192.0.2.{u % 250 + 1}" if u < 250 else f"198.18.{u // 250}.{u % 250 + 1}"
        for day in range(days):
            t = day * 1440 + rnd.uniform(480, 600)
            if rnd.random() < 0.05:
                ev.add(t, corp(u), home, "bad_password", ua="Mozilla/5.0 (Windows) Edge")
                t += rnd.uniform(0.3, 3)
            ev.add(t, corp(u), home, "ok", ua="Mozilla/5.0 (Windows) Edge", mfa=True)


def test_distributed_spray_is_one_campaign_with_all_its_ips_and_the_compromise():
    ev = Events()
    benign_background(ev)
    ips, _users = distributed_campaign(ev)
    ev.add(
        9 * 1440,
        "legacy-test@corp.example",
        ips[5],
        "ok",
        ua="Mozilla/5.0 (X11) spray",
        client="Other clients",
        legacy=True,
        mfa=False,
    )
    ev.add(
        2 * 1440,
        "legacy-test@corp.example",
        ips[9],
        "bad_password",
        ua="Mozilla/5.0 (X11) spray",
        client="Other clients",
        legacy=True,
    )
    findings = ev.hunt()
    (campaign,) = by_detection(findings, "spray.distributed")
    named = set(campaign.source_ips)
    assert len(named & set(ips)) >= 0.95 * len(ips)
    assert named <= set(ips)  # no benign address named
    assert "legacy-test@corp.example" in campaign.compromised_users
    comp = by_detection(findings, "compromise.after_attack")
    assert [c.users for c in comp] == [["legacy-test@corp.example"]] and comp[0].severity == "critical"
    assert by_detection(findings, "spray.single_source") == []


def test_rotating_user_agents_still_make_one_campaign():
    ev = Events()
    benign_background(ev, users=200)
    uas = [f"Mozilla/5.0 (Windows NT 10.0) Chrome/12{i}.0" for i in range(4)]
    ips, _ = distributed_campaign(ev, rotate_uas=uas)
    campaigns = by_detection(ev.hunt(), "spray.distributed")
    assert len(campaigns) == 1
    assert len(set(campaigns[0].source_ips) & set(ips)) >= 0.9 * len(ips)


def test_a_success_with_any_of_a_rotating_campaigns_fingerprints_is_a_compromise():
    """The attacker's success carries a user agent the campaign used, but not its most common one,
    from an address that never failed: still the campaign confirming a targeted password."""
    ev = Events()
    benign_background(ev, users=200)
    uas = [f"Mozilla/5.0 (Windows NT 10.0) Chrome/12{i}.0" for i in range(4)]
    _ips, users = distributed_campaign(ev, rotate_uas=uas)
    (campaign,) = by_detection(ev.hunt(), "spray.distributed")
    rare = next(ua for ua in uas if not campaign.evidence["fingerprint"].startswith(ua + " |"))
    assert any(fp.startswith(rare + " |") for fp in campaign.evidence["fingerprints"])
    ev.add(
        9 * 1440 + 60, users[0], "203.0.113.99", "ok", ua=rare, client="Other clients", legacy=True, mfa=False
    )
    findings = ev.hunt()
    comp = by_detection(findings, "compromise.after_attack")
    assert [c.users for c in comp] == [[users[0]]] and comp[0].severity == "critical"
    assert comp[0].evidence["via"] == ["campaign fingerprint from a new source"]
    assert comp[0].source_ips == ["203.0.113.99"]


def test_a_new_address_with_a_fingerprint_the_campaign_never_used_is_no_compromise():
    ev = Events()
    benign_background(ev, users=200)
    _ips, users = distributed_campaign(
        ev, rotate_uas=[f"Mozilla/5.0 (Windows NT 10.0) Chrome/12{i}.0" for i in range(4)]
    )
    ev.add(9 * 1440 + 60, users[0], "203.0.113.99", "ok", ua="Mozilla/5.0 (Windows) Edge", mfa=True)
    assert by_detection(ev.hunt(), "compromise.after_attack") == []


def test_a_targeted_user_satisfying_mfa_with_the_campaigns_fingerprint_is_no_compromise():
    """Outlook on a hotel network shares a spray tool's application and client when the export has no
    user agent; a success that satisfied MFA is the account's owner, not a sprayed password."""
    ev = Events()
    benign_background(ev, users=200)
    _ips, users = distributed_campaign(ev, ua="")
    ev.add(
        9 * 1440 + 60, users[0], "203.0.113.99", "ok", ua="", client="Other clients", legacy=True, mfa=True
    )
    assert by_detection(ev.hunt(), "compromise.after_attack") == []
    ev.add(
        9 * 1440 + 90, users[1], "203.0.113.98", "ok", ua="", client="Other clients", legacy=True, mfa=False
    )
    (comp,) = by_detection(ev.hunt(), "compromise.after_attack")
    assert comp.users == [users[1]] and comp.severity == "critical"


def test_a_campaign_summary_says_networks_only_when_the_logs_name_them():
    ev = Events()
    distributed_campaign(ev)  # no ASN, no country: a Graph v1.0 export
    (campaign,) = by_detection(ev.hunt(), "spray.distributed")
    assert "network" not in campaign.summary and "countr" not in campaign.summary
    ev = Events()
    distributed_campaign(ev)
    for row in ev.rows:
        row["src_asn"] = 64500 + int(row["src_endpoint_ip"].rsplit(".", 1)[-1]) % 7
    (campaign,) = by_detection(ev.hunt(), "spray.distributed")
    assert " in 7 networks, " in campaign.summary


def test_the_tenants_own_fingerprint_marks_no_campaign_on_a_windows_log():
    """Windows logons carry no user agent: the spray and every employee are 'NTLM'. People the spray
    targeted logging on next morning from new DHCP addresses are not compromised; the spray's own
    address succeeding still is."""
    ev = Events()
    win = {"ua": "", "app": "", "client": "NTLM", "mfa": False}  # a Windows log says nothing of MFA
    for u in range(60):
        for day in range(5):
            ev.add(day * 1440 + 480 + u, corp(u), f"10.{u}.{day}.5", "ok", **win)  # DHCP: a new /24 each day
    for i in range(40):
        ev.add(2 * 1440 + 1200 + i * 0.5, corp(i), ATTACKER, **win)
    ev.add(2 * 1440 + 1230, corp(41), ATTACKER, "ok", **win)
    findings = ev.hunt()
    assert by_detection(findings, "spray.single_source")
    comp = by_detection(findings, "compromise.after_attack")
    assert [c.users for c in comp] == [[corp(41)]]
    assert comp[0].evidence["via"] == ["attack source"]


def test_benign_tenant_alone_has_no_attack_findings():
    ev = Events()
    benign_background(ev, users=800)
    office_monday(ev)
    assert attack_findings(ev.hunt()) == []


def test_credential_stuffing_each_username_once_mostly_unknown():
    ev = Events()
    rnd = random.Random(5)
    for n in range(150):
        user = f"leaked{n}@corp.example" if n % 3 else corp(n)
        ev.add(
            rnd.uniform(0, 600),
            user,
            f"100.{n // 100}.{n % 100}.9",
            "no_user" if n % 3 else "bad_password",
            ua="python-requests/2.31",
        )
    (stuffing,) = by_detection(ev.hunt(), "stuffing")
    assert stuffing.category == "credential_stuffing" and len(stuffing.users) == 150


def test_brute_force_on_one_account_and_not_a_spray():
    ev = Events()
    for n in range(200):
        ev.add(n * 0.05, "admin@corp.example", ATTACKER)
    findings = ev.hunt()
    (bf,) = by_detection(findings, "bruteforce.single_account")
    assert bf.users == ["admin@corp.example"] and bf.counts["attempts"] == 200
    assert by_detection(findings, "spray.single_source") == []


@pytest.mark.detection("bruteforce.multi_account", fires=True)
def test_guessing_many_passwords_against_many_accounts_is_brute_force_and_its_success_a_compromise():
    """An RDP/SSH guesser cycling 12 passwords through 40 names over four hours: more per account
    than a spray (the spray rules stop at 10), fewer at one account than bruteforce.single_account
    needs and more accounts than bruteforce.burst allows. Its one success is a compromise."""
    ev = Events()
    win = {"ua": "", "app": "", "client": "NTLM", "mfa": False}
    for rnd in range(12):
        for i in range(40):
            ev.add(rnd * 20 + i * 0.4, corp(i), ATTACKER, **win)
    ev.add(12 * 20 + 5, corp(7), ATTACKER, "ok", **win)
    findings = ev.hunt()
    (guess,) = by_detection(findings, "bruteforce.multi_account")
    assert guess.category == "brute_force" and guess.source_ips == [ATTACKER]
    assert guess.users == sorted(corp(i) for i in range(40))
    assert guess.evidence["attempts_per_account"] == 12.0 and guess.attack == ["T1110.001"]
    assert by_detection(findings, "spray.single_source") == []
    assert by_detection(findings, "bruteforce.single_account") == []
    (comp,) = by_detection(findings, "compromise.after_attack")
    assert comp.compromised_users == [corp(7)] and "attack source" in comp.evidence["via"]


@pytest.mark.detection("bruteforce.multi_account", fires=False)
def test_a_server_retrying_the_stale_passwords_of_the_accounts_it_used_is_no_brute_force():
    """A host that signed six service accounts in for a day, then retries their changed passwords
    every five minutes for a day: many attempts per account, none resolved, but known pairs."""
    ev = Events()
    server = "10.20.30.40"
    accounts = [f"svc-batch{i}@corp.example" for i in range(6)]
    for hour in range(24):
        for a in accounts:
            ev.add(hour * 60, a, server, "ok", ua="", client="ROPC")
    for n in range(288):
        for a in accounts:
            ev.add(1500 + n * 5, a, server, ua="", client="ROPC")
    findings = ev.hunt()
    assert by_detection(findings, "bruteforce.multi_account") == []
    assert attack_findings(findings) == []


def test_phone_with_stale_password_is_low_noise_not_brute_force():
    ev = Events()
    phone = "172.20.1.5"
    ev.add(0, corp(1), phone, "ok", ua="Outlook-iOS", client="Exchange ActiveSync", legacy=True)
    for n in range(1, 60):  # password changed elsewhere: retries every 15 minutes for 15 hours
        ev.add(
            60 + n * 15,
            corp(1),
            phone,
            "bad_password",
            ua="Outlook-iOS",
            client="Exchange ActiveSync",
            legacy=True,
        )
    findings = ev.hunt()
    assert attack_findings(findings) == []
    (stale,) = by_detection(findings, "noise.stale_credentials")
    assert stale.users == [corp(1)] and stale.severity == "low"


def test_enumeration_from_one_source():
    ev = Events()
    for n in range(40):
        ev.add(n, f"guess{n}@corp.example", ATTACKER, "no_user")
    (enum,) = by_detection(ev.hunt(), "enumeration.single_source")
    assert enum.category == "account_enumeration" and enum.counts["nonexistent_users"] == 40


def test_mfa_interruption_after_spray_is_a_high_compromise_not_critical():
    ev = Events()
    for i in range(20):
        ev.add(i, corp(i), ATTACKER)
    ev.add(30, corp(7), ATTACKER, "mfa_required")
    (comp,) = by_detection(ev.hunt(), "compromise.after_attack")
    assert comp.severity == "high" and comp.compromised_users == [corp(7)]


def test_lockout_wave():
    ev = Events()
    for i in range(15):
        ev.add(i * 2, corp(i), f"192.0.2.{i}", "locked")
    (wave,) = by_detection(ev.hunt(), "lockout.wave")
    assert len(wave.users) == 15


def test_thresholds_can_be_overridden_from_config():
    ev = Events()
    for i in range(30):
        ev.add(i * 0.5, corp(i), ATTACKER)
    assert (
        by_detection(
            ev.hunt({"detections": {"spray.single_source": {"min_users": 50}}}), "spray.single_source"
        )
        == []
    )


def test_large_tenant_background_of_one_off_failures_is_not_a_campaign():
    """A month of a big tenant: people fail once from a hotel or cafe network and give up, all with
    the most common browser fingerprint. Many sources, many accounts: not a spray."""
    ev = Events()
    rnd = random.Random(11)
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0"
    for u in range(600):  # everyone signs in normally from home with the same fingerprint
        ev.add(rnd.uniform(0, 30 * 1440), corp(u), f"198.18.{u // 250}.{u % 250 + 1}", "ok", ua=ua, mfa=True)
    for n in range(120):  # one-off failures from fresh networks, never resolved there
        ev.add(rnd.uniform(0, 30 * 1440), corp(rnd.randrange(600)), f"100.64.{n // 200}.{n % 200 + 1}", ua=ua)
    assert by_detection(ev.hunt(), "spray.distributed") == []


def test_spray_with_the_common_fingerprint_is_still_found_by_its_repeat_targeting():
    ev = Events()
    rnd = random.Random(12)
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0"
    for u in range(600):
        ev.add(rnd.uniform(0, 30 * 1440), corp(u), f"198.18.{u // 250}.{u % 250 + 1}", "ok", ua=ua, mfa=True)
    targets = [corp(u) for u in range(0, 600, 10)]
    for n in range(300):  # 60 accounts, each tried about five times from different proxies
        ev.add(rnd.uniform(0, 10 * 1440), rnd.choice(targets), f"100.{64 + n // 250}.{n % 250}.7", ua=ua)
    (campaign,) = by_detection(ev.hunt(), "spray.distributed")
    assert len(campaign.source_ips) >= 280


def test_enumeration_from_several_sources_in_waves_is_one_finding():
    ev = Events()
    for wave in range(3):  # three waves, eight hours apart, from the same three sources
        for s in range(3):
            for n in range(15):
                ev.add(
                    wave * 480 + n,
                    f"guess{wave}-{s}-{n}@corp.example",
                    f"203.0.113.{10 + s}",
                    "no_user",
                    ua="python-requests/2.31",
                )
    (enum,) = by_detection(ev.hunt(), "enumeration.single_source")
    assert len(enum.source_ips) == 3 and len(enum.users) == 135 and enum.counts["source_sessions"] == 9


def test_a_proxy_the_campaign_reused_heavily_folds_into_the_campaign():
    ev = Events()
    ips, users = distributed_campaign(ev)
    heavy = ips[0]
    for i in range(12):  # the same proxy, same tooling, trying a dozen accounts in a few minutes
        ev.add(3000 + i, users[i], heavy, ua="Mozilla/5.0 (X11) spray", client="Other clients", legacy=True)
    findings = ev.hunt()
    assert by_detection(findings, "spray.single_source") == []
    (campaign,) = by_detection(findings, "spray.distributed")
    assert heavy in campaign.source_ips
    assert [x["detection"] for x in campaign.evidence["folded_findings"]] == ["spray.single_source"]
