"""The studio's SQLite store: an index of models, training jobs and compositions, shared by the CLI and the server.

The store lives at :func:`museforge.paths.store_path` (``$MUSEFORGE_HOME/museforge.sqlite``) in WAL mode, so the
server, its training workers and the CLI can read and write it at the same time. Model folders under
:func:`museforge.paths.models_dir` stay the source of truth for weights and metrics; :meth:`Store.sync_models`
(re)reads them, so a model trained from the CLI shows up in the studio.

Tables
------
``models``: one row per model folder (name, architecture, genre, status, epochs done, hyperparameters).
``jobs``: training jobs (config, status ``queued -> training -> completed | failed | stopped | interrupted``,
worker pid, timestamps, error). ``job_epochs``: one JSON row per finished epoch of a job (losses and metrics).
``compositions``: input melody, model, seed, output files and summary. ``melodies``: uploaded or recorded
melodies kept as MIDI files under ``$MUSEFORGE_HOME/melodies``.

Every id the store hands out is 32 lowercase hex digits (:func:`check_id`); names and ids are checked before they
are ever used in a path.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from museforge import paths
from museforge.errors import MuseforgeError, NotFoundError

SCHEMA_VERSION = 1
#: Job states. A job waits ``queued``, runs ``training`` and ends in one of the final states.
QUEUED, TRAINING = "queued", "training"
COMPLETED, FAILED, STOPPED, INTERRUPTED = "completed", "failed", "stopped", "interrupted"
ACTIVE_STATES = (QUEUED, TRAINING)
FINAL_STATES = (COMPLETED, FAILED, STOPPED, INTERRUPTED)
#: Final states a job can be resumed from (its model folder holds a checkpoint).
RESUMABLE_STATES = (INTERRUPTED, STOPPED)

_ID = re.compile(r"[0-9a-f]{32}")
_MODEL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    architecture TEXT,
    genre TEXT,
    status TEXT,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    hyperparameters TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    model_name TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    resume INTEGER NOT NULL DEFAULT 0,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    error TEXT,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_model ON jobs (model_name);
CREATE TABLE IF NOT EXISTS job_epochs (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
CREATE TABLE IF NOT EXISTS compositions (
    id TEXT PRIMARY KEY,
    melody TEXT NOT NULL,
    model TEXT NOT NULL,
    genre TEXT,
    seed INTEGER,
    midi_path TEXT NOT NULL,
    wav_path TEXT,
    png_path TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS melodies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    info TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
"""


class ConflictError(MuseforgeError):
    """The request clashes with the current state (a running job, a name in use): HTTP 409."""


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    """A fresh random id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a store id (32 lowercase hex digits), else raise NotFoundError."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise NotFoundError(f"no {what} {value!r}: ids are 32 hex digits")
    return value


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name (``[A-Za-z0-9_-]{1,64}``), else raise MuseforgeError."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise MuseforgeError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '_' or '-' (no spaces, dots or slashes)"
        )
    return name


def model_folder(name: str) -> Path:
    """The folder of user model ``name`` under :func:`museforge.paths.models_dir`, after checking the name."""
    root = paths.models_dir().resolve()
    folder = (root / check_model_name(name)).resolve()
    if folder.parent != root:
        raise MuseforgeError(f"invalid model name {name!r}")
    return folder


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, skipping blank or half-written lines; [] when missing."""
    records: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return records
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


