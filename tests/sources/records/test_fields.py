"""Value coercions for Python-mapped records: hostile values give None or text, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nightowl.sources.records import fields

JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


def test_dynamic_columns_and_text():
    assert fields.dyn('{"a": 1}') == {"a": 1}
    assert fields.dyn('"True"') == "True"
    assert fields.dyn("{broken") == "{broken"
    assert fields.text({"b": [1]}) == '{"b":[1]}'
    assert fields.text("  ") is None and fields.text("\x00a\x00") == "a"
    assert fields.text("x" * 10, limit=3) == "xxx"
    assert fields.lower(" Alice@X.COM ") == "alice@x.com"


def test_booleans_first_and_ids():
    assert [fields.boolean(v) for v in (True, "Yes", "0", 1, "maybe")] == [True, True, False, True, None]
    assert fields.first({"a": "", "b": None, "c": 3}, "a", "b", "c") == 3
    assert (
        fields.first_guid("x 0A3D5B3C-1111-2222-3333-444455556666 y")
        == "0a3d5b3c-1111-2222-3333-444455556666"
    )
    assert fields.content_uid({"a": 1, "b": 2}) == fields.content_uid({"b": 2, "a": 1})


@given(JSONISH)
def test_coercions_never_raise(value):
    fields.dyn(value)
    fields.text(value)
    fields.lower(value)
    fields.boolean(value)
    fields.content_uid(value)
