"""The term a generator may be trained with so that its drums hit where real drummers hit: the squared gap between
the batch's generated drum map (its decoded hits) and the real one of the same windows, worked out by hand on small
rolls, kept to the drum tracks, blind to which window of the batch plays which pattern, and reaching the generator's
update."""

from __future__ import annotations

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.training.config import TrainConfig
from museforge.training.losses import drum_profile_gap
from museforge.training.tasks import GanTask
from tests.tiny_models import small_step

P = 84
KICK, SNARE = 36 - 24, 38 - 24  # columns of a roll whose column 0 is MIDI 24
TINY_MUSEGAN = {"z_dim": 4, "temporal_hidden": 8, "melody_dim": 8, "melody_channels": 4, "base_channels": 4}


def hits(*bars: dict[int, list[int]], steps: int = 16) -> torch.Tensor:
    """A batch of one-track windows ``(B, 1, steps, P)``: per window, the steps each kit key (column) hits."""
    roll = torch.zeros(len(bars), 1, steps, P)
    for b, pattern in enumerate(bars):
        for key, at in pattern.items():
            roll[b, 0, at, key] = 1.0
    return roll


BACKBEAT = {KICK: [0, 8], SNARE: [4, 12]}


def test_the_same_map_costs_nothing_and_a_missing_backbeat_costs_its_squared_share() -> None:
    real = hits(BACKBEAT, BACKBEAT)
    assert float(drum_profile_gap(real, real, [0])) == 0.0
    no_snare = hits(BACKBEAT, {KICK: [0, 8]})  # one window of two drops its snare: half the snare on 2 and 4
    assert float(drum_profile_gap(no_snare, real, [0])) == pytest.approx(2 * 0.5**2)
    assert float(drum_profile_gap(no_snare, real, [])) == 0.0  # no drum track: nothing to match


def test_only_the_batch_mean_is_compared_so_windows_may_swap_patterns() -> None:
    a, b = {KICK: [0], SNARE: [4]}, {KICK: [8], SNARE: [12]}
    assert float(drum_profile_gap(hits(a, b), hits(b, a), [0])) == 0.0


def test_an_unsure_hit_is_silence_until_decoded_and_is_pushed_toward_the_real_share() -> None:
    real = hits(BACKBEAT, BACKBEAT)
    probs = real.clone()
    probs[:, 0, 4, SNARE] = 0.4  # both windows unsure of the snare on beat 2: decoded, no snare there
    probs.requires_grad_(True)
    term = drum_profile_gap(probs, real, [0])
    assert float(term.detach()) == pytest.approx(1.0)  # no window hits where every real one does
    (grad,) = torch.autograd.grad(term, probs)
    assert float(grad[0, 0, 4, SNARE]) == pytest.approx(-1.0)  # 2 * (0 - 1) / 2 windows: pushed up
    assert float(grad[0, 0, 0, KICK]) == 0.0
    probs = real.clone()
    probs[:, 0, 4, SNARE] = 0.6  # sure enough to sound: the map is the real one
    assert float(drum_profile_gap(probs, real, [0])) == 0.0


def test_the_task_compares_the_drum_tracks_only() -> None:
    facts = type("Facts", (), {})()
    facts.lowest_pitch = 24
    facts.tracks = [{"role": "piano", "is_drum": False}, {"role": "drums", "is_drum": True}]
    real = torch.cat([hits({KICK: [0]}), hits(BACKBEAT)], dim=1)
    probs = torch.cat([hits({KICK: [3]}), hits({KICK: [0, 8]})], dim=1)  # the piano differs too: not counted
    term = GanTask._generator_term(TrainConfig(name="x", genre="rock", drum_profile=3.0), facts)
    assert term is not None and float(term(torch.zeros(1, 16, P), probs, real)) == pytest.approx(3.0 * 2)
    facts.genre, facts.tracks = "pop", facts.tracks[:1]  # data without drums: the setting is refused, not ignored
    with pytest.raises(MuseforgeError, match="--drum-profile teaches a drum track, and the pop data have none"):
        GanTask._generator_term(TrainConfig(name="x", genre="pop", drum_profile=3.0), facts)


def test_the_term_reaches_the_generators_update_and_its_setting_is_checked() -> None:
    def trained(term) -> torch.Tensor:
        step = small_step("musegan", {**TINY_MUSEGAN, "n_tracks": 2}, generator_term=term)
        melody = torch.zeros(4, 192, P)  # the default MuseGAN window: 4 bars of 48 steps
        melody[:, :, 48] = 1.0
        real = torch.zeros(4, 2, 192, P)
        real[:, 1, 12::24, SNARE] = 1.0
        step([(melody, real)], rng=torch.Generator().manual_seed(1))
        return torch.cat([p.detach().flatten() for p in step.generator.parameters()])

    plain, taught = trained(None), trained(lambda m, p, r: 10.0 * drum_profile_gap(p, r, [1]))
    assert not torch.equal(plain, taught)
    assert TrainConfig(name="x", genre="rock", drum_profile=0.5).hyperparameters()["drum_profile"] == 0.5
    for bad in ({"drum_profile": -1.0}, {"drum_profile": 1.0, "architecture": "arcnn"}):
        with pytest.raises(MuseforgeError, match="drum-profile"):
            TrainConfig(name="x", genre="rock", **{"architecture": "musegan", **bad}).validate()
