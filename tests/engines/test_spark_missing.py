"""`--engine spark` on a machine without PySpark or Java: exit 2 and one line saying what to install."""

from __future__ import annotations

import os
import subprocess
import sys


def _hunt_spark(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    signins = tmp_path / "signins.jsonl"
    signins.write_text(
        '{"id": "1", "createdDateTime": "2024-03-01T10:00:00Z", "userPrincipalName": "a@b.c"}\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "nightowl", "hunt", "--engine", "spark", str(signins)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def _one_line_install_hint(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert proc.stdout == ""
    return lines[0]


def test_without_pyspark(tmp_path):
    shadow = tmp_path / "shadow"  # a pyspark that cannot be imported, first on the path
    (shadow / "pyspark").mkdir(parents=True)
    (shadow / "pyspark" / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}
    line = _one_line_install_hint(_hunt_spark(tmp_path, env))
    assert "pip install 'nightowl[spark]'" in line and "openjdk-17" in line


def test_without_java(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path / "empty")  # no java anywhere on it
    line = _one_line_install_hint(_hunt_spark(tmp_path, env))
    assert "Java 17" in line and "openjdk-17-jre-headless" in line
