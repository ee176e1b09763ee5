"""The Spark engine: the same rules, translated from DuckDB's dialect to Spark SQL by sqlglot.

Each rule statement ``CREATE OR REPLACE TEMP TABLE name AS <query>`` becomes a DataFrame from the
translated query, checkpointed locally (materialized like DuckDB's temporary table, and its
lineage cut so the graph step's rounds do not pile up) and published as the temporary view
``name``. Parameters are written into the SQL as literals before translation. Only the last
SELECT of a rule (its findings) and a few counts come back to the driver; events and candidates
never do. Where sqlglot's output differs from DuckDB's meaning, :data:`REWRITES` fixes the
translated SQL in one place (see :func:`translate`), so no rule has a second copy.

Input: the normalized tables as Parquet (``nightowl ingest --parquet DIR`` writes
``DIR/<table>/day=YYYY-MM-DD/...``), local or on ``s3a://`` / ``abfss://``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import sys
from functools import lru_cache
from typing import Any

import pyarrow as pa

from nightowl.engines import _PARAM
from nightowl.engines.ipkeys import UDF_NAME, ip_keys_sql, source_key
from nightowl.sources.base import InputError

INSTALL_HINT = (
    "--engine spark needs PySpark 4 and Java 17+: pip install 'nightowl[spark]' "
    "(and e.g. apt-get install openjdk-17-jre-headless)"
)
TABLES = ("auth_events", "directory_audit", "mail_access", "accounts")


def require_spark() -> None:
    """Exit with one line (exit code 2) when PySpark or Java is missing."""
    import shutil

    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None

    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (
        java_home and os.path.exists(os.path.join(java_home, "bin", "java"))
    ):
        raise InputError(INSTALL_HINT)


def session(master: str | None = None, app_name: str = "nightowl"):
    """A SparkSession: the cluster's own when run by spark-submit / a Databricks or EMR job (the
    master and conf come from there), else a local one on ``master`` (default ``local[*]``)."""
    require_spark()
    from pyspark.sql import SparkSession

    _local_workers_use_this_python(master)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # Spark's warnings are no user's business on stdout/stderr
    configure(spark)
    conf = spark.sparkContext.getConf()
    if conf.get("spark.master", "").startswith("local") and not conf.contains("spark.sql.shuffle.partitions"):
        # 200 shuffle partitions (Spark's default, sized for clusters) make every small step of a rule
        # 200 tasks on one machine; a cluster's own setting (spark-submit --conf) is left alone
        spark.conf.set("spark.sql.shuffle.partitions", str(2 * spark.sparkContext.defaultParallelism))
    return spark


def _local_workers_use_this_python(master: str | None) -> None:
    """Spark starts its Python workers with ``python3`` from PATH unless told otherwise. For a local
    session that may be another interpreter than the one running nightowl (a pipx install, a virtual
    environment not activated), and the rules' address UDF then fails in the worker with "No module
    named 'nightowl'". A local session's workers therefore run this interpreter; an explicit
    PYSPARK_PYTHON, ``spark.pyspark.python`` (which Spark prefers to it) or a session started by
    spark-submit (its gateway is already running) are left alone."""
    if os.environ.get("PYSPARK_PYTHON") or os.environ.get("PYSPARK_GATEWAY_PORT"):
        return
    if master is None or master.startswith("local"):
        os.environ["PYSPARK_PYTHON"] = sys.executable


def configure(spark) -> None:
    """Session settings the rules' meaning depends on: UTC, timestamps without time zone (DuckDB's
    TIMESTAMP), ANSI off for DuckDB's lenient casts."""
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.timestampType", "TIMESTAMP_NTZ")
    spark.conf.set("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.conf.set("spark.sql.legacy.sizeOfNull", "false")  # size(NULL) is NULL, as DuckDB's len


def literal(value: Any) -> str:
    """A threshold value as a SQL literal (DOUBLE for fractions, as DuckDB binds a Python float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)"
    return "'" + str(value).replace("'", "''") + "'"


def bind(sql: str, params: dict[str, Any] | None) -> str:
    return _PARAM.sub(
        lambda m: literal((params or {})[m.group(1)]) if m.group(1) in (params or {}) else m.group(0), sql
    )


# DuckDB functions sqlglot passes through unchanged, as Spark SQL templates over the arguments.
FUNCTIONS: dict[str, str] = {
    "to_seconds": "make_dt_interval(0, 0, 0, {0})",
    "to_minutes": "make_dt_interval(0, 0, {0}, 0)",
    "to_hours": "make_dt_interval(0, {0}, 0, 0)",
    "to_days": "make_dt_interval({0}, 0, 0, 0)",
    # value -> count, keys sorted (Spark's histogram_numeric is something else); NULL values are not
    # counted, and no value at all gives NULL, as DuckDB's histogram does
    "histogram": "CASE WHEN count({0}) = 0 THEN NULL ELSE "
    "map_from_entries(transform(array_sort(array_distinct(collect_list({0}))), "
    "h -> struct(h, size(filter(collect_list({0}), w -> w = h))))) END",
}


INTERVAL_UNITS = {"to_seconds": "SECOND", "to_minutes": "MINUTE", "to_hours": "HOUR", "to_days": "DAY"}


def _spark(node) -> str:
    """A sub-expression in Spark SQL, with the rewrites applied inside it too."""
    return node.copy().transform(_rewrite).sql(dialect="spark")


def _parse(sql: str):
    import sqlglot

    return sqlglot.parse_one(sql, read="spark")


def _list_agg(agg, where: str = "") -> str:
    """DuckDB ``list([DISTINCT] x [ORDER BY k1, k2...]) [FILTER (WHERE c)]`` as a Spark expression
    that returns what DuckDB returns:
    - Spark's aggregates ignore ORDER BY: the values are collected in structs with their sort keys,
      sorted, and unwrapped (ascending keys only);
    - a NULL value stays in the list (Spark's ``collect_list`` drops NULLs, a struct holding one is
      kept);
    - NULL keys sort last, and a struct key field by field, each NULL last (DuckDB's default; Spark
      sorts NULLs first);
    - DISTINCT keeps each value once, at its first place in that order.
    Rows equal on every key come in the value's order, so a rule that wants one order on both engines
    breaks its ties with keys of its own. The FILTER (``where``) and the empty case are _filtered's."""
    from sqlglot import exp

    inner, order = agg.this, []
    if isinstance(inner, exp.Order):
        order = list(inner.expressions)
        inner = inner.this
    if any(o.args.get("desc") for o in order):
        raise ValueError(f"list(... ORDER BY ... DESC) has no Spark translation: {agg.sql()}")
    distinct = isinstance(inner, exp.Distinct)
    v = _spark(inner.expressions[0] if distinct else inner)
    keys = _sort_keys(order)
    fields = "".join(f"'k{i}', {k}, " for i, k in enumerate(keys))
    # a set for DISTINCT: partial aggregates drop repeats before the shuffle, as collect_set did
    collect = "collect_set" if distinct else "collect_list"
    collected = f"{collect}(named_struct({fields}'v', {v})){where}"
    if keys:
        collected = f"array_sort({collected})"
    values = f"transform({collected}, s -> s.v)"
    return f"array_distinct({values})" if distinct else values


def _sort_keys(order) -> list[str]:
    """Spark sort keys that order as DuckDB's ``ORDER BY`` does: each key (each field of a struct
    key) preceded by its NULL flag, so NULLs come last unless ``NULLS FIRST`` is asked."""
    from sqlglot import exp

    keys = []
    for o in order:
        k = o.this
        parts = (
            [p.expression for p in k.expressions]
            if isinstance(k, exp.Struct) and all(isinstance(p, exp.PropertyEQ) for p in k.expressions)
            else [k]
        )
        flag = "IS NOT NULL" if o.args.get("nulls_first") else "IS NULL"
        for part in parts:
            s = _spark(part)
            keys += [f"({s}) {flag}", s]
    return keys


def _filtered(aggregate: str, where: str) -> str:
    """DuckDB returns NULL, not an empty list or map, when a FILTER lets no row through."""
    return f"CASE WHEN count(*) {where} = 0 THEN NULL ELSE {aggregate} END"


def _rewrite(node):
    """sqlglot tree transform: what Spark spells or means differently from DuckDB."""
    from sqlglot import exp

    mapped = _rewrite_mapping(node)
    if mapped is not None:
        return mapped
    if isinstance(node, exp.ToDays):  # sqlglot knows to_days but not its Spark spelling
        node = exp.Anonymous(this="to_days", expressions=[node.this])
    if isinstance(node, exp.Anonymous) and node.name.lower() in INTERVAL_UNITS:
        (arg,) = node.expressions
        if isinstance(arg, exp.Literal):  # a literal interval (window frame bounds must be literals)
            return _parse(f"INTERVAL '{arg.this}' {INTERVAL_UNITS[node.name.lower()]}")
    if isinstance(node, exp.Anonymous) and node.name.lower() in FUNCTIONS:
        args = [_spark(a) for a in node.expressions]
        return _parse(FUNCTIONS[node.name.lower()].format(*args))
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        where = f" FILTER ({_spark(node.expression)})"
        return _parse(_filtered(_list_agg(node.this, where), where))
    if isinstance(node, exp.ArrayAgg) and not isinstance(node.parent, exp.Filter):
        return _parse(_list_agg(node))
    if (
        isinstance(node, exp.Bracket)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Slice)
    ):
        lo, hi = node.expressions[0].this, node.expressions[0].expression
        # DuckDB slices are 1-based and inclusive: l[1:5] is the first five
        return _parse(f"slice({_spark(node.this)}, {_spark(lo)}, {_spark(hi)} - {_spark(lo)} + 1)")
    if (
        isinstance(node, exp.Window)
        and isinstance(node.this, exp.Count)
        and isinstance(node.this.this, exp.Distinct)
    ):
        # Spark has no DISTINCT in window aggregates: the size of the window's set
        value = node.this.this.expressions[0]
        window = node.copy()
        window.set("this", _parse(f"collect_set({_spark(value)})"))  # no longer COUNT(DISTINCT)
        return _parse(f"size({_spark(window)})")
    if isinstance(node, exp.Flatten):
        # DuckDB's flatten skips NULL inner lists; Spark's returns NULL when one is NULL
        return _parse(f"flatten(filter({_spark(node.this)}, l -> l IS NOT NULL))")
    if isinstance(node, exp.Length):
        return _parse(f"size({_spark(node.this)})")  # rules use len() on lists only (lint: strlen for text)
    if isinstance(node, exp.ArgMin | exp.ArgMax) and node.args.get("count") is None:
        # DuckDB's arg_min/arg_max skip the rows whose value is NULL, Spark's min_by/max_by return it;
        # those rows' ordering becomes NULL, which Spark's min_by/max_by skip
        value, order = _spark(node.this), _spark(node.expression)
        name = "min_by" if isinstance(node, exp.ArgMin) else "max_by"
        return _parse(f"{name}({value}, CASE WHEN {value} IS NULL THEN NULL ELSE {order} END)")
    if isinstance(node, exp.Mode) and isinstance(node.this, exp.Order):
        return _parse(_mode(node.this))
    return node


