"""Raw Entra sign-in exports read by Spark where they sit in a lake: Microsoft Graph ``signIn`` JSON
(NDJSON, one page or array per line, pretty-printed files) and Azure Monitor diagnostic-settings
blobs (``.../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json``: one record a line or ``{"records": [...]}``),
local paths or ``s3a://`` / ``abfss://`` URIs handed to Spark's own reader.

Spark splits the files into records (lines; a container line's elements; a pretty-printed file
read whole) and extracts each format's JSON paths from one parse (a VARIANT); from there the
DuckDB readers' own normalizing SQL (:mod:`nightowl.sources.entra_codes`, the formats'
:class:`~nightowl.sources.records.json_duckdb.JsonFormat`) runs, translated by sqlglot: the
mapping has one source of truth. Records are counted as DuckDB counts them (normalized, ignored
with a reason, quarantined with a reason and an excerpt); overlapping exports add an event once
(same ``event_uid`` and format).

Differences from the local reader, by design: ``record_ref`` is ``file:event id`` (Spark does not
number lines of a split file), and a damaged Graph page costs its whole line.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from nightowl.schema import COLUMNS
from nightowl.sources.entra_diagnostic import DIAGNOSTIC
from nightowl.sources.entra_graph import GRAPH
from nightowl.sources.records.json_duckdb import JsonFormat
from nightowl.sources.records.sql import sql_str

FORMATS: dict[str, JsonFormat] = {"entra-graph-json": GRAPH, "entra-diagnostic-json": DIAGNOSTIC}
DUPLICATE_REASON = "duplicate event (already read from another record)"
SAMPLE = 20
BOM = "\ufeff"
# the keys of an object holding a page of records (Graph pages, diagnostic-settings blobs)
ENVELOPES = ("value", "records")


def read_signins(
    spark, paths: list[str], input_format: str | None = None, from_day: date | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """(auth_events DataFrame, materialized; the inputs report) from raw exports under ``paths``;
    with ``from_day``, sign-ins from that day on, and diagnostic-settings blobs of earlier days
    (``y=/m=/d=`` folders) are not read at all."""
    from pyspark.sql import functions as F

    if input_format is not None and input_format not in FORMATS:
        from nightowl.sources.base import InputError

        raise InputError(
            f"--engine spark reads {', '.join(FORMATS)} exports (or a Parquet lake), not {input_format}"
        )
    lines = (
        spark.read.option("recursiveFileLookup", "true")
        .text(paths)
        .select(
            F.regexp_replace("value", "^" + BOM, "").alias("line"), F.col("_metadata.file_path").alias("file")
        )
    )
    if from_day is not None:
        lines = lines.where(_from_day_files(from_day))
    files = _file_kinds(lines, input_format)
    docs = [f for f, (doc, _) in files.items() if doc]
    if docs:  # pretty-printed files: whole, one value each
        lines = lines.filter(~F.col("file").isin(docs)).unionByName(
            spark.read.text(
                docs, wholetext=True
            ).select(  # (an .option would be overridden by text()'s default)
                F.col("value").alias("line"), F.col("_metadata.file_path").alias("file")
            )
        )
    parts, reports = [], []
    for name, fmt in FORMATS.items():
        mine = [f for f, (_, kind) in files.items() if kind == name]
        if not mine:
            continue
        view = f"_nightowl_records_{name.replace('-', '_')}"
        _records(lines.filter(F.col("file").isin(mine)), fmt).createOrReplaceTempView(view)
        parts.append(_normalized(spark, fmt, view))
    if not parts:
        return None, [{"path": p, "format": None, "records": 0, "normalized": 0, "ignored": 0,
                       "quarantined": 0, "skipped": "no sign-in export found"} for p in paths]  # fmt: skip
    mapped = parts[0]
    for p in parts[1:]:
        mapped = mapped.unionByName(p)
    from pyspark import StorageLevel

    mapped = mapped.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        reports = _report(mapped, paths)
        good = mapped.filter("_reject IS NULL AND _ignore IS NULL").selectExpr(*_columns())
        events = _deduplicated(good).localCheckpoint(eager=True)
        _count_duplicates(reports, mapped, events)
    finally:
        mapped.unpersist()
    if from_day is not None:  # after the counts: records of earlier days were read, not duplicates
        events = events.where(f"time >= TIMESTAMP_NTZ '{from_day.isoformat()}'")
    return events, reports


def _from_day_files(from_day: date) -> str:
    """SQL: the file is not in a dated storage folder (``.../y=YYYY/m=MM/d=DD/...``) of a day before
    ``from_day``."""
    day = r"regexp_extract(file, 'y=([0-9]{{4}})/m=([0-9]{{2}})/d=([0-9]{{2}})/', {})"
    when = f"concat({day.format(1)}, '-', {day.format(2)}, '-', {day.format(3)})"
    return f"({day.format(1)} = '' OR {when} >= '{from_day.isoformat()}')"


def _file_kinds(lines, input_format: str | None) -> dict[str, tuple[bool, str]]:
    """file -> (pretty-printed, format name), from string tests on every line (no JSON parse): a file
    with no line that holds a whole object or array is pretty-printed; a file whose lines carry Azure
    Monitor's envelope (``operationName``, ``category``, ``properties``) is diagnostic settings."""
    t = "trim(line)"
    whole = (
        f"(length({t}) > 2 AND ((startswith({t}, '{{') AND endswith({t}, '}}')) "
        f"OR (startswith({t}, '[') AND endswith({t}, ']'))))"
    )
    marks = ("operationName", "category", "properties")
    rows = (
        lines.selectExpr(
            "file",
            f"CAST({whole} AS INT) AS whole",
            *(f"CAST(contains(line, '\"{m}\"') AS INT) AS {m}" for m in marks),
        )
        .groupBy("file")
        .agg({"whole": "max", **{m: "max" for m in marks}})
        .collect()
    )
    kinds = {}
    for row in rows:
        diagnostic = all(row[f"max({m})"] for m in marks)
        kind = input_format or ("entra-diagnostic-json" if diagnostic else "entra-graph-json")
        kinds[row["file"]] = (not row["max(whole)"], kind)
    return kinds


