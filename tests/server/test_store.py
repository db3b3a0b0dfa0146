"""The SQLite store: WAL mode, job life cycle, epochs, compositions, melodies, and the model index."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from museforge.errors import MuseforgeError, NotFoundError
from museforge.store import (
    COMPLETED,
    INTERRUPTED,
    QUEUED,
    SCHEMA_VERSION,
    STOPPED,
    TRAINING,
    ConflictError,
    Store,
    check_id,
    check_model_name,
    model_folder,
)
from tests.tiny_models import TINY_MODEL


def test_store_is_sqlite_in_wal_mode_at_the_data_home(museforge_home: Path) -> None:
    store = Store()
    assert store.path == museforge_home / "museforge.sqlite"
    assert store.journal_mode() == "wal"
    with sqlite3.connect(store.path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"models", "jobs", "job_epochs", "compositions", "melodies"} <= tables


def test_job_life_cycle_queued_training_completed(museforge_home: Path) -> None:
    store = Store()
    job = store.create_job("mymodel", {"name": "mymodel", "genre": "bach"})
    assert job["status"] == QUEUED and job["config"]["genre"] == "bach" and job["resume"] is False
    with pytest.raises(ConflictError, match="already has an active job"):
        store.create_job("mymodel", {"name": "mymodel"})
    claimed = store.claim_next_job()
    assert claimed is not None and claimed["id"] == job["id"] and claimed["status"] == TRAINING
    assert claimed["started_at"] is not None and claimed["runs"] == 1
    assert store.claim_next_job() is None
    store.add_epoch(job["id"], 1, {"generator_loss": 1.5, "discriminator_loss": -0.5})
    store.add_epoch(job["id"], 2, {"generator_loss": 1.25, "discriminator_loss": -0.25})
    store.add_epoch(job["id"], 2, {"generator_loss": 1.0, "discriminator_loss": -0.2})  # re-logged epoch replaces
    assert [e["epoch"] for e in store.job_epochs(job["id"])] == [1, 2]
    assert store.job_epochs(job["id"], after=1) == [{"generator_loss": 1.0, "discriminator_loss": -0.2, "epoch": 2}]
    assert store.finish_job(job["id"], COMPLETED)
    done = store.get_job(job["id"], epochs=True)
    assert done["status"] == COMPLETED and done["epochs_done"] == 2 and len(done["epochs"]) == 2
    assert done["finished_at"] >= done["started_at"]
    # an ended job cannot be stopped, nor finished twice "only if active"
    with pytest.raises(ConflictError, match="already ended"):
        store.request_stop(job["id"])
    assert not store.finish_job(job["id"], INTERRUPTED, only_if_active=True)


def test_stop_resume_rules(museforge_home: Path) -> None:
    store = Store()
    queued = store.create_job("a", {"name": "a"})
    stopped = store.request_stop(queued["id"])
    assert stopped["status"] == STOPPED and stopped["stop_requested"]
    running = store.create_job("b", {"name": "b"})
    store.claim_next_job()
    flagged = store.request_stop(running["id"])
    assert flagged["status"] == TRAINING and store.stop_requested(running["id"])
    with pytest.raises(ConflictError, match="only interrupted or stopped"):
        store.requeue_job(running["id"])
    store.finish_job(running["id"], INTERRUPTED, "server went away")
    again = store.requeue_job(running["id"])
    assert again["status"] == QUEUED and again["resume"] and not again["stop_requested"] and again["error"] is None


def test_jobs_are_claimed_oldest_first_and_once(museforge_home: Path) -> None:
    store = Store()
    ids = [store.create_job(f"m{i}", {"name": f"m{i}"})["id"] for i in range(6)]
    claimed: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        job = Store().claim_next_job()
        if job is not None:
            with lock:
                claimed.append(job["id"])

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)  # each job exactly once, whatever the thread order
    assert store.count_jobs(TRAINING) == 6 and store.count_jobs(QUEUED) == 0


def test_record_composition_and_melody(museforge_home: Path, tmp_path: Path) -> None:
    store = Store()
    midi = tmp_path / "song.mid"
    midi.write_bytes(b"MThd")
    result = SimpleNamespace(
        midi_path=midi, wav_path=None, png_path=None, summary={"model": "jazz", "genre": "jazz", "seed": 7, "bars": 4}
    )
    row = store.record_composition(result, melody="twinkle")
    assert row["model"] == "jazz" and row["seed"] == 7 and row["source"] == "cli"
    assert Path(row["midi_path"]) == midi.resolve() and row["wav_path"] is None
    assert store.get_composition(row["id"])["summary"]["bars"] == 4
    assert [c["id"] for c in store.list_compositions()] == [row["id"]]
    with pytest.raises(NotFoundError):
        store.get_composition("0" * 32)
    melody = store.add_melody("tune.mid", "upload", midi, {"bars": 2}, "a" * 32)
    assert melody["info"] == {"bars": 2} and store.list_melodies()[0]["id"] == "a" * 32


@pytest.mark.parametrize("bad", ["../x", "..", "/etc/passwd", "a/b", "a b", "", "x" * 65, "é", "a.b"])
def test_names_that_could_escape_are_refused(museforge_home: Path, bad: str) -> None:
    with pytest.raises(MuseforgeError, match="invalid model name"):
        check_model_name(bad)
    with pytest.raises(MuseforgeError):
        model_folder(bad)
    with pytest.raises(NotFoundError, match="32 hex digits"):
        check_id(bad)
    with pytest.raises(MuseforgeError):
        Store().create_job(bad, {})


def test_model_folder_stays_inside_models_dir(museforge_home: Path) -> None:
    assert model_folder("my-model_1") == (museforge_home / "models" / "my-model_1").resolve()


def test_sync_models_indexes_cli_trained_models(model_home: Path) -> None:
    store = Store()
    models = store.sync_models()
    assert [m["name"] for m in models] == [TINY_MODEL]
    model = models[0]
    assert model["architecture"] == "unet" and model["genre"] == "bach" and model["status"] == "completed"
    assert model["hyperparameters"]["batch_size"] == 4
    # the folder goes, the row goes
    shutil.rmtree(model_home / "models" / TINY_MODEL)
    assert store.sync_models() == []


#: The ``compositions`` table and meta row as museforge wrote them before the ``technique`` column (schema 1).
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE compositions (
    id TEXT PRIMARY KEY, melody TEXT NOT NULL, model TEXT NOT NULL, genre TEXT, seed INTEGER,
    midi_path TEXT NOT NULL, wav_path TEXT, png_path TEXT, summary TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL, created_at TEXT NOT NULL
);
INSERT INTO compositions VALUES ('%s', 'twinkle', 'jazz', 'jazz', 3, '/x/old.mid', NULL, NULL, '{"bars": 4}', 'studio',
                                 '2025-01-01T00:00:00.000+00:00');
"""


