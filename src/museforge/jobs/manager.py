"""The server's side of training jobs: the queue, the dispatcher thread, the worker processes it starts, stops,
resumes and reaps (:mod:`museforge.jobs`)."""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import museforge
from museforge.errors import MuseforgeError
from museforge.jobs.records import (
    INTERRUPTED_MESSAGE,
    config_record,
    has_checkpoint,
    killed_message,
    progress_path,
    remove_stop_file,
    worker_alive,
)
from museforge.model_files import sweep_killed_creations
from museforge.store import (
    FAILED,
    INTERRUPTED,
    QUEUED,
    TRAINING,
    ConflictError,
    Store,
    model_folder,
)
from museforge.training.registry import (
    MODEL_JSON,
    request_stop,
)

#: Seconds a worker gets to save a checkpoint after SIGTERM before it is killed.
SHUTDOWN_GRACE = 20.0
#: Seconds a resume waits for the job's stopping worker to save its checkpoint and leave.
RESUME_WAIT = 30.0
#: Set by ``museforge serve`` beside the ``OMP_WAIT_POLICY=PASSIVE`` it chose for its own few-millisecond torch work
#: (a jam's bar): a training worker goes back to OpenMP's default, the one its speed was measured with
#: (docs/performance.md); a policy the user set is passed on as it is.
SERVER_WAIT_POLICY = "MUSEFORGE_SERVER_WAIT_POLICY"


