"""DuckDB-to-Spark translation of the constructs the readers' mapping uses (no Spark needed)."""

from __future__ import annotations

import pytest


def test_try_unwraps_and_still_translates_what_it_wraps():
    pytest.importorskip("sqlglot")
    from nightowl.engines.spark import translate

    sql = translate("SELECT try(json_type(rec, '$.properties')) AS t FROM r")
    assert "JSON_TYPE" not in sql.upper() and "TRY(" not in sql.upper()
    assert "TRY_VARIANT_GET(TRY_PARSE_JSON(rec), '$.properties', 'map<string,variant>')" in sql
