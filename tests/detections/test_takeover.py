"""Account takeover without a spray: sequences of successful sign-ins judged against each identity's
own history and the tenant's. Every rule is tested on both sides of its thresholds."""

from __future__ import annotations

import pytest

from nightowl.detections.catalog import check_config
from nightowl.sources.base import InputError
from tests.detections.events import Events, attack_findings, by_detection

DAY = 24 * 60
LAPTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0"
)
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) Outlook-iOS/2.0"
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def home(i: int) -> str:
    return f"73.{i // 200}.{i % 200}.10"


def office(i: int) -> str:
    return f"20.30.40.{10 + i % 3}"


def tenant(ev: Events, users: int = 30, days: int = 8) -> None:
    """Ordinary weeks: each user at home or in the office on their laptop, four sign-ins a day from
    T0 + 9 h to T0 + 16 h (17:00 to 00:00 UTC), all located in Chicago."""
    for u in range(users):
        name = f"user{u}@corp.example"
        for d in range(days):
            for k, hour in enumerate((9, 11, 14, 16)):
                in_office = (d + u) % 3 != 0
                ev.add(
                    d * DAY + hour * 60 + u % 7,
                    name,
                    office(u) if in_office else home(u),
                    "ok",
                    ua=LAPTOP_UA,
                    asn=8075 if in_office else 7922,
                    src_country="US",
                    src_city="Chicago",
                    src_lat=41.88,
                    src_lon=-87.63,
                    device_id=f"dev-{u}",
                    session_id=f"s-{u}-{d}-{k}",
                )


def signin(ev: Events, minutes: float, user: int, ip: str, **kw: object) -> None:
    defaults: dict[str, object] = {
        "ua": ATTACKER_UA,
        "asn": 9009,
        "src_country": "GB",
        "src_city": "London",
        "src_lat": 51.5,
        "src_lon": -0.12,
    }
    ev.add(minutes, f"user{user}@corp.example", ip, "ok", **(defaults | kw))


def takeover(findings, detection="takeover.unfamiliar_signin"):
    return attack_findings(by_detection(findings, detection))


@pytest.mark.detection("takeover.unfamiliar_signin", fires=True)
def test_phished_password_used_once_from_abroad_is_found_and_explained():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 3 * 60, 4, "185.220.101.7")
    (f,) = takeover(ev.hunt())
    assert f.users == ["user4@corp.example"] and f.source_ips == ["185.220.101.7"]
    assert f.severity == "high"  # network, device, ASN, country and the hour are all new
    e = f.evidence
    assert e["new_asn"] and e["new_country"] and e["rare_hour"] and not e["new_client"]
    assert e["network_identities_in_tenant"] == 1 and e["usual_country"] == "US"
    assert "never used" in f.summary and "usually signs in from US" in f.summary


@pytest.mark.detection("takeover.unfamiliar_signin", fires=False)
def test_traveller_on_the_usual_laptop_and_new_phone_at_home_stay_quiet():
    ev = Events()
    tenant(ev)
    # a trip: the usual laptop (same device id) from a hotel abroad, two days
    for d in (5, 6):
        signin(ev, d * DAY + 10 * 60, 4, "81.2.69.160", ua=LAPTOP_UA, device_id="dev-4")
    # a new phone, from the user's usual home line
    signin(ev, 5 * DAY + 12 * 60, 7, home(7), ua=PHONE_UA, asn=7922, src_country="US", device_id="new-phone")
    assert takeover(ev.hunt()) == []


def test_vpn_rollout_shared_by_the_tenant_is_not_unfamiliar():
    ev = Events()
    tenant(ev)
    for u in range(12):  # everyone moves to a new VPN egress on day 6, some with new laptops
        signin(ev, 6 * DAY + 10 * 60 + u, u, "52.1.2.3", asn=16509, src_country="IE", device_id=f"new-{u}")
    assert takeover(ev.hunt()) == []


def rarity_of(ev: Events, config: dict | None = None) -> float | None:
    found = by_detection(ev.hunt(config), "takeover.unfamiliar_signin")
    return found[0].evidence["rarity"] if found else None