class _Orphan:
    """A worker left running by an earlier server process: watched by pid (it cannot be waited for)."""

    def __init__(self, pid: int, job_id: str) -> None:
        self.pid, self.job_id = pid, job_id

    def poll(self) -> int | None:
        return None if worker_alive(self.pid, self.job_id) else -1

    def send_signal(self, signum: int) -> None:
        if worker_alive(self.pid, self.job_id):
            with contextlib.suppress(OSError):
                os.kill(self.pid, signum)


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of a training worker: ``environ`` with the data home and this package on the path, and
    without the OpenMP wait policy the server chose for itself (:data:`SERVER_WAIT_POLICY`)."""
    env = dict(environ)
    if env.pop(SERVER_WAIT_POLICY, None) == env.get("OMP_WAIT_POLICY"):
        env.pop("OMP_WAIT_POLICY", None)
    env["MUSEFORGE_HOME"] = str(museforge.paths.home())
    package_root = str(Path(museforge.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


class JobManager:
    """Queue, start, watch, stop and resume training jobs; owns the worker processes of one server.

    Parameters
    ----------
    store : the store holding the jobs.
    max_running : most jobs training at once; the rest wait in the queue.
    poll_interval : seconds between the dispatcher's looks at the queue and the workers.
    shutdown_grace : seconds :meth:`shutdown` lets workers save a checkpoint before killing them.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_running: int = 1,
        poll_interval: float = 0.5,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        if max_running < 1:
            raise MuseforgeError(f"at least one training job must be allowed to run, got {max_running}")
        self.store = store
        self.max_running = max_running
        self.poll_interval = poll_interval
        self.shutdown_grace = shutdown_grace
        self._workers: dict[str, subprocess.Popen[bytes] | _Orphan] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------------- life cycle
    def start(self) -> None:
        """Recover jobs left ``training`` by an earlier server, then start the dispatcher thread."""
        sweep_killed_creations()  # staging folders of model creations killed while no server ran
        self.recover()
        self._stopping.clear()
        # the dispatcher runs in a copy of this context: the data home the server was created over (paths.using_home)
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._run,), name="museforge-jobs", daemon=True
        )
        self._thread.start()

    def recover(self) -> list[str]:
        """Mark ``training`` jobs without a live worker as interrupted; ask live leftover workers to stop.

        Returns the ids of the jobs marked interrupted now.
        """
        marked = []
        for job in self.store.list_jobs(status=TRAINING):
            with self._lock:
                if job["id"] in self._workers:
                    continue
                if worker_alive(job["pid"], job["id"]):
                    # A worker of a server that died: it winds down (checkpoint, then "interrupted").
                    orphan = _Orphan(job["pid"], job["id"])
                    orphan.send_signal(signal.SIGTERM)
                    self._workers[job["id"]] = orphan
                    continue
            if self.store.finish_job(job["id"], INTERRUPTED, INTERRUPTED_MESSAGE, only_if_active=True):
                marked.append(job["id"])
        return marked

    def shutdown(self) -> None:
        """Stop the dispatcher; SIGTERM every worker (they checkpoint and end as interrupted), kill stragglers."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            workers = dict(self._workers)
        for worker in workers.values():
            with contextlib.suppress(OSError):
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_grace
        for job_id, worker in workers.items():
            while worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if worker.poll() is None and isinstance(worker, subprocess.Popen):
                worker.kill()
                worker.wait(timeout=10)
            self.store.finish_job(job_id, INTERRUPTED, INTERRUPTED_MESSAGE, only_if_active=True)
        with self._lock:
            self._workers.clear()

    # -------------------------------------------------------------------------------- requests
    def submit(self, config: Any) -> dict[str, Any]:
        """Queue a new training job for ``config`` (a TrainConfig, validated here).

        Raises ConflictError when a model of that name exists or is being trained.
        """

        config.validate()
        if config.resume:
            raise MuseforgeError("resume a model through its job (POST /api/jobs/{id}/resume)")
        if (model_folder(config.name) / MODEL_JSON).exists():
            raise ConflictError(f"a model named {config.name!r} already exists: choose another name or delete it")
        job = self.store.create_job(config.name, config_record(config))
        self._wake.set()
        return job

    def stop(self, job_id: str) -> dict[str, Any]:
        """Stop a job: a queued one at once; a training one saves a checkpoint and ends as ``stopped``."""
        job = self.store.request_stop(job_id)
        if job["status"] == TRAINING:
            with contextlib.suppress(MuseforgeError):  # no model folder yet: the worker reads the store's flag
                request_stop(job["model_name"])
        self._wake.set()
        return job

    def resume(self, job_id: str) -> dict[str, Any]:
        """Queue an interrupted or stopped job again; it continues from its model's last checkpoint."""
        job = self.store.get_job(job_id)
        deadline = time.monotonic() + RESUME_WAIT
        while self._leaving(job_id, job["pid"]):  # a Resume pressed right after Stop: the worker is still saving
            if time.monotonic() >= deadline:
                raise ConflictError(f"job {job_id} is still shutting down; try again in a moment")
            self._wake.set()
            time.sleep(0.1)
        job = self.store.requeue_job(job_id)
        self._wake.set()
        return job

    def _leaving(self, job_id: str, pid: int | None) -> bool:
        """Whether the job's last worker is still running or not yet reaped (a requeued job must wait for both:
        reaping a worker marks its job failed when it left without a result)."""
        with self._lock:
            tracked = job_id in self._workers
        return tracked or worker_alive(pid, job_id)

    def running(self) -> list[str]:
        """Ids of the jobs whose worker this manager is watching."""
        with self._lock:
            return list(self._workers)

    # -------------------------------------------------------------------------------- the dispatcher
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:  # the dispatcher must outlive any one bad job or a locked database
                traceback.print_exc()
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def tick(self) -> None:
        """One dispatcher round: reap finished workers, then start queued jobs while there is room."""
        with self._lock:
            finished = {job_id: w for job_id, w in self._workers.items() if w.poll() is not None}
            for job_id in finished:
                del self._workers[job_id]
        for job_id, worker in finished.items():
            if isinstance(worker, _Orphan):  # a leftover worker of an earlier server ended without reporting
                self.store.finish_job(job_id, INTERRUPTED, INTERRUPTED_MESSAGE, only_if_active=True)
                continue
            code = worker.poll()
            if code is not None and code < 0 and self._model_of(job_id) is not None:
                # killed from outside (OOM killer, kill -9): the last checkpoint stands, so it can be resumed
                if self.store.finish_job(job_id, INTERRUPTED, killed_message(code), only_if_active=True):
                    print(f"museforge: job {job_id}: {killed_message(code)}", file=sys.stderr)
                continue
            message = (
                f"the training worker exited with code {worker.poll()} without a result; see {self._log_path(job_id)}"
            )
            if self.store.finish_job(job_id, FAILED, message, only_if_active=True):
                print(f"museforge: job {job_id}: {message}", file=sys.stderr)
        while not self._stopping.is_set():
            with self._lock:
                if len(self._workers) >= self.max_running:
                    return
            job = self.store.claim_next_job()
            if job is None:
                return
            self._launch(job)

    def _model_of(self, job_id: str) -> str | None:
        """The job's model name when its folder has a checkpoint to resume from, else None."""
        try:
            name = str(self.store.get_job(job_id)["model_name"])
        except MuseforgeError:
            return None
        return name if has_checkpoint(name) else None

    def _log_path(self, job_id: str) -> Path:
        return self.store.jobs_dir / f"{job_id}.log"

    def _launch(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        remove_stop_file(job["model_name"])
        with contextlib.suppress(OSError):
            progress_path(self.store, job_id).unlink(missing_ok=True)
        env = worker_environment(os.environ)
        command = [sys.executable, "-m", "museforge.jobs", "run", job_id, "--store", str(self.store.path)]
        try:
            self.store.jobs_dir.mkdir(parents=True, exist_ok=True)
            with open(self._log_path(job_id), "ab") as log:
                process = subprocess.Popen(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as error:
            self.store.finish_job(job_id, FAILED, f"cannot start the training worker: {error}", only_if_active=True)
            return
        with self._lock:
            self._workers[job_id] = process
        self.store.set_job_pid(job_id, process.pid)


# ------------------------------------------------------------------------------------------ the worker


__all__ = ["QUEUED", "SERVER_WAIT_POLICY", "JobManager", "worker_environment"]