def _records(lines, fmt: JsonFormat):
    """The ``records`` relation the DuckDB mapping reads (rec, raw, pre_reject, lineno, sub, k, f),
    plus the file: a line's value, or each element of a line that is an array or a page."""
    arrays = ", ".join(
        ["try_variant_get(v, '$', 'array<variant>')"]
        + [f"try_variant_get(v, '$.{e}', 'array<variant>')" for e in ENVELOPES]
    )
    parsed = (
        lines.selectExpr("file", "trim(line) AS t")
        .filter("t <> ''")
        .selectExpr("file", "t", "try_parse_json(t) AS v")
    )
    split = parsed.selectExpr("file", "t", "v", f"coalesce({arrays}) AS els")
    one = split.selectExpr(
        "file", "t", "v", "els",
        "posexplode(CASE WHEN els IS NULL OR size(els) = 0 THEN array(CAST(NULL AS VARIANT)) ELSE els END) AS (pos, e)",
    ).filter("els IS NULL OR size(els) > 0")  # fmt: skip
    paths = ", ".join(f"variant_get(ve, {sql_str(p)}, 'string')" for p in fmt.paths)
    return one.selectExpr(
        "file",
        "CASE WHEN els IS NULL THEN t ELSE to_json(e) END AS rec",
        "CASE WHEN els IS NULL THEN v ELSE e END AS ve",
        "CASE WHEN els IS NULL THEN NULL ELSE pos + 1 END AS k",
    ).selectExpr(
        "file",
        "rec",
        "rec AS raw",
        "CAST(NULL AS BIGINT) AS lineno",
        "CAST(NULL AS BIGINT) AS sub",
        "k",
        f"CASE WHEN ve IS NOT NULL THEN array({paths}) END AS f",
        "CASE WHEN ve IS NULL THEN 'invalid JSON' WHEN NOT startswith(rec, '{') THEN 'not a JSON object' "
        "END AS pre_reject",
    )


