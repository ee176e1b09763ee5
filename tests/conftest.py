"""Shared test helpers: where the real datasets live, and a skip when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATASETS = SHARED / "datasets"


def dataset(relpath: str) -> Path:
    """Path of a real sample under ../shared/datasets; skips the test when it is absent."""
    path = DATASETS / relpath
    if not path.exists():
        pytest.skip(f"../shared/datasets/{relpath} not present (real samples live outside the repo)")
    return path


@pytest.fixture
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip("../shared/datasets not present (real samples live outside the repo)")
    return DATASETS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "detection(id, fires): a behavioural test on a sequence of events proving detection `id` alerts (True) "
        "or does not (False: no finding, or one below alerting severity); the rule lint wants one of each",
    )