def _mode(order) -> str:
    """DuckDB ``mode(x ORDER BY x)``: the most frequent value, ties to the smallest (DuckDB keeps the
    first value it is fed; plain ``mode(x)`` keeps whichever a thread saw first). Spark's
    ``mode(x, true)`` returns the lowest of tied values."""
    (ordered,) = order.expressions
    value = order.this
    if ordered.this != value or ordered.args.get("desc"):
        raise ValueError(f"mode({order.sql()}) has no Spark translation: only mode(x ORDER BY x)")
    return f"mode({_spark(value)}, true)"


def _rewrite_mapping(node):
    """The constructs of the sources' normalizing SQL (see :mod:`nightowl.sources.entra_codes`), so
    the raw-export reader on Spark runs the DuckDB readers' own mapping; None: not one of them."""
    from sqlglot import exp

    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # Spark has no (NOT) MATERIALIZED hint
        return node
    if isinstance(node, exp.Try):  # Spark's functions give NULL where DuckDB's would raise (ANSI off)
        return node.this.transform(_rewrite)  # (a replaced node's children are not visited again)
    if isinstance(node, exp.DataType) and node.is_type(exp.DataType.Type.TIMESTAMPTZ):
        # an instant: the session's timestampType makes plain TIMESTAMP the local (NTZ) one
        return exp.DataType.build("TIMESTAMP_LTZ", dialect="spark")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
        zone, value = node.expressions
        if isinstance(zone, exp.Literal) and zone.this.upper() == "UTC":  # the session zone is UTC
            return _parse(f"CAST({_spark(value)} AS TIMESTAMP_NTZ)")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        return _parse(f"({_spark(node.expressions[0])} IS NOT NULL)")  # Spark has no infinite times
    if isinstance(node, exp.RegexpLike) and node.args.get("flag") is not None:
        flag = node.args["flag"]
        if not isinstance(flag, exp.Literal) or set(flag.this) - set("i"):
            raise ValueError(f"regexp flag {flag.sql()} has no Spark translation")
        pattern = node.expression
        inline = "(?i)" + pattern.this if isinstance(pattern, exp.Literal) else None
        if inline is None:
            raise ValueError("a case-insensitive regexp needs a literal pattern")
        return exp.RegexpLike(this=node.this.transform(_rewrite), expression=exp.Literal.string(inline))
    if isinstance(node, exp.JSONType):  # only OBJECT / ARRAY are compared
        v = f"try_parse_json({_spark(node.this)})"
        p = _spark(node.expression)
        return _parse(
            f"CASE WHEN try_variant_get({v}, {p}, 'map<string,variant>') IS NOT NULL THEN 'OBJECT' "
            f"WHEN try_variant_get({v}, {p}, 'array<variant>') IS NOT NULL THEN 'ARRAY' "
            f"WHEN {v} IS NOT NULL THEN 'OTHER' END"
        )
    return None


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """One DuckDB statement (parameters already bound) in Spark SQL."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
    return tree.sql(dialect="spark")


def split_create(sql: str) -> tuple[str | None, str]:
    """``CREATE OR REPLACE TEMP TABLE name AS query`` -> (name, query); anything else -> (None, sql)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    if isinstance(tree, exp.Create) and tree.args.get("kind") == "TABLE" and tree.expression is not None:
        return tree.this.name, tree.expression.sql(dialect="duckdb")
    return None, sql


