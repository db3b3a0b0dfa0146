"""Bad input and bad luck: one-line errors, and nothing that was saved is lost."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, load_generator, resume_config, show_model, train
from museforge.training.registry import model_dir
from tests.helpers import wait_for


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(excinfo: pytest.ExceptionInfo[MuseforgeError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def test_diverging_losses_fail_the_run_and_keep_the_last_good_checkpoint(
    bach: Path, tiny: Callable[..., TrainConfig]
) -> None:
    with pytest.raises(MuseforgeError) as excinfo:
        train(tiny("nan", "musegan", learning_rate=1e12), progress=False)
    assert "diverged" in _one_line(excinfo)
    card = show_model("nan")
    assert card["status"] == "failed" and "NaN" in card["error"]
    generator, _ = load_generator("nan")  # the last good checkpoint: finite weights
    assert all(torch.isfinite(p).all() for p in generator.parameters())
    # it can go on from there with a sane learning rate
    result = train(resume_config("nan", learning_rate=1e-3, epochs=1), progress=False)
    assert result["status"] == "completed"


def test_an_existing_name_is_never_overwritten(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("taken", "unet", max_steps=1, epochs=1), progress=False)
    before = _snapshot(model_dir("taken"))
    with pytest.raises(MuseforgeError) as excinfo:
        train(tiny("taken", "musegan"), progress=False)
    assert "already exists" in _one_line(excinfo) and "--resume" in str(excinfo.value)
    assert _snapshot(model_dir("taken")) == before


def test_resume_refuses_changed_settings_and_unknown_models(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("r", "unet", max_steps=1, epochs=1), progress=False)
    with pytest.raises(MuseforgeError, match="different loss"):
        train(tiny("r", "unet", loss="hinge", resume=True), progress=False)
    with pytest.raises(MuseforgeError, match="no model named 'ghost'"):
        train(tiny("ghost", "unet", resume=True), progress=False)


def test_a_dataset_not_built_names_the_command(museforge_home: Path, tiny: Callable[..., TrainConfig]) -> None:
    with pytest.raises(MuseforgeError) as excinfo:
        train(tiny("p", "musegan", genre="pop"), progress=False)
    assert "museforge datasets build pop" in _one_line(excinfo)
    assert not model_dir("p").exists()


def test_unknown_genre_and_model(museforge_home: Path, tiny: Callable[..., TrainConfig]) -> None:
    for change in ({"genre": "polka"}, {"architecture": "gpt"}):
        with pytest.raises(MuseforgeError) as excinfo:
            train(TrainConfig(name="u", **{"genre": "bach", **change}), progress=False)
        _one_line(excinfo)


def test_corrupted_or_foreign_checkpoints_are_refused(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("c", "unet", max_steps=1, epochs=1), progress=False)
    train(tiny("m", "musegan", max_steps=1, epochs=1), progress=False)
    folder = model_dir("c")

    good = (folder / "critic.safetensors").read_bytes()
    (folder / "critic.safetensors").write_bytes(good[: len(good) // 2])
    before = _snapshot(folder)
    with pytest.raises(MuseforgeError) as excinfo:
        train(resume_config("c", max_steps=2), progress=False)
    assert "corrupted" in _one_line(excinfo)
    assert _snapshot(folder) == before  # nothing touched
    (folder / "critic.safetensors").write_bytes(good)

    shutil.copyfile(model_dir("m") / "generator.safetensors", folder / "generator.safetensors")
    with pytest.raises(MuseforgeError) as excinfo:
        train(resume_config("c", max_steps=2), progress=False)
    assert "musegan" in _one_line(excinfo)
    with pytest.raises(MuseforgeError) as excinfo:
        load_generator("c")
    assert "musegan" in _one_line(excinfo)


def test_an_unwritable_models_folder(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    (bach / "models").write_text("a file where the models folder should be")
    with pytest.raises(MuseforgeError) as excinfo:
        train(tiny("w", "unet"), progress=False)
    assert "cannot create the model folder" in _one_line(excinfo)


@pytest.mark.slow
def test_a_full_disk_keeps_the_last_checkpoint(
    bach: Path,
    tiny: Callable[..., TrainConfig],
    settings: Callable[[TrainConfig], dict[str, Any]],
    run_child: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # The child lowers its file-size limit after the first epoch's log line, so the checkpoint that
    # follows fails with a real EFBIG from the kernel, as a full disk fails with ENOSPC.
    prelude = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "def on_epoch(record):\n"
        "    resource.setrlimit(resource.RLIMIT_FSIZE, (512, resource.RLIM_INFINITY))\n"
    )
    proc = run_child(settings(tiny("full", "unet", checkpoint_every=4)), prelude)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode != 0
    last = stderr.decode().strip().splitlines()[-1]
    assert last.startswith("museforge.errors.MuseforgeError: cannot write checkpoint") and "too large" in last
    card = show_model("full")
    assert card["checkpoint"]["step"] == 4 and card["epochs_done"] == 0  # the mid-epoch one survived
    # the card could not be written either: the run's few bytes of last words say how it ended
    assert card["status"] == "failed" and card["error"].startswith("cannot write checkpoint")
    assert not [p for p in model_dir("full").iterdir() if p.name.endswith(".tmp")]
    result = train(resume_config("full"), progress=False)
    assert result["status"] == "completed" and result["epochs_done"] == 2
    assert show_model("full")["error"] is None and not (model_dir("full") / "last_words.json").exists()


@pytest.mark.slow
def test_a_kill_while_a_model_is_created_leaves_no_stuck_name(
    bach: Path,
    tiny: Callable[..., TrainConfig],
    settings: Callable[[TrainConfig], dict[str, Any]],
    run_child: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # Every fsync in the child sleeps, so its model creation lasts long enough to be killed in the middle.
    prelude = "import os, time\n_fsync = os.fsync\nos.fsync = lambda fd: (time.sleep(0.3), _fsync(fd))[1]\n"
    proc = run_child(settings(tiny("cut", "unet")), prelude)
    models = bach / "models"

    def creating() -> list[Path]:
        staged = list(models.glob(".cut.creating.*"))
        assert staged or proc.poll() is None, "the child ended without ever creating the model"
        return staged

    wait_for(creating, timeout=120, interval=0.005, message="the child to start creating the model")
    proc.kill()
    proc.wait()
    assert not (models / "cut").exists()  # no half-made model under the name
    with pytest.raises(MuseforgeError, match="no model named"):
        show_model("cut")
    result = train(tiny("cut", "unet", epochs=1), progress=False)  # the name is free again
    assert result["status"] == "completed"
    assert not list(models.glob(".cut.creating.*"))  # the killed creation's staging folder was removed


def test_a_cardless_folder_left_by_older_versions_does_not_block_the_name(
    bach: Path, tiny: Callable[..., TrainConfig]
) -> None:
    debris = model_dir("old")
    debris.mkdir(parents=True)
    (debris / ".model.json.1a2b3c4d.tmp").write_text("{")
    result = train(tiny("old", "unet", epochs=1), progress=False)
    assert result["status"] == "completed" and show_model("old")["status"] == "completed"
    assert sorted(p.name for p in debris.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.slow
def test_resume_sweeps_card_writes_cut_short(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("swept", "unet", epochs=1), progress=False)
    stray = model_dir("swept") / ".model.json.deadbeef.tmp"
    stray.write_text('{"half": ')
    assert train(resume_config("swept", epochs=2), progress=False)["epochs_done"] == 2
    assert not stray.exists()
    assert (model_dir("swept") / "model.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.slow
def test_a_model_whose_card_predates_the_architecture_setting_resumes(
    bach: Path, tiny: Callable[..., TrainConfig]
) -> None:
    train(tiny("older", "unet", epochs=1), progress=False)
    card_path = model_dir("older") / "model.json"
    card = json.loads(card_path.read_text())
    card["hyperparameters"]["model"] = card["hyperparameters"].pop("architecture")  # as earlier versions wrote it
    card_path.write_text(json.dumps(card))
    result = train(resume_config("older", epochs=2), progress=False)
    assert result["status"] == "completed" and result["epochs_done"] == 2
