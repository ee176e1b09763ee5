"""Damage in front of a pretty-printed array's first record costs that record only.

The records of a pretty-printed array are found again after damage by their indentation, taken
from the first record's line. Garbage inserted there (a tab and a NUL before the first ``{``, as
the hostile property found in a Log Analytics export) used to become the indentation looked for,
so no later record matched and the whole array was one quarantined record."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nightowl.sources.records.json_recover import split_values

RECORD = st.fixed_dictionaries(
    {
        "Id": st.uuids().map(str),
        "UserPrincipalName": st.text(max_size=12),
        "Status": st.fixed_dictionaries({"errorCode": st.integers(0, 99999)}),
        "Policies": st.lists(st.fixed_dictionaries({"id": st.integers()}), max_size=3),
    }
)


def test_a_nul_before_the_first_record_keeps_the_others():
    recs = [{"Id": str(i), "Nested": [{"a": i}, {"b": i}]} for i in range(4)]
    text = json.dumps(recs, indent=2).replace("[\n  {", "[\n  \t\x00{", 1)
    pieces = list(split_values(text))
    assert [p.value for p in pieces if p.problem is None] == recs[1:]
    assert sum(p.problem is not None for p in pieces) == 1


@settings(max_examples=60, deadline=None)
@given(
    recs=st.lists(RECORD, min_size=2, max_size=8),
    indent=st.sampled_from([1, 2, 4]),
    garbage=st.text(  # bytes that do not close the array (a "]" there ends it: another document)
        st.sampled_from(" \t\x00#x\"'"), min_size=1, max_size=4
    ).filter(lambda g: g.strip(" \t") != ""),
)
def test_garbage_before_the_first_record_costs_only_that_record(recs, indent, garbage):
    text = json.dumps(recs, indent=indent)
    first = text.index("{")
    text = text[:first] + garbage + text[first:]
    pieces = list(split_values(text))
    good = [p.value for p in pieces if p.problem is None and p.element]
    assert all(r in good for r in recs[1:])


def test_a_quote_in_the_first_record_does_not_hide_the_next_one():
    """One-line array: a stray quote in the first record unbalances the strings, and a quote
    escaped in the next record's value then looked like the end of a string to the depth count,
    so resuming skipped that record (the property in test_json_recover found it)."""
    recs = [
        {"id": "a", "user": "", "n": 0},
        {"id": "b", "user": '"', "n": 0},
        {"id": "c", "user": "", "n": 0},
    ]
    first = json.dumps(recs[0])
    first = first[:8] + '"' + first[9:]  # a quote where the record had another character
    text = "[" + ",".join([first, *map(json.dumps, recs[1:])]) + "]"
    for doc in (text, '{"value": ' + text + "}"):
        pieces = list(split_values(doc))
        good = [p.value for p in pieces if p.problem is None and p.element]
        assert good == recs[1:], doc


def test_a_lost_quote_in_the_first_record_does_not_end_the_array_at_a_nested_one():
    """One-line Graph page: the first record's first quote garbled (``{\\x00id": ...``) flips every
    string after it, and the depth count took an object nested in that record (the second of its
    ``modifiedProperties``) for the next record; the nested array's ``]`` then ended the page and
    every later record was quarantined with it (the hostile damage property found it on CI, on
    tests/fixtures/cloud/graph_directory_audits_chain.json). The escaped quotes in the values
    (``"\\"Test\\""``, as Entra writes modified properties) are what misled the count."""
    recs = [
        {"id": f"r{i}", "props": [{"name": "Name", "old": '"Test"', "new": '"Test App"'},
                                  {"name": "Updated", "old": None, "new": '"Name"'}],
         "details": [{"key": "User-Agent", "value": "Mozilla/5.0"}]}
        for i in range(4)
    ]  # fmt: skip
    text = json.dumps({"@odata.context": "c", "value": recs})
    text = text.replace('[{"id"', '[{\x00id"', 1)
    pieces = list(split_values(text))
    assert [p.value for p in pieces if p.problem is None] == recs[1:]
    assert sum(p.problem is not None for p in pieces) == 1


def _page(records: list[dict]) -> str:
    """A one-line CloudTrail file: ``{"Records": [...]}``."""
    return json.dumps({"Records": records})


TRAIL = [
    {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accessKeyId": f"AKIA{i}", "userName": "deploy-bot"},
        "eventTime": f"2024-12-06T10:3{i}:00Z",
        "eventName": "GetCallerIdentity",
        "sourceIPAddress": "203.0.113.25",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
    }
    for i in range(4)
]


def test_a_brace_inserted_before_a_member_of_the_first_record_keeps_the_others():
    """``{"userName": ...}`` cut out of the first record parses and is followed by ``,``: it was taken
    for the next record, its keys became the ones to resync by, and every real record was lost."""
    text = _page(TRAIL).replace('"userName"', '{"userName"', 1)
    pieces = list(split_values(text))
    assert [p.value for p in pieces if p.problem is None] == TRAIL[1:]
    assert sum(p.problem is not None for p in pieces) == 1


def test_an_object_cut_from_the_first_records_end_is_not_a_record():
    """``true,{ "recipientAccountId": ...}, {next record`` (and a second garble before it): the small
    object was counted as a record of its own beside the damaged one."""
    text = _page(TRAIL).replace('"sourceIPAddress"', '"sourceIPAddress"h', 1)
    text = text.replace('true, "recipientAccountId"', 'true,{ "recipientAccountId"', 1)
    pieces = list(split_values(text))
    assert [p.value for p in pieces if p.problem is None] == TRAIL[1:]
    assert sum(p.problem is not None for p in pieces) == 1


def test_a_stray_bracket_before_the_first_record_keeps_every_record():
    text = _page(TRAIL).replace('[{"eventVersion"', '[]{"eventVersion"', 1)
    assert [p.value for p in split_values(text) if p.problem is None] == TRAIL


def test_a_stray_bracket_and_a_control_byte_before_the_first_record_cost_that_record_only():
    """``"value": [\n    ]\x00{`` (a 300-example run of the damage property, Graph
    userRegistrationDetails): the ']' ended the records and every record was quarantined as one."""
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x", "value": TRAIL}
    for indent in (None, 4):
        text = json.dumps(page, indent=indent)
        text = (
            text.replace("[\n        {", "[\n        ]\x00{", 1)
            if indent
            else text.replace("[{", "[]\x00{", 1)
        )
        pieces = list(split_values(text, open_containers=True))
        assert [p.value for p in pieces if p.problem is None] == TRAIL[1:]
        assert sum(p.problem is not None for p in pieces) == 1


def test_a_value_glued_to_the_front_of_a_record_costs_no_record():
    """``[\n  0{...}`` (a 300-example damage run, Graph beta array): the ``0`` parsed as an element
    of its own, quarantined as no object, and the record after it was read too: two for one."""
    for indent in (None, 2):
        for glued in ("0", "true", '"x"', "[]"):
            text = json.dumps(TRAIL, indent=indent).replace("{", glued + "{", 1)
            assert [(p.value, p.problem) for p in split_values(text)] == [(r, None) for r in TRAIL]
    # an element that is no object, with its comma, is still quarantined as a record of its own
    text = json.dumps([0, *TRAIL])
    assert [p.value for p in split_values(text)] == [0, *TRAIL]


def test_an_empty_records_array_followed_by_json_is_empty_and_undamaged():
    for text in ('{"value": [], "@odata.nextLink": "x"}', "[]\n[]", '{"Records": []}'):
        pieces = list(split_values(text, open_containers=True))
        assert pieces == [], text


def test_a_stray_quote_in_front_of_the_first_record_costs_no_record():
    """``[", {...}, ...]``: the quote and the record's first key parse as the string ``", {"``, and the
    record was swallowed into the damage after it."""
    text = json.dumps(TRAIL).replace("[{", '[", {', 1)
    pieces = list(split_values(text))
    assert [p.value for p in pieces if p.problem is None] == TRAIL
    assert sum(p.problem is not None for p in pieces) == 1


def test_a_stray_comma_in_front_of_the_first_record_is_no_record():
    text = json.dumps(TRAIL).replace("[{", "[,{", 1)
    assert [(p.value, p.problem) for p in split_values(text)] == [(r, None) for r in TRAIL]


@settings(max_examples=60, deadline=None)
@given(
    at=st.integers(0, len(TRAIL)),
    stray=st.text(st.sampled_from(", \t\n"), min_size=1, max_size=5).filter(lambda s: "," in s),
    indent=st.sampled_from([None, 2]),
)
def test_stray_separators_anywhere_in_an_array_are_no_record(at, stray, indent):
    """'[,,{', '}, ,, {' and '}, ,, ]' hold no record, wherever they sit (the hostile property found
    a pretty array's ',,' before its first record counted as nothing but after its last as one)."""
    units = [json.dumps(r, indent=indent) for r in TRAIL]
    units.insert(at, stray)
    sep = ",\n  " if indent else ", "
    text = "[\n  " + sep.join(units) + "\n]" if indent else "[" + sep.join(units) + "]"
    assert [(p.value, p.problem) for p in split_values(text)] == [(r, None) for r in TRAIL]
