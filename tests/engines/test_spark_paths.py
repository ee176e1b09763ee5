"""Spark reads lakes and exports through Hadoop's file systems, so a URI (``file://`` here, ``s3a://``
or ``abfss://`` on a cluster) reads exactly what the plain path reads, and a scheme this Spark has no
connector for is one clear line naming the connector, not a Java stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightowl.ingest import ingest_paths
from nightowl.sources.base import InputError
from nightowl.store import Store

GRAPH = Path(__file__).resolve().parents[1] / "fixtures" / "entra" / "graph_v1.jsonl"


def _counts(spark, path: str) -> tuple[int, list[tuple]]:
    from nightowl.engines.spark import read_inputs

    tables, inputs = read_inputs(spark, [path])
    counts = [(i["format"], i["records"], i["normalized"], i["quarantined"]) for i in inputs]
    return tables["auth_events"].count(), counts


def test_a_file_uri_reads_what_the_plain_path_reads(spark, tmp_path):
    with Store() as store:
        ingest_paths(store, [str(GRAPH)])
        expected_rows = store.con.execute("SELECT count(*) FROM auth_events").fetchone()[0]
        store.write_lake(tmp_path / "lake")
    for path in (tmp_path / "lake", GRAPH):  # a lake, and a raw export
        plain = _counts(spark, str(path))
        assert plain[0] == expected_rows > 0
        assert _counts(spark, path.as_uri()) == plain


@pytest.mark.parametrize(
    ("uri", "connector"),
    [
        ("s3a://bucket/lake", "hadoop-aws:"),
        ("abfss://logs@account.dfs.core.windows.net/lake", "hadoop-azure:"),
    ],
)
def test_a_scheme_without_its_connector_is_one_line_naming_it(spark, uri, connector):
    from nightowl.engines.spark import read_inputs

    with pytest.raises(InputError) as err:
        read_inputs(spark, [uri])
    message = str(err.value)
    assert message.startswith(uri + ": this Spark cannot read")
    assert connector in message and "\n" not in message


@pytest.mark.parametrize("missing", ["/nonexistent/lake", "file:///nonexistent/lake", "/nonexistent/*/day=*"])
def test_a_path_that_matches_nothing_is_one_line(spark, missing):
    from nightowl.engines.spark import read_inputs

    with pytest.raises(InputError, match=r"^" + missing.replace("*", r"\*") + ": no such file or folder$"):
        read_inputs(spark, [missing])
