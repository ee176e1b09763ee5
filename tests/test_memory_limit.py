"""The memory DuckDB may use: a default that holds from one to sixteen million events, ``--memory-limit``
to change it, both printed with ``--debug``; a large input hunted without --store goes to a
temporary on-disk store that is removed afterwards."""

from __future__ import annotations

import os
import re

import pytest

from nightowl import store as store_mod
from nightowl.sources.base import InputError
from nightowl.store import Store, check_memory_limit, default_memory_limit
from tests.test_cli import SPRAY_LINES, run


def _megabytes(limit: str) -> int:
    return int(re.fullmatch(r"(\d+)MB", limit).group(1))


def test_default_limit_is_at_most_384mb_and_a_quarter_of_a_small_machine(monkeypatch):
    assert 256 <= _megabytes(default_memory_limit()) <= 384
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": (64 << 30) // 4096}
    monkeypatch.setattr(store_mod.os, "sysconf", lambda name: pages[name])
    assert default_memory_limit() == "384MB"
    for machine_mb, limit in ((1280, "320MB"), (1024, "256MB"), (512, "256MB")):
        pages["SC_PHYS_PAGES"] = (machine_mb << 20) // 4096
        assert default_memory_limit() == limit, machine_mb


def test_the_limit_reaches_duckdb():
    with Store(memory_limit="300MB") as st:
        setting = st.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert setting.replace(" ", "").lower() in ("300.0mb", "286.1mib")
    with pytest.raises(InputError, match="--memory-limit"):
        check_memory_limit("lots")


def test_debug_prints_the_store_and_limit_and_a_bad_limit_is_one_line(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("\n".join(SPRAY_LINES) + "\n")
    proc = run("--debug", "hunt", str(log), "--year", "2026", "--memory-limit", "512MB", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "store: memory; DuckDB memory limit 512MB" in proc.stderr
    default = run("--debug", "hunt", str(log), "--year", "2026", "--format", "json")
    assert f"DuckDB memory limit {default_memory_limit()}" in default.stderr
    bad = run("hunt", str(log), "--year", "2026", "--memory-limit", "lots")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_a_large_input_without_store_uses_a_temporary_file_removed_on_close(tmp_path, monkeypatch):
    log = tmp_path / "auth.log"
    log.write_text("\n".join(SPRAY_LINES) + "\n")
    monkeypatch.setattr(store_mod, "SCRATCH_INPUT_BYTES", 100)
    st = Store.for_hunt(None, [str(log)])
    assert st.describe().startswith("store: temporary file") and st.path.endswith(".duckdb")
    st.close()
    assert not os.path.exists(st.path)