class SparkEngine:
    name = "spark"

    def __init__(self, spark, tables: dict[str, Any] | None = None) -> None:
        """``tables``: name -> DataFrame of the normalized tables (see :func:`read_parquet_tables`)."""
        self.spark = spark
        configure(spark)
        self._counts: dict[str, int] = {}
        for view in spark.catalog.listTables():  # one hunt per engine: no table of an earlier one
            if view.isTemporary:
                spark.catalog.dropTempView(view.name)
        for name, df in (tables or {}).items():
            df.createOrReplaceTempView(name)
        self._udf = False

    # -- the Engine protocol --------------------------------------------------------------------
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        name, query = split_create(bind(sql, params))
        if name is None:
            self.spark.sql(translate(query)).collect()
            return
        df = self.spark.sql(translate(query)).localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        df = self.spark.sql(translate(bind(sql, params)))
        names = df.columns
        return names, [tuple(_python(v) for v in row) for row in df.collect()]

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        names, rows = self.fetch(sql, params)
        return [dict(zip(names, r, strict=True)) for r in rows]

    def create_table(self, name: str, table: pa.Table) -> None:
        from pyspark.sql.types import StructField, StructType

        if table.num_rows:
            df = self.spark.createDataFrame(table)
        else:
            df = self.spark.createDataFrame(
                [], StructType([StructField(f.name, _spark_type(f.type)) for f in table.schema])
            )
        df.createOrReplaceTempView(name)

    def has_table(self, table: str) -> bool:
        return self.spark.catalog.tableExists(table)

    def ensure_table(self, table: str, schema: pa.Schema | None) -> None:
        """An empty table of ``schema`` where the lake has none (a rule hook's stand-in, as on DuckDB)."""
        if schema is not None and not self.has_table(table):
            self.create_table(table, schema.empty_table())

    def row_count(self, table: str) -> int:
        if table not in self._counts:
            self._counts[table] = self.spark.table(table).count() if self.has_table(table) else 0
        return self._counts[table]

    def event_count(self) -> int:
        return self.row_count("auth_events")

    def build_ip_keys(self) -> None:
        if not self._udf:
            self.spark.udf.register(UDF_NAME, source_key, "string")
            self._udf = True
        self.execute(ip_keys_sql(f"{UDF_NAME}(ip)"))


