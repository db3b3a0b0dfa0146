"""One training job in its own process: ``python -m museforge.jobs run JOB_ID --store PATH``."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.jobs.records import (
    INTERRUPTED_MESSAGE,
    PROGRESS_INTERVAL,
    config_from_record,
    json_ready,
    progress_path,
    write_progress,
)
from museforge.store import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    STOPPED,
    TRAINING,
    Store,
    check_id,
)


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
        store.add_epoch(job_id, epoch, json_ready(record))

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
        write_progress(progress_file, {**progress, "time": time.time()})

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


__all__ = ["main", "run_worker"]