def test_rarity_threshold_network_and_device_alone_are_not_enough_but_a_new_provider_is():
    """The score sums -ln P(value | identity) with the tenant as prior over the new properties;
    reported from medium_score, and the owner's device (a device id) is told at low."""
    show = {"detections": {"takeover.unfamiliar_signin": {"medium_score": 0.0}}}  # every candidate, scored
    new_laptop = {"asn": 7922, "src_country": "US", "device_id": "new-laptop"}
    scores = {}
    for name, kw in {
        "registered, usual ISP": new_laptop,
        "no device id, usual ISP": new_laptop | {"device_id": None},
        "registered, new ISP": new_laptop | {"asn": 7018},
        "no device id, new ISP": new_laptop | {"asn": 7018, "device_id": None},
    }.items():
        ev = Events()
        tenant(ev)
        signin(ev, 5 * DAY + 10 * 60, 4, "73.250.1.1", **kw)
        scores[name] = rarity_of(ev, show)
        found = by_detection(ev.hunt(), "takeover.unfamiliar_signin")
        if name == "no device id, new ISP":  # network, device, provider and the missing device id
            (f,) = takeover(found)
            assert f.severity == "medium" and f.evidence["unknown_device"] and f.evidence["new_asn"]
            assert (
                "ASN" in f.evidence["rarity_by_property"]
                and "no device id" in f.evidence["rarity_by_property"]
            )
            raised = {
                "detections": {"takeover.unfamiliar_signin": {"medium_score": f.evidence["rarity"] + 0.1}}
            }
            assert by_detection(ev.hunt(raised), "takeover.unfamiliar_signin") == []
        else:
            assert found == []
    # each new property adds to the score
    assert scores["registered, usual ISP"] < scores["registered, new ISP"] < scores["no device id, new ISP"]
    assert (
        scores["registered, usual ISP"] < scores["no device id, usual ISP"] < scores["no device id, new ISP"]
    )


def test_a_registered_new_device_is_the_owners_and_told_at_low():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 3 * 60, 4, "185.220.101.7", device_id="enrolled-laptop")
    (f,) = by_detection(ev.hunt(), "takeover.unfamiliar_signin")
    assert f.severity == "low" and f.evidence["registered_device"] and f.evidence["owner_device"]
    assert "device id" in f.summary


def carrier_tenant(ev: Events, users: int = 30, carrier_users: int = 20) -> None:
    """The ordinary tenant, plus phones: most users' phones sign in over a mobile carrier (ASN 21928,
    each phone on its own /24 of the carrier's pool), without a device id."""
    tenant(ev, users=users)
    for u in range(10, 10 + carrier_users):
        for d in range(5):
            signin(ev, d * DAY + 12 * 60 + u, u % users, f"172.{56 + u}.{d}.9", ua=PHONE_UA, asn=21928,
                   src_country="US")  # fmt: skip


@pytest.mark.detection("takeover.unfamiliar_signin", fires=False)
def test_a_new_line_on_a_carrier_many_colleagues_use_weighs_less_than_a_network_no_one_uses():
    """Both sides of the tenant prior: the same sign-in (new /24, new device without an id, a provider
    new to the identity, same country and hours) is quiet on the carrier 20 colleagues use and alerted
    on a provider no one in the tenant uses."""
    common = Events()
    carrier_tenant(common)
    signin(common, 6 * DAY + 10 * 60, 4, "172.99.1.9", asn=21928, src_country="US")
    rare = Events()
    carrier_tenant(rare)
    signin(rare, 6 * DAY + 10 * 60, 4, "172.99.1.9", asn=64496, src_country="US")
    show = {"detections": {"takeover.unfamiliar_signin": {"medium_score": 0.0}}}
    assert rarity_of(common, show) + 3 < rarity_of(rare, show)  # ln(31 / 21) vs ln(31 / 1) for the ASN
    assert takeover(common.hunt()) == []
    (f,) = takeover(rare.hunt())
    assert f.users == ["user4@corp.example"] and f.evidence["asn_identities_in_tenant"] == 1


