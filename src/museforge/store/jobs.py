"""The ``jobs`` and ``job_epochs`` tables: training jobs queued, claimed, stopped, requeued and finished."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from museforge.errors import ConflictError, NotFoundError
from museforge.model_files import now
from museforge.model_files import validate_name as check_model_name
from museforge.store.base import (
    ACTIVE_STATES,
    FINAL_STATES,
    QUEUED,
    RESUMABLE_STATES,
    STOPPED,
    TRAINING,
    Database,
    check_id,
    new_id,
)


class JobsTable(Database):
    """Training jobs: the ``jobs`` table and each job's epochs."""

    def create_job(self, model_name: str, config: dict[str, Any], *, resume: bool = False) -> dict[str, Any]:
        """Queue a training job for ``model_name`` with ``config`` (TrainConfig fields, JSON-ready).

        Raises ConflictError when another job of that model is queued or training.
        """
        check_model_name(model_name)
        job_id, stamp = new_id(), now()
        with self._transaction() as db:
            busy = db.execute(
                "SELECT id FROM jobs WHERE model_name = ? AND status IN (?, ?)", (model_name, *ACTIVE_STATES)
            ).fetchone()
            if busy:
                raise ConflictError(f"model {model_name!r} already has an active job ({busy['id']})")
            db.execute(
                """INSERT INTO jobs (id, model_name, status, config, resume, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (job_id, model_name, QUEUED, json.dumps(config), int(resume), stamp, stamp),
            )
        return self.get_job(job_id)

    def get_job(self, job_id: str, *, epochs: bool = False) -> dict[str, Any]:
        """One job as a dict (``config`` parsed); with ``epochs=True`` also its per-epoch records."""
        check_id(job_id, "job")
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no job {job_id}")
            job = self._job_row(row)
            if epochs:
                job["epochs"] = self._epochs(db, job_id, 0)
        return job

    def list_jobs(self, *, status: str | None = None, model_name: str | None = None) -> list[dict[str, Any]]:
        """Jobs, newest first, optionally only those with ``status`` or of ``model_name``."""
        query, args = "SELECT * FROM jobs WHERE 1 = 1", []
        if status is not None:
            query += " AND status = ?"
            args.append(status)
        if model_name is not None:
            query += " AND model_name = ?"
            args.append(model_name)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, rowid DESC", args).fetchall()
        return [self._job_row(row) for row in rows]

    def count_jobs(self, status: str) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0])

    def claim_next_job(self) -> dict[str, Any] | None:
        """Move the oldest queued job to ``training`` (no pid yet) and return it; None when none waits."""
        stamp = now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE status = ? ORDER BY created_at, rowid LIMIT 1", (QUEUED,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                """UPDATE jobs SET status = ?, pid = NULL, error = NULL, started_at = ?, finished_at = NULL,
                       runs = runs + 1, updated_at = ? WHERE id = ?""",
                (TRAINING, stamp, stamp, row["id"]),
            )
        return self.get_job(row["id"])

    def set_job_pid(self, job_id: str, pid: int | None) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET pid = ?, updated_at = ? WHERE id = ?", (pid, now(), check_id(job_id)))

    def finish_job(self, job_id: str, status: str, error: str | None = None, *, only_if_active: bool = False) -> bool:
        """Put a job in a final state; with ``only_if_active`` only when it is still queued or training.

        Returns whether the row changed.
        """
        if status not in FINAL_STATES:
            raise ValueError(f"not a final job state: {status!r}")
        stamp = now()
        query = "UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?"
        args: list[Any] = [status, error, stamp, stamp, check_id(job_id)]
        if only_if_active:
            query += " AND status IN (?, ?)"
            args.extend(ACTIVE_STATES)
        with self._connect() as db:
            return db.execute(query, args).rowcount > 0

    def request_stop(self, job_id: str) -> dict[str, Any]:
        """Ask a job to stop: a queued job stops at once, a training one is flagged for its worker.

        Raises ConflictError when the job has already ended.
        """
        check_id(job_id, "job")
        stamp = now()
        with self._transaction() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no job {job_id}")
            if row["status"] == QUEUED:
                db.execute(
                    "UPDATE jobs SET status = ?, stop_requested = 1, finished_at = ?, updated_at = ? WHERE id = ?",
                    (STOPPED, stamp, stamp, job_id),
                )
            elif row["status"] == TRAINING:
                db.execute("UPDATE jobs SET stop_requested = 1, updated_at = ? WHERE id = ?", (stamp, job_id))
            else:
                raise ConflictError(f"job {job_id} has already ended ({row['status']})")
        return self.get_job(job_id)

    def stop_requested(self, job_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT stop_requested FROM jobs WHERE id = ?", (check_id(job_id),)).fetchone()
        return bool(row and row["stop_requested"])

    def requeue_job(self, job_id: str) -> dict[str, Any]:
        """Queue an interrupted or stopped job again, to resume from its model's last checkpoint.

        Raises ConflictError when the job is not resumable or its model has another active job.
        """
        check_id(job_id, "job")
        stamp = now()
        with self._transaction() as db:
            row = db.execute("SELECT status, model_name FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no job {job_id}")
            if row["status"] not in RESUMABLE_STATES:
                raise ConflictError(
                    f"job {job_id} is {row['status']}; only {' or '.join(RESUMABLE_STATES)} jobs can be resumed"
                )
            busy = db.execute(
                "SELECT id FROM jobs WHERE model_name = ? AND status IN (?, ?) AND id != ?",
                (row["model_name"], *ACTIVE_STATES, job_id),
            ).fetchone()
            if busy:
                raise ConflictError(f"model {row['model_name']!r} already has an active job ({busy['id']})")
            db.execute(
                """UPDATE jobs SET status = ?, resume = 1, stop_requested = 0, error = NULL, pid = NULL,
                       finished_at = NULL, updated_at = ? WHERE id = ?""",
                (QUEUED, stamp, job_id),
            )
        return self.get_job(job_id)

    def add_epoch(self, job_id: str, epoch: int, data: dict[str, Any]) -> None:
        """Record the metrics of one finished epoch (replacing an earlier record of that epoch)."""
        stamp = now()
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO job_epochs (job_id, epoch, created_at, data) VALUES (?, ?, ?, ?)",
                (check_id(job_id), int(epoch), stamp, json.dumps(data, default=str)),
            )
            db.execute(
                "UPDATE jobs SET epochs_done = MAX(epochs_done, ?), updated_at = ? WHERE id = ?",
                (int(epoch), stamp, job_id),
            )

    def job_epochs(self, job_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Per-epoch records of a job with ``epoch > after``, in order; each is the worker's dict plus ``epoch``."""
        with self._connect() as db:
            return self._epochs(db, check_id(job_id), after)

    @staticmethod
    def _epochs(db: sqlite3.Connection, job_id: str, after: int) -> list[dict[str, Any]]:
        rows = db.execute(
            "SELECT epoch, data FROM job_epochs WHERE job_id = ? AND epoch > ? ORDER BY epoch", (job_id, after)
        ).fetchall()
        return [{**json.loads(row["data"]), "epoch": row["epoch"]} for row in rows]

    @staticmethod
    def _job_row(row: sqlite3.Row) -> dict[str, Any]:
        job = dict(row)
        job["config"] = json.loads(job["config"])
        job["resume"] = bool(job["resume"])
        job["stop_requested"] = bool(job["stop_requested"])
        return job
