"""The voice-leading term a four-part generator may be trained with: expected parallel fifths and octaves, worked
out by hand on small rolls, counted as the shipping bar's check counts them, and reaching the generator's update."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.metrics.voices import parallel_fifths_octaves
from museforge.training.config import TrainConfig
from museforge.training.losses import parallel_motion
from tests.tiny_models import small_step

LOWEST = 24  # MIDI pitch of column 0
P = 84
TINY_UNET = {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4}


def voices(*lines: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Melody ``(1, T, P)`` and generated voices ``(1, K, T, P)`` (0/1) from MIDI pitch lines, top voice first."""
    roll = torch.zeros(len(lines), len(lines[0]), P)
    for v, line in enumerate(lines):
        for t, pitch in enumerate(line):
            roll[v, t, pitch - LOWEST] = 1.0
    return roll[0:1], roll[1:].unsqueeze(0)


@pytest.mark.parametrize(
    ("soprano", "bass", "parallels"),
    [
        ([72, 74], [60, 62], 1.0),  # C-D over C-D: parallel octaves
        ([67, 69], [60, 62], 1.0),  # G-A over C-D: parallel fifths
        ([67, 74], [60, 55], 1.0),  # a fifth to a twelfth in contrary motion: strict part-writing forbids it too
        ([72, 71], [60, 62], 0.0),  # contrary motion to a sixth
        ([72, 74], [60, 60], 0.0),  # oblique: the bass holds
        ([65, 67], [60, 62], 0.0),  # parallel fourths are allowed
    ],
)
def test_parallels_between_notes_are_counted_as_the_check_counts_them(
    soprano: list[int], bass: list[int], parallels: float
) -> None:
    melody, generated = voices(soprano, bass)
    assert float(parallel_motion(melody, generated, LOWEST)) == pytest.approx(parallels)
    assert parallel_fifths_octaves(np.array([soprano, bass])).count == parallels


def test_a_voice_unsure_of_its_note_counts_its_share_and_gets_a_gradient() -> None:
    melody, generated = voices([72, 74], [60, 62])
    generated = generated * 0.5
    generated[0, 0, 1, 63 - LOWEST] = 0.5  # the bass goes to D or to D#: half a parallel octave
    generated.requires_grad_(True)
    term = parallel_motion(melody, generated, LOWEST)
    assert float(term.detach()) == pytest.approx(0.5)
    (grad,) = torch.autograd.grad(term, generated)
    assert grad[0, 0, 1, 62 - LOWEST] > 0 > grad[0, 0, 1, 63 - LOWEST]  # away from the octave


def test_the_term_reaches_the_generators_update_and_its_setting_is_checked() -> None:
    def trained(term) -> torch.Tensor:
        step = small_step("unet", TINY_UNET, generator_term=term)
        generator = step.generator
        melody = torch.zeros(4, 32, P)
        melody[:, :, 48] = 1.0
        real = torch.zeros(4, 3, 32, P)
        step([(melody, real)], rng=torch.Generator().manual_seed(1))
        return torch.cat([p.detach().flatten() for p in generator.parameters()])

    plain, taught = trained(None), trained(lambda m, p, r: 10.0 * parallel_motion(m, p, LOWEST))
    assert not torch.equal(plain, taught)
    assert TrainConfig(name="x", genre="bach", architecture="unet", voice_leading=1.5).hyperparameters()[
        "voice_leading"
    ] == pytest.approx(1.5)
    for bad in ({"voice_leading": -1.0}, {"voice_leading": 1.0, "architecture": "arcnn"}):
        with pytest.raises(MuseforgeError, match="voice-leading"):
            TrainConfig(name="x", genre="bach", **{"architecture": "unet", **bad}).validate()
