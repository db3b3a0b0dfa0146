"""Shared fixtures: every test runs with its own empty MUSEFORGE_HOME; real data comes from ../shared/datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The read-only real MIDI data beside the project (CI gets a copy there too).
SHARED_DATASETS = Path(os.environ.get("MUSEFORGE_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(autouse=True)
def museforge_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data home for each test."""
    home = tmp_path_factory.mktemp("museforge_home")
    monkeypatch.setenv("MUSEFORGE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real public MIDI data (read-only)."""
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"real datasets not found at {SHARED_DATASETS}: set MUSEFORGE_SHARED_DATASETS")
    return SHARED_DATASETS
