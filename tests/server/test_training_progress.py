"""Training jobs as the studio sees them: progress inside an epoch, refusals at submit, a killed worker resumed."""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from museforge.jobs.records import read_progress
from museforge.store import Store
from tests.helpers import server_sent_events, wait_for
from tests.tiny_models import TINY_UNET, tiny_job

pytestmark = pytest.mark.slow

#: A job long enough to watch: it trains until stopped (200 epochs), checkpointing every step.
LONG_JOB: dict[str, Any] = tiny_job(epochs=200, max_steps=None, checkpoint_every=1)
#: Generous: a worker process starts torch, then trains; a busy 2-core machine can be slow at both.
PATIENCE = 240.0


def test_an_unbuilt_dataset_is_refused_at_submit(client: TestClient) -> None:
    response = client.post("/api/jobs", json={"name": "nodata", "genre": "pop", "epochs": 1})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "pop dataset is not built" in detail and "\n" not in detail
    assert client.get("/api/jobs").json() == []  # nothing queued, nothing to fail later
    options = {g["value"]: g for g in client.get("/api/training/options").json()["genres"]}
    assert options["pop"]["dataset_built"] is False


def test_unknown_or_bad_model_config_keys_are_refused_at_submit(client: TestClient, bach_home: Path) -> None:
    unknown = client.post("/api/jobs", json=tiny_job(name="typo", model_config={"base_chanels": 4}))
    assert unknown.status_code == 422, unknown.text
    detail = unknown.json()["detail"]
    assert "unknown model_config key 'base_chanels' for unet" in detail and "base_channels" in detail
    bad = client.post("/api/jobs", json=tiny_job(name="neg", model_config={**TINY_UNET, "base_channels": -3}))
    assert bad.status_code == 422 and "base_channels" in bad.json()["detail"], bad.text
    assert client.get("/api/jobs").json() == []
    assert not (bach_home / "models" / "typo").exists()
    good = client.post("/api/jobs", json=tiny_job(name="fine"))
    assert good.status_code == 201, good.text  # the same request with known keys is taken


def check_report(progress: dict[str, Any], epochs: int) -> None:
    """One progress report adds up as the studio shows it: epoch e, step i of the epoch, step s of the run."""
    per_epoch = progress["steps_per_epoch"]
    assert progress["phase"] in ("training", "evaluating"), progress
    assert progress["total_steps"] == per_epoch * epochs, progress
    assert 1 <= progress["step_in_epoch"] <= per_epoch, progress
    assert progress["step"] == (progress["epoch"] - 1) * per_epoch + progress["step_in_epoch"], progress
    if progress["phase"] == "training":
        assert progress["samples_per_s"] > 0 and progress["eta_s"] > 0, progress
        # the mean losses of the epoch's updates so far: the loss chart's points inside the epoch
        losses = progress["losses"]
        assert {"generator_loss", "discriminator_loss", "wasserstein_estimate"} <= set(losses), progress
        assert all(math.isfinite(value) for value in losses.values()), progress
    else:  # the metrics and the sample after a whole epoch
        assert progress["step_in_epoch"] == per_epoch and progress["losses"] is None, progress


