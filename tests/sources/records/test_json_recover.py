"""Record-level recovery: whatever one record's damage, the others come back exactly."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nightowl.sources.records.json_recover import DAMAGED, TRUNCATED, Lines, located, split_values

RECORD = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "user": st.text(max_size=12),
        "n": st.integers(0, 10**6),
        "nested": st.fixed_dictionaries(
            {"code": st.integers(0, 99), "list": st.lists(st.integers(), max_size=3)}
        ),
    }
)


def test_valid_documents_split_as_before():
    text = '[\n {"a": 1},\n {"a": 2}\n]\n{"value": [{"b": 1}]}'
    pieces = list(split_values(text))
    assert [p.value for p in pieces] == [{"a": 1}, {"a": 2}, {"value": [{"b": 1}]}]
    assert [p.element for p in pieces] == [True, True, False]
    assert [p.index for p in pieces] == [1, 2, None]


def test_damaged_page_keeps_the_others_and_tail():
    text = '{"@odata.context": "x", "value": [{"id": 1}, {"id": 2, oops}, {"id": 3}], "@odata.nextLink": "y"}\n[{"id": 4}]'
    got = [(p.value, p.problem) for p in split_values(text)]
    assert got == [({"id": 1}, None), (None, DAMAGED), ({"id": 3}, None), ({"id": 4}, None)]


def test_positions_and_bytes():
    text = '[\n  {"a": "é"},\n  {"a": x},\n  {"a": 3}\n]'
    locs = list(located(text))
    assert [loc.where for loc in locs] == ["line 2 record 1", "line 3 record 2", "line 4 record 3"]
    assert locs[1].reason.startswith(DAMAGED) and "at byte 19" in locs[1].reason
    assert Lines("ab\ncd").at(4) == (2, 4)


def test_bare_bracket_is_one_invalid_record():
    assert [loc.reason for loc in located("[", at_line=7)] == ["invalid JSON"]
    assert list(located("[]")) == []


@settings(max_examples=80, deadline=None)
@given(
    recs=st.lists(RECORD, min_size=2, max_size=12),
    pretty=st.booleans(),
    page=st.booleans(),
    which=st.integers(0, 11),
    cut_at=st.floats(0.05, 0.95),
    damage=st.sampled_from(['"', "{", "}", "]", ",", "\x00", "", '"x":', "[["]),
)
def test_one_damaged_record_never_costs_another(recs, pretty, page, which, cut_at, damage):
    which %= len(recs)
    texts = [json.dumps(r, indent=2 if pretty else None).replace("\n", "\n  ") for r in recs]
    sep, open_, close = (",\n  ", "[\n  ", "\n]") if pretty else (",", "[", "]")
    before = open_ + sep.join(texts[:which]) + (sep if which else "")
    own = texts[which]
    at = 1 + int((len(own) - 2) * cut_at)  # strictly inside the record's braces
    own = own[:at] + damage + own[at + 1 :]
    body = before + own + (sep if which < len(recs) - 1 else "") + sep.join(texts[which + 1 :]) + close
    text = '{"value": ' + body + "}" if page else body
    pieces = list(split_values(text))
    good = [p.value for p in pieces if p.problem is None and p.element]
    good += [r for p in pieces if p.problem is None and not p.element for r in p.value["value"]]
    others = [r for i, r in enumerate(recs) if i != which]
    assert all(r in good for r in others)  # no good record lost
    # the damage may leave a valid prefix of its record and a stray value: never more
    assert len(pieces) <= len(recs) + 2


@settings(max_examples=40, deadline=None)
@given(recs=st.lists(RECORD, min_size=1, max_size=8), pretty=st.booleans(), cut=st.floats(0.0, 1.0))
def test_truncation_costs_only_the_cut_record(recs, pretty, cut):
    text = json.dumps(recs, indent=2 if pretty else None)
    at = int(len(text) * cut)
    pieces = list(split_values(text[:at]))
    complete = [
        r
        for r in recs
        if text.index(json.dumps(r["id"])) + len(json.dumps(r, indent=2 if pretty else None)) < at - 2
    ]
    good = [p.value for p in pieces if p.problem is None]
    assert all(r in good for r in complete[:-1])
    assert sum(p.problem == TRUNCATED for p in pieces) <= 1
