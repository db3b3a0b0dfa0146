"""Fixtures for the model tests: tiny configs of both architectures and real Bach chorale windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from museforge.models import Critic, GanConfig, Generator, build_gan
from tests.tiny_models import TINY_UNET

#: Tiny configs (base channels 4-8) that build in milliseconds; shapes stay the real ones where cheap.
TINY: dict[str, dict[str, object]] = {
    "musegan": {
        "n_tracks": 3,
        "n_bars": 2,
        "steps_per_bar": 16,
        "z_dim": 8,
        "temporal_hidden": 16,
        "melody_dim": 8,
        "melody_channels": 4,
        "base_channels": 8,
        "critic_base_channels": 8,
    },
    "unet": TINY_UNET,
}


def tiny(architecture: str, **overrides: object) -> tuple[Generator, Critic, GanConfig]:
    """A freshly built tiny GAN (seeded, so the same call gives the same weights)."""
    torch.manual_seed(0)
    return build_gan(architecture, {**TINY[architecture], **overrides})


def random_melody(batch: int, n_steps: int, n_pitches: int, seed: int = 1) -> torch.Tensor:
    """A sparse random ``{0, 1}`` roll ``(batch, n_steps, n_pitches)``."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, n_steps, n_pitches, generator=gen) < 0.05).float()


def chorale_rolls(shared_datasets: Path, n_windows: int, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_steps`` 16th notes of the first ``n_windows`` JSB training chorales as piano rolls.

    Returns
    -------
    melody : Tensor
        ``(n_windows, n_steps, 84)`` soprano, column 0 = MIDI 24, values in {0, 1}.
    voices : Tensor
        ``(n_windows, 3, n_steps, 84)`` alto, tenor, bass.
    """
    path = shared_datasets / "bach" / "jsb_chorales_czhuang" / "Jsb16thSeparated.npz"
    chorales = np.load(path, allow_pickle=True, encoding="latin1")["train"][:n_windows]
    rolls = np.zeros((n_windows, 4, n_steps, 84), dtype=np.float32)
    for i, chorale in enumerate(chorales):
        steps = np.asarray(chorale[:n_steps], dtype=np.float64)  # (n_steps, 4) MIDI pitches, NaN/-1 = rest
        for voice in range(4):
            for t, pitch in enumerate(steps[:, voice]):
                if np.isfinite(pitch) and 24 <= pitch < 24 + 84:
                    rolls[i, voice, t, int(pitch) - 24] = 1.0
    rolls_t = torch.from_numpy(rolls)
    return rolls_t[:, 0], rolls_t[:, 1:]


@pytest.fixture(scope="session")
def chorales(shared_datasets: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Four real 2-bar windows (32 sixteenths): melody ``(4, 32, 84)``, voices ``(4, 3, 32, 84)``."""
    return chorale_rolls(shared_datasets, 4, 32)
