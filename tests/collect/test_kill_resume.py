"""A collection killed with SIGKILL at arbitrary moments, then run again to the end: every record is
in the output exactly once. The CLI runs in a subprocess against the fake APIs (slowed down so the
kills land mid-run: while a part is written, between a part and its checkpoint, between pages)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.collect.conftest import read_parts
from tests.collect.fakeapi import TENANT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nightowl", "collect", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _parts(folder: Path) -> int:
    return len(list(folder.glob("part-*.ndjson.gz"))) if folder.exists() else 0


def _kill_after_parts(proc: subprocess.Popen, folder: Path, parts: int, extra: float) -> None:
    deadline = time.monotonic() + 60
    while _parts(folder) < parts and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(extra)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("provider", ["okta", "entra"])
def test_killed_collections_resume_with_every_record_exactly_once(apis, tmp_path, now, provider):
    apis.delay = 0.02
    out = tmp_path / "out"
    env = {**os.environ, "REQUESTS_CA_BUNDLE": str(apis.cert), "NO_PROXY": "127.0.0.1",
           "OKTA_API_TOKEN": apis.okta_token, "AZURE_CLIENT_SECRET": "s3cret-for-tests"}  # fmt: skip
    if provider == "okta":
        args = ["okta", "--org", apis.url, "--days", "7", "--part-records", "1", "--out", str(out)]
        folders = {"okta-system-log": apis.tenant.okta}
        key = "uuid"
    else:
        args = ["entra", "--tenant", TENANT, "--client-id", "app-1", "--only", "signins,audits", "--days", "7",
                "--part-records", "1", "--out", str(out), "--login-url", apis.url, "--graph-url", apis.url]  # fmt: skip
        folders = {"entra-signins-interactive": apis.tenant.signins["interactiveUser"],
                   "entra-directory-audits": apis.tenant.audits}  # fmt: skip
        key = "id"
    first = next(iter(folders))
    # Kill at different moments: right after a part appears, a few ms later, and later still.
    for parts, extra in ((1, 0.0), (2, 0.013), (3, 0.029)):
        proc = _run(args, env)
        _kill_after_parts(proc, out / first, parts, extra)
    done = _run(args, env)
    _stdout, stderr = done.communicate(timeout=120)
    assert done.returncode == 0, stderr.decode()
    assert b"resuming the collection" in stderr
    for folder, rows in folders.items():
        got = [r[key] for r in read_parts(out / folder)]
        assert len(got) == len(set(got)), f"{folder}: a record was written twice"
        assert sorted(got) == sorted(r[key] for r in rows), f"{folder}: a record is missing"
    assert not list(out.rglob("*.tmp"))
