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
``compositions``: input melody, technique (``compose``, ``enhance``, ``extend``), model, seed, output files and
summary. ``melodies``: uploaded or recorded
melodies kept as MIDI files under ``$MUSEFORGE_HOME/melodies``.

The schema, states and checks are in :mod:`museforge.store.base`, the jobs table in :mod:`museforge.store.jobs`.
Every id the store hands out is 32 lowercase hex digits (:func:`check_id`); names and ids are checked before they
are ever used in a path.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from museforge.errors import ConflictError, MuseforgeError, NotFoundError
from museforge.model_files import list_models, now, read_jsonl
from museforge.model_files import model_dir as model_folder
from museforge.model_files import validate_name as check_model_name
from museforge.store.base import (
    ACTIVE_STATES,
    COMPLETED,
    FAILED,
    FINAL_STATES,
    INTERRUPTED,
    QUEUED,
    RESUMABLE_STATES,
    SCHEMA_VERSION,
    STOPPED,
    TECHNIQUES,
    TRAINING,
    check_id,
    new_id,
)
from museforge.store.jobs import JobsTable

#: The technique a result's ``summary["architecture"]`` stands for (others: ``compose``).
_TECHNIQUE_OF = {"arcnn": "enhance", "transformer": "extend"}


class Store(JobsTable):
    """The SQLite index of models, jobs, compositions and melodies.

    Parameters
    ----------
    path : the database file; default :func:`museforge.paths.store_path`. Its folder is the data home: uploaded
        melodies go to ``<folder>/melodies`` and the studio's compositions to ``<folder>/compositions``.

    Each call opens its own short-lived connection, so one Store may be shared by threads and processes.
    """

    # ------------------------------------------------------------------------------------------ models
    def sync_models(self) -> list[dict[str, Any]]:
        """Re-read every model folder under ``models_dir()`` into the ``models`` table; returns :meth:`list_models`.

        Folders with a model card are added or updated (a card that cannot be read is indexed as ``failed``);
        rows whose folder is gone are removed.
        """
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

    # ------------------------------------------------------------------------------------------ compositions
    def record_composition(
        self,
        result: Any,
        *,
        melody: str,
        source: str = "cli",
        composition_id: str | None = None,
        technique: str | None = None,
    ) -> dict[str, Any]:
        """Index a finished composition (a :class:`museforge.pipelines.common.PipelineResult`); return its row.

        Parameters
        ----------
        result : has ``.summary`` (dict with ``model``, ``genre``, ``seed``), ``.midi_path`` and optional
            ``.wav_path`` / ``.png_path``.
        melody : what was accompanied: a sample name, a file name or an uploaded melody's label.
        source : ``"cli"`` or ``"studio"``.
        composition_id : the id to use (the studio names the output folder after it); a new one by default.
        technique : ``compose``, ``enhance`` or ``extend``; by default the summary's ``architecture`` says
            (``arcnn``: enhance, ``transformer``: extend, anything else: compose).
        """
        summary = dict(getattr(result, "summary", None) or {})
        composition_id = check_id(composition_id, "composition") if composition_id else new_id()
        if technique is None:
            technique = _TECHNIQUE_OF.get(str(summary.get("architecture")), "compose")
        if technique not in TECHNIQUES:
            raise MuseforgeError(f"unknown technique {technique!r}: choose {', '.join(TECHNIQUES)}")

        def path_text(value: Any) -> str | None:
            return str(Path(value).resolve()) if value else None

        midi = path_text(result.midi_path)
        if midi is None:
            raise MuseforgeError("a composition needs a MIDI file")
        seed = summary.get("seed")
        with self._connect() as db:
            db.execute(
                """INSERT INTO compositions (id, melody, model, genre, seed, midi_path, wav_path, png_path, summary,
                                             source, created_at, technique)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
                    technique,
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

    def list_compositions(self, limit: int = 100, technique: str | None = None) -> list[dict[str, Any]]:
        """Compositions newest first; only those made by ``technique`` when given."""
        where, args = ("WHERE technique = ?", [technique]) if technique is not None else ("", [])
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM compositions {where} ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, int(limit))
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


__all__ = [
    "ACTIVE_STATES",
    "COMPLETED",
    "FAILED",
    "FINAL_STATES",
    "INTERRUPTED",
    "QUEUED",
    "RESUMABLE_STATES",
    "SCHEMA_VERSION",
    "STOPPED",
    "TECHNIQUES",
    "TRAINING",
    "ConflictError",
    "Store",
    "check_id",
    "check_model_name",
    "model_folder",
    "new_id",
    "now",
    "read_jsonl",
]
