"""build_gan / config round trips and the one-line errors for bad architectures and configs."""

from __future__ import annotations

import json

import pytest

from museforge.errors import MuseforgeError
from museforge.models import (
    ARCHITECTURES,
    GAN_ARCHITECTURES,
    ARCNNConfig,
    MuseGANConfig,
    TransformerConfig,
    UNetConfig,
    build_gan,
    config_class,
    config_to_dict,
    make_config,
)

from .conftest import TINY


def test_architectures() -> None:
    assert GAN_ARCHITECTURES == ("musegan", "unet")
    assert ARCHITECTURES == ("musegan", "unet", "arcnn", "transformer")
    assert config_class("musegan") is MuseGANConfig and config_class("unet") is UNetConfig
    assert config_class("arcnn") is ARCNNConfig and config_class("transformer") is TransformerConfig
    with pytest.raises(MuseforgeError, match="arcnn is not a GAN"):
        build_gan("arcnn", {})


@pytest.mark.parametrize("architecture", GAN_ARCHITECTURES)
def test_config_round_trips_through_json(architecture: str) -> None:
    cfg = make_config(architecture, {**TINY[architecture], "n_tracks": 2, "n_bars": 3})
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert data["n_tracks"] == 2 and data["n_bars"] == 3
    assert set(data) >= {"n_tracks", "n_bars", "steps_per_bar", "n_pitches", "lowest_pitch", "base_channels"}
    _, _, rebuilt = build_gan(architecture, data)
    assert rebuilt == cfg
    # a config object is accepted too, and defaults fill missing keys
    assert make_config(architecture, cfg) == cfg
    assert make_config(architecture, None) == config_class(architecture)()


def test_integral_floats_are_accepted() -> None:
    assert make_config("unet", {"n_bars": 4.0}).n_bars == 4


@pytest.mark.parametrize(
    ("architecture", "config", "message"),
    [
        ("gan9000", None, r"unknown architecture 'gan9000' \(choose from musegan, unet, arcnn, transformer\)"),
        ("musegan", {"n_trakcs": 3}, "unknown musegan config key.*n_trakcs"),
        ("unet", {"depth": "4"}, "unet: depth must be int"),
        ("unet", {"n_bars": 2.5}, "n_bars must be int"),
        ("musegan", {"n_tracks": True}, "n_tracks must be int"),
        ("musegan", {"generator_batchnorm": 1}, "generator_batchnorm must be bool"),
        ("musegan", {"n_tracks": 0}, "n_tracks must be >= 1"),
        ("musegan", {"base_channels": -4}, "base_channels must be >= 1"),
        ("unet", {"lowest_pitch": 60, "n_pitches": 84}, "outside MIDI 0..127"),
        ("unet", {"lowest_pitch": -1}, "outside MIDI 0..127"),
        ("unet", {"depth": 7}, "depth must be <= 6"),
        ("musegan", UNetConfig(), "UNetConfig is not a config for architecture 'musegan'"),
        ("unet", [("depth", 3)], "config must be a dict"),
    ],
)
def test_bad_configs_are_one_line_errors(architecture: str, config: object, message: str) -> None:
    with pytest.raises(MuseforgeError, match=message) as info:
        build_gan(architecture, config)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
