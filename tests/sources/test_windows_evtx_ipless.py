"""The EVTX reader on attempts without a source address and on Kerberos pre-authentication.

No real EVTX sample in ../shared/datasets has a 4625 with IpAddress '-', a 4776, a 4768 with
PreAuthType 0 or status 0x12 (recounted: kerberos_pwd_spray_4771.evtx has 4768 0x6 with
PreAuthType '-' and 0x0 with 2; smb-password-guessing-security.evtx has 4625 with an address and a
random WorkstationName per attempt; password-spray.evtx has 4648). So:

* the real samples test what they hold: a workstation name is kept but never replaces an
  address as the source, and a pre-authenticated ticket (PreAuthType 2) is a password check;
* the IP-less and no-pre-authentication cases go through the same reader method
  (``WindowsEvtx._record``) from events written in Microsoft's event XML
  (``wevtutil qe Security /f:xml``), turned into the evtx parser's JSON by :func:`evtx_json`,
  which is itself checked against the parser on every record of the real samples.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import evtx
import orjson
import pytest

from nightowl.detections.runner import run_all
from nightowl.schema import batch_from_rows
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.windows_evtx import SOURCES
from nightowl.store import Store
from tests.conftest import dataset
from tests.detections.events import by_detection

SRC = SOURCES[0]
XML = Path(__file__).resolve().parents[1] / "fixtures" / "windows" / "security_ipless_kerberos.xml"
NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
SAMPLES = (
    "windows-evtx/smb-password-guessing-security.evtx",
    "windows-evtx/kerberos_pwd_spray_4771.evtx",
    "windows-evtx/password-spray.evtx",
)
# the System fields the reader uses
SYSTEM_KEYS = ("EventID", "TimeCreated", "EventRecordID", "Computer")


def evtx_json(event: ET.Element) -> dict:
    """An <Event> element as the evtx parser renders it in JSON (System and EventData)."""
    system: dict = {}
    for child in event.find(f"{NS}System") or ():
        key = child.tag.removeprefix(NS)
        text = (child.text or "").strip()
        system[key] = {"#attributes": dict(child.attrib)} if child.attrib else text or None
    data = {d.get("Name"): d.text or "" for d in event.find(f"{NS}EventData") or ()}
    return {"Event": {"System": system, "EventData": data}}


def as_text(event: dict) -> dict:
    """The parts the reader reads, every value as text (the parser types some numbers)."""
    system, data = event["Event"]["System"], event["Event"].get("EventData") or {}
    return {
        "System": {k: str(system.get(k)) for k in SYSTEM_KEYS},
        "EventData": {k: "" if v is None else str(v) for k, v in data.items()},
    }


def read_xml(path: Path) -> tuple[list[dict], Tally]:
    tally = Tally()
    rows = []
    for n, event in enumerate(ET.parse(path).getroot().iter(f"{NS}Event"), 1):
        row = SRC._record({"event_record_id": n, "data": orjson.dumps(evtx_json(event))}, path.name, tally)
        if row is not None:
            rows.append(row)
    return rows, tally


def hunt(rows: list[dict]):
    with Store() as store:
        store.append(batch_from_rows(sorted(rows, key=lambda r: r["time"])))
        return run_all(store)


@pytest.mark.parametrize("sample", SAMPLES)
def test_xml_to_json_matches_the_evtx_parser_on_real_samples(sample: str) -> None:
    path = dataset(sample)
    parser_xml = evtx.PyEvtxParser(str(path)).records()
    parser_json = evtx.PyEvtxParser(str(path)).records_json()
    n = 0
    for x, j in zip(parser_xml, parser_json, strict=True):
        mine = evtx_json(ET.fromstring(x["data"].encode()))
        assert as_text(mine) == as_text(orjson.loads(j["data"])), x["event_record_id"]
        n += 1
    assert n > 10


def test_ipless_attempts_through_the_evtx_reader() -> None:
    rows, tally = read_xml(XML)
    assert (len(rows), tally.quarantined, tally.ignored) == (24, 0, 0)
    local = [r for r in rows if r["dst_host"] == "WS01"]
    assert len(local) == 16 and {r["activity_name"] for r in local} >= {"logon"}
    assert {(r["src_endpoint_ip"], r["src_endpoint_hostname"]) for r in local} == {(None, "kali")}
    ssh = [r for r in rows if r["dst_host"] == "SSHSRV01"]
    assert {(r["src_endpoint_ip"], r["src_endpoint_hostname"], r["logon_type"]) for r in ssh} == {
        (None, "sshsrv01", "8")
    }
    roast = next(r for r in rows if r["user_name"].endswith("svc_legacy"))
    assert (roast["status_id"], roast["password_correct"], roast["client_app"]) == (1, False, "no-preauth")
    alice = next(r for r in rows if r["user_name"].endswith("alice"))
    assert (alice["status_id"], alice["password_correct"]) == (1, True)
    revoked = [r for r in rows if r["status_code"] == "0x12"]
    assert len(revoked) == 3 and {r["status_detail"] for r in revoked} == {"ACCOUNT_DISABLED"}
    assert {r["src_endpoint_ip"] for r in revoked} == {"10.0.0.25"}


@pytest.mark.detection("bruteforce.burst", fires=True)
@pytest.mark.detection("kerberos.no_preauth", fires=True)
def test_ipless_events_from_the_evtx_reader_make_the_findings() -> None:
    findings = hunt(read_xml(XML)[0])
    (burst,) = by_detection(findings, "bruteforce.burst")
    assert burst.source_ips == ["host:kali"] and burst.counts["attempts"] == 16
    (roast,) = by_detection(findings, "kerberos.no_preauth")
    assert roast.severity == "low" and roast.users == ["contoso.com\\svc_legacy"]
    assert not by_detection(findings, "compromise.after_attack")
    assert not by_detection(findings, "lockout.wave")


def _read_real(sample: str) -> list[dict]:
    path = dataset(sample)
    tally = Tally()
    batches = SRC.read(InputFile(path.name, path), tally, ReadOptions())
    return [row for batch in batches for row in batch.to_pylist()]


def test_real_smb_guessing_keeps_workstation_names_but_the_address_is_the_source() -> None:
    """The attacker tool sends a random WorkstationName with every attempt: the names are kept,
    and the source stays the one address (keyed by name, 3,561 attempts would be ~1,800 sources)."""
    rows = _read_real("windows-evtx/smb-password-guessing-security.evtx")
    names = Counter(r["src_endpoint_hostname"] for r in rows)
    assert len(names) > 1000 and None not in names
    assert all(name == name.lower() for name in names)
    findings = hunt(rows)
    assert by_detection(findings, "bruteforce.single_account")
    assert {ip for f in findings for ip in f.source_ips} == {"192.168.198.149"}


@pytest.mark.detection("kerberos.no_preauth", fires=False)
def test_real_kerberos_spray_pre_authenticated_ticket_is_a_password_check() -> None:
    """4768 0x0 with PreAuthType 2 (encrypted timestamp) after the spray: the password was checked,
    so it is the spray's compromise, and no account is called roastable."""
    rows = _read_real("windows-evtx/kerberos_pwd_spray_4771.evtx")
    ok = [r for r in rows if r["status_id"] == 1]
    assert ok and all(r["password_correct"] is True and r["client_app"] != "no-preauth" for r in ok)
    findings = hunt(rows)
    assert not by_detection(findings, "kerberos.no_preauth")
