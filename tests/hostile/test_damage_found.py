"""What the damage property (test_damage.py) found, each pinned as a plain test: the examples it
shrank to, so they fail on the old readers whatever hypothesis draws next."""

from __future__ import annotations

from tests.hostile.damage import BOM, FIXTURES, fixtures
from tests.hostile.test_damage import READERS, _reference, ingest


def _fixture(reader: str, label: str):
    index = next(i for i, fx in enumerate(fixtures(reader)) if fx.label == label)
    return index, fixtures(reader)[index]


def test_a_bom_before_a_syslog_or_journal_line_costs_nothing():
    for reader, label in (
        ("sshd-syslog", "sshd/pam_rhel_secure.log"),
        ("sshd-journal-json", "sshd/journal_sshd.json"),
    ):
        index, fx = _fixture(reader, label)
        tally, rows = ingest(reader, BOM + fx.file())
        want_tally, want = _reference(reader, index, None)
        assert (tally.records, rows) == (want_tally.records, want), reader  # the first line was lost


def test_blank_lines_are_no_records_in_line_readers():
    for reader, label in (
        ("sshd-syslog", "sshd/pam_rhel_secure.log"),
        ("sshd-journal-json", "sshd/journal_sshd.json"),
        ("aws-cloudtrail-json", None),
    ):
        if label is None:  # CloudTrail as one record a line
            data = b"\n\n".join(
                fixtures(reader)[0].encode(r).replace(b"\n", b"") for r in fixtures(reader)[0].records
            )
            n = len(fixtures(reader)[0].records)
        else:
            fx = _fixture(reader, label)[1]
            data, n = fx.prefix + (fx.sep + b"\n \n").join(fx.units) + fx.suffix, len(fx.records)
        tally, _ = ingest(reader, data)
        assert tally.records == n, (reader, tally.ignored_reasons)  # each blank line was an ignored record


def test_a_journal_entry_repeated_in_the_file_is_stored_once():
    index, fx = _fixture("sshd-journal-json", "sshd/journal_sshd.json")
    units = fx.units
    data = fx.prefix + fx.sep.join([*units, *units[:5]]) + fx.suffix  # overlapping exports joined
    tally, rows = ingest("sshd-journal-json", data)
    assert rows == _reference("sshd-journal-json", index, None)[1]
    assert tally.records == len(units) + 5


def test_a_lone_quote_at_the_end_of_a_csv_is_a_damaged_row_not_nothing():
    fx = fixtures("windows-securityevent-csv")[0]
    tally, _ = ingest("windows-securityevent-csv", fx.prefix + b'"')
    assert (tally.records, tally.quarantined) == (1, 1)


def test_a_json_value_with_garbage_after_it_is_one_damaged_record():
    index, fx = _fixture("aws-cloudtrail-json", "cloudtrail/console_logins.json (pretty)")
    units = fx.units
    data = fx.prefix + fx.sep.join([b"0\x00", *units]) + fx.suffix
    tally, rows = ingest("aws-cloudtrail-json", data)
    assert (tally.records, tally.quarantined) == (len(units) + 1, 1)  # was 2 quarantined: "0", then "\0"
    assert rows == _reference("aws-cloudtrail-json", index, None)[1]


def test_a_one_line_array_cut_in_its_first_record_quarantines_one_record():
    """The objects nested in the cut record (its conditional-access policies) are no records."""
    fx = _fixture("entra-graph-powershell", "entra_powershell/signins_ps7.json (one line)")[1]
    data = fx.file()
    cut = data.index(b'"Result"') + 20  # inside the first record's first policy, after it
    tally, _ = ingest("entra-graph-powershell", data[:cut])
    assert (tally.records, tally.quarantined) == (1, 1), tally.quarantine


def test_a_stray_nul_is_not_utf16():
    fx = _fixture("entra-graph-powershell", "entra_powershell/signins_ps7.json (one line)")[1]
    units = fx.units
    tally, _ = ingest("entra-graph-powershell", fx.prefix + fx.sep.join([b"\x00", *units]) + fx.suffix)
    assert tally.records == len(units) + 1 and tally.quarantined == 1  # was the whole file, as UTF-16


def test_a_diagnostic_blob_cut_in_its_first_record_is_one_quarantined_record():
    fx = fixtures("entra-diagnostic-json")[0]
    tally, _ = ingest("entra-diagnostic-json", fx.prefix + b"{")  # was: InputError (DuckDB's JSON error)
    assert (tally.records, tally.quarantined) == (1, 1)


