"""The executable asks numpy's OpenBLAS for one thread (nightowl never calls BLAS; each extra thread
spins at import), unless the user chose a number; importing nightowl as a library changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=base | env
    )
    return out.stdout.strip()


LAUNCH = (
    "import os, sys; sys.argv = ['nightowl', '--version']\n"
    "from nightowl.launch import main; main()\n"
    "print(os.environ.get('OPENBLAS_NUM_THREADS'))"
)


def test_the_executable_runs_with_one_blas_thread():
    assert _run(LAUNCH).splitlines()[-1] == "1"


@pytest.mark.parametrize("chosen", ["4", "0"])
def test_a_number_the_user_chose_is_kept(chosen):
    assert _run(LAUNCH, OPENBLAS_NUM_THREADS=chosen).splitlines()[-1] == chosen


def test_importing_nightowl_as_a_library_leaves_blas_alone():
    code = "import os, nightowl, nightowl.ingest; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    assert _run(code) == "None"
