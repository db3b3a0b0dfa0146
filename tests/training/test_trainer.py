"""Training tiny MuseGAN and U-Net models on real bach windows with every loss."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from museforge.music.midi import read_midi
from museforge.training import TrainConfig, list_models, resume_config, show_model, stop_signals, train, trainer
from museforge.training.registry import model_dir, read_history

LOSSES = ["wgan-gp", "hinge", "nonsaturating", "lsgan"]
METRIC_KEYS = {"empty_bar_rate", "used_pitch_classes", "qualified_note_rate", "in_scale_rate", "polyphonic_rate"}


def _weights(name: str, file: str = "generator.safetensors") -> dict[str, torch.Tensor]:
    return load_file(str(model_dir(name) / file))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["musegan", "unet"])
@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_trains_and_logs(bach: Path, tiny: Callable[..., TrainConfig], model: str, loss: str) -> None:
    result = train(tiny(f"{model}-{loss}", model, loss=loss), progress=False)
    card = show_model(f"{model}-{loss}")
    spe = card["steps_per_epoch"]
    assert result["status"] == card["status"] == "completed"
    assert (card["epochs_done"], card["step"], card["architecture"], card["genre"]) == (2, 2 * spe, model, "bach")

    records = read_history(model_dir(f"{model}-{loss}"))
    assert [r["epoch"] for r in records] == [1, 2] and all(r["complete"] for r in records)
    for r in records:
        for key in ("generator_loss", "discriminator_loss", "real_score", "fake_score", "gradient_penalty"):
            assert math.isfinite(r[key])
        assert r["samples_per_second"] > 0 and r["wall_time"] >= r["train_time"] > 0
        assert (r["gradient_penalty"] > 0) == (loss == "wgan-gp")
        if loss == "wgan-gp":  # the critic's loss holds 10x the penalty; the Wasserstein estimate is logged apart
            assert r["wasserstein_estimate"] == pytest.approx(r["real_score"] - r["fake_score"])
            penalty = 10 * r["gradient_penalty"]
            assert r["discriminator_loss"] == pytest.approx(-r["wasserstein_estimate"] + penalty, rel=1e-4, abs=1e-5)
        else:
            assert "wasserstein_estimate" not in r
        generated, data = r["metrics"]["generated"], r["metrics"]["training_data"]
        assert list(generated) == list(data) == ["alto", "tenor", "bass", "ensemble"]
        assert set(generated["alto"]) >= METRIC_KEYS and set(data["alto"]) >= METRIC_KEYS
    # the losses and the music of the fixed generated batch move from one epoch to the next
    first, last = records
    assert first["generator_loss"] != last["generator_loss"]
    assert first["discriminator_loss"] != last["discriminator_loss"]
    assert first["metrics"]["generated"] != last["metrics"]["generated"]
    # the training data's metrics are the real chorales': 3 voices, no empty bar, mostly one pitch at a time
    data = last["metrics"]["training_data"]
    assert data["alto"]["empty_bar_rate"] < 0.05 and 2 < data["alto"]["used_pitch_classes"] < 5
    assert data["bass"]["in_scale_rate"] > 0.9 and data["bass"]["polyphonic_rate"] < 0.05
    # show_model carries the last epoch's losses
    assert card["generator_loss"] == pytest.approx(last["generator_loss"])
    assert card["discriminator_loss"] == pytest.approx(last["discriminator_loss"])
    assert card["hyperparameters"]["loss"] == loss and card["hyperparameters"]["update_ratio"] == 2


@pytest.mark.slow
def test_the_generator_learns_how_sparse_chorale_voices_are(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    import torch

    from museforge.datasets.cache import load_dataset
    from museforge.models.loading import load_generator
    from museforge.models.registry import build_gan

    config = tiny("learn", "unet", learning_rate=1e-2, epochs=5)
    train(config, progress=False)
    records = read_history(model_dir("learn"))
    data = records[-1]["metrics"]["training_data"]
    for role in ("alto", "tenor", "bass"):
        assert 0.8 < data[role]["pitches_per_step"] <= 1.0  # one voice: one pitch at a time, few rests
    # In probability space (before notes are chosen): the untrained generator turns on about half the cells, the
    # trained one about as few as a chorale voice sounds (one pitch in 84 per step).
    trained, card = load_generator(model_dir("learn"))
    torch.manual_seed(config.seed)
    untrained, _, _ = build_gan("unet", card["model_config"])
    melody = torch.from_numpy(load_dataset("bach").windows("valid")[:16, 0, :32]).float()
    noise = trained.sample_noise(16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = torch.sigmoid(untrained.eval()(melody, noise)).mean().item()
        after = torch.sigmoid(trained.eval()(melody, noise)).mean().item()
    assert before > 0.3
    assert after < 0.1 and after < before / 4


def test_samples_per_epoch_are_midi_and_png(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("s", "unet", samples_per_epoch=2, max_steps=2, epochs=1), progress=False)
    folder = model_dir("s") / "samples"
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_001.mid", "epoch_001.png"]
    assert (folder / "epoch_001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    midi = read_midi(folder / "epoch_001.mid")
    # the melody and the voices that sing: after two updates a voice may find nothing likely under the tune, where
    # the chorale decoding keeps every voice, and rest throughout (a track without notes is not written)
    assert midi.roles[0] == "melody" and 2 <= midi.n_tracks <= 4
    assert set(midi.roles[1:]) <= {"alto", "tenor", "bass"} and all(midi.notes(k) for k in range(midi.n_tracks))
    record = read_history(model_dir("s"))[-1]
    assert record["complete"] is False
    assert record["sample"] == {"midi": "samples/epoch_001.mid", "png": "samples/epoch_001.png"}


@pytest.mark.slow
def test_fixed_seed_is_deterministic_and_a_stop_resumes_exactly(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("a", "musegan"), progress=False)
    stop = threading.Event()
    stopped = train(tiny("b", "musegan"), progress=False, stop_event=stop, on_epoch=lambda _r: stop.set())
    card = show_model("b")
    assert stopped["stopped"] and card["status"] == "stopped"
    assert (card["epochs_done"], card["step"]) == (1, card["steps_per_epoch"] + 1)  # stopped mid-epoch 2

    resumed = train(resume_config("b"), progress=False)
    assert resumed["status"] == "completed" and resumed["epochs_done"] == 2
    for file in ("generator.safetensors", "critic.safetensors"):
        a, b = _weights("a", file), _weights("b", file)
        assert all(torch.equal(a[k], b[k]) for k in a)
    losses = [[r[k] for k in ("generator_loss", "discriminator_loss")] for r in read_history(model_dir("a"))]
    assert losses == [[r[k] for k in ("generator_loss", "discriminator_loss")] for r in read_history(model_dir("b"))]

    train(tiny("other-seed", "musegan", seed=1), progress=False)
    a, c = _weights("a"), _weights("other-seed")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_stop_file_stops_the_run(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    def ask_to_stop(_record: dict) -> None:
        (model_dir("f") / "STOP").touch()

    result = train(tiny("f", "unet", epochs=3), progress=False, on_epoch=ask_to_stop)
    assert result["status"] == "stopped" and result["epochs_done"] == 1
    assert not (model_dir("f") / "STOP").exists()
    listed = {m["name"]: m for m in list_models()}
    assert listed["f"]["status"] == "stopped"
    for key in ("architecture", "genre", "status", "hyperparameters", "epochs_done", "generator_loss"):
        assert key in listed["f"]
    assert json.loads(json.dumps(show_model("f")))["discriminator_loss"] is not None


def test_weights_change_where_the_losses_say_so(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    """Two more steps move both networks, each weight by no more than Adam's step bound allows."""
    train(tiny("w", "unet", max_steps=1, epochs=1), progress=False)
    one = {file: _weights("w", file) for file in ("generator.safetensors", "critic.safetensors")}
    train(resume_config("w", max_steps=3), progress=False)
    three = {file: _weights("w", file) for file in one}
    card = show_model("w")
    assert card["step"] == 3
    rate, ratio = card["hyperparameters"]["learning_rate"], card["hyperparameters"]["update_ratio"]
    # Adam moves a weight by at most about lr per update (|m_hat| / sqrt(v_hat) < 2 with betas (0.5, 0.9)):
    # 2 generator updates, and update_ratio critic updates per step
    for file, updates in (("generator.safetensors", 2), ("critic.safetensors", 2 * ratio)):
        weights = [k for k in one[file] if one[file][k].is_floating_point() and "running" not in k]
        moves = {k: (three[file][k] - one[file][k]).abs().max().item() for k in weights}
        assert all(np.isfinite(three[file][k].numpy()).all() for k in weights), file
        assert max(moves.values()) <= 2 * rate * updates, (file, max(moves.values()))
        moved = [k for k, v in moves.items() if v > 0]
        assert len(moved) >= 0.9 * len(weights), (file, sorted(set(weights) - set(moved)))  # the losses reach them