def read_parquet_tables(spark, root: str, from_day: dt.date | None = None) -> dict[str, Any]:
    """The normalized tables under ``root`` (``root/<table>/``), those that exist; sign-ins only from
    ``from_day`` on (the ``day=`` partitions before it are never read)."""
    tables = {}
    for name in TABLES:
        path = f"{root.rstrip('/')}/{name}"
        if not exists(spark, path):
            continue
        try:
            tables[name] = spark.read.parquet(path)
        except Exception as exc:  # AnalysisException: path does not exist
            if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                continue
            raise
    if "auth_events" in tables and "day" in tables["auth_events"].columns:
        events = tables["auth_events"]
        if from_day is not None:  # a partition filter: Spark lists and reads only those folders
            events = events.where(f"CAST(day AS STRING) >= '{from_day.isoformat()}'")
        tables["auth_events"] = events.drop("day")
    elif "auth_events" in tables and from_day is not None:
        tables["auth_events"] = tables["auth_events"].where(f"time >= TIMESTAMP_NTZ '{from_day.isoformat()}'")
    return tables


def spark_type_name(t: pa.DataType) -> str:
    """The Spark SQL name of an Arrow column type (for CASTs to the normalized schema)."""
    return _spark_type(t).simpleString()


CONNECTORS = {  # URI scheme -> the Hadoop connector that provides it ({v}: Spark's own Hadoop version)
    "s3a": "the hadoop-aws connector (spark-submit --packages org.apache.hadoop:hadoop-aws:{v}; "
    "EMR and Databricks ship it)",
    "abfs": "the hadoop-azure connector (spark-submit --packages org.apache.hadoop:hadoop-azure:{v}; "
    "Databricks, Synapse and Fabric ship it)",
    "gs": "the Cloud Storage connector (com.google.cloud.bigdataoss:gcs-connector; Dataproc ships it)",
}
CONNECTORS["abfss"] = CONNECTORS["wasb"] = CONNECTORS["wasbs"] = CONNECTORS["abfs"]


