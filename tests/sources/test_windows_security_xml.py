"""Windows Security events as XML (wevtutil qe /f:xml, Get-WinEvent ToXml, Splunk XmlWinEventLog):
the real EVTX samples' own XML (the evtx parser renders each record as wevtutil does) read in every
layout must give the EVTX reader's rows; hostile XML is quarantined record by record, never expanded."""

from __future__ import annotations

from pathlib import Path

import evtx
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import schema
from nightowl.sources import windows_evtx, windows_security_xml
from nightowl.sources.base import ReadOptions
from nightowl.sources.windows_security_xml import SOURCES
from tests.conftest import dataset
from tests.sources.test_windows_evtx_ipless import XML as WEVTUTIL_FIXTURE
from tests.sources.test_windows_evtx_ipless import read_xml
from tests.sources.test_windows_security_json import read, sniffed

SRC = SOURCES[0]
ONE_A_LINE = Path(__file__).resolve().parents[1] / "fixtures" / "windows" / "security_xmlwineventlog.xml"
EVTX_SAMPLES = ["password-spray.evtx", "kerberos_pwd_spray_4771.evtx", "smb-password-guessing-security.evtx"]


def events(rows: list[dict]) -> list[dict]:
    """Rows without where they were read (the uid stays: the same computer:record id as the EVTX's)."""
    return [{k: v for k, v in r.items() if k not in ("record_ref", "source_format")} for r in rows]


def layouts(xml: list[str]) -> dict[str, bytes]:
    """The events as each tool writes them."""
    one_line = [x.replace("\n", "") for x in xml]
    return {
        "splunk one a line": ("\n".join(one_line) + "\n").encode(),
        "wevtutil back to back": "".join(xml).encode(),
        "wevtutil /e:Events": (
            '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n' + "\n".join(xml) + "\n</Events>\n"
        ).encode(),
        "Windows PowerShell > (UTF-16)": b"\xff\xfe" + "\r\n".join(one_line).encode("utf-16-le"),
    }


@pytest.mark.parametrize("sample", EVTX_SAMPLES)
def test_real_evtx_samples_as_xml_read_like_the_evtx(sample: str, tmp_path: Path) -> None:
    path = dataset(f"windows-evtx/{sample}")
    expected, _ = read(windows_evtx.SOURCES[0], path)
    xml = [r["data"] for r in evtx.PyEvtxParser(str(path)).records()]
    for name, data in layouts(xml).items():
        out = tmp_path / "security.xml"
        out.write_bytes(data)
        assert sniffed(out) == ["windows-security-xml"], name
        rows, tally = read(SRC, out)
        assert tally.quarantined == 0, (name, tally.quarantine[:2])
        assert tally.normalized + tally.ignored == len(xml), name
        assert events(rows) == events(expected), name


def test_wevtutil_fixture_reads_like_the_evtx_mapping_of_the_same_events() -> None:
    expected, _ = read_xml(WEVTUTIL_FIXTURE)
    as_rows = pa.Table.from_batches([schema.batch_from_rows(expected)], schema=schema.AUTH_SCHEMA).to_pylist()
    for path in (WEVTUTIL_FIXTURE, ONE_A_LINE):
        assert sniffed(path) == ["windows-security-xml"], path.name
        rows, tally = read(SRC, path)
        assert tally.quarantined == tally.ignored == 0 and len(rows) == 24, path.name
        assert events(rows) == events(as_rows), path.name
    # record_ref names the line each event starts on
    rows, _ = read(SRC, ONE_A_LINE)
    assert [r["record_ref"] for r in rows[:3]] == [f"{ONE_A_LINE.name}:{n}" for n in (1, 2, 3)]


def _lines() -> list[str]:
    return [ln for ln in ONE_A_LINE.read_text().splitlines() if ln.strip()]


def test_hostile_xml_is_quarantined_record_by_record_never_expanded(tmp_path: Path) -> None:
    good = _lines()
    laughs = '<!DOCTYPE Event [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + good[
        1
    ].replace("<EventRecordID>", "<EventRecordID>&b;")
    external = good[2].replace(
        "<Computer>", '<Computer><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;'
    )
    cut_short = good[3][: good[3].index("</Event>")]  # no end tag: the next event still reads
    data = "\n".join([good[0], laughs, external, "junk that is no event", cut_short, good[4], good[5]]) + "\n"
    out = tmp_path / "hostile.xml"
    out.write_text(data)
    rows, tally = read(SRC, out)
    assert len(rows) == 3  # good[0], good[4], good[5]
    # each event is parsed alone, from its <Event: a DOCTYPE in front of one on its line is damage of
    # that record, whose undeclared entity then fails to parse (one quarantined record)
    assert tally.quarantined == 4 and tally.records == 7
    reasons = " | ".join(q.reason for q in tally.quarantine)
    assert "unreadable event XML" in reasons and "not a Windows event" in reasons and "cut short" in reasons
    assert all("aaaaaaaaaa" * 10 not in str(r) and "root:" not in str(r) for r in rows)


def test_an_event_longer_than_the_limit_is_quarantined_and_the_next_one_read(tmp_path: Path) -> None:
    good = _lines()
    huge = good[0].replace("</EventData>", f'<Data Name="Padding">{"A" * 300_000}</Data></EventData>')
    out = tmp_path / "huge.xml"
    out.write_text("\n".join([huge, good[1]]) + "\n")
    rows, tally = read(SRC, out, ReadOptions(max_line_bytes=100_000))
    assert len(rows) == 1 and tally.quarantined == 1
    assert "longer than" in tally.quarantine[0].reason


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    units=st.lists(
        st.one_of(st.integers(0, 23), st.text(alphabet="abc xyz#;:", min_size=1, max_size=30)),
        min_size=1,
        max_size=12,
    ),
    chunk=st.integers(1, 400),
)
def test_any_chunking_reads_the_same_and_accounts_every_record(
    units: list, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and junk lines in any order, read in chunks of any size: every event read (repeats of
    one event are the same event), each run of junk lines one quarantined record."""
    good = _lines()
    text = "\n".join(good[u] if isinstance(u, int) else u for u in units) + "\n"
    out = tmp_path / "any.xml"
    out.write_text(text)
    monkeypatch.setattr(windows_security_xml, "CHUNK_CHARS", chunk)
    rows, tally = read(SRC, out)
    junk_runs, in_junk = 0, False
    for u in units:  # text between two events is one record, blank lines and all
        if isinstance(u, int):
            in_junk = False
        elif u.strip() and not in_junk:
            junk_runs, in_junk = junk_runs + 1, True
    assert len(rows) == sum(isinstance(u, int) for u in units)
    assert tally.quarantined == junk_runs
    monkeypatch.setattr(windows_security_xml, "CHUNK_CHARS", 1 << 20)
    whole, _ = read(SRC, out)
    assert rows == whole


def test_text_glued_to_an_event_on_its_line_is_that_events_damage(tmp_path: Path) -> None:
    """A stray byte in front of an event, or text after its end on the same line, belongs to that
    event's record (one record, still read); only text on lines of its own is a record of its own."""
    good = _lines()
    out = tmp_path / "glued.xml"
    out.write_text("\n".join(["\x00" + good[0], good[1] + " trailing", "a line of its own", good[2]]) + "\n")
    rows, tally = read(SRC, out)
    assert len(rows) == 3 and tally.quarantined == 1 and tally.records == 4
    assert tally.quarantine[0].position == "line 3"
