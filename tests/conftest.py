"""Shared fixtures: every test runs with its own empty MUSEFORGE_HOME; real data comes from ../shared/datasets."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


#: A U-Net small enough to train a few steps in seconds on two CPU cores.
TINY_UNET = {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4}


@pytest.fixture(scope="session")
def make_tiny_bach_home(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Callable[..., Path]:
    """Makes a data home holding ``songs`` real JSB chorales built and a tiny U-Net ``name`` trained on them.

    ``make(label, name=..., songs=..., **settings)``: ``settings`` override the training run's (2 steps of
    batch 4 on the CPU, one critic update, 4 metric windows, one sample per epoch).
    """
    from museforge.datasets.build import build_dataset
    from museforge.training import TrainConfig, train

    def make(label: str, *, name: str, songs: int, **settings: Any) -> Path:
        home = tmp_path_factory.mktemp(label)
        run: dict[str, Any] = {
            "genre": "bach",
            "model": "unet",
            "epochs": 1,
            "max_steps": 2,
            "batch_size": 4,
            "update_ratio": 1,
            "model_config": dict(TINY_UNET),
            "metrics_samples": 4,
            "samples_per_epoch": 1,
            "device": "cpu",
            **settings,
        }
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MUSEFORGE_HOME", str(home))
            build_dataset("bach", shared_datasets, limit=songs)
            train(TrainConfig(name=name, **run), progress=False)
        return home

    return make
