"""TrainConfig: defaults from the references, and every bad value caught before any work starts."""

from __future__ import annotations

import dataclasses

import pytest

from museforge.errors import MuseforgeError
from museforge.training import TrainConfig, validate_name
from museforge.training.config import SIZE_PRESETS, SIZES


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
        ({"architecture": "gpt"}, "--model must be one of"),
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
    cfg = TrainConfig(
        name="x", genre="bach", architecture="unet", loss="lsgan", model_config={"base_channels": 8}, seed=3
    )
    data = cfg.hyperparameters()
    assert "name" not in data and "resume" not in data and data["betas"] == [0.5, 0.9]
    back = TrainConfig.from_hyperparameters("x", data)
    small = SIZE_PRESETS["small"]["unet"]
    assert back.hyperparameters() == data and back.betas == (0.5, 0.9)
    assert back.model_config == {**small, "base_channels": 8} and back.size == "small"


def test_size_presets_go_under_explicit_model_config_keys() -> None:
    assert TrainConfig(name="x", genre="bach", architecture="unet", device="cpu").size == "small"  # the CPU default
    assert TrainConfig(name="x", genre="bach", architecture="unet", device="cuda").size == "medium"
    for size in SIZES:
        for model in ("musegan", "unet", "arcnn", "transformer"):
            cfg = TrainConfig(name="x", genre="bach", architecture=model, size=size, model_config={"base_channels": 5})
            expected = {**SIZE_PRESETS[size][model], "base_channels": 5}
            assert cfg.validate().model_config == expected
    # the shipped models' recipe is "small"
    assert SIZE_PRESETS["small"]["musegan"] == {"base_channels": 32, "critic_base_channels": 24, "temporal_hidden": 64}
    assert TrainConfig(name="x", genre="pop", size="LARGE").size == "large"
    with pytest.raises(MuseforgeError, match="--size must be one of small, medium, large"):
        TrainConfig(name="x", genre="pop", size="huge").validate()
    # a model trained before sizes existed resumes with its own config, untouched by any preset
    old = TrainConfig.from_hyperparameters("x", {"genre": "pop", "model": "musegan", "model_config": {"z_dim": 16}})
    assert old.size == "large" and old.model_config == {"z_dim": 16}


def test_the_size_sets_the_parameters_and_the_estimate_says_so(shared_datasets, museforge_home) -> None:
    from museforge.datasets.build import build_dataset
    from museforge.training.estimate import describe_estimate, estimate_run

    build_dataset("bach", shared_datasets, limit=12)
    small = estimate_run(TrainConfig(name="x", genre="bach", architecture="unet", size="small", epochs=20))
    large = estimate_run(TrainConfig(name="x", genre="bach", architecture="unet", size="large", epochs=20))
    assert small is not None and large is not None and small["steps"] == large["steps"] > 0
    assert not small["at_least"] and large["at_least"]
    assert large["parameters"] > 10 * small["parameters"] and large["seconds"] > 10 * small["seconds"]
    line = describe_estimate(TrainConfig(name="x", genre="bach", architecture="unet", size="small", epochs=20))
    assert line.startswith("estimated time: about") and "estimate" in line
    unbuilt = describe_estimate(TrainConfig(name="x", genre="jazz", architecture="musegan"))
    assert "the jazz dataset is not built: run museforge datasets download jazz" in unbuilt


def test_settings_stored_by_earlier_versions_under_model_are_read_as_the_architecture() -> None:
    stored = TrainConfig(name="x", genre="bach", architecture="unet", seed=3).hyperparameters()
    stored["model"] = stored.pop("architecture")  # how cards and jobs before the rename stored it
    config = TrainConfig.from_hyperparameters("x", stored)
    assert config.architecture == "unet" and config.seed == 3
    assert "model" not in config.hyperparameters() and config.hyperparameters()["architecture"] == "unet"
