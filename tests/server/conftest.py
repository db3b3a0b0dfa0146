"""Fixtures for the studio tests: a real Bach dataset (8 chorales), a tiny trained model, the app and a client.

The dataset and the model are made once per session in their own data home and copied into each test's fresh
``MUSEFORGE_HOME`` (see the root conftest), so every test starts from known files.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

from fastapi.testclient import TestClient  # noqa: E402

#: A U-Net small enough to train a few steps in seconds on two CPU cores.
TINY_UNET = {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4}
#: Training-job settings for a run of a couple of steps.
TINY_JOB = {
    "genre": "bach",
    "architecture": "unet",
    "epochs": 1,
    "max_steps": 2,
    "batch_size": 4,
    "update_ratio": 1,
    "model_config": TINY_UNET,
    "metrics_samples": 4,
    "samples_per_epoch": 1,
}
TINY_MODEL = "tiny-bach"


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory, shared_datasets: Path) -> Path:
    """A data home holding the bach dataset (8 real chorales) and a tiny completed model, made once."""
    from museforge.datasets.build import build_dataset
    from museforge.training import TrainConfig, train

    home = tmp_path_factory.mktemp("built_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSEFORGE_HOME", str(home))
        build_dataset("bach", shared_datasets, limit=8)
        config = TrainConfig(
            name=TINY_MODEL,
            genre="bach",
            model="unet",
            epochs=1,
            max_steps=2,
            batch_size=4,
            update_ratio=1,
            model_config=dict(TINY_UNET),
            metrics_samples=4,
            samples_per_epoch=1,
        )
        train(config)
    return home


@pytest.fixture
def bach_home(museforge_home: Path, built_home: Path) -> Path:
    """This test's data home with the bach dataset built (no models)."""
    shutil.copytree(built_home / "datasets", museforge_home / "datasets")
    return museforge_home


@pytest.fixture
def model_home(bach_home: Path, built_home: Path) -> Path:
    """This test's data home with the bach dataset and the tiny model, as if trained from the CLI."""
    shutil.copytree(built_home / "models" / TINY_MODEL, bach_home / "models" / TINY_MODEL)
    return bach_home


@pytest.fixture
def client(museforge_home: Path) -> Iterator[TestClient]:
    """A client of a fresh app over this test's data home, its job dispatcher running."""
    from museforge.server.app import create_app

    with TestClient(create_app(), raise_server_exceptions=True) as test_client:
        yield test_client
