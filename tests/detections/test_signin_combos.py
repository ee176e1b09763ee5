"""signin_combos: one row per identity, day and combination, aggregated over ids and a record hash,
with the first sign-in's own values found again (profiles.sql)."""

from __future__ import annotations

from nightowl.detections.runner import prepare
from nightowl.schema import batch_from_rows
from nightowl.store import Store
from tests.detections.events import Events

COLUMNS = (
    "user_name, net, country, client, n, ip, city, user_agent, app, first_record, first_hour, known_device"
)


def combos(ev: Events) -> list[tuple]:
    with Store() as store:
        store.append(batch_from_rows(ev.rows))  # in the order given: the first sign-in is found by time
        prepare(store)
        return store.con.execute(
            f"SELECT {COLUMNS} FROM signin_combos ORDER BY user_name, first_seen"
        ).fetchall()


def test_the_first_sign_in_gives_the_combination_its_values_whatever_the_row_order():
    ev = Events()
    ev.add(90, "ann", "198.51.100.9", "ok", ua="Mail/2", app="Exchange", src_country="DE", src_city="Bonn")
    ev.add(30, "ann", "198.51.100.7", "ok", ua="Mail/1", app="Teams", src_country="DE", src_city="Köln")
    ev.add(60, "ann", "198.51.100.8", "ok", ua="Mail/3", app="Outlook", src_country="DE", src_city="Bonn")
    assert combos(ev) == [
        (
            "ann",
            "198.51.100.0/24",
            "DE",
            "Browser/",
            3,
            "198.51.100.7",
            "Köln",
            "Mail/1",
            "Teams",
            "test:2",
            8,
            False,
        )
    ]


def test_a_repeated_record_counts_each_time_and_stays_one_combination():
    ev = Events()
    ev.add(10, "bob", "203.0.113.5", "ok", src_country="NL", device_id="dev-1")
    ev.add(10, "bob", "203.0.113.5", "ok", src_country="NL", device_id="dev-1")
    ev.rows[1]["record_ref"] = ev.rows[0]["record_ref"]  # 'message repeated 2 times': one line, two events
    ev.add(20, "bob", "203.0.113.6", "ok", src_country="NL", device_id="dev-1")
    got = combos(ev)
    assert [(r[0], r[4], r[5], r[9], r[11]) for r in got] == [("bob", 3, "203.0.113.5", "test:1", True)]


def test_sign_ins_without_an_address_or_asn_form_their_own_combination():
    ev = Events()
    ev.add(5, "cy", None, "ok", src_country="FR")
    ev.add(6, "cy", None, "ok", src_country="FR")
    ev.add(7, "cy", "192.0.2.1", "ok", src_country="FR")
    got = combos(ev)
    assert [(r[1], r[4], r[5]) for r in got] == [(None, 2, None), ("192.0.2.0/24", 1, "192.0.2.1")]