def check_readable(spark, path: str) -> None:
    """A clear :class:`InputError` where ``path`` (a path, URI or glob) matches nothing, or where Spark
    has no file system for its scheme (an ``s3a://`` lake on a Spark without hadoop-aws), instead of a
    Java stack trace."""
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    try:
        fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())
    except Exception as exc:  # Py4JJavaError: ClassNotFound / UnsupportedFileSystemException
        text = str(exc)
        if "ClassNotFoundException" not in text and "No FileSystem for scheme" not in text:
            raise
        scheme = path.split("://", 1)[0].lower() if "://" in path else "file"
        version = jvm.org.apache.hadoop.util.VersionInfo.getVersion()
        needs = CONNECTORS.get(scheme, f"a Hadoop file system for {scheme}://").format(v=version)
        raise InputError(f"{path}: this Spark cannot read {scheme}:// paths; it needs {needs}") from None
    if not fs.globStatus(hpath):  # None or empty: nothing there
        raise InputError(f"{path}: no such file or folder")


def exists(spark, path: str) -> bool:
    """Whether ``path`` exists, asked of Hadoop's file system for its scheme (local, s3a, abfss)."""
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return bool(hpath.getFileSystem(spark._jsc.hadoopConfiguration()).exists(hpath))


def _spark_type(t: pa.DataType):
    from pyspark.sql import types as T

    if pa.types.is_timestamp(t):
        return T.TimestampNTZType()
    if pa.types.is_boolean(t):
        return T.BooleanType()
    if pa.types.is_integer(t):
        return T.LongType()
    if pa.types.is_floating(t):
        return T.DoubleType()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return T.ArrayType(_spark_type(t.value_type))
    return T.StringType()


