"""The engine every secrets test runs on: once with Hyperscan, once with the pure-Python fallback."""

from __future__ import annotations

import pytest

from nightowl.secrets.engine import Engine
from nightowl.secrets.rules import load_rules


@pytest.fixture(scope="session", params=["hyperscan", "python"])
def engine(request) -> Engine:
    eng = Engine(load_rules(), use_hyperscan=request.param == "hyperscan")
    if request.param == "hyperscan" and eng.backend != "hyperscan":
        pytest.skip("hyperscan cannot load here")
    return eng
