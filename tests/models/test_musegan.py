"""MuseGAN specifics: default size, latent layout, per-track private branches."""

from __future__ import annotations

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.models import MuseGANConfig, MuseGANCritic, MuseGANGenerator, build_gan, count_parameters
from museforge.models.layers import TrackUpsample

from .conftest import random_melody, tiny


def test_default_model_is_modest() -> None:
    generator, critic, cfg = build_gan("musegan", None)
    assert isinstance(generator, MuseGANGenerator) and isinstance(critic, MuseGANCritic)
    assert cfg == MuseGANConfig()
    assert (cfg.n_tracks, cfg.n_bars, cfg.steps_per_bar, cfg.n_pitches, cfg.lowest_pitch) == (4, 4, 48, 84, 24)
    assert 1_000_000 <= count_parameters(generator) <= 3_000_000
    assert 500_000 <= count_parameters(critic) <= 1_500_000
    assert generator.noise_dim == 2 * 32 + 2 * 4 * 32


def test_private_branches_are_grouped_not_looped() -> None:
    """Tracks are folded into channels: the same modules whatever K is (no per-track copies)."""
    g2, c2, _ = tiny("musegan", n_tracks=2)
    g7, c7, _ = tiny("musegan", n_tracks=7)
    assert [n for n, _ in g2.named_modules()] == [n for n, _ in g7.named_modules()]
    assert [n for n, _ in c2.named_modules()] == [n for n, _ in c7.named_modules()]
    layers = [m for m in g7.modules() if isinstance(m, TrackUpsample)]
    assert layers and all(m.n_tracks == 7 for m in layers)


def test_private_noise_of_one_track_changes_only_that_track() -> None:
    generator, _, cfg = tiny("musegan")
    generator.eval()
    k, d = cfg.n_tracks, cfg.z_dim
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2, generator=torch.Generator().manual_seed(0))
    base = generator(melody, noise)
    for part, offset in (("private", 2 * d), ("private temporal", 2 * d + k * d)):
        changed = noise.clone()
        changed[:, offset + d : offset + 2 * d] += 1.0  # track 1's latent
        diff = (generator(melody, changed) - base).abs().sum(dim=(0, 2, 3))
        assert diff[1] > 0, part
        assert diff[0] == 0 and diff[2] == 0, f"{part} noise of track 1 leaked into other tracks"


def test_a_tracks_noise_columns_change_that_track_alone() -> None:
    generator, _, cfg = tiny("musegan", n_tracks=3)
    generator.eval()
    d = cfg.z_dim
    # noise = [shared d, shared temporal d, 3 private x d, 3 private temporal x d]
    assert generator.track_noise_columns(1).tolist() == [*range(3 * d, 4 * d), *range(6 * d, 7 * d)]
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2, generator=torch.Generator().manual_seed(0))
    for track in range(3):
        changed = noise.clone()
        changed[:, generator.track_noise_columns(track)] += 1.0
        diff = (generator(melody, changed) - generator(melody, noise)).abs().sum(dim=(0, 2, 3))
        assert diff[track] > 0 and all(diff[k] == 0 for k in range(3) if k != track)


def test_shared_noise_changes_every_track() -> None:
    generator, _, cfg = tiny("musegan")
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2, generator=torch.Generator().manual_seed(0))
    for offset in (0, cfg.z_dim):  # shared, shared temporal
        changed = noise.clone()
        changed[:, offset : offset + cfg.z_dim] += 1.0
        diff = (generator(melody, changed) - generator(melody, noise)).abs().sum(dim=(0, 2, 3))
        assert (diff > 0).all()


def test_bar_latents_and_melody_act_per_bar() -> None:
    """The melody encoding of a bar feeds that bar: changing bar 1 of the melody leaves bar 0 alone."""
    generator, _, cfg = tiny("musegan")
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2)
    other = melody.clone()
    s = cfg.steps_per_bar
    other[:, s:] = random_melody(2, cfg.n_steps - s, cfg.n_pitches, seed=9)
    a, b = generator(melody, noise), generator(other, noise)
    assert torch.equal(a[:, :, :s], b[:, :, :s])
    assert not torch.equal(a[:, :, s:], b[:, :, s:])