@pytest.mark.detection("takeover.unfamiliar_signin", fires=False)
def test_a_new_device_that_also_signs_in_from_the_users_own_line_is_the_owners():
    """A new phone without a device id on a network and provider no one uses (alone: alerted); the
    same phone also signs in, later that week, from the home line the user's laptop uses: the owner's."""

    def phone(ev: Events, home_too: bool) -> None:
        tenant(ev)
        signin(ev, 6 * DAY + 10 * 60, 4, "172.99.1.9", ua=PHONE_UA, asn=64496, src_country="US")
        if home_too:
            signin(ev, 7 * DAY + 11 * 60, 4, home(4), ua=PHONE_UA, asn=7922, src_country="US")

    alone = Events()
    phone(alone, home_too=False)
    (f,) = takeover(alone.hunt())
    assert f.severity in ("medium", "high") and not f.evidence["owner_device"]
    owned = Events()
    phone(owned, home_too=True)
    (f,) = by_detection(owned.hunt(), "takeover.unfamiliar_signin")
    assert (
        f.severity == "low" and f.evidence["owner_device"] and f.evidence["vouching_network"] == "73.0.4.0/24"
    )
    assert "older devices use" in f.summary


def test_a_network_many_identities_use_is_familiar_to_the_tenant():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 3 * 60, 4, "185.220.101.7")
    for u in range(10, 16):  # six other identities also sign in from that /24 on other days
        signin(ev, (u % 5) * DAY + 10 * 60, u, f"185.220.101.{u}", ua=LAPTOP_UA, device_id=f"dev-{u}")
    assert takeover(ev.hunt()) == []  # 7 identities use the /24: the tenant's, not an attacker's
    # one setting moves both bars: the network is no longer the tenant's, nor does it vouch for the device
    assert len(takeover(ev.hunt({"prepare": {"shared_network_users": 8}}))) == 1


def test_the_old_per_rule_key_names_the_one_setting_that_replaced_it():
    over = {"detections": {"takeover.unfamiliar_signin": {"tenant_common_users": 8}}}
    with pytest.raises(InputError, match=r"tenant_common_users is now \[prepare\] shared_network_users"):
        check_config(over, "nightowl.toml")


def test_an_identity_without_enough_history_is_not_judged():
    ev = Events()
    tenant(ev, days=1)  # the events start at 08:00 UTC, so this is two calendar days of history
    signin(ev, 1 * DAY + 3 * 60, 4, "185.220.101.7")
    assert takeover(ev.hunt()) == []
    over = {"detections": {"takeover.unfamiliar_signin": {"min_history_days": 1}}}
    assert len(takeover(ev.hunt(over))) == 1


def test_missing_location_and_asn_are_skipped_and_said_so():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 3 * 60, 4, "185.220.101.7", asn=None, src_country=None, client="Other clients")
    (f,) = takeover(ev.hunt())
    assert f.evidence["skipped_properties"] == "asn, country"
    assert "were skipped" in f.summary


# ---- impossible travel ------------------------------------------------------------------------


@pytest.mark.detection("takeover.impossible_travel", fires=True)
def test_impossible_travel_to_a_new_device_is_medium_and_on_the_usual_laptop_low():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 9 * 60 + 30, 4, "185.220.101.7")  # 26 min after a Chicago sign-in
    (f,) = by_detection(ev.hunt(), "takeover.impossible_travel")
    assert f.severity == "medium" and f.evidence["new_device"]
    assert f.evidence["km"] > 6000 and f.evidence["to_country"] == "GB" and f.evidence["from_country"] == "US"
    ev2 = Events()
    tenant(ev2)
    signin(ev2, 5 * DAY + 9 * 60 + 30, 4, "185.220.101.7", ua=LAPTOP_UA, device_id="dev-4")
    (f2,) = by_detection(ev2.hunt(), "takeover.impossible_travel")
    assert f2.severity == "low" and "travelling" in f2.summary