def _normalized(spark, fmt: JsonFormat, view: str):
    """The format's own normalizing SQL (DuckDB dialect) on Spark; the file rides along through its
    first step (``raw``) to the output as ``_file``, with ``record_ref`` (file name : event id, or
    the record's hash when it has none)."""
    import sqlglot
    from sqlglot import exp

    from nightowl.engines.spark import translate

    tree = sqlglot.parse_one(translate(fmt.normalize(f"SELECT * FROM {view}")), read="spark")
    raw = next(c for c in tree.find_all(exp.CTE) if c.alias == "raw").this
    raw.select("file", "hex(xxhash64(rec)) AS rec_hash", dialect="spark", copy=False)
    tree.select(
        "file AS _file",
        "concat(regexp_extract(file, '[^/]*$', 0), ':', coalesce(nullif(event_id, ''), 'h' || rec_hash)) "
        "AS record_ref",
        dialect="spark",
        copy=False,
    )
    return spark.sql(tree.sql(dialect="spark"))


def _columns() -> list[str]:
    from nightowl.engines.spark import spark_type_name

    return [f"CAST({name} AS {spark_type_name(typ)}) AS {name}" for name, typ, _, _ in COLUMNS]


def _deduplicated(good):
    """One row per (event_uid, source_format); rows without an id are all kept."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("event_uid", "source_format").orderBy("record_ref")
    ranked = good.withColumn("_n", F.when(F.col("event_uid").isNull(), 1).otherwise(F.row_number().over(w)))
    return ranked.filter("_n = 1").drop("_n")


def _report(mapped, paths: list[str]) -> list[dict[str, Any]]:
    """The inputs report, one entry per format read (Spark reads all paths as one input)."""
    rows = (
        mapped.selectExpr("source_format", "_reject", "_ignore")
        .groupBy("source_format", "_reject", "_ignore")
        .count()
        .collect()
    )
    samples = (
        mapped.filter("_reject IS NOT NULL")
        .selectExpr("source_format", "_file", "_reject", "_excerpt")
        .limit(SAMPLE)
        .collect()
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        e = out.setdefault(r["source_format"], _entry(paths, r["source_format"]))
        e["records"] += r["count"]
        if r["_reject"] is not None:
            e["quarantined"] += r["count"]
        elif r["_ignore"] is not None:
            e["ignored"] += r["count"]
            e["ignored_reasons"][r["_ignore"]] += r["count"]
        else:
            e["normalized"] += r["count"]
    for s in samples:
        out[s["source_format"]].setdefault("quarantine_sample", []).append(
            {"position": s["_file"], "reason": s["_reject"], "excerpt": s["_excerpt"]}
        )
    return list(out.values())


def _entry(paths: list[str], fmt: str) -> dict[str, Any]:
    return {"path": ", ".join(paths), "format": fmt, "records": 0, "normalized": 0, "ignored": 0,
            "quarantined": 0, "ignored_reasons": Counter()}  # fmt: skip


def _count_duplicates(reports: list[dict[str, Any]], mapped, events) -> None:
    """Rows dropped as duplicates move from normalized to ignored, as the local ingest counts them."""
    kept = dict(events.groupBy("source_format").count().collect())
    for e in reports:
        dropped = e["normalized"] - kept.get(e["format"], 0)
        if dropped > 0:
            e["normalized"] -= dropped
            e["ignored"] += dropped
            e["ignored_reasons"][DUPLICATE_REASON] += dropped
        e["ignored_reasons"] = dict(e["ignored_reasons"].most_common())
        if not e["ignored_reasons"]:
            del e["ignored_reasons"]