class Store:
    """The SQLite index of models, jobs, compositions and melodies.

    Parameters
    ----------
    path : the database file; default :func:`museforge.paths.store_path`. Its folder is the data home: uploaded
        melodies go to ``<folder>/melodies`` and the studio's compositions to ``<folder>/compositions``.

    Each call opens its own short-lived connection, so one Store may be shared by threads and processes.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.store_path()
        self.home = self.path.parent
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
        except (OSError, sqlite3.Error) as error:
            raise MuseforgeError(f"cannot open the store {self.path}: {error}") from None

    # ------------------------------------------------------------------------------------------ plumbing
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on error."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def journal_mode(self) -> str:
        """The database's journal mode (``wal``)."""
        with self._connect() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def melodies_dir(self) -> Path:
        return self.home / "melodies"

    @property
    def compositions_dir(self) -> Path:
        return self.home / "compositions"

    @property
    def jobs_dir(self) -> Path:
        """Folder of the training workers' log files."""
        return self.home / "jobs"

    # ------------------------------------------------------------------------------------------ models
    def sync_models(self) -> list[dict[str, Any]]:
        """Re-read every model folder under ``models_dir()`` into the ``models`` table; returns :meth:`list_models`.

        Folders with a model card are added or updated (a card that cannot be read is indexed as ``failed``);
        rows whose folder is gone are removed.
        """
        from museforge.training.registry import list_models

        found = {m["name"]: m for m in list_models() if isinstance(m.get("name"), str)}
        stamp = now()
        with self._transaction() as db:
            known = {row["name"] for row in db.execute("SELECT name FROM models")}
            for name in known - found.keys():
                db.execute("DELETE FROM models WHERE name = ?", (name,))
            for name, model in found.items():
                hyper = model.get("hyperparameters") if isinstance(model.get("hyperparameters"), dict) else {}
                epochs = model.get("epochs_done") or 0
                db.execute(
                    """INSERT INTO models (name, architecture, genre, status, epochs_done, hyperparameters,
                                           created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (name) DO UPDATE SET architecture = excluded.architecture,
                           genre = excluded.genre, status = excluded.status, epochs_done = excluded.epochs_done,
                           hyperparameters = excluded.hyperparameters, updated_at = excluded.updated_at""",
                    (
                        name,
                        model.get("architecture"),
                        model.get("genre"),
                        model.get("status"),
                        int(epochs) if isinstance(epochs, int | float) else 0,
                        json.dumps(hyper, default=str),
                        str(model.get("created_at") or stamp),
                        str(model.get("updated_at") or stamp),
                    ),
                )
        return self.list_models()

    def list_models(self) -> list[dict[str, Any]]:
        """Indexed models, newest first, each with its latest job (or None)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM models ORDER BY created_at DESC, name").fetchall()
            models = [self._model_row(row) for row in rows]
            for model in models:
                job = db.execute(
                    "SELECT id, status FROM jobs WHERE model_name = ? ORDER BY created_at DESC LIMIT 1",
                    (model["name"],),
                ).fetchone()
                model["latest_job"] = dict(job) if job else None
        return models

    def get_model(self, name: str) -> dict[str, Any]:
        """One indexed model (re-read from its folder first). Raises NotFoundError."""
        check_model_name(name)
        self.sync_models()
        with self._connect() as db:
            row = db.execute("SELECT * FROM models WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no model named {name!r}")
        return self._model_row(row)

    def forget_model(self, name: str) -> None:
        """Remove a model's row and its jobs from the index (the caller deletes the folder)."""
        check_model_name(name)
        with self._transaction() as db:
            db.execute("DELETE FROM models WHERE name = ?", (name,))
            db.execute("DELETE FROM jobs WHERE model_name = ?", (name,))

    @staticmethod
    def _model_row(row: sqlite3.Row) -> dict[str, Any]:
        model = dict(row)
        model["hyperparameters"] = json.loads(model["hyperparameters"] or "{}")
        return model

    # ------------------------------------------------------------------------------------------ jobs
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

    # ------------------------------------------------------------------------------------------ compositions
    def record_composition(
        self,
        result: Any,
        *,
        melody: str,
        source: str = "cli",
        composition_id: str | None = None,
    ) -> dict[str, Any]:
        """Index a finished composition (a ``museforge.compose.ComposeResult``) and return its row.

        Parameters
        ----------
        result : has ``.summary`` (dict with ``model``, ``genre``, ``seed``), ``.midi_path`` and optional
            ``.wav_path`` / ``.png_path``.
        melody : what was accompanied: a sample name, a file name or an uploaded melody's label.
        source : ``"cli"`` or ``"studio"``.
        composition_id : the id to use (the studio names the output folder after it); a new one by default.
        """
        summary = dict(getattr(result, "summary", None) or {})
        composition_id = check_id(composition_id, "composition") if composition_id else new_id()

        def path_text(value: Any) -> str | None:
            return str(Path(value).resolve()) if value else None

        midi = path_text(result.midi_path)
        if midi is None:
            raise MuseforgeError("a composition needs a MIDI file")
        seed = summary.get("seed")
        with self._connect() as db:
            db.execute(
                """INSERT INTO compositions (id, melody, model, genre, seed, midi_path, wav_path, png_path, summary,
                                             source, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    composition_id,
                    str(melody),
                    str(summary.get("model", "")),
                    summary.get("genre"),
                    int(seed) if isinstance(seed, int) else None,
                    midi,
                    path_text(getattr(result, "wav_path", None)),
                    path_text(getattr(result, "png_path", None)),
                    json.dumps(summary, default=str),
                    source,
                    now(),
                ),
            )
        return self.get_composition(composition_id)

    def get_composition(self, composition_id: str) -> dict[str, Any]:
        check_id(composition_id, "composition")
        with self._connect() as db:
            row = db.execute("SELECT * FROM compositions WHERE id = ?", (composition_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no composition {composition_id}")
        return self._composition_row(row)

    def list_compositions(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM compositions ORDER BY created_at DESC, rowid DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [self._composition_row(row) for row in rows]

    @staticmethod
    def _composition_row(row: sqlite3.Row) -> dict[str, Any]:
        composition = dict(row)
        composition["summary"] = json.loads(composition["summary"] or "{}")
        return composition

    # ------------------------------------------------------------------------------------------ melodies
    def add_melody(self, name: str, kind: str, path: Path, info: dict[str, Any], melody_id: str) -> dict[str, Any]:
        """Index an uploaded or recorded melody whose MIDI file is ``path`` (inside :attr:`melodies_dir`)."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO melodies (id, name, kind, path, info, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (check_id(melody_id, "melody"), name, kind, str(path), json.dumps(info), now()),
            )
        return self.get_melody(melody_id)

    def get_melody(self, melody_id: str) -> dict[str, Any]:
        check_id(melody_id, "melody")
        with self._connect() as db:
            row = db.execute("SELECT * FROM melodies WHERE id = ?", (melody_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no uploaded or recorded melody {melody_id}")
        return self._melody_row(row)

    def list_melodies(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM melodies ORDER BY created_at DESC, rowid DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [self._melody_row(row) for row in rows]

    @staticmethod
    def _melody_row(row: sqlite3.Row) -> dict[str, Any]:
        melody = dict(row)
        melody["info"] = json.loads(melody["info"] or "{}")
        return melody