@pytest.mark.detection("takeover.impossible_travel", fires=False)
def test_travel_at_airliner_speed_or_through_a_shared_egress_is_not_impossible():
    ev = Events()
    tenant(ev)
    # 8 h after the day's last Chicago sign-in and 9 h before the next: under 800 km/h
    signin(ev, 5 * DAY + 24 * 60 + 4, 4, "185.220.101.7")
    assert by_detection(ev.hunt(), "takeover.impossible_travel") == []
    ev2 = Events()
    tenant(ev2)
    signin(ev2, 5 * DAY + 9 * 60 + 30, 4, "185.220.101.7")
    for u in range(10, 16):  # the London /24 is an egress six identities use (a VPN concentrator)
        signin(ev2, (u % 5) * DAY + 10 * 60, u, f"185.220.101.{u}", ua=LAPTOP_UA, device_id=f"dev-{u}")
    assert by_detection(ev2.hunt(), "takeover.impossible_travel") == []


# ---- legacy protocol ---------------------------------------------------------------------------


@pytest.mark.detection("takeover.legacy_protocol_first_use", fires=True)
def test_first_legacy_protocol_success_from_a_new_network_is_medium():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 10 * 60, 4, "185.220.101.7", client="IMAP4", legacy=True)
    (f,) = by_detection(ev.hunt(), "takeover.legacy_protocol_first_use")
    assert f.severity == "medium" and f.evidence["new_network"] and "IMAP4" in f.title


@pytest.mark.detection("takeover.legacy_protocol_first_use", fires=False)
def test_native_mail_on_a_new_line_is_low_when_the_same_app_also_syncs_from_home():
    eas = {"client": "Exchange ActiveSync", "legacy": True, "ua": "Apple-iPhone15C2/2043.39", "asn": 64496}
    ev = Events()
    tenant(ev)
    signin(ev, 6 * DAY + 10 * 60, 4, "172.99.1.9", src_country="US", **eas)
    (f,) = by_detection(ev.hunt(), "takeover.legacy_protocol_first_use")
    assert f.severity == "medium" and not f.evidence["owner_device"]
    signin(ev, 6 * DAY + 14 * 60, 4, home(4), src_country="US", **(eas | {"asn": 7922}))
    (f,) = by_detection(ev.hunt(), "takeover.legacy_protocol_first_use")
    assert (
        f.severity == "low" and f.evidence["owner_device"] and f.evidence["vouching_network"] == "73.0.4.0/24"
    )


@pytest.mark.detection("takeover.legacy_protocol_first_use", fires=False)
def test_legacy_protocol_from_home_is_low_and_a_habit_is_not_reported():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 10 * 60, 4, home(4), asn=7922, src_country="US", client="IMAP4", legacy=True)
    (f,) = by_detection(ev.hunt(), "takeover.legacy_protocol_first_use")
    assert f.severity == "low"
    ev2 = Events()
    tenant(ev2)
    for d in (1, 3, 5):  # a mail client the user runs every other day
        signin(ev2, d * DAY + 10 * 60, 4, home(4), asn=7922, src_country="US", client="IMAP4", legacy=True)
    assert by_detection(ev2.hunt(), "takeover.legacy_protocol_first_use") == []


# ---- dormant account ---------------------------------------------------------------------------


def dormant(ev: Events, day: float, **kw: object) -> None:
    protocol: dict[str, object] = {"ua": "BAV2ROPC", "client": "Authenticated SMTP", "legacy": True}
    ev.add(day * DAY, "test-legacy@corp.example", "185.220.101.7", "ok", asn=9009, src_country="GB",
           **(protocol | kw))  # fmt: skip


@pytest.mark.detection("takeover.dormant_account", fires=True)
def test_a_silent_test_account_revived_over_a_legacy_protocol_is_high():
    ev = Events()
    tenant(ev, users=12, days=14)
    dormant(ev, 12)
    (f,) = by_detection(ev.hunt(), "takeover.dormant_account")
    assert f.severity == "high" and f.users == ["test-legacy@corp.example"]
    assert f.evidence["quiet_days"] == 12 and f.evidence["legacy_protocol"]


