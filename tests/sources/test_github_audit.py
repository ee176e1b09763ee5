"""GitHub audit log: fixtures written from GitHub's documented audit-log event fields (REST page,
streaming file, CSV download), read through auto-detection into ``credential_uses``."""

from __future__ import annotations

import base64
import gzip
import hashlib
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nightowl import audit_schema, sources
from nightowl.ingest import ingest_paths
from nightowl.sources.base import InputFile, ReadOptions, Tally
from nightowl.sources.github_audit import SOURCES, hashed_token, use_row
from nightowl.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
PAGE, STREAM, CSV = (
    FIXTURES / "org_audit_log_page.json",
    FIXTURES / "enterprise_stream.jsonl",
    FIXTURES / "audit_log_export.csv",
)
TOKEN = "ghp_Nw8kQ2vR7tLx4mZp9sYc3bHf6jDa1eGu5iKo"  # fake; its hash is in the fixtures
TOKEN_HASH = base64.b64encode(hashlib.sha256(TOKEN.encode()).digest()).decode()


def read(path: Path, gz: bool = False) -> tuple[list[dict], Tally]:
    inp = InputFile(path.name, path, gzip=gz)
    src = sources.detect(inp)
    tally = Tally()
    batches = list(src.read(inp, tally, ReadOptions()))
    rows = pa.Table.from_batches(batches, audit_schema.CREDENTIAL_USES_SCHEMA).to_pylist() if batches else []
    tally.normalized = len(rows)
    return rows, tally


def test_rest_page_maps_token_fields() -> None:
    rows, tally = read(PAGE)
    assert tally.records == tally.normalized == 4 and tally.quarantined == 0
    clone = next(r for r in rows if r["action"] == "git.clone")
    assert clone["credential_hash"] == TOKEN_HASH
    assert clone["credential_id"] == "7766001"
    assert clone["credential_type"] == "Personal access token (classic)"
    assert (clone["actor"], clone["src_ip"], clone["src_country"]) == ("octo-dev", "203.0.113.25", "NL")
    assert (clone["resource"], clone["account"], clone["api"]) == (
        "example-org/payments-api",
        "example-org",
        "git",
    )
    assert clone["time"].isoformat() == "2024-12-06T10:15:00"
    # a hex digest in an export is stored in GitHub's own base64 form
    fetch = next(r for r in rows if r["action"] == "git.fetch")
    assert fetch["credential_hash"] == TOKEN_HASH
    # a web-UI action has no token but keeps the actor's address (the owner's history)
    web = next(r for r in rows if r["action"] == "repo.create")
    assert web["credential_hash"] is None and web["actor"] == "octo-dev" and web["src_ip"] == "198.51.100.7"


def test_streaming_file_gzip_and_csv_download(tmp_path: Path) -> None:
    gz = tmp_path / "2024-12-06T10-20-00.json.gz"
    gz.write_bytes(gzip.compress(STREAM.read_bytes()))
    rows, tally = read(gz, gz=True)
    assert tally.normalized == 3
    push = next(r for r in rows if r["action"] == "git.push")
    assert (push["credential_type"], push["transport"], push["account"]) == ("SSH key", "ssh", "example-org")
    enterprise = next(r for r in rows if r["action"].startswith("business."))
    assert enterprise["account"] == "example-corp" and enterprise["resource"] is None

    rows, tally = read(CSV)
    assert tally.normalized == 2
    clone = next(r for r in rows if r["action"] == "git.clone")
    assert (clone["credential_hash"], clone["src_country"]) == (TOKEN_HASH, "NL")
    assert next(r for r in rows if r["action"] == "repo.create")["credential_hash"] is None


def test_formats_are_detected() -> None:
    names = {p.name: sources.detect(InputFile(p.name, p)).name for p in (PAGE, STREAM, CSV)}
    assert names == {
        PAGE.name: "github-audit-json",
        STREAM.name: "github-audit-json",
        CSV.name: "github-audit-csv",
    }


def test_bad_records_are_quarantined_with_reasons(tmp_path: Path) -> None:
    good = orjson.loads(PAGE.read_bytes())[0]
    lines = [
        orjson.dumps(good),
        orjson.dumps({**good, "_document_id": "a", "action": None}),
        orjson.dumps({**good, "_document_id": "b", "@timestamp": "yesterday", "created_at": None}),
        orjson.dumps({**good, "_document_id": "c", "hashed_token": "not a hash"}),
        b'{"action": "git.clone", "actor": trunc',
    ]
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _, tally = read(path)
    assert tally.normalized == 1 and tally.quarantined == 4
    reasons = " | ".join(q.reason for q in tally.quarantine)
    assert "no action" in reasons and "@timestamp" in reasons and "hashed_token" in reasons


def test_ingest_fills_credential_uses_and_accounts_every_record(tmp_path: Path) -> None:
    folder = tmp_path / "gh"
    folder.mkdir()
    for p in (PAGE, STREAM):
        shutil.copy(p, folder / p.name)
    with Store() as store:
        reports = ingest_paths(store, [str(folder)])
        assert sum(r.tally.normalized for r in reports) == 7
        assert store.row_count("credential_uses") == 7
        # the same events again, in the CSV download: nothing is added twice
        again = ingest_paths(store, [str(CSV)])[0]
        assert again.tally.normalized == 0 and again.tally.ignored == 2
        assert store.row_count("credential_uses") == 7


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["action", "actor", "@timestamp", "created_at", "hashed_token", "repo", "actor_ip", "token_id"]
        ),
        st.one_of(
            st.none(),
            st.text(max_size=50),
            st.integers(-(2**63), 2**63 - 1),  # what a JSON parser hands over
            st.floats(allow_nan=True),
            st.booleans(),
        ),
    )
)
def test_use_row_never_crashes_on_hostile_events(rec: dict) -> None:
    from nightowl.sources.records.json_python import RecordError

    try:
        out = use_row(rec, "x:1")
    except RecordError:
        return
    assert isinstance(out, dict) and out["action"]


def test_hashed_token_forms() -> None:
    digest = hashlib.sha256(TOKEN.encode())
    assert hashed_token(digest.hexdigest()) == hashed_token(TOKEN_HASH) == TOKEN_HASH
    assert hashed_token("") is None
    assert [s.table for s in SOURCES] == ["credential_uses", "credential_uses"]
