"""SQL fragments the DuckDB record readers share: literals, and the bookkeeping every normalizing
query ends with (why a record is rejected, its excerpt, whether it is ignored, where it was).

Values from a file are never formatted into SQL: they are bound as parameters or staged as Arrow
tables. :func:`sql_str` is for our own constants (code tables, reasons, column paths).
"""

from __future__ import annotations

import re

MIN_YEAR, MAX_YEAR = 1900, 2999  # anything else is a garbled timestamp, not an event
# pre_reject marker of a line that holds an array or a Graph page: expanded in a second pass.
CONTAINER = "<container>"
BLANK = "<blank>"  # pre_reject marker of an empty line: not a record, dropped silently
# pre_reject marker of a line holding an array or page that does not parse: split in Python,
# record by record (see json_recover), so one damaged record does not cost the line's others.
DAMAGED_CONTAINER = "<damaged container>"


def duckdb_text(path: str) -> str | None:
    """``path`` when DuckDB can take it (UTF-8); None when it holds bytes that are not (a file
    name decoded with surrogate escapes: DuckDB takes no bytes, bound or literal)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return path


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)
_SIZE_UNITS = {"b": 1} | {
    f"{u}{i}b": (1024 if i else 1000) ** (n + 1) for n, u in enumerate("kmgt") for i in ("", "i")
}


def duckdb_size_bytes(text: str) -> int | None:
    """Bytes in a size as DuckDB takes and shows it (``384MB``, ``366.2 MiB``); None for any other text."""
    size = _SIZE.match(text)
    return None if size is None else int(float(size.group(1)) * _SIZE_UNITS[size.group(2).lower()])


def shown_text(value: str) -> str:
    """``value`` as UTF-8 text, each byte that is not UTF-8 replaced by U+FFFD (a file name for
    ``record_ref``)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def sql_str(value: str) -> str:
    """A SQL string literal of one of our own constants."""
    return "'" + value.replace("'", "''") + "'"


def literal(value: object) -> str:
    """A SQL literal of a constant: NULL, a string, TRUE/FALSE or a number."""
    if value is None:
        return "NULL"
    return sql_str(value) if isinstance(value, str) else str(value).upper()


def in_list(values: object) -> str:
    """``'a', 'b', 3``: the items of a SQL list literal."""
    return ", ".join(sql_str(v) if isinstance(v, str) else str(v) for v in values)  # type: ignore[attr-defined]


AMBIGUOUS_TIME = "ambiguous time (day or month first?)"


def reject_sql(no_user_ok: str = "FALSE", ambiguous_time: str = "FALSE") -> str:
    """Why a record cannot be normalized (NULL when it can): the same rule for every JSON sign-in
    source. Needs ``pre_reject``, ``ign`` (ignored, not rejected), ``ts`` and ``uname``;
    ``no_user_ok`` is SQL that is true for records that have no user by nature (an app's sign-in);
    ``ambiguous_time`` is SQL that is true when the time is a slash date that reads both ways
    (see :func:`slash_time`)."""
    return f"""CASE WHEN pre_reject IS NOT NULL THEN pre_reject
         WHEN ign IS NOT NULL THEN NULL
         WHEN ts IS NULL AND ({ambiguous_time}) THEN {sql_str(AMBIGUOUS_TIME)}
         WHEN ts IS NULL THEN 'no parseable time'
         WHEN NOT (year(ts) BETWEEN {MIN_YEAR} AND {MAX_YEAR}) THEN 'time out of range'
         WHEN uname IS NULL AND NOT ({no_user_ok}) THEN 'no user name' END"""


def excerpt_sql(rej: str = "rej") -> str:
    """The quarantine excerpt; a container line is kept whole for its second pass."""
    whole = f"({sql_str(CONTAINER)}, {sql_str(DAMAGED_CONTAINER)})"
    return f"CASE WHEN {rej} IN {whole} THEN raw WHEN {rej} IS NOT NULL THEN left(raw, 400) END"


