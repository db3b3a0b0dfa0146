"""The one generation path: the common key moves the melody to C and the accompaniment back, exactly."""

from __future__ import annotations

import numpy as np
import torch

from museforge.models.registry import build_gan
from museforge.music.keys import transpose_rolls
from museforge.sampling.generation import Generation, window_shifts
from museforge.sampling.notes import NotePolicy

TRACKS = [{"role": "piano", "is_drum": False}, {"role": "drums", "is_drum": True}]


def _generation(common_key: bool) -> Generation:
    torch.manual_seed(0)
    config = {"n_tracks": 2, "n_bars": 2, "steps_per_bar": 16, "base_channels": 8, "critic_base_channels": 8}
    generator, _, _ = build_gan("musegan", {**config, "temporal_hidden": 16, "z_dim": 8})
    policy = NotePolicy(monophonic=(False, False), hold=(1.0, 0.0), threshold=0.5)
    return Generation(generator.eval(), policy, common_key, 24, [t["is_drum"] for t in TRACKS])


def _c_major_melody() -> np.ndarray:
    melody = np.zeros((1, 32, 84), dtype=bool)
    for i, pitch in enumerate((60, 62, 64, 65, 67, 69, 71, 72)):
        melody[0, 4 * i : 4 * i + 4, pitch - 24] = True
    return melody


def test_a_melody_in_d_gets_the_accompaniment_of_the_same_melody_in_c_moved_up_a_tone() -> None:
    generation = _generation(common_key=True)
    melody_c = _c_major_melody()
    melody_d = transpose_rolls(melody_c, np.array([2]))
    assert window_shifts(melody_d, 24).tolist() == [-2]
    noise = generation.generator.sample_noise(1, generator=torch.Generator().manual_seed(1))
    in_c = generation.probabilities(melody_c, noise)
    in_d = generation.probabilities(melody_d, noise)
    assert np.allclose(in_d[:, 0, :, 2:], in_c[:, 0, :, :-2])  # piano: up a whole tone
    assert np.array_equal(in_d[:, 1], in_c[:, 1])  # drums: the very same
    notes = generation.notes(melody_d, noise)
    assert notes.shape == (1, 2, 32, 84) and notes.dtype == bool


def test_without_the_common_key_the_model_sees_the_melody_as_it_is() -> None:
    generation = _generation(common_key=False)
    melody_c = _c_major_melody()
    noise = generation.generator.sample_noise(1, generator=torch.Generator().manual_seed(1))
    in_c = generation.probabilities(melody_c, noise)
    in_d = generation.probabilities(transpose_rolls(melody_c, np.array([2])), noise)
    assert not np.allclose(in_d[:, 0, :, 2:], in_c[:, 0, :, :-2])