def test_progress_bar_shows_the_losses(
    bach: Path, tiny: Callable[..., TrainConfig], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer, "REFRESH_SECONDS", 0.0)  # refresh after every step
    monkeypatch.setattr(trainer, "PLAIN_PROGRESS_SECONDS", 0.0)  # stderr is no terminal here: a line per refresh
    train(tiny("bar", "unet", max_steps=2, epochs=1), progress=True)
    err = capsys.readouterr().err
    assert "bar:" in err and "2/2" in err and "epoch 1 g " in err and " d " in err


def test_the_time_left_counts_the_evaluations_ahead(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    # tiny epochs train in a fraction of the time their evaluation takes: a time left from the steps alone would
    # say a third of the truth. Each report after an evaluation counts one more per epoch ahead, as long as it took.
    reports: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    config = tiny("eta", "unet", max_steps=None, epochs=3)
    train(config, progress=False, on_progress=reports.append, on_epoch=records.append)
    per_epoch = reports[0]["steps_per_epoch"]
    evaluating = [r for r in reports if r["phase"] == "evaluating"]
    assert [r["epoch"] for r in evaluating] == [1, 2, 3]
    first_eval = records[0]["wall_time"] - records[0]["train_time"]
    assert first_eval > 0
    second = evaluating[1]  # after epoch 2: one epoch of steps and one evaluation ahead
    steps_alone = per_epoch / (second["samples_per_s"] / config.batch_size)
    assert second["eta_s"] == pytest.approx(steps_alone + first_eval, rel=1e-6), (second, first_eval)
    assert evaluating[0]["eta_s"] == pytest.approx(
        2 * per_epoch / (evaluating[0]["samples_per_s"] / config.batch_size), rel=1e-6
    )
    assert evaluating[2]["eta_s"] == 0  # nothing left


def test_signals_become_a_stop_request() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_signals() as event:
        assert not event.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert event.wait(5)
    assert signal.getsignal(signal.SIGTERM) is before