def test_progress_moves_forward_through_the_epochs_until_the_job_stops(client: TestClient, bach_home: Path) -> None:
    job = client.post("/api/jobs", json={**LONG_JOB, "name": "watched"}).json()
    metrics_url, stop_url = f"/api/jobs/{job['id']}/metrics", f"/api/jobs/{job['id']}/stop"
    polled: list[dict[str, Any]] = []  # every new report the metrics poll showed, in order

    def training_in_epoch(epoch: int) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            metrics = client.get(metrics_url).json()
            assert metrics["status"] in ("queued", "training"), metrics  # it cannot end by itself this soon
            progress = metrics["progress"]
            if progress is not None and (not polled or progress != polled[-1]):
                polled.append(progress)
            reached = progress is not None and progress["phase"] == "training" and progress["epoch"] >= epoch
            return progress if reached else None

        return check

    first = wait_for(training_in_epoch(1), timeout=PATIENCE, message="progress inside an epoch")
    later = wait_for(training_in_epoch(first["epoch"] + 1), timeout=PATIENCE, message="progress in a later epoch")
    assert later["step"] > first["step"]
    # every epoch before the one in progress has its record
    records = [r["epoch"] for r in client.get(metrics_url).json()["epochs"]]
    assert records[: later["epoch"] - 1] == list(range(1, later["epoch"]))

    # the event stream carries the reports as they change; once it shows training past `later`, stop the job
    streamed: list[dict[str, Any]] = []

    def stop_after_streamed_progress() -> None:
        try:
            wait_for(
                lambda: any(p["step"] > later["step"] for p in streamed),
                timeout=PATIENCE,
                message="streamed progress past the polled one",
            )
        finally:  # stopped whatever happened, so the stream below ends
            client.post(stop_url)

    stopper = threading.Thread(target=stop_after_streamed_progress)
    stopper.start()
    with client.stream("GET", f"/api/jobs/{job['id']}/events") as response:
        events = []
        for name, data in server_sent_events(response.iter_lines()):
            events.append((name, data))
            if name == "progress":
                streamed.append(data)
    stopper.join()

    assert events[-1][0] == "end" and events[-1][1]["status"] == "stopped"  # the stream ends with the job
    assert any(p["step"] > later["step"] for p in streamed), "the stream showed no progress past the polled one"
    assert all(now != before for before, now in itertools.pairwise(streamed))  # changes only
    reports = polled + streamed
    for report in reports:
        check_report(report, epochs=200)
    steps = [p["step"] for p in reports]
    assert steps == sorted(steps), steps  # progress never goes back
    assert [p["epoch"] for p in reports] == sorted(p["epoch"] for p in reports)

    # the final state: stopped, no progress shown, and the stop kept every step that was reported
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "stopped"
    assert client.get(metrics_url).json()["progress"] is None  # only while it trains
    assert json.loads((bach_home / "models" / "watched" / "model.json").read_text())["step"] >= steps[-1]


def test_a_finished_job_last_reported_its_final_evaluation(client: TestClient, bach_home: Path) -> None:
    job = client.post("/api/jobs", json=tiny_job(name="short", epochs=2, max_steps=None)).json()
    done = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job['id']}").json())["status"] not in ("queued", "training") and j,
        timeout=PATIENCE,
        message="the job to end",
    )
    assert done["status"] == "completed", done
    metrics = client.get(f"/api/jobs/{job['id']}/metrics").json()
    assert metrics["progress"] is None and [r["epoch"] for r in metrics["epochs"]] == [1, 2]
    # the worker's last report, what the studio showed just before "completed": the evaluation after the last
    # whole epoch, every step of the run done
    last = read_progress(Store(), job["id"])
    assert last is not None and last["phase"] == "evaluating" and last["epoch"] == 2, last
    check_report(last, epochs=2)
    assert last["step"] == last["total_steps"] == 2 * last["steps_per_epoch"]


def test_a_worker_killed_from_outside_can_be_resumed(client: TestClient, bach_home: Path) -> None:
    job = client.post("/api/jobs", json={**LONG_JOB, "name": "oom"}).json()
    wait_for(lambda: client.get("/api/models/oom").json().get("step", 0) >= 2, message="a checkpoint")
    pid = client.get(f"/api/jobs/{job['id']}").json()["pid"]
    os.kill(pid, signal.SIGKILL)  # what the OOM killer does
    killed = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job['id']}").json())["status"] not in ("queued", "training") and j,
        message="the dispatcher to notice the kill",
    )
    assert killed["status"] == "interrupted", killed
    assert "SIGKILL" in killed["error"] and "resume" in killed["error"]
    step_before = json.loads((bach_home / "models" / "oom" / "model.json").read_text())["step"]
    again = client.post("/api/jobs", json={**LONG_JOB, "name": "oom"})
    assert again.status_code == 409  # the name is taken by the model to resume, as the CLI would say

    resumed = client.post(f"/api/jobs/{job['id']}/resume")
    assert resumed.status_code == 200, resumed.text
    wait_for(lambda: client.get("/api/models/oom").json().get("step", 0) > step_before, message="training after resume")
    client.post(f"/api/jobs/{job['id']}/stop")
    wait_for(lambda: client.get(f"/api/jobs/{job['id']}").json()["status"] == "stopped", message="the stop")
    assert client.get(f"/api/jobs/{job['id']}").json()["runs"] == 2
