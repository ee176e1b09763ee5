"""The fake provider APIs on 127.0.0.1, trusted through REQUESTS_CA_BUNDLE like a corporate CA would be."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.collect.fakeapi import FakeApis, Tenant, make_certificate


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The server's certificate and key (RSA generation is slow: once per session)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def apis(tls: tuple[Path, Path], now: dt.datetime, monkeypatch: pytest.MonkeyPatch):
    with FakeApis(Tenant.generate(now), tls) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert))
        for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        yield server


def read_parts(folder: Path) -> list[dict[str, Any]]:
    """Every record of every part in a stream folder, in part order."""
    out: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*.ndjson.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out
