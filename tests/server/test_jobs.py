"""Training jobs in real worker processes: complete, stream, queue, stop, survive a restart, resume, fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from museforge.jobs.manager import JobManager
from museforge.server.app import create_app
from museforge.store import FAILED, INTERRUPTED, TRAINING, Store
from tests.helpers import server_sent_events, wait_for
from tests.tiny_models import TINY_UNET, tiny_job

pytestmark = pytest.mark.slow


def read_events(client: TestClient, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every server-sent event of a job's stream, until the stream ends."""
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(server_sent_events(response.iter_lines()))


def test_job_trains_in_a_worker_and_streams_its_epochs(client: TestClient, bach_home: Path) -> None:
    created = client.post("/api/jobs", json=tiny_job(name="streamed"))
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] == "queued" and job["config"]["model_config"] == TINY_UNET
    events = read_events(client, job["id"])
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses[-1] == "completed" and "training" in statuses
    epochs = [data for name, data in events if name == "epoch"]
    assert [e["epoch"] for e in epochs] == [1]
    assert all(isinstance(e[key], float) for e in epochs for key in ("generator_loss", "discriminator_loss"))
    assert events[-1][0] == "end" and events[-1][1]["status"] == "completed"

    done = client.get(f"/api/jobs/{job['id']}").json()
    assert done["status"] == "completed" and done["pid"] != 0 and done["error"] is None
    assert done["epochs"][0]["metrics"]["generated"]  # per-role music metrics of the generated samples
    metrics = client.get(f"/api/jobs/{job['id']}/metrics?after=1").json()
    assert metrics == {"job_id": job["id"], "status": "completed", "epochs": [], "progress": None}
    # the worker ran in another process, never in the request: its log is beside the store
    assert (bach_home / "jobs" / f"{job['id']}.log").is_file()
    model = client.get("/api/models").json()[0]
    assert model["name"] == "streamed" and model["status"] == "completed"
    assert model["latest_job"] == {"id": job["id"], "status": "completed"}
    assert client.get("/api/models/streamed/samples/latest.png").status_code == 200
    # a finished stream can be reopened and replays everything, then ends
    assert read_events(client, job["id"])[-1][0] == "end"


def test_queue_limit_stop_restart_and_resume(bach_home: Path) -> None:
    long_job = tiny_job(name="long", epochs=200, max_steps=None, checkpoint_every=1)
    with TestClient(create_app(), base_url="http://localhost") as client:
        first = client.post("/api/jobs", json=long_job).json()
        second = client.post("/api/jobs", json=tiny_job(name="second")).json()
        wait_for(lambda: client.get("/api/models/long").json().get("step", 0) >= 1, message="a first checkpoint")
        assert client.get(f"/api/jobs/{first['id']}").json()["status"] == TRAINING
        assert client.get(f"/api/jobs/{second['id']}").json()["status"] == "queued"  # one job at a time
        assert client.get("/api/health").json()["jobs"] == {"queued": 1, "training": 1}
        busy = client.delete("/api/models/long")
        assert busy.status_code == 409 and "active job" in busy.json()["detail"]
        assert client.post(f"/api/jobs/{second['id']}/stop").json()["status"] == "stopped"
        again = client.post(f"/api/jobs/{second['id']}/stop")
        assert again.status_code == 409 and "already ended" in again.json()["detail"]
    # leaving the client stops the server: the running job is interrupted after saving a checkpoint
    interrupted = Store().get_job(first["id"])
    assert interrupted["status"] == INTERRUPTED and "resume" in interrupted["error"]
    step_before = json.loads((bach_home / "models" / "long" / "model.json").read_text())["step"]
    assert step_before >= 1

    with TestClient(create_app(), base_url="http://localhost") as client:
        assert client.get(f"/api/jobs/{first['id']}").json()["status"] == INTERRUPTED
        resumed = client.post(f"/api/jobs/{first['id']}/resume")
        assert resumed.status_code == 200 and resumed.json()["resume"] is True
        wait_for(
            lambda: client.get("/api/models/long").json().get("step", 0) > step_before,
            message="the resumed run to train past its checkpoint",
        )
        job = client.get(f"/api/jobs/{first['id']}").json()
        assert job["status"] == TRAINING and job["runs"] == 2
        assert client.post(f"/api/jobs/{first['id']}/stop").json()["stop_requested"] is True
        wait_for(lambda: client.get(f"/api/jobs/{first['id']}").json()["status"] == "stopped", message="the stop")
        card = client.get("/api/models/long").json()
        assert card["status"] == "stopped" and card["step"] > step_before