# the bookkeeping columns every JSON reader's normalizing query ends with (see json_duckdb.JsonFormat)
BOOKKEEPING_SQL = f"""rej AS _reject,
  {excerpt_sql()} AS _excerpt,
  CASE WHEN pre_reject IS NULL THEN ign END AS _ignore,
  lineno AS _lineno,
  sub AS _sub,
  k AS _k"""


def utc_time(expr: str) -> str:
    """A text time as a UTC timestamp; NULL when it does not parse or is infinite ('INF' casts to
    infinity, which no reader can use and Python cannot hold): the record is then 'no parseable time'."""
    ts = f"try_cast(({expr}) AS TIMESTAMPTZ)"
    # make_timestamp(epoch_us(ts)) is the same at half the cost, but the Spark engine reads raw
    # exports through this SQL and has no translation for it yet
    return f"CASE WHEN isfinite({ts}) THEN timezone('UTC', {ts}) END"


# A US-style slash time as the Azure portal, Log Analytics CSV and .NET (Event Hub envelopes) write it:
# "3/5/2024, 2:07:11.123 PM", "11/14/2025 1:48:53 AM", "12/31/2024 23:59:59". No backslashes: the
# pattern goes to Spark too (spark_raw), whose string literals would eat them.
_SLASH = (
    "'^ *([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}),? +([0-9]{1,2}):([0-9]{2})(:([0-9]{2}))?"
    "([.][0-9]{1,7})? *([AaPp][Mm])? *$'"
)


def slash_time(expr: str) -> tuple[str, str]:
    """(ISO text, ambiguous) SQL for a text time that may be a slash date.

    The ISO text is ``expr`` itself unless it is a slash date read one way only: a number above 12
    says which is the day; otherwise an AM/PM clock is en-US, month first (the portal's and .NET's
    en-US form); the same number twice reads the same both ways. A 24-hour slash date whose two
    numbers are both 12 or under and differ reads both ways: ``ambiguous`` is true and the ISO text
    NULL (the record is quarantined, never given a guessed date). The time is UTC (Azure Monitor's
    envelope and the portal's ``[UTC]`` columns). An impossible date or hour gives text no cast
    reads: 'no parseable time'."""

    def g(i: int) -> str:
        return f"regexp_extract({expr}, {_SLASH}, {i})"

    is_slash = f"(contains({expr}, '/') AND {g(0)} <> '')"
    a, b = f"try_cast({g(1)} AS INTEGER)", f"try_cast({g(2)} AS INTEGER)"
    ampm = f"upper({g(9)})"
    both_small = f"({a} <= 12 AND {b} <= 12)"
    ambiguous = f"({is_slash} AND {both_small} AND {a} <> {b} AND {ampm} = '')"
    month_first = f"({b} > 12 OR {both_small})"
    month = f"CASE WHEN {month_first} THEN {a} ELSE {b} END"
    day = f"CASE WHEN {month_first} THEN {b} ELSE {a} END"
    hour = f"try_cast({g(4)} AS INTEGER)"
    hour24 = (
        f"CASE WHEN {ampm} = '' THEN {hour} WHEN {hour} < 1 OR {hour} > 12 THEN 99 "
        f"WHEN {ampm} = 'PM' THEN {hour} % 12 + 12 ELSE {hour} % 12 END"
    )

    def two(v: str) -> str:
        return f"lpad(CAST({v} AS VARCHAR), 2, '0')"

    iso = (
        f"{g(3)} || '-' || {two(month)} || '-' || {two(day)} || 'T' || {two(hour24)} || ':' || {g(5)} || ':' "
        f"|| CASE WHEN {g(7)} = '' THEN '00' ELSE {g(7)} END || {g(8)} || 'Z'"
    )
    # CASE tests its conditions in order, each on the rows still undecided: the regular expressions
    # run on slash times only (AND/OR in a projection evaluate both sides on every row: an ISO time
    # paid for nine regexp_extract calls, 1.8 s of CPU per million records)
    text = (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN NOT contains({expr}, '/') THEN {expr} "
        f"WHEN {g(0)} = '' THEN {expr} WHEN {ambiguous} THEN NULL ELSE {iso} END"
    )
    return text, f"CASE WHEN contains({expr}, '/') THEN coalesce({ambiguous}, FALSE) ELSE FALSE END"