def _python(value: Any) -> Any:
    """Spark's Python values as DuckDB's: Row -> dict, Decimal -> float/int."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: _python(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_python(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent >= 0
            else float(value)
        )
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def hunt_lake(
    paths: list[str],
    config: dict[str, Any] | None = None,
    master: str | None = None,
    secrets: list | None = None,
    input_format: str | None = None,
    from_day: dt.date | None = None,
    history: Any = None,
) -> tuple[list, list[dict[str, Any]], dict[str, Any] | None]:
    """Every detection and the exposure join on Spark: (findings, inputs report, overview). Each path
    is a normalized Parquet lake (``nightowl ingest --parquet``) or raw sign-in exports (Graph JSON,
    diagnostic-settings blobs; see :mod:`nightowl.engines.spark_raw`); ``history``: the takeover
    profiles an incremental hunt carries (:mod:`nightowl.detections.profile_history`)."""
    from nightowl.overview import overview
    from nightowl.pipeline import detect

    lake_paths, logs = split_credential_logs(paths) if secrets else (paths, [])
    if not lake_paths:
        raise InputError(
            "hunt --engine spark: give sign-in exports or a Parquet lake besides the credential logs"
        )
    spark = session(master)
    tables, inputs = read_inputs(spark, lake_paths, input_format, from_day)
    engine = SparkEngine(spark, tables)
    findings = detect(engine, config, history=history)
    ov = overview(engine) if engine.has_table("auth_events") else None
    if secrets:
        findings, used_inputs = secret_use_locally(findings, secrets, logs)
        inputs += used_inputs
    return findings, inputs, ov


CREDENTIAL_LOG_FORMATS = (
    "github-audit-json",
    "github-audit-csv",
    "aws-cloudtrail-json",
    "aws-cloudtrail-csv",
)


def split_credential_logs(paths: list[str]) -> tuple[list[str], list[str]]:
    """(paths for Spark, local credential-use logs): a local file that is a GitHub audit log or
    CloudTrail goes to the secret-use join on this machine (those logs are small next to sign-ins)."""
    from pathlib import Path

    from nightowl import sources
    from nightowl.sources.base import InputFile

    spark_paths, logs = [], []
    for raw in paths:
        path = Path(raw)
        fmt = None
        if "://" not in raw and path.is_file():
            try:
                fmt = sources.detect(InputFile(path.name, path, gzip=path.suffix == ".gz")).name
            except InputError:
                fmt = None
        (logs if fmt in CREDENTIAL_LOG_FORMATS else spark_paths).append(raw)
    return spark_paths, logs


def secret_use_locally(findings: list, secrets: list, logs: list[str]) -> tuple[list, list[dict[str, Any]]]:
    """The secret-use join (detections/secret_use.py) of Spark's findings with the credential logs,
    in a local DuckDB store: it needs only the attack findings' addresses and those small logs."""
    from nightowl.detections.secret_use import secret_use
    from nightowl.findings import sort_findings
    from nightowl.ingest import ingest_paths
    from nightowl.store import Store

    with Store() as local:
        reports = ingest_paths(local, logs)
        used = secret_use(local, findings + secrets)
    return sort_findings(findings + secrets + used), [r.to_contract() for r in reports]


def read_inputs(
    spark, paths: list[str], input_format: str | None = None, from_day: dt.date | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The normalized tables from lakes and raw exports under ``paths`` (merged), and the inputs report;
    sign-ins from ``from_day`` on when given (see :mod:`nightowl.incremental`)."""
    from functools import reduce

    from nightowl.engines.spark_raw import read_signins

    tables: dict[str, list] = {}
    inputs: list[dict[str, Any]] = []
    raw = []
    for path in paths:
        check_readable(spark, path)
        lake = {} if input_format else read_parquet_tables(spark, path, from_day)
        if not lake:
            raw.append(path)
            continue
        rows = lake["auth_events"].count() if "auth_events" in lake else 0  # from Parquet footers
        inputs.append({"path": path, "format": "nightowl-parquet", "records": rows, "normalized": rows,
                       "ignored": 0, "quarantined": 0})  # fmt: skip
        for name, df in lake.items():
            tables.setdefault(name, []).append(df)
    if raw:
        events, report = read_signins(spark, raw, input_format, from_day)
        inputs += report
        if events is not None:
            tables.setdefault("auth_events", []).append(events)
    if not tables:
        raise InputError(
            f"{paths[0]}: neither a nightowl Parquet lake (`nightowl ingest --parquet DIR`) "
            "nor Entra sign-in exports (Graph JSON, diagnostic settings)"
        )
    merged = {
        n: reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), dfs) for n, dfs in tables.items()
    }
    return merged, inputs
