"""Inside a folder (or an archive), files no reader recognises are skipped and counted; a file named on
the command line that no reader recognises is still an error (exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nightowl.ingest import ingest_paths
from nightowl.sources.base import InputError
from nightowl.store import Store

OKTA = Path(__file__).parent / "fixtures/okta/system_log.jsonl"


def _tenant(tmp_path: Path) -> Path:
    """What `nightowl demo` leaves: logs next to truth.json, notes and mail."""
    folder = tmp_path / "tenant"
    (folder / "mail").mkdir(parents=True)
    shutil.copy(OKTA, folder / "okta.jsonl")
    (folder / "truth.json").write_text(json.dumps({"campaigns": [{"kind": "spray"}]}))
    (folder / "README.txt").write_text("simulated tenant, see truth.json\n")
    (folder / "mail" / "ceo.eml").write_text("From: a@b\nSubject: hi\n\nbody\n")
    (folder / "empty.log").write_text("")
    return folder


def test_a_folder_reads_what_it_can_and_lists_the_rest_as_skipped(tmp_path):
    folder = _tenant(tmp_path)
    with Store() as store:
        reports = ingest_paths(store, [str(folder)])
    contract = {Path(r.path).name: r.to_contract() for r in reports}
    assert contract["okta.jsonl"]["format"] == "okta-system-log" and contract["okta.jsonl"]["normalized"] > 0
    skipped = {name for name, c in contract.items() if c.get("skipped") == "no known format"}
    assert skipped == {"truth.json", "README.txt", "ceo.eml", "empty.log"}
    assert all(contract[n]["format"] is None and contract[n]["records"] == 0 for n in skipped)


def test_archive_members_of_no_known_format_are_skipped_too(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(OKTA, "logs/okta.jsonl")
        zf.writestr("logs/notes.txt", "exported on Monday\n")
    with Store() as store:
        reports = ingest_paths(store, [str(archive)])
    assert sorted((Path(r.path).name, r.format) for r in reports) == [
        ("notes.txt", ""),
        ("okta.jsonl", "okta-system-log"),
    ]


def test_a_file_named_explicitly_that_no_reader_knows_still_fails(tmp_path):
    folder = _tenant(tmp_path)
    with Store() as store, pytest.raises(InputError, match=r"truth\.json: matches no known format"):
        ingest_paths(store, [str(folder / "truth.json")])


def test_hunt_on_a_folder_counts_the_skipped_files_in_json_and_in_the_table(tmp_path):
    folder = _tenant(tmp_path)
    cmd = [sys.executable, "-m", "nightowl", "hunt", str(folder)]
    as_json = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, timeout=300)
    assert as_json.returncode == 0, as_json.stderr
    inputs = json.loads(as_json.stdout)["inputs"]
    assert sum(1 for i in inputs if i.get("skipped") == "no known format") == 4
    table = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert table.returncode == 0 and "4 skipped: no known format" in table.stdout
