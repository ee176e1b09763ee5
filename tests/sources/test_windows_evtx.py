"""Windows EVTX reader on the real DeepBlueCLI / EVTX-ATTACK-SAMPLES logs, plus damaged copies.

Counts asserted here come from the dataset README (shared/README.md) or are recounted from
the raw parser output inside the test; none is read back from our own reader.
"""

from __future__ import annotations

import gzip
import random
from collections import Counter
from pathlib import Path

import evtx
import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources.base import InputError, InputFile, ReadOptions, Tally
from nightowl.sources.windows_evtx import SOURCES
from tests.conftest import dataset

SRC = SOURCES[0]


def read(path: Path, gz: bool = False) -> tuple[list[dict], Tally]:
    tally = Tally()
    batches = list(SRC.read(InputFile(path.name, path, gzip=gz), tally, ReadOptions()))
    for b in batches:
        assert b.schema == schema.AUTH_SCHEMA
    rows = pa.Table.from_batches(batches, schema=schema.AUTH_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def raw_events(path: Path) -> tuple[list[dict], int]:
    """Independent recount: (EventData-level dicts of every readable record, parser errors that
    name a record). A file cut inside a chunk: that chunk's complete records too (the parser skips
    a short chunk; padded with zeros to 64 KiB it reads them)."""
    out, errors = [], 0
    data = path.read_bytes()
    paths = [path]
    tail = (len(data) - 4096) % 65536
    if len(data) > 4096 and tail >= 512:
        padded = path.with_name("padded-tail.evtx")
        padded.write_bytes(data[:4096] + data[len(data) - tail :] + bytes(65536 - tail))
        paths.append(padded)
    for one in paths:
        it = evtx.PyEvtxParser(str(one)).records_json()
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except Exception as exc:
                errors += "record number" in str(exc)
                continue
            try:
                ev = orjson.loads(rec["data"])["Event"]
                out.append({"id": ev["System"]["EventID"], **(ev.get("EventData") or {})})
            except (orjson.JSONDecodeError, KeyError, TypeError):
                out.append({"id": None})  # the reader quarantines it as unreadable event XML
    return out, errors


def test_password_spray_4648() -> None:
    path = dataset("windows-evtx/password-spray.evtx")
    rows, tally = read(path)
    # README: 295 records, 294 x 4648 from 172.16.144.128 against 41 distinct target users
    assert tally.records == 295
    assert len(rows) == 294
    assert tally.ignored == 1 and tally.quarantined == 0
    assert tally.ignored_reasons == Counter({"event 1102 is not an authentication event": 1})
    assert {r["activity_name"] for r in rows} == {"explicit_credentials"}
    assert {r["src_endpoint_ip"] for r in rows} == {"172.16.144.128"}
    assert len({r["user_name"] for r in rows}) == 41
    # the outcome of an explicit-credential attempt is not in the event: OCSF Unknown
    assert {(r["status_id"], r["status_detail"], r["password_correct"]) for r in rows} == {(0, "OTHER", None)}
    assert all(r["record_ref"].startswith("password-spray.evtx#record ") for r in rows)
    # EventRecordID repeats across machines: the uid that the store deduplicates on names the host
    assert len({r["event_uid"] for r in rows}) == 294
    assert all(r["event_uid"] == f"DESKTOP-JR78RLP:{r['record_ref'].rsplit(' ', 1)[1]}" for r in rows)
    assert all(r["time"].year == 2019 and r["time"].month == 4 and r["time"].day == 30 for r in rows)


def test_kerberos_spray_with_success() -> None:
    path = dataset("windows-evtx/kerberos_pwd_spray_4771.evtx")
    rows, tally = read(path)
    raw, errors = raw_events(path)
    assert errors == 0
    assert tally.records == len(raw) == 12
    by_detail = Counter((r["status_detail"], r["status_code"]) for r in rows)
    # README: 7 x 4768 0x6 (unknown user), 2 x 4771 0x18 (bad password)
    assert by_detail[("USER_DOES_NOT_EXIST", "0x6")] == 7
    assert by_detail[("INVALID_CREDENTIALS", "0x18")] == 2
    assert all(r["user_exists"] is False for r in rows if r["status_detail"] == "USER_DOES_NOT_EXIST")
    assert all(r["password_correct"] is False for r in rows if r["status_detail"] == "INVALID_CREDENTIALS")
    # ... then a successful 4768 for user `normal` from the same IP 172.16.66.1
    successes = [r for r in rows if r["status_id"] == 1]
    raw_successes = [e for e in raw if e["id"] == 4768 and e.get("Status") == "0x0"]
    assert len(successes) == len(raw_successes) >= 1
    assert {r["user_name"].split("\\")[-1] for r in successes} == {"normal"}
    assert {r["src_endpoint_ip"] for r in rows} == {"172.16.66.1"}  # ::ffff: prefix stripped
    assert max(r["time"] for r in rows if r["status_id"] == 2) <= min(r["time"] for r in successes)
    assert {r["auth_protocol"] for r in rows} == {"kerberos"}
    assert {r["activity_name"] for r in rows} == {"authentication_ticket"}
    # 4771 has no TargetDomainName: the realm from krbtgt/REALM keeps names consistent with 4768
    assert any(r["user_name"] == "threebeesco.com\\administrator" for r in rows)


def test_smb_brute_force_4625() -> None:
    path = dataset("windows-evtx/smb-password-guessing-security.evtx")
    rows, tally = read(path)
    raw, _ = raw_events(path)
    # README: 3,561 x 4625 from one source 192.168.198.149 against only 2 users
    assert tally.records == len(rows) == 3561
    assert {r["src_endpoint_ip"] for r in rows} == {"192.168.198.149"}
    assert len({r["user_name"].split("\\")[-1] for r in rows}) == 2
    # README: Status 0xc000006d / SubStatus 0xc000006a -> bad password (recounted from raw)
    wrong_pw = sum(1 for e in raw if e.get("SubStatus", "").lower() == "0xc000006a")
    assert wrong_pw > 3500
    got = Counter(r["status_detail"] for r in rows)
    assert got["INVALID_CREDENTIALS"] == wrong_pw
    assert got["USER_DOES_NOT_EXIST"] == sum(1 for e in raw if e.get("SubStatus", "").lower() == "0xc0000064")
    assert got["ACCOUNT_DISABLED"] == sum(1 for e in raw if e.get("SubStatus", "").lower() == "0xc0000072")
    assert {(r["auth_protocol"], r["is_legacy_protocol"], r["logon_type"]) for r in rows} == {
        ("ntlm", True, "3")
    }


def test_gzip_input_is_spooled(tmp_path: Path) -> None:
    path = dataset("windows-evtx/kerberos_pwd_spray_4771.evtx")
    gz = tmp_path / "k.evtx.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    plain, t1 = read(path)
    packed, t2 = read(gz, gz=True)
    assert [r["event_uid"] for r in plain] == [r["event_uid"] for r in packed]
    assert t2.records == t1.records == 12


def test_sniff() -> None:
    path = dataset("windows-evtx/kerberos_pwd_spray_4771.evtx")
    assert SRC.sniff(path.read_bytes()[:4096], path.name)
    assert not SRC.sniff(b"TimeGenerated,EventID,Computer\n", "x.csv")
    assert not SRC.sniff(b'{"Records":[]}', "x.json")


def test_not_an_evtx_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.evtx"
    bad.write_bytes(b"ElfFile\x00" + b"\x00" * 50)
    with pytest.raises(InputError):
        read(bad)


def _check_damaged(data: bytes, tmp: Path) -> None:
    path = tmp / "damaged.evtx"
    path.write_bytes(data)
    try:
        raw, errors = raw_events(path)
    except (OSError, RuntimeError):  # header unreadable: the reader must say so as an InputError
        with pytest.raises(InputError):
            read(path)
        return
    rows, tally = read(path)
    readable_auth = sum(1 for e in raw if e["id"] in (4624, 4625, 4648, 4768, 4771, 4776))
    # every record the parser could read is normalized or ignored; every error is quarantined
    assert len(rows) + tally.ignored + tally.quarantined == tally.records
    assert len(rows) <= readable_auth
    event_level = sum(1 for q in tally.quarantine if "EventData" in q.reason or "event XML" in q.reason)
    assert len(rows) + tally.ignored + event_level == len(raw)
    assert tally.quarantined >= errors


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 60), cut=st.floats(0.05, 1.0))
def test_damaged_copies_never_crash(tmp_path: Path, seed: int, flips: int, cut: float) -> None:
    src = dataset("windows-evtx/kerberos_pwd_spray_4771.evtx").read_bytes()
    rnd = random.Random(seed)
    data = bytearray(src[: max(8, int(len(src) * cut))])
    for _ in range(flips):
        i = rnd.randrange(len(data))
        data[i] = rnd.randrange(256)
    _check_damaged(bytes(data), tmp_path)


def test_damaged_large_sample(tmp_path: Path) -> None:
    src = bytearray(dataset("windows-evtx/password-spray.evtx").read_bytes())
    rnd = random.Random(7)
    for _ in range(40):  # scatter damage over the used chunks (header block left intact)
        i = rnd.randrange(0x1000, 0x1000 + 3 * 0x10000)
        src[i] ^= 0xFF
    _check_damaged(bytes(src), tmp_path)
