"""TrainConfig: defaults from the references, and every bad value caught before any work starts."""

from __future__ import annotations

import dataclasses

import pytest

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, validate_name


def test_defaults_follow_the_references() -> None:
    cfg = TrainConfig(name="x", genre="pop").validate()
    assert (cfg.loss, cfg.update_ratio, cfg.learning_rate, cfg.betas, cfg.batch_size) == (
        "wgan-gp",
        5,
        1e-3,
        (0.5, 0.9),
        64,
    )
    assert cfg.penalty_weight == 10.0
    assert TrainConfig(name="x", genre="pop", loss="hinge").penalty_weight == 0.0
    assert TrainConfig(name="x", genre="pop", loss="hinge", gradient_penalty=1.0).penalty_weight == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": 0.0}, "--learning-rate must be > 0"),
        ({"learning_rate": -1e-3}, "--learning-rate must be > 0"),
        ({"learning_rate": float("nan")}, "--learning-rate must be a finite number"),
        ({"update_ratio": 0}, "--update-ratio must be >= 1"),
        ({"update_ratio": 2.5}, "--update-ratio must be a whole number"),
        ({"batch_size": 0}, "--batch-size must be >= 1"),
        ({"epochs": 0}, "--epochs must be >= 1"),
        ({"max_steps": 0}, "--max-steps must be >= 1"),
        ({"seed": -1}, "--seed must be >= 0"),
        ({"loss": "wasserstein"}, "--loss must be one of"),
        ({"model": "gpt"}, "--model must be one of"),
        ({"device": "tpu"}, "--device must be one of"),
        ({"genre": "polka"}, "unknown genre 'polka'"),
        ({"betas": (0.5, 1.0)}, "betas must lie in [0, 1)"),
        ({"gradient_penalty": -1.0}, "gradient_penalty must be >= 0"),
        ({"checkpoint_every": 0}, "checkpoint_every must be >= 1"),
        ({"metrics_samples": 0}, "metrics_samples must be >= 1"),
        ({"model_config": [1, 2]}, "model_config must be a dict"),
        ({"name": "../escape"}, "invalid model name"),
        ({"name": ""}, "invalid model name"),
        ({"name": "a" * 65}, "invalid model name"),
        ({"name": "my model"}, "invalid model name"),
    ],
)
def test_bad_values_are_named(change: dict, message: str) -> None:
    cfg = dataclasses.replace(TrainConfig(name="ok", genre="bach"), **change)
    with pytest.raises(MuseforgeError) as excinfo:
        cfg.validate()
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_names() -> None:
    assert validate_name("Bach_v2-final") == "Bach_v2-final"
    for bad in ("a/b", "a.b", "..", "a b", "ä"):
        with pytest.raises(MuseforgeError):
            validate_name(bad)


def test_hyperparameters_round_trip() -> None:
    cfg = TrainConfig(name="x", genre="bach", model="unet", loss="lsgan", model_config={"base_channels": 8}, seed=3)
    data = cfg.hyperparameters()
    assert "name" not in data and "resume" not in data and data["betas"] == [0.5, 0.9]
    back = TrainConfig.from_hyperparameters("x", data)
    assert back.hyperparameters() == data and back.betas == (0.5, 0.9) and back.model_config == {"base_channels": 8}
