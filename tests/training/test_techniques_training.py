"""The AR-CNN (Enhance) and the melody Transformer (Extend) train with the GANs' trainer: same folder, checkpoints,
logs, samples, stop and resume."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, resume_config, show_model, train
from museforge.training.arcnn_task import hide_and_corrupt
from museforge.training.registry import model_dir, read_history


@pytest.mark.slow
@pytest.mark.parametrize("model", ["arcnn", "transformer"])
def test_a_stopped_and_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    bach: Path, tiny: Callable[..., TrainConfig], model: str
) -> None:
    whole = train(tiny("whole", model, samples_per_epoch=1), progress=False)
    assert whole["status"] == "completed" and whole["epochs_done"] == 2

    stop = threading.Event()

    def after_first(record: dict) -> None:
        stop.set()

    first = train(tiny("parts", model, samples_per_epoch=1), progress=False, stop_event=stop, on_epoch=after_first)
    assert first["status"] == "stopped" and first["epochs_done"] == 1
    second = train(resume_config("parts"), progress=False)
    assert second["status"] == "completed" and second["step"] == whole["step"]

    files = sorted(p.name for p in model_dir("whole").glob("*.safetensors"))
    assert files == ["generator.safetensors", "optimizer.safetensors"]  # no critic
    a, b = load_file(str(model_dir("whole") / files[0])), load_file(str(model_dir("parts") / files[0]))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    history = read_history(model_dir("parts"))
    assert [r["epoch"] for r in history] == [1, 2]
    for record in history:
        assert np.isfinite(record["loss"]) and np.isfinite(record["validation_loss"])
        assert record["metrics"]["generated"] and record["metrics"]["training_data"]
        assert (model_dir("parts") / record["sample"]["midi"]).is_file()
    card = show_model("parts")
    assert card["architecture"] == model and card["hyperparameters"]["update_ratio"] == 1
    assert card["hyperparameters"]["loss"] == {"arcnn": "bce", "transformer": "cross-entropy"}[model]
    assert card["loss"] == history[-1]["loss"] and "critic" not in card["parameters"]


def test_the_transformer_logs_its_loss_against_unigram_and_bigram_baselines(
    bach: Path, tiny: Callable[..., TrainConfig]
) -> None:
    train(tiny("t", "transformer", epochs=3, learning_rate=3e-3), progress=False)
    card = show_model("t")
    baselines = card["train_data_metrics"]
    assert 0 < baselines["bigram_loss"] < baselines["unigram_loss"]
    history = read_history(model_dir("t"))
    assert history[-1]["validation_loss"] < history[0]["validation_loss"]  # it learns
    real = baselines["continuations"]
    assert 0.5 <= real["key_fit_with_prompt"] <= 1.0 and real["notes_per_bar"] > 0


def test_damage_hides_whole_steps_and_corrupts_only_known_ones() -> None:
    rng = torch.Generator().manual_seed(0)
    clean = (torch.rand(64, 4, 64, 84, generator=rng) < 0.02).float()
    damaged, known = hide_and_corrupt(clean, 16, rng)
    hidden = known == 0
    assert damaged[hidden].abs().sum() == 0  # hidden steps carry nothing
    assert 0.1 < hidden.float().mean() < 0.9  # both kinds in a batch
    changed = (damaged != clean).any(dim=-1) & ~hidden  # corrupted known steps
    assert 0 < changed.float().mean() < 0.1
    for row in range(len(clean)):
        assert hidden[row].any(), "every window hides something to restore"


def test_gan_only_settings_are_refused_for_the_other_models(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    config = tiny("x", "arcnn")
    assert config.update_ratio == 1 and config.loss == "bce"
    with pytest.raises(MuseforgeError, match="--loss"):
        TrainConfig(name="y", genre="bach", architecture="transformer", loss="hinge").validate()
    with pytest.raises(MuseforgeError, match="--update-ratio is for GANs"):
        TrainConfig(name="y", genre="bach", architecture="arcnn", update_ratio=3).validate()
    with pytest.raises(MuseforgeError, match="unknown genre 'polka'"):
        TrainConfig(name="y", genre="bach+polka", architecture="transformer").validate()
    with pytest.raises(MuseforgeError, match="unknown genre"):
        TrainConfig(name="y", genre="bach+pop", architecture="arcnn").validate()  # only the Transformer mixes genres
    assert json.loads(json.dumps(config.hyperparameters()))["architecture"] == "arcnn"


@pytest.mark.slow
def test_an_enhance_model_cannot_compose_or_be_evaluated_and_says_what_it_is_for(
    bach: Path, tiny: Callable[..., TrainConfig], tmp_path: Path
) -> None:
    from museforge.evaluate import evaluate_model
    from museforge.models.loading import list_composers
    from museforge.pipelines.compose import compose

    train(tiny("mine", "arcnn", epochs=1), progress=False)
    with pytest.raises(MuseforgeError, match="use it with `museforge enhance --model mine`"):
        compose("twinkle", "mine", out_midi=tmp_path / "x.mid")
    with pytest.raises(MuseforgeError, match="not a GAN"):
        evaluate_model("mine", samples=4)
    assert "mine" not in [c["name"] for c in list_composers()]


@pytest.mark.slow
def test_models_a_user_trains_enhance_and_extend(bach: Path, tiny: Callable[..., TrainConfig], tmp_path: Path) -> None:
    from museforge.pipelines.enhance import enhance
    from museforge.pipelines.extend import extend

    train(tiny("harmony", "arcnn", epochs=1), progress=False)
    train(tiny("tunes", "transformer", epochs=1), progress=False)
    enhanced = enhance("twinkle", "harmony", out_midi=tmp_path / "e.mid", iterations=2, seed=0)
    assert enhanced.multitrack.roles == ["melody", "alto", "tenor", "bass"]
    extended = extend("twinkle", "tunes", bars=2, out_midi=tmp_path / "x.mid", seed=0)
    assert extended.summary["bars"] == extended.summary["bars_in"] + 2
    with pytest.raises(MuseforgeError, match="is a transformer model; enhance needs an arcnn model"):
        enhance("twinkle", "tunes", out_midi=tmp_path / "y.mid")
