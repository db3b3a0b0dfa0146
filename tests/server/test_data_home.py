"""An app created over a data folder keeps everything there, and leaves the process's environment alone.

Requests, the dataset-build thread, the job dispatcher and the training worker all use the folder ``create_app``
was given, even where ``$MUSEFORGE_HOME`` names another one (two apps over two folders can share a process).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import wait_for
from tests.tiny_models import tiny_job


@pytest.fixture
def elsewhere(museforge_home: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """A client of an app over ``tmp_path / "studio"`` while ``$MUSEFORGE_HOME`` is ``museforge_home``."""
    from museforge.server.app import create_app

    folder = tmp_path / "studio"
    with TestClient(create_app(folder), base_url="http://localhost") as client:
        yield client, folder
    assert os.environ["MUSEFORGE_HOME"] == str(museforge_home)


def test_requests_and_builds_use_the_apps_folder(
    elsewhere: tuple[TestClient, Path], museforge_home: Path, shared_datasets: Path
) -> None:
    client, folder = elsewhere
    assert os.environ["MUSEFORGE_HOME"] == str(museforge_home)  # not rewritten by create_app
    assert client.get("/api/health").json()["data_dir"] == str(folder.resolve())
    composed = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "seed": 1, "wav": False})
    assert composed.status_code == 201, composed.text
    assert list((folder / "compositions").rglob("*.mid"))
    started = client.post("/api/datasets/bach/build", json={"source": str(shared_datasets), "limit": 4})
    assert started.status_code == 202, started.text
    wait_for(
        lambda: client.get("/api/datasets/bach/build").json()["status"] != "building",
        timeout=120,
        interval=0.3,
        message="the build to end",
    )
    assert (folder / "datasets" / "bach" / "manifest.json").is_file()  # the build thread wrote into the folder
    assert not (museforge_home / "datasets").exists() and not (museforge_home / "compositions").exists()


@pytest.mark.slow
def test_the_dispatcher_and_its_worker_train_in_the_apps_folder(
    elsewhere: tuple[TestClient, Path], museforge_home: Path, shared_datasets: Path
) -> None:
    client, folder = elsewhere
    client.post("/api/datasets/bach/build", json={"source": str(shared_datasets), "limit": 8})
    wait_for(lambda: client.get("/api/datasets/bach/build").json()["status"] == "completed", message="the build")
    job = client.post("/api/jobs", json=tiny_job(name="there"))
    assert job.status_code == 201, job.text
    done = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job.json()['id']}").json())["status"] in ("completed", "failed") and j,
        timeout=180,
        message="the job",
    )
    assert done["status"] == "completed", done
    assert (folder / "models" / "there" / "model.json").is_file()
    assert not (museforge_home / "models").exists()