def test_pattern_tracks_repeat_one_bar_with_learnt_variation() -> None:
    """A drum track drawn as a pattern: its bars differ from their mean by a learnt share (0.25 at first) of what a
    free track's do; the other tracks are as they were; the share is a trained parameter."""
    free, _, cfg = tiny("musegan", n_tracks=3)
    patterned, _, _ = tiny("musegan", n_tracks=3, pattern_tracks="2")
    patterned.load_state_dict(free.state_dict(), strict=False)  # same weights, plus the variation parameter
    free.eval()
    patterned.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = free.sample_noise(2, generator=torch.Generator().manual_seed(1))
    a = free(melody, noise).reshape(2, 3, cfg.n_bars, cfg.steps_per_bar, cfg.n_pitches)
    b = patterned(melody, noise).reshape(2, 3, cfg.n_bars, cfg.steps_per_bar, cfg.n_pitches)
    assert torch.allclose(a[:, :2], b[:, :2])
    deviation_a = a[:, 2] - a[:, 2].mean(dim=1, keepdim=True)
    deviation_b = b[:, 2] - b[:, 2].mean(dim=1, keepdim=True)
    assert torch.allclose(deviation_b, 0.25 * deviation_a, atol=1e-4)
    assert torch.allclose(b[:, 2].mean(dim=1), a[:, 2].mean(dim=1), atol=1e-5)
    b.sum().backward()
    assert patterned.bar_variation.grad is not None
    with pytest.raises(MuseforgeError, match="pattern_tracks"):
        tiny("musegan", n_tracks=3, pattern_tracks="3")
    with pytest.raises(MuseforgeError, match="pattern_tracks"):
        tiny("musegan", n_tracks=3, pattern_tracks="drums")


def test_a_groove_critic_reads_where_in_the_bar_the_drums_hit() -> None:
    """With ``groove_critic`` the critic reads the pattern track's bars whole: a snare moved from beat 2 to beat 3
    changes the groove stream's features (and the score), a pitched track's notes do not reach it, the 4/4 grid
    stands in for a missing one, and without pattern tracks the setting is a one-line error. Models built
    without it keep their parameters (old checkpoints load)."""
    _, plain, _ = tiny("musegan", n_tracks=3, pattern_tracks="2", meter_aware=True)
    _, critic, cfg = tiny("musegan", n_tracks=3, pattern_tracks="2", meter_aware=True, groove_critic=True)
    added = set(critic.state_dict()) - set(plain.state_dict())
    assert added == {"groove.0.weight", "groove.0.bias", "groove.1.weight", "groove.1.bias"}
    assert set(plain.state_dict()) < set(critic.state_dict())
    critic.eval()
    melody = random_melody(1, cfg.n_steps, cfg.n_pitches)
    beat = cfg.steps_per_bar // 4
    on_two = torch.zeros(1, 3, cfg.n_steps, cfg.n_pitches)
    on_two[0, 2, beat :: cfg.steps_per_bar, 14] = 1.0  # a snare (MIDI 38 at column 14) on beat 2 of every bar
    on_three = torch.zeros_like(on_two)
    on_three[0, 2, 2 * beat :: cfg.steps_per_bar, 14] = 1.0
    grid = critic.default_grid.unsqueeze(0)  # (1, T, 2): 4/4
    with torch.no_grad():
        two, three = critic._groove(on_two, grid), critic._groove(on_three, grid)
        assert two.shape == (1, cfg.n_bars, 2 * cfg.critic_base_channels)
        assert not torch.allclose(two, three)
        assert float(critic(melody, on_two)) != float(critic(melody, on_three))
        piano = on_two.clone()
        piano[0, 0, :, 40] = 1.0
        assert torch.equal(critic._groove(piano, grid), two)
        assert float(critic(melody, on_two)) == float(critic(melody, on_two, grid))
    with pytest.raises(MuseforgeError, match="groove_critic"):
        tiny("musegan", n_tracks=3, groove_critic=True)
