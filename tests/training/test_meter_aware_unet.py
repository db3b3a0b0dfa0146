"""A U-Net that reads the metric grid: trained on request, composed with in the melody's meter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from museforge.models.loading import load_generator
from museforge.pipelines.compose import compose
from museforge.training import TrainConfig, resume_config, show_model, train
from tests.tiny_models import TINY_UNET


def test_a_unet_reads_the_grid_when_asked_and_plays_under_a_waltz(
    bach: Path, tiny: Callable[..., TrainConfig], tmp_path: Path
) -> None:
    """A new U-Net reads the grid (its first layers take the bar lines and beats); the card records it and its
    meters, a resume keeps it, and under a waltz compose says nothing of 4-beat bars only when it has seen 3/4.
    ``meter_aware: False`` builds the 4/4 model."""
    train(tiny("waltzing", "unet", max_steps=2, epochs=1, model_config=dict(TINY_UNET)))
    card = show_model("waltzing")
    assert card["model_config"]["meter_aware"] is True
    generator, _ = load_generator("waltzing")
    assert generator.encoder[0][0].in_channels == 3  # melody, bar lines, beats
    train(resume_config("waltzing", max_steps=3, epochs=2))
    assert show_model("waltzing")["model_config"]["meter_aware"] is True
    result = compose("we_wish_you", "waltzing", out_midi=tmp_path / "w.mid", seed=1)
    # the small test dataset holds no 3/4 chorale: the model reads the waltz's grid and says which meters it learnt
    assert "has not seen 3/4" in result.summary["meter_note"] and "4/4" in result.summary["meter_note"]

    train(tiny("plain", "unet", max_steps=2, epochs=1, model_config={**TINY_UNET, "meter_aware": False}))
    assert show_model("plain")["model_config"]["meter_aware"] is False
    plain = compose("we_wish_you", "plain", out_midi=tmp_path / "p.mid", seed=1)
    assert "4-beat bars" in plain.summary["meter_note"]