def test_a_schema_1_store_gains_the_technique_column_once(museforge_home: Path, tmp_path: Path) -> None:
    old_id = "c" * 32
    path = museforge_home / "museforge.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1 % old_id)
    store = Store()
    assert store.schema_version() == SCHEMA_VERSION == 2
    old = store.get_composition(old_id)
    assert old["technique"] == "compose" and old["summary"] == {"bars": 4}  # the old row, kept, as a composition
    again = Store()  # opening it again changes nothing
    assert again.schema_version() == 2 and again.get_composition(old_id) == old
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(compositions)")]
    assert columns.count("technique") == 1
    # and the migrated store takes the new techniques' results
    midi = tmp_path / "new.mid"
    midi.write_bytes(b"MThd")
    result = SimpleNamespace(midi_path=midi, wav_path=None, png_path=None, summary={"model": "bach", "seed": 1})
    new = again.record_composition(result, melody="twinkle", technique="enhance")
    assert [c["id"] for c in again.list_compositions(technique="enhance")] == [new["id"]]
    assert [c["id"] for c in again.list_compositions(technique="compose")] == [old_id]


def test_stores_opened_at_once_migrate_once(museforge_home: Path) -> None:
    with sqlite3.connect(museforge_home / "museforge.sqlite") as db:
        db.executescript(SCHEMA_1 % ("d" * 32))
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and Store().get_composition("d" * 32)["technique"] == "compose"


def test_record_composition_knows_the_technique_from_the_architecture(museforge_home: Path, tmp_path: Path) -> None:
    store = Store()
    midi = tmp_path / "x.mid"
    midi.write_bytes(b"MThd")

    def made_by(architecture: str | None) -> str:
        result = SimpleNamespace(
            midi_path=midi, wav_path=None, png_path=None, summary={"model": "m", "architecture": architecture}
        )
        return store.record_composition(result, melody="twinkle")["technique"]

    assert [made_by(a) for a in ("musegan", "unet", None, "arcnn", "transformer")] == [
        "compose",
        "compose",
        "compose",
        "enhance",
        "extend",
    ]
    with pytest.raises(MuseforgeError, match="unknown technique"):
        store.record_composition(SimpleNamespace(midi_path=midi, summary={}), melody="x", technique="remix")
