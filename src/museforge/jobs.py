"""Training jobs: queued in the store, run one per worker process, never inside a web request.

The server's :class:`JobManager` runs a dispatcher thread: it starts the oldest queued job whenever fewer than
``max_running`` run, as ``python -m museforge.jobs run JOB_ID --store PATH`` (a new process group, its output in
``$MUSEFORGE_HOME/jobs/JOB_ID.log``), and notices when a worker exits. A job moves
``queued -> training -> completed | failed | stopped | interrupted``:

- *stopped*: the user asked (the store's flag and the model folder's ``STOP`` file); the worker saves a checkpoint
  and ends;
- *interrupted*: the server shut down (SIGTERM) or died (the worker sees its parent go) while the job trained, or
  the server restarts and finds a ``training`` job with no live worker. Interrupted and stopped jobs can be
  resumed: queued again with ``resume=True``, they continue from the model's last checkpoint;
- *failed*: the trainer raised (its message is kept) or the worker died without reporting before its model had
  a checkpoint. A worker killed from outside (the OOM killer, ``kill -9``) once its model has a checkpoint leaves
  the job *interrupted*, so it can be resumed like the CLI's ``train --resume``.

The worker (:func:`run_worker`) rebuilds the :class:`~museforge.training.config.TrainConfig` from the job, calls
``train(config, stop_event=..., on_epoch=..., on_progress=...)``, writes each epoch's record to the store as it
comes and the progress inside the epoch (steps, samples/s, time left, training or evaluating) to
``$MUSEFORGE_HOME/jobs/JOB_ID.progress.json`` (:func:`read_progress`).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import museforge
from museforge.errors import MuseforgeError
from museforge.files import atomic_write_bytes
from museforge.store import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    STOPPED,
    TRAINING,
    ConflictError,
    Store,
    check_id,
    model_folder,
)
from museforge.training.config import TrainConfig
from museforge.training.registry import GENERATOR_FILE, MODEL_JSON, STOP_FILE, pid_exists, request_stop

#: Seconds a worker gets to save a checkpoint after SIGTERM before it is killed.
SHUTDOWN_GRACE = 20.0
INTERRUPTED_MESSAGE = "the server stopped while this job was training; resume it to continue from its last checkpoint"
#: Seconds between the worker's writes of training progress (the trainer reports about once a second; each epoch's
#: "evaluating" report is always written).
PROGRESS_INTERVAL = 0.5
PROGRESS_SUFFIX = ".progress.json"


# ------------------------------------------------------------------------------------------ helpers
def config_record(config: Any) -> dict[str, Any]:
    """A TrainConfig as the JSON stored with a job: every field but ``resume`` (betas as a list)."""
    data = dataclasses.asdict(config)
    data.pop("resume", None)
    data["betas"] = list(data.get("betas", ()))
    return data


def config_from_record(record: dict[str, Any], *, resume: bool) -> Any:
    """Rebuild the TrainConfig of a job from :func:`config_record` output."""

    data = dict(record)
    name = data.pop("name")
    return TrainConfig.from_hyperparameters(name, data, resume=resume)


def worker_alive(pid: int | None, job_id: str) -> bool:
    """Whether process ``pid`` is alive and is the worker of ``job_id`` (its command line names the job)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        cmdline = None
    if cmdline is not None:
        return job_id.encode() in cmdline and b"museforge.jobs" in cmdline

    return pid_exists(pid)  # no /proc: the pid alone


def _json_ready(value: Any) -> Any:
    """``value`` with NumPy/torch scalars turned into Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        with contextlib.suppress(Exception):
            return value.item()
    return value


def progress_path(store: Store, job_id: str) -> Path:
    """The file a job's worker keeps its latest progress in: ``<jobs_dir>/<job_id>.progress.json``."""
    return store.jobs_dir / f"{check_id(job_id, 'job')}{PROGRESS_SUFFIX}"


