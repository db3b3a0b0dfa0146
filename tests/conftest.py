"""Shared fixtures: every test runs with its own empty MUSEFORGE_HOME and writes temporary files (its child
processes too: torchrun's, the bench's) under pytest's temporary folder; real data comes from ../shared/datasets."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tiny_models import tiny_run

REPO = Path(__file__).resolve().parents[1]
#: The read-only real MIDI data beside the project (CI gets a copy there too).
SHARED_DATASETS = Path(os.environ.get("MUSEFORGE_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session", autouse=True)
def session_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """TMPDIR (for this process and the children it starts) inside pytest's temporary folder for the session."""
    folder = tmp_path_factory.mktemp("tmpdir")
    before_env, before_module = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    yield folder
    tempfile.tempdir = before_module
    if before_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before_env


@pytest.fixture(autouse=True)
def museforge_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data home for each test."""
    home = tmp_path_factory.mktemp("museforge_home")
    monkeypatch.setenv("MUSEFORGE_HOME", str(home))
    monkeypatch.setenv("MUSEFORGE_SHARED_DATASETS", str(SHARED_DATASETS))  # a folder the studio may build from
    return home


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real public MIDI data (read-only)."""
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"real datasets not found at {SHARED_DATASETS}: set MUSEFORGE_SHARED_DATASETS")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def make_tiny_bach_home(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Callable[..., Path]:
    """Makes a data home holding ``songs`` real JSB chorales built and a tiny U-Net ``name`` trained on them.

    ``make(label, name=..., songs=..., **settings)``: ``settings`` override the training run's
    (:func:`tests.tiny_models.tiny_run`: 2 steps of batch 4 on the CPU, one critic update, 4 metric windows, one
    sample per epoch).
    """
    from museforge.datasets.build import build_dataset
    from museforge.training import TrainConfig, train

    def make(label: str, *, name: str, songs: int, **settings: Any) -> Path:
        home = tmp_path_factory.mktemp(label)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MUSEFORGE_HOME", str(home))
            build_dataset("bach", shared_datasets, limit=songs)
            train(TrainConfig(name=name, **tiny_run("unet", **settings)), progress=False)
        return home

    return make
