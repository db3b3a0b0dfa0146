"""Training jobs as the studio sees them: progress inside an epoch, refusals at submit, a killed worker resumed."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.test_jobs import TINY_JOB, wait_for
from tests.tiny_models import TINY_UNET

pytestmark = pytest.mark.slow

#: A job long enough to watch: it trains until stopped, checkpointing every step.
LONG_JOB: dict[str, Any] = {**TINY_JOB, "epochs": 200, "max_steps": None, "checkpoint_every": 1}


def test_an_unbuilt_dataset_is_refused_at_submit(client: TestClient) -> None:
    response = client.post("/api/jobs", json={"name": "nodata", "genre": "pop", "epochs": 1})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "pop dataset is not built" in detail and "\n" not in detail
    assert client.get("/api/jobs").json() == []  # nothing queued, nothing to fail later
    options = {g["value"]: g for g in client.get("/api/training/options").json()["genres"]}
    assert options["pop"]["dataset_built"] is False


def test_unknown_or_bad_model_config_keys_are_refused_at_submit(client: TestClient, bach_home: Path) -> None:
    unknown = client.post("/api/jobs", json={**TINY_JOB, "name": "typo", "model_config": {"base_chanels": 4}})
    assert unknown.status_code == 422, unknown.text
    detail = unknown.json()["detail"]
    assert "unknown model_config key 'base_chanels' for unet" in detail and "base_channels" in detail
    bad = client.post("/api/jobs", json={**TINY_JOB, "name": "neg", "model_config": {**TINY_UNET, "base_channels": -3}})
    assert bad.status_code == 422 and "base_channels" in bad.json()["detail"], bad.text
    assert client.get("/api/jobs").json() == []
    assert not (bach_home / "models" / "typo").exists()
    good = client.post("/api/jobs", json={**TINY_JOB, "name": "fine"})
    assert good.status_code == 201, good.text  # the same request with known keys is taken


def test_progress_inside_an_epoch_in_metrics_and_events(client: TestClient, bach_home: Path) -> None:
    job = client.post("/api/jobs", json={**LONG_JOB, "name": "watched"}).json()

    def training_progress() -> dict[str, Any] | None:
        progress = client.get(f"/api/jobs/{job['id']}/metrics").json()["progress"]
        return progress if progress and progress["phase"] == "training" and progress["step"] >= 2 else None

    progress = wait_for(training_progress, what="progress inside an epoch")
    assert 1 <= progress["step_in_epoch"] <= progress["steps_per_epoch"]
    assert progress["samples_per_s"] > 0 and progress["eta_s"] > 0
    assert progress["total_steps"] == progress["steps_per_epoch"] * 200

    # the event stream carries progress, and the evaluation after each epoch is labelled
    seen: list[dict[str, Any]] = []

    def stop_when_evaluated() -> None:
        wait_for(lambda: any(p["phase"] == "evaluating" for p in seen), what="an evaluation")
        client.post(f"/api/jobs/{job['id']}/stop")

    stopper = threading.Thread(target=stop_when_evaluated)
    stopper.start()
    name = None
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "progress":
                seen.append(json.loads(line.removeprefix("data: ")))
    stopper.join()
    assert {p["phase"] for p in seen} == {"training", "evaluating"}
    evaluating = next(p for p in seen if p["phase"] == "evaluating")
    assert evaluating["step_in_epoch"] == evaluating["steps_per_epoch"]
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "stopped"
    assert client.get(f"/api/jobs/{job['id']}/metrics").json()["progress"] is None  # only while it trains


def test_a_worker_killed_from_outside_can_be_resumed(client: TestClient, bach_home: Path) -> None:
    job = client.post("/api/jobs", json={**LONG_JOB, "name": "oom"}).json()
    wait_for(lambda: client.get("/api/models/oom").json().get("step", 0) >= 2, what="a checkpoint")
    pid = client.get(f"/api/jobs/{job['id']}").json()["pid"]
    os.kill(pid, signal.SIGKILL)  # what the OOM killer does
    killed = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job['id']}").json())["status"] not in ("queued", "training") and j,
        what="the dispatcher to notice the kill",
    )
    assert killed["status"] == "interrupted", killed
    assert "SIGKILL" in killed["error"] and "resume" in killed["error"]
    step_before = json.loads((bach_home / "models" / "oom" / "model.json").read_text())["step"]
    again = client.post("/api/jobs", json={**LONG_JOB, "name": "oom"})
    assert again.status_code == 409  # the name is taken by the model to resume, as the CLI would say

    resumed = client.post(f"/api/jobs/{job['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    wait_for(lambda: client.get("/api/models/oom").json().get("step", 0) > step_before, what="training after resume")
    client.post(f"/api/jobs/{job['id']}/stop")
    wait_for(lambda: client.get(f"/api/jobs/{job['id']}").json()["status"] == "stopped", what="the stop")
    assert client.get(f"/api/jobs/{job['id']}").json()["runs"] == 2
