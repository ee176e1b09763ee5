"""The cheaper forms of two normalizing expressions give what the plain forms give, value for value,
on the edges the cheap tests rely on (issue 9: the clean-NDJSON fast path's CPU).

- ``_trimmed_lower`` skips ``trim`` for values that start and end with printable ASCII: DuckDB's trim
  strips every Unicode space separator (no-break space, ideographic space...), not only ' '.
- the MFA_SKIPPED search is guarded by ``contains(lower(x), 'due to')``: a case-insensitive match
  may use the long s for 's' (so the guard avoids that letter), never a non-ASCII partner of d/u/e/t/o."""

from __future__ import annotations

import duckdb
import pytest

from nightowl.sources import entra_codes

SPACES = [" ", "\u00a0", "\u1680", "\u2000", "\u200a", "\u202f", "\u205f", "\u3000", "\t"]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    yield c
    c.close()


def _same(con, values, new: str, old: str) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[v] for v in values])
    diff = con.execute(f"SELECT x, {new}, {old} FROM v WHERE ({new}) IS DISTINCT FROM ({old})").fetchall()
    assert diff == []
    # the edges are real: some values need the slow branch
    assert con.execute(f"SELECT count(DISTINCT {old}) FROM v").fetchone()[0] > 1


def test_trimmed_lower_is_lower_nullif_trim(con):
    values = [None, "", "A", "Ab-C9", "ÄB", "aÄ", "Äa", "x" * 40, "é"]
    values += [f"{s}{v}" for s in SPACES for v in ("AbC", "")] + [f"AbC{s}" for s in SPACES]
    values += [f"{s}AbC{s}" for s in SPACES] + ["A\u0301", "\u0301A", "a b", "~!", "!~"]
    _same(con, values, entra_codes._trimmed_lower("x"), "lower(nullif(trim(x), ''))")


def test_guarded_mfa_skipped_search_is_the_search(con):
    base = ["MFA requirement skipped due to IP address", "MFA requirement skipped due to location"]
    values = [None, "", "MFA requirement satisfied by claim in the token", "MFA completed in Azure AD"]
    values += base + [v.upper() for v in base] + [v.lower() for v in base] + [f"x {v} y" for v in base]
    values += ["MFA requirement \u017fkipped due to IP address", "MFA requirement skipped DUE TO location"]
    values += ["mfa requirement skipped due to ip", "due to"]
    new = f"CASE WHEN {entra_codes._MAY_BE_SKIPPED.replace('mfa_result', 'x')} THEN "
    new += f"regexp_matches(x, {entra_codes.MFA_SKIPPED}, 'i') END IS TRUE"
    _same(con, values, new, f"regexp_matches(coalesce(x, ''), {entra_codes.MFA_SKIPPED}, 'i')")
