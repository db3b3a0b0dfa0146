"""Fixtures for the trainer tests: a small real bach dataset (built once) and tiny model configs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from museforge.datasets.build import build_dataset
from museforge.training import TrainConfig
from tests.tiny_models import tiny_run

REPO = Path(__file__).resolve().parents[2]


def tiny_config(name: str, model: str = "unet", **changes: Any) -> TrainConfig:
    """A tiny, fast training run on the bach test dataset (2 whole epochs, batch 8, 2 critic updates per step)."""
    settings: dict[str, Any] = {
        "epochs": 2,
        "max_steps": None,
        "batch_size": 8,
        "update_ratio": 2 if model in ("musegan", "unet") else 1,
        "metrics_samples": 16,
        "samples_per_epoch": 0,
        "checkpoint_every": 2,
    }
    return TrainConfig(name=name, **tiny_run(model, **{**settings, **changes}))


def settings_of(config: TrainConfig) -> dict[str, Any]:
    """A TrainConfig as JSON-ready keyword arguments."""
    return {"name": config.name, **config.hyperparameters(), "gradient_penalty": config.gradient_penalty}


@pytest.fixture
def tiny() -> Callable[..., TrainConfig]:
    """:func:`tiny_config`, for the tests."""
    return tiny_config


@pytest.fixture
def settings() -> Callable[[TrainConfig], dict[str, Any]]:
    """:func:`settings_of`, for the tests."""
    return settings_of


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run as fast on one thread, and a busy shared machine does not stall the test on a spinning
    second one; child processes get the same (OMP_NUM_THREADS in :func:`run_child`), so CPU results match."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def bach_cache(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    """A bach dataset of 12 real chorales (4 in train), built once per session; returns its cache folder."""
    home = tmp_path_factory.mktemp("bach_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MUSEFORGE_HOME", str(home))
        build_dataset("bach", shared_datasets, limit=12)
    return home / "datasets" / "bach"


@pytest.fixture
def bach(bach_cache: Path, museforge_home: Path) -> Path:
    """The small bach dataset, visible in this test's MUSEFORGE_HOME (a link to the session build)."""
    (museforge_home / "datasets").mkdir(exist_ok=True)
    (museforge_home / "datasets" / "bach").symlink_to(bach_cache, target_is_directory=True)
    return museforge_home


@pytest.fixture
def run_child() -> Callable[..., subprocess.Popen[bytes]]:
    """Start ``train(TrainConfig(**settings))`` in a real child process (same MUSEFORGE_HOME)."""

    def start(settings: dict[str, Any], prelude: str = "") -> subprocess.Popen[bytes]:
        code = (
            "import json, sys\n"
            "from museforge.training import TrainConfig, train\n"
            f"{prelude}\n"
            "train(TrainConfig(**json.loads(sys.argv[1])), progress=False, on_epoch=globals().get('on_epoch'))\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
        return subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(settings)], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
        )

    return start
