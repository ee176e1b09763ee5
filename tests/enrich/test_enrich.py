"""Offline enrichment: a small GeoLite2-shaped .mmdb written by mmdb-writer and an IP-to-ASN TSV fill
the network fields a source left empty, keep the ones the vendor wrote, and feed the takeover rules."""

from __future__ import annotations

from datetime import datetime

import pytest

from nightowl.enrich import enrich_store
from nightowl.schema import batch_from_rows
from nightowl.sources.base import InputError
from nightowl.store import Store

mmdb_writer = pytest.importorskip("mmdb_writer")
netaddr = pytest.importorskip("netaddr")
pytest.importorskip("maxminddb")


def city_db(path):
    w = mmdb_writer.MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    w.insert_network(
        netaddr.IPSet(["81.2.69.0/24"]),
        {
            "country": {"iso_code": "GB"},
            "city": {"names": {"en": "London"}},
            "location": {"latitude": 51.5142, "longitude": -0.0931},
        },
    )
    w.insert_network(netaddr.IPSet(["2a02:c7f::/32"]), {"country": {"iso_code": "GB"}})
    w.to_db_file(str(path))
    return path


def asn_db(path):
    w = mmdb_writer.MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    w.insert_network(
        netaddr.IPSet(["81.2.0.0/16"]),
        {"autonomous_system_number": 20712, "autonomous_system_organization": "Andrews & Arnold Ltd"},
    )
    w.to_db_file(str(path))
    return path


def store_with(rows):
    st = Store()
    base = {"time": datetime(2026, 3, 2, 9), "user_name": "a@corp.example", "status_id": 1}
    st.append(batch_from_rows([base | {"record_ref": f"t:{i}"} | r for i, r in enumerate(rows)]))
    return st


def fields(st, ip):
    return st.con.execute(
        "SELECT src_asn, src_asn_org, src_country, src_city, src_lat, src_lon FROM auth_events "
        "WHERE src_endpoint_ip = ?",
        [ip],
    ).fetchall()


def test_mmdb_fills_missing_fields_and_keeps_the_vendors(tmp_path):
    st = store_with(
        [
            {"src_endpoint_ip": "81.2.69.160"},
            {"src_endpoint_ip": "81.2.69.161", "src_country": "FR", "src_asn": 3215},  # the vendor said so
            {"src_endpoint_ip": "192.0.2.1"},  # in no database
        ]
    )
    with st:
        out = enrich_store(st, [city_db(tmp_path / "city.mmdb"), asn_db(tmp_path / "asn.mmdb")])
        assert fields(st, "81.2.69.160") == [
            (20712, "Andrews & Arnold Ltd", "GB", "London", 51.5142, -0.0931)
        ]
        assert fields(st, "81.2.69.161") == [(3215, "Andrews & Arnold Ltd", "FR", "London", 51.5142, -0.0931)]
        assert fields(st, "192.0.2.1") == [(None, None, None, None, None, None)]
        assert out == {"addresses": 3, "found": 2, "events_completed": 2}


def test_ip_to_asn_tsv_ranges_for_v4_and_v6(tmp_path):
    tsv = tmp_path / "ip2asn-combined.tsv"
    tsv.write_text(
        "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
        "81.2.64.0\t81.2.127.255\t20712\tGB\tANDREWS-AS\n"
        "81.2.128.0\t81.2.255.255\t0\tNone\tNot routed\n"
        "2a02:c7f::\t2a02:c7f:ffff:ffff:ffff:ffff:ffff:ffff\t5607\tGB\tBSKYB-BROADBAND-AS\n"
    )
    st = store_with(
        [
            {"src_endpoint_ip": "81.2.69.160"},
            {"src_endpoint_ip": "81.2.200.1"},
            {"src_endpoint_ip": "2a02:c7f:1::9"},
        ]
    )
    with st:
        enrich_store(st, [tsv])
        assert fields(st, "81.2.69.160")[0][:3] == (20712, "ANDREWS-AS", "GB")
        assert fields(st, "81.2.200.1")[0][:3] == (None, None, None)  # "not routed" is no answer
        assert fields(st, "2a02:c7f:1::9")[0][:3] == (5607, "BSKYB-BROADBAND-AS", "GB")


def test_bad_database_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "ip2asn.tsv"
    bad.write_text("not a range\n")
    junk = tmp_path / "GeoLite2-City.mmdb"
    junk.write_bytes(b"\x00" * 64)
    with store_with([{"src_endpoint_ip": "81.2.69.160"}]) as st:
        for path, message in (
            (bad, "not an IP-to-ASN row"),
            (junk, "not a MaxMind database"),
            (tmp_path / "x.mmdb", "no such"),
        ):
            with pytest.raises(InputError) as err:
                enrich_store(st, [path])
            assert message in str(err.value) and "\n" not in str(err.value)