@pytest.mark.detection("takeover.dormant_account", fires=False)
def test_dormancy_threshold_guests_and_known_devices():
    ev = Events()
    tenant(ev, users=12, days=14)
    dormant(ev, 8)  # eight quiet days is under min_quiet_days
    assert by_detection(ev.hunt(), "takeover.dormant_account") == []
    over = {"detections": {"takeover.dormant_account": {"min_quiet_days": 7}}}
    assert len(by_detection(ev.hunt(over), "takeover.dormant_account")) == 1
    guest = Events()
    tenant(guest, users=12, days=14)
    dormant(guest, 12, user_type="guest")
    assert by_detection(guest.hunt(), "takeover.dormant_account") == []
    managed = Events()
    tenant(managed, users=12, days=14)
    dormant(managed, 12, device_id="dev-known")
    (f,) = by_detection(managed.hunt(), "takeover.dormant_account")
    assert f.severity == "low"


@pytest.mark.detection("takeover.dormant_account", fires=False)
def test_a_first_day_that_also_holds_a_registered_device_on_the_office_network_is_the_owner():
    """A new hire without a users export: a browser from home without MFA (alone, that is a dormant
    account revived), but the same day a registered phone from the office network the tenant shares."""
    ev = Events()
    tenant(ev, users=12, days=14)
    dormant(ev, 12, client="Browser", legacy=False, mfa=False, ua=LAPTOP_UA)
    alone = by_detection(ev.hunt(), "takeover.dormant_account")
    assert [f.severity for f in alone] == ["high"]
    ev.add(12 * DAY + 30, "test-legacy@corp.example", office(1), "ok", ua=PHONE_UA, asn=8075,
           src_country="US", device_id="phone-new", client="Mobile Apps and Desktop clients")  # fmt: skip
    (f,) = by_detection(ev.hunt(), "takeover.dormant_account")
    assert f.severity == "low" and f.evidence["known_device"]


# ---- one session, two networks -----------------------------------------------------------------


@pytest.mark.detection("takeover.session_two_networks", fires=True)
def test_a_session_replayed_from_another_network_is_high():
    ev = Events()
    tenant(ev)
    # user4's first session of day 5 (09:00 local + 4 min) replayed 40 minutes later from a hosting network
    signin(ev, 5 * DAY + 9 * 60 + 45, 4, "45.77.1.9", asn=20473, src_country="US", session_id="s-4-5-0")
    (f,) = by_detection(ev.hunt(), "takeover.session_two_networks")
    assert f.severity == "high" and f.evidence["session_id"] == "s-4-5-0"
    assert "45.77.1.9" in f.source_ips and f.evidence["replay_ips"] == ["45.77.1.9"]


@pytest.mark.detection("takeover.session_two_networks", fires=False)
def test_a_session_carried_to_the_office_or_past_max_hours_stays_quiet():
    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 9 * 60 + 45, 4, office(4), asn=8075, src_country="US", session_id="s-4-5-0")
    assert by_detection(ev.hunt(), "takeover.session_two_networks") == []
    late = Events()
    tenant(late)
    signin(late, 6 * DAY + 12 * 60, 4, "45.77.1.9", asn=20473, src_country="US", session_id="s-4-5-0")
    assert by_detection(late.hunt(), "takeover.session_two_networks") == []


def test_disabling_the_takeover_rules_skips_the_profiles_they_read():
    from nightowl.detections.catalog import load_all
    from nightowl.detections.runner import run_all
    from nightowl.schema import batch_from_rows
    from nightowl.store import Store

    ev = Events()
    tenant(ev)
    signin(ev, 5 * DAY + 3 * 60, 4, "185.220.101.7")
    off = {"detections": {d.id: {"enabled": False} for d in load_all() if d.category == "account_takeover"}}
    with Store() as store:
        store.append(batch_from_rows(sorted(ev.rows, key=lambda r: r["time"])))
        assert [f for f in run_all(store, off) if f.category == "account_takeover"] == []
        assert not store.has_table("signin_combos")
        assert takeover(run_all(store))  # and with them, the profiles are built and the rule fires
        assert store.has_table("signin_combos")