def test_an_oversized_first_line_after_a_bom_is_one_record():
    fx = fixtures("sshd-journal-json")[0]
    huge = fx.huge(fx.records[0], (1 << 20) + 100)
    tally, _ = ingest("sshd-journal-json", BOM + fx.sep.join([huge, *fx.units[1:]]) + fx.suffix)
    assert tally.records == len(fx.units)  # the line's tail past the first MiB was a record of its own


def test_a_damaged_first_record_does_not_turn_ndjson_into_a_document():
    """A byte garbled in the first line made the file look pretty-printed: read as one document, a
    record cut off later swallowed the line after it (14 records counted for 15)."""
    index, fx = _fixture("entra-graph-json", "entra/graph_v1.jsonl")
    data = fx.file()
    tally, rows = ingest("entra-graph-json", data[:1] + b"\x00" + data[1:])
    want_tally, want = _reference("entra-graph-json", index, tuple(range(1, len(fx.records))))
    assert tally.records == len(fx.records)
    assert rows == want
    assert [q.position for q in tally.quarantine] == ["line 1"] + [
        f"line {int(q.position.split()[1]) + 1}" for q in want_tally.quarantine
    ]


def test_a_stray_bracket_before_the_first_record_costs_that_record_only():
    """'[' written over the space before a records array's first '{': the stray array ran to the
    records array's own ']' and the whole blob was one quarantined record (train 1's suite). Pretty:
    the first record is quarantined with the bracket, the others read; one line: the bracket alone is
    quarantined and every record read."""
    _, reference = ingest("entra-diagnostic-json", fixtures("entra-diagnostic-json")[0].file())
    for pretty, records, lost in ((True, 7, 1), (False, 8, 0)):
        fx = fixtures("entra-diagnostic-json")[0 if pretty else 1]
        units = list(fx.units)
        units[0] = b"[" + units[0]
        tally, rows = ingest("entra-diagnostic-json", fx.prefix.rstrip(b" ") + fx.sep.join(units) + fx.suffix)
        assert (tally.records, tally.quarantined) == (records, 1), pretty
        assert len(rows) == tally.normalized == len(reference) - lost, pretty


def test_a_stray_bracket_line_before_json_lines_is_one_quarantined_record():
    """'[' alone on the first line of an NDJSON file (the damage property's garbage draw): the
    Python JSON readers took the file for an array with every comma missing and the line vanished
    from the counts (9 records of 10); the DuckDB reader quarantined it. Every JSON-lines fixture of
    every reader: the line is quarantined, every record read as in the clean file."""
    checked = []
    for reader in (r for r in READERS if not isinstance(FIXTURES[r], str)):  # EVTX: binary
        for index, fx in enumerate(fixtures(reader)):
            if fx.kind != "lines" or fx.prefix or not fx.label.endswith((".jsonl", ".json")):
                continue
            want_tally, want = _reference(reader, index, None)
            tally, rows = ingest(reader, b"[\n" + fx.file())
            assert (tally.records, tally.quarantined) == (
                want_tally.records + 1,
                want_tally.quarantined + 1,
            ), (reader, fx.label)
            assert any(q.position.split(" ")[:2] == ["line", "1"] for q in tally.quarantine), (
                reader,
                fx.label,
            )
            assert rows == want, (reader, fx.label)
            checked.append(reader)
    assert {"office365-audit-json", "entra-audit-json", "github-audit-json", "entra-graph-json"} <= set(
        checked
    )


def test_a_brace_inserted_in_a_pretty_record_is_no_record_of_its_own():
    """A garbled last record of an Azure Monitor export: a NUL before its ``{`` and a ``{`` inserted
    before its closing ``}`` (``{}`` at the records' indentation). The empty object that the
    inserted brace makes is not a record: the damaged record is one quarantined record, as it was
    one record in the file (it had counted twice, once quarantined and once as an ignored ``{}``)."""
    reader = "entra-diagnostic-json"
    index, fx = _fixture(reader, "entra/diagnostic_signins_records.json (pretty)")
    last = fx.units[-1]
    end = last.rstrip().rfind(b"}")
    garbled = b"\x00" + last[:end] + b"{" + last[end:]
    data = fx.prefix + fx.sep.join([*fx.units[:-1], garbled]) + fx.suffix
    tally, rows = ingest(reader, data)
    assert tally.records == len(fx.units) and tally.quarantined == 1, tally
    assert rows == _reference(reader, index, tuple(range(len(fx.units) - 1)))[1]
