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
    STOPPED,
    TRAINING,
    ConflictError,
    Store,
    check_id,
    check_model_name,
    model_folder,
)

TINY_MODEL = "tiny-bach"  # made by the model_home fixture


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
