"""The term a generator may be trained with against semitone clusters: expected neighbouring keys sounding together,
worked out by hand on small chords, counted where the shipping bar's cluster check sees a cluster, kept off the
drums, and reaching the generator's update."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.metrics.texture import semitone_cluster_rate
from museforge.training.config import TrainConfig
from museforge.training.losses import semitone_clusters
from museforge.training.tasks import GanTask
from tests.tiny_models import small_step

LOWEST = 24  # MIDI pitch of column 0
P = 84
TINY_UNET = {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4}


def chords(*steps: list[int]) -> torch.Tensor:
    """One track ``(1, 1, T, P)`` (0/1) sounding the given MIDI chords, one per step."""
    roll = torch.zeros(1, 1, len(steps), P)
    for t, chord in enumerate(steps):
        for pitch in chord:
            roll[0, 0, t, pitch - LOWEST] = 1.0
    return roll


@pytest.mark.parametrize(
    ("chord", "clusters"),
    [
        ([60, 64, 67], 0.0),  # C major: thirds, no cluster
        ([60, 62, 65], 0.0),  # whole tones are not clusters
        ([60, 61, 64], 1.0),  # C and C#
        ([60, 61, 62], 2.0),  # three neighbouring keys: two semitone pairs
        ([59, 60, 71, 72], 2.0),  # B-C twice, an octave apart
    ],
)
def test_neighbouring_keys_are_counted_where_the_cluster_check_sees_one(chord: list[int], clusters: float) -> None:
    roll = chords(chord, [48, 55])  # a second step with an open fifth
    assert float(semitone_clusters(roll, [0])) == pytest.approx(clusters)
    rate = semitone_cluster_rate(roll[0, 0].numpy().astype(bool)[None])
    assert float(np.asarray(rate).ravel()[0]) == pytest.approx(0.5 if clusters else 0.0)


def test_an_unsure_cell_counts_its_share_and_is_pushed_away_from_its_neighbours() -> None:
    roll = chords([60, 64, 67])
    roll[0, 0, 0, 61 - LOWEST] = 0.25  # a quarter-likely C# beside C
    roll.requires_grad_(True)
    term = semitone_clusters(roll, [0])
    assert float(term.detach()) == pytest.approx(0.25)
    (grad,) = torch.autograd.grad(term, roll)
    assert float(grad[0, 0, 0, 61 - LOWEST]) == pytest.approx(1.0)  # its neighbour C is sure: full push down
    assert float(grad[0, 0, 0, 60 - LOWEST]) == pytest.approx(0.25)
    assert float(grad[0, 0, 0, 64 - LOWEST]) == 0.0  # E has no neighbour sounding


def test_the_task_counts_pitched_tracks_only_and_adds_the_voice_leading_term() -> None:
    facts = type("Facts", (), {})()
    facts.lowest_pitch = LOWEST
    facts.tracks = [{"role": "piano", "is_drum": False}, {"role": "drums", "is_drum": True}]
    probs = torch.cat([chords([60, 61]), chords([36, 37, 38])], dim=1)  # a piano cluster, neighbouring drum keys
    melody = torch.zeros(1, 1, P)
    term = GanTask._generator_term(TrainConfig(name="x", genre="jazz", clusters=2.0), facts)
    # the piano's one pair, twice (no drum map term: the real windows are not read)
    assert term is not None and float(term(melody, probs, torch.zeros_like(probs))) == pytest.approx(2.0)
    assert GanTask._generator_term(TrainConfig(name="x", genre="jazz"), facts) is None


def test_the_term_reaches_the_generators_update_and_its_setting_is_checked() -> None:
    def trained(term) -> torch.Tensor:
        step = small_step("unet", TINY_UNET, generator_term=term)
        melody = torch.zeros(4, 32, P)
        melody[:, :, 48] = 1.0
        real = torch.zeros(4, 3, 32, P)
        step([(melody, real)], rng=torch.Generator().manual_seed(1))
        return torch.cat([p.detach().flatten() for p in step.generator.parameters()])

    plain, taught = trained(None), trained(lambda m, p, r: 10.0 * semitone_clusters(p, [0, 1, 2]))
    assert not torch.equal(plain, taught)
    assert TrainConfig(name="x", genre="jazz", clusters=0.5).hyperparameters()["clusters"] == pytest.approx(0.5)
    for bad in ({"clusters": -1.0}, {"clusters": 1.0, "architecture": "arcnn"}):
        with pytest.raises(MuseforgeError, match="clusters"):
            TrainConfig(name="x", genre="jazz", **{"architecture": "musegan", **bad}).validate()
