"""What a job keeps beside the store: its TrainConfig as JSON, its progress file, and what a worker's exit means."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.files import atomic_write_bytes
from museforge.store import (
    Store,
    check_id,
    model_folder,
)
from museforge.training.config import LOCKED_ON_RESUME, TrainConfig
from museforge.training.registry import (
    GENERATOR_FILE,
    MODEL_JSON,
    STOP_FILE,
    existing_model_dir,
    pid_exists,
    read_card,
)

INTERRUPTED_MESSAGE = "the server stopped while this job was training; resume it to continue from its last checkpoint"
#: Seconds between the worker's writes of training progress (the trainer reports about once a second; each epoch's
#: "evaluating" report is always written).
PROGRESS_INTERVAL = 0.5
PROGRESS_SUFFIX = ".progress.json"


def config_record(config: Any) -> dict[str, Any]:
    """A TrainConfig as the JSON stored with a job: every field but ``resume`` (betas as a list)."""
    data = dataclasses.asdict(config)
    data.pop("resume", None)
    data["betas"] = list(data.get("betas", ()))
    return data


def config_from_record(record: dict[str, Any], *, resume: bool) -> Any:
    """Rebuild the TrainConfig of a job from :func:`config_record` output.

    A resumed job continues the run its model folder holds, as ``museforge train --resume`` does: the settings a
    resume may not change come from the model's card (which also keeps what the run filled in itself, such as a
    MuseGAN's drum pattern tracks), the others (epochs, max steps, learning rate, device, logging) from the job.
    """
    data = dict(record)
    name = data.pop("name")
    if resume:
        stored = read_card(existing_model_dir(name)).get("hyperparameters", {})
        kept = {k: v for k, v in data.items() if k not in LOCKED_ON_RESUME}
        return TrainConfig.from_hyperparameters(name, {**stored, **kept}, resume=True)
    return TrainConfig.from_hyperparameters(name, data, resume=False)


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


def json_ready(value: Any) -> Any:
    """``value`` with NumPy/torch scalars turned into Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
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
    eta_s, losses, time}`` (see :func:`museforge.training.train`'s ``on_progress``; ``time`` is when it was written).
    """
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(progress_path(store, job_id).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return None


def write_progress(path: Path, progress: dict[str, Any]) -> None:
    """Replace the progress file atomically (a reader never sees half a file); errors are ignored."""
    with contextlib.suppress(MuseforgeError):  # progress is a hint: a full disk must not stop the training
        atomic_write_bytes(path, json.dumps(json_ready(progress)).encode())


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


def remove_stop_file(model_name: str) -> None:

    with contextlib.suppress(OSError, MuseforgeError):
        (model_folder(model_name) / STOP_FILE).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ the manager


__all__ = [
    "INTERRUPTED_MESSAGE",
    "PROGRESS_INTERVAL",
    "PROGRESS_SUFFIX",
    "config_from_record",
    "config_record",
    "has_checkpoint",
    "json_ready",
    "killed_message",
    "progress_path",
    "read_progress",
    "remove_stop_file",
    "worker_alive",
    "write_progress",
]
