"""Models on disk: listing, showing, loading a generator from a model folder or a shipped pair."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import museforge.pretrained
from museforge.errors import MuseforgeError, NotFoundError
from museforge.training import (
    TrainConfig,
    delete_model,
    export_model,
    list_models,
    load_generator,
    pretrained_path,
    registry,
    request_stop,
    show_model,
    train,
)
from museforge.training.registry import model_dir


def test_list_and_show(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    assert list_models() == []
    train(tiny("one", "unet", max_steps=2, epochs=1), progress=False)
    train(tiny("two", "musegan", max_steps=1, epochs=1, loss="hinge"), progress=False)
    listed = list_models()
    assert [m["name"] for m in listed] == ["one", "two"]
    two = listed[1]
    assert (two["architecture"], two["genre"], two["status"]) == ("musegan", "bach", "completed")
    assert two["hyperparameters"]["loss"] == "hinge" and two["epochs_done"] == 0 and two["step"] == 1
    shown = json.loads(json.dumps(show_model("one")))  # plain JSON
    for key in ("architecture", "genre", "status", "hyperparameters", "epochs_done"):
        assert key in shown
    assert isinstance(shown["generator_loss"], float) and isinstance(shown["discriminator_loss"], float)
    assert shown["data"]["tracks"][0]["role"] == "alto" and shown["data"]["resolution"] == 4
    assert shown["model_config"]["n_tracks"] == 3 and shown["train_data_metrics"]["bass"]["empty_bar_rate"] == 0.0
    with pytest.raises(NotFoundError):
        show_model("three")
    with pytest.raises(MuseforgeError, match="invalid model name"):
        show_model("../one")


def test_load_generator_from_a_folder_and_from_a_shipped_pair(
    bach: Path, tmp_path: Path, tiny: Callable[..., TrainConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    train(tiny("g", "unet", max_steps=2, epochs=1), progress=False)
    saved = load_file(str(model_dir("g") / "generator.safetensors"))

    by_name, card = load_generator("g")
    by_folder, _ = load_generator(model_dir("g"))
    weights, card_path = export_model("g", tmp_path / "pretrained")
    assert (weights.name, card_path.name) == ("bach.safetensors", "bach.json")
    monkeypatch.setattr(museforge.pretrained, "PRETRAINED_DIR", tmp_path / "pretrained")
    assert pretrained_path("bach") == card_path
    with pytest.raises(NotFoundError, match="no pretrained model ships for genre 'jazz'"):
        pretrained_path("jazz")
    shipped, shipped_card = load_generator(pretrained_path("bach"))
    assert "process" not in shipped_card and shipped_card["architecture"] == card["architecture"] == "unet"

    melody = torch.zeros(2, 32, 84)
    melody[:, :, 48] = 1.0  # a held C5 (MIDI 72)
    noise = by_name.sample_noise(2, generator=torch.Generator().manual_seed(0))
    outputs = []
    for generator in (by_name, by_folder, shipped):
        assert not generator.training
        state = generator.state_dict()
        assert all(torch.equal(state[k], saved[k]) for k in saved)
        with torch.no_grad():
            outputs.append(generator(melody, noise))
    assert outputs[0].shape == (2, 3, 32, 84)
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])


def test_loading_errors(bach: Path, tmp_path: Path, tiny: Callable[..., TrainConfig]) -> None:
    with pytest.raises(NotFoundError):
        load_generator("nobody")
    with pytest.raises(NotFoundError):
        load_generator(tmp_path / "missing.json")
    train(tiny("x", "unet", max_steps=1, epochs=1), progress=False)
    (model_dir("x") / "generator.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(MuseforgeError, match="corrupted"):
        load_generator("x")


def test_stop_request_and_delete(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    train(tiny("d", "unet", max_steps=1, epochs=1), progress=False)
    with pytest.raises(MuseforgeError, match="'d' is not training \\(it is completed\\): there is nothing to stop"):
        request_stop("d")  # a finished model: nothing asked, no STOP file left behind
    assert not (model_dir("d") / "STOP").exists()
    card = registry.read_card(model_dir("d"))
    with registry.claim("d"):  # as a live run of this process holds it
        registry.write_card(model_dir("d"), {**card, "status": "training", "process": registry.process_identity()})
        request_stop("d")
        assert (model_dir("d") / "STOP").exists()
    registry.write_card(model_dir("d"), card)
    delete_model("d")
    assert not model_dir("d").exists() and list_models() == []


def test_shipped_models_show_and_one_compose_rule(bach: Path, tiny: Callable[..., TrainConfig]) -> None:
    shown = show_model("jazz")  # a shipped genre model, as `models list` shows it
    assert shown["status"] == "shipped" and shown["architecture"] == "musegan" and shown["can_compose"]
    assert isinstance(shown["generator_loss"], float) and shown["metrics"]["generated"]["bass"]
    assert show_model("melody")["status"] == "shipped (extend)" and not show_model("melody")["can_compose"]
    with pytest.raises(NotFoundError):
        show_model("no-such-model")
    train(tiny("r", "unet", max_steps=1, epochs=1), progress=False)
    folder, card = model_dir("r"), registry.read_card(model_dir("r"))
    assert registry.compose_refusal("r", folder, card) is None
    assert registry.compose_refusal("r", folder, {**card, "status": "stopped"}) is None
    with registry.claim("r"):  # a live run of this process
        live = {**card, "status": "training", "process": registry.process_identity()}
        assert "still training" in str(registry.compose_refusal("r", folder, live))
    assert registry.compose_refusal("r", folder, live) is None  # its process is gone: it reads as stopped
    refusal = registry.compose_refusal("r", folder, {**card, "status": "failed", "error": "disk full"})
    assert refusal is not None and "failed (disk full)" in refusal
    (folder / registry.GENERATOR_FILE).unlink()
    assert "has no checkpoint yet" in str(registry.compose_refusal("r", folder, card))
    assert [m["can_compose"] for m in list_models()] == [False]