def read_progress(store: Store, job_id: str) -> dict[str, Any] | None:
    """A job's latest progress inside its epoch, or None when its worker has reported none.

    ``{phase: "training" | "evaluating", epoch, step, total_steps, steps_per_epoch, step_in_epoch, samples_per_s,
    eta_s, time}`` (see :func:`museforge.training.train`'s ``on_progress``; ``time`` is when it was written).
    """
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(progress_path(store, job_id).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return None


def _write_progress(path: Path, progress: dict[str, Any]) -> None:
    """Replace the progress file atomically (a reader never sees half a file); errors are ignored."""
    with contextlib.suppress(MuseforgeError):  # progress is a hint: a full disk must not stop the training
        atomic_write_bytes(path, json.dumps(_json_ready(progress)).encode())


def has_checkpoint(model_name: str) -> bool:
    """Whether the model's folder holds a card and weights that ``resume`` can continue from."""

    try:
        folder = model_folder(model_name)
    except MuseforgeError:
        return False
    return (folder / MODEL_JSON).is_file() and (folder / GENERATOR_FILE).is_file()


def killed_message(code: int | None) -> str:
    """Why a worker that ended on a signal stopped, and that the job can be resumed."""
    try:
        name = signal.Signals(-int(code or 0)).name
    except ValueError:
        name = f"signal {-int(code or 0)}"
    hint = " (perhaps the system ran out of memory)" if name == "SIGKILL" else ""
    return f"the training worker was killed by {name}{hint}; resume it to continue from its last checkpoint"


def _remove_stop_file(model_name: str) -> None:

    with contextlib.suppress(OSError, MuseforgeError):
        (model_folder(model_name) / STOP_FILE).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ the manager
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
        if worker_alive(job["pid"], job_id):
            raise ConflictError(f"job {job_id} is still shutting down; try again in a moment")
        job = self.store.requeue_job(job_id)
        self._wake.set()
        return job

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
        _remove_stop_file(job["model_name"])
        with contextlib.suppress(OSError):
            progress_path(self.store, job_id).unlink(missing_ok=True)
        env = dict(os.environ)
        env["MUSEFORGE_HOME"] = str(museforge.paths.home())
        package_root = str(Path(museforge.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
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
def run_worker(job_id: str, store: Store) -> int:
    """Train job ``job_id`` in this process and record the outcome in ``store``; returns an exit code.

    SIGTERM/SIGINT or the parent process going away end the run as ``interrupted``; the store's stop flag
    as ``stopped``. Both let the trainer save a checkpoint first.
    """
    from museforge.training.trainer import train

    job = store.get_job(check_id(job_id, "job"))
    if job["status"] != TRAINING:
        print(f"museforge: job {job_id} is {job['status']}, not claimed for training", file=sys.stderr)
        return 2
    store.set_job_pid(job_id, os.getpid())
    stop_event = threading.Event()
    reason: dict[str, str] = {}

    def interrupt(_signum: int, _frame: Any) -> None:
        reason.setdefault("status", INTERRUPTED)
        stop_event.set()

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    parent = os.getppid()

    def watch() -> None:
        while not stop_event.wait(0.5):
            if os.getppid() != parent:
                reason.setdefault("status", INTERRUPTED)
                stop_event.set()
            with contextlib.suppress(Exception):
                if store.stop_requested(job_id):
                    reason.setdefault("status", STOPPED)
                    stop_event.set()

    threading.Thread(target=watch, name="museforge-job-watch", daemon=True).start()
    epochs_seen = [int(job["epochs_done"] or 0)]

    def on_epoch(record: dict[str, Any]) -> None:
        epoch = record.get("epoch")
        epoch = int(epoch) if isinstance(epoch, int | float) else epochs_seen[0] + 1
        epochs_seen[0] = epoch
        store.add_epoch(job_id, epoch, _json_ready(record))

    progress_file = progress_path(store, job_id)
    last_training_write = [0.0]

    def on_progress(progress: dict[str, Any]) -> None:
        # training reports are thinned out among themselves only: one that follows an epoch's "evaluating" report
        # must replace it, or runs whose epochs are short would show "evaluating" all the time
        if progress.get("phase") == "training":
            moment = time.monotonic()
            if moment - last_training_write[0] < PROGRESS_INTERVAL:
                return
            last_training_write[0] = moment
        _write_progress(progress_file, {**progress, "time": time.time()})

    try:
        config = config_from_record(job["config"], resume=job["resume"]).validate()
        result = train(config, progress=False, stop_event=stop_event, on_epoch=on_epoch, on_progress=on_progress)
    except MuseforgeError as error:
        store.finish_job(job_id, FAILED, str(error))
        print(f"museforge: job {job_id} failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        traceback.print_exc()
        store.finish_job(job_id, FAILED, f"internal error: {type(error).__name__}: {error}")
        return 1
    finally:
        stop_event.set()
    stopped = bool(result.get("stopped")) if isinstance(result, dict) else False
    status = reason.get("status", STOPPED) if stopped else COMPLETED
    store.finish_job(job_id, status, INTERRUPTED_MESSAGE if status == INTERRUPTED else None)
    with contextlib.suppress(Exception):
        store.sync_models()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m museforge.jobs run JOB_ID [--store PATH]``: the worker process the server starts."""
    parser = argparse.ArgumentParser(prog="python -m museforge.jobs", description="Run one training job.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one queued-and-claimed job of the store")
    run.add_argument("job_id")
    run.add_argument("--store", type=Path, help="the SQLite store (default: $MUSEFORGE_HOME/museforge.sqlite)")
    args = parser.parse_args(argv)
    try:
        return run_worker(args.job_id, Store(args.store))
    except MuseforgeError as error:
        print(f"museforge: error: {error}", file=sys.stderr)
        return 2


__all__ = [
    "QUEUED",
    "JobManager",
    "config_from_record",
    "config_record",
    "has_checkpoint",
    "main",
    "read_progress",
    "run_worker",
    "worker_alive",
]

if __name__ == "__main__":
    sys.exit(main())
