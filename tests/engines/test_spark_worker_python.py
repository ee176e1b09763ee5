"""A local Spark session's Python workers run nightowl's own interpreter. Spark starts them with
``python3`` from PATH by default; with nightowl in a virtual environment that is not activated (or a
pipx install) that is another interpreter, and the rules' address UDF failed in the worker with "No
module named 'nightowl'" (found on the 1M Spark benchmark run without the venv on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

PROBE = """
import os
from nightowl.engines import spark as engine
from nightowl.engines.ipkeys import UDF_NAME, source_key
session = engine.session("local[1]")
session.udf.register(UDF_NAME, source_key, "string")
value = "2001:db8:0:0:1::7"
got = session.sql(f"SELECT {UDF_NAME}('{value}') AS k").collect()[0][0]
session.stop()
print("same" if got == source_key(value) else f"differs: {got!r}")
"""


def test_local_workers_run_nightowls_interpreter_not_path_python3(tmp_path):
    pytest.importorskip("pyspark", reason="PySpark not installed (pip install -e '.[test]')")
    if not shutil.which("java"):
        pytest.skip("no java on PATH (apt-get install openjdk-17-jre-headless)")
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    if subprocess.run([base, "-c", "import nightowl"], capture_output=True).returncode == 0:
        pytest.skip(f"{base} imports nightowl too: no other interpreter to put first on PATH")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python"):
        (bin_dir / name).symlink_to(base)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "same"
