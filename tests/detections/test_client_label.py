"""Findings name a sign-in's client as app and protocol joined by '/', and only what the log gave:
Okta has an event type and no protocol ('user.session.start', not 'user.session.start/'), Entra a
client app often without a protocol ('Browser'), some logs a protocol only. The profile key keeps
the '/' (the saved history holds it); the text, evidence and usual client drop the dangling one."""

from __future__ import annotations

import pytest

from tests.detections.events import Events, by_detection
from tests.detections.test_dormant_observed import DAY, colleagues

USER = "forgotten@corp.example"


def dormant_with(client: str | None, protocol: str | None):
    ev = Events()
    colleagues(ev, list(range(40)))
    ev.add(
        40 * DAY,
        USER,
        "185.220.101.7",
        "ok",
        client=client,
        auth_protocol=protocol,
        asn=9009,
        src_country="GB",
    )
    (f,) = by_detection(ev.hunt(), "takeover.dormant_account")
    return f


@pytest.mark.parametrize(
    ("client", "protocol", "shown"),
    [
        ("user.session.start", None, "user.session.start"),  # Okta: event type, no protocol
        ("Browser", None, "Browser"),  # Entra: client app without a protocol
        (None, "IMAP4", "IMAP4"),  # a protocol only
        ("Authenticated SMTP", "smtp", "Authenticated SMTP/smtp"),  # both: unchanged
        (None, None, "client unknown"),
    ],
)
def test_the_dormant_summary_and_evidence_show_only_the_parts_the_log_gave(client, protocol, shown):
    f = dormant_with(client, protocol)
    assert f" using {shown}, " in f.summary
    assert f.evidence["clients"] == [shown]
    assert "/," not in f.summary and " /" not in f.summary


def test_legacy_first_use_title_and_usual_client_have_no_dangling_separator():
    ev = Events()
    for d in range(30):
        ev.add(d * DAY + 9 * 60, USER, "73.0.9.10", "ok", client="Browser", asn=7922, src_country="US")
    ev.add(30 * DAY + 10 * 60, USER, "185.220.101.7", "ok", client="Authenticated SMTP", legacy=True,
           mfa=False, asn=9009, src_country="GB")  # fmt: skip
    (f,) = by_detection(ev.hunt(), "takeover.legacy_protocol_first_use")
    assert "(Authenticated SMTP)" in f.title
    assert f.evidence["client"] == "Authenticated SMTP" and f.evidence["usual_client"] == "Browser"
    assert "usually Browser from" in f.summary