def test_failing_job_is_reported_and_the_server_keeps_serving(client: TestClient, bach_home: Path) -> None:
    # 8 chorales hold fewer windows than one step of 256 x 10 needs: only the trainer finds out
    job = client.post("/api/jobs", json=tiny_job(name="toobig", batch_size=256, update_ratio=10))
    assert job.status_code == 201
    failed = wait_for(
        lambda: (j := client.get(f"/api/jobs/{job.json()['id']}").json())["status"] == FAILED and j,
        message="the job to fail",
    )
    assert "too few" in failed["error"] and "--batch-size" in failed["error"]  # the trainer's own one-line reason
    assert client.get("/api/health").json()["status"] == "ok"
    assert client.get("/api/melodies").status_code == 200


def test_restart_marks_a_job_whose_worker_died_interrupted(museforge_home: Path) -> None:
    store = Store()
    job = store.create_job("crashed", {"name": "crashed", "genre": "bach"})
    store.claim_next_job()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.set_job_pid(job["id"], gone.pid)  # a worker that no longer exists
    manager = JobManager(store)
    assert manager.recover() == [job["id"]]
    recovered = store.get_job(job["id"])
    assert recovered["status"] == INTERRUPTED and "resume" in recovered["error"]
    assert manager.recover() == []


def test_a_musegan_job_stopped_in_the_studio_resumes(client: TestClient, bach_home: Path) -> None:
    # the run fills in its own MuseGAN settings (the drum pattern tracks) that the job's request never named; the
    # resume must continue the run its folder holds, as the CLI does, not refuse a "different model_config"
    job = client.post("/api/jobs", json=tiny_job("musegan", name="gan", epochs=200, max_steps=None, checkpoint_every=1))
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    wait_for(lambda: client.get("/api/models/gan").json().get("step", 0) >= 1, message="a first checkpoint")
    client.post(f"/api/jobs/{job_id}/stop")
    wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["status"] == "stopped", message="the stop")
    step_before = client.get("/api/models/gan").json()["step"]
    assert "pattern_tracks" in client.get("/api/models/gan").json()["model_config"]
    # the worker may still be leaving when the job reads "stopped": the server answers 409 until it has
    wait_for(lambda: client.post(f"/api/jobs/{job_id}/resume").status_code == 200, message="the resume to be taken")
    wait_for(
        lambda: (
            client.get("/api/models/gan").json().get("step", 0) > step_before
            or client.get(f"/api/jobs/{job_id}").json()["status"] == FAILED
        ),
        message="the resumed run to train past its checkpoint",
    )
    resumed = client.get(f"/api/jobs/{job_id}").json()
    assert resumed["status"] != FAILED, resumed["error"]
    client.post(f"/api/jobs/{job_id}/stop")
    wait_for(lambda: client.get(f"/api/jobs/{job_id}").json()["status"] == "stopped", message="the second stop")
    assert client.get("/api/models/gan").json()["step"] > step_before


def test_a_training_worker_drops_the_wait_policy_the_server_chose_and_keeps_the_users() -> None:
    from museforge.jobs.manager import SERVER_WAIT_POLICY, worker_environment

    chosen = worker_environment({"OMP_WAIT_POLICY": "PASSIVE", SERVER_WAIT_POLICY: "PASSIVE", "PATH": "/usr/bin"})
    assert "OMP_WAIT_POLICY" not in chosen and SERVER_WAIT_POLICY not in chosen and chosen["PATH"] == "/usr/bin"
    assert "MUSEFORGE_HOME" in chosen and "PYTHONPATH" in chosen
    assert worker_environment({"OMP_WAIT_POLICY": "PASSIVE"})["OMP_WAIT_POLICY"] == "PASSIVE"  # the user's own
