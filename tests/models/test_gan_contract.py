"""The contract both architectures keep with the trainer and the composer (see museforge.models.base)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.models import GAN_ARCHITECTURES as ARCHITECTURES
from museforge.music.meter import window_grid

from .conftest import random_melody, tiny

SHAPES = {
    "musegan": [
        {},
        {"n_tracks": 1, "n_bars": 1, "steps_per_bar": 12, "n_pitches": 60, "lowest_pitch": 36},
        {"n_tracks": 5, "n_bars": 3, "steps_per_bar": 24, "n_pitches": 49, "lowest_pitch": 40},
        {"n_tracks": 2, "n_bars": 4, "steps_per_bar": 7, "n_pitches": 13},
    ],
    "unet": [
        {},
        {"n_tracks": 4, "n_bars": 4, "steps_per_bar": 16, "n_pitches": 128, "lowest_pitch": 0},
        {"n_tracks": 1, "n_bars": 3, "steps_per_bar": 12, "n_pitches": 50, "depth": 3, "critic_depth": 2},
    ],
}


@pytest.mark.parametrize(
    ("architecture", "overrides"), [(a, o) for a in ARCHITECTURES for o in SHAPES[a]], ids=lambda v: str(v)
)
def test_shapes(architecture: str, overrides: dict[str, int]) -> None:
    generator, critic, cfg = tiny(architecture, **overrides)
    n_steps = cfg.n_bars * cfg.steps_per_bar
    melody = random_melody(3, n_steps, cfg.n_pitches)
    noise = generator.sample_noise(3)
    assert noise.shape == (3, generator.noise_dim)
    logits = generator(melody, noise)
    assert logits.shape == (3, cfg.n_tracks, n_steps, cfg.n_pitches)
    probs = generator.probabilities(logits)
    assert torch.equal(probs, torch.sigmoid(logits))
    assert probs.min() >= 0.0 and probs.max() <= 1.0
    scores = critic(melody, probs)
    assert scores.shape == (3,)
    assert torch.isfinite(scores).all()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_gradients_reach_every_parameter(architecture: str) -> None:
    generator, critic, cfg = tiny(architecture)
    melody = random_melody(8, cfg.n_steps, cfg.n_pitches)
    fake = generator.probabilities(generator(melody, generator.sample_noise(8)))
    # generator step: through the critic into the generator
    critic(melody, fake).mean().backward()
    for name, p in generator.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches generator {name}"
    # critic step on real-like data (a Wasserstein loss cancels the output bias: add a drift term)
    critic.zero_grad()
    real = (torch.rand(8, cfg.n_tracks, cfg.n_steps, cfg.n_pitches) < 0.05).float()
    real_scores = critic(melody, real)
    (critic(melody, fake.detach()).mean() - real_scores.mean() + 1e-3 * real_scores.pow(2).mean()).backward()
    for name, p in critic.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches critic {name}"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_same_seed_same_models_and_outputs(architecture: str) -> None:
    g1, c1, cfg = tiny(architecture)
    g2, c2, _ = tiny(architecture)
    g1.eval()
    g2.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise1 = g1.sample_noise(2, generator=torch.Generator().manual_seed(7))
    noise2 = g2.sample_noise(2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(noise1, noise2)
    out = g1(melody, noise1)
    assert torch.equal(out, g2(melody, noise2))
    assert torch.equal(out, g1(melody, noise1))
    assert torch.equal(c1(melody, out.sigmoid()), c2(melody, out.sigmoid()))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_noise_changes_the_output(architecture: str) -> None:
    generator, _, cfg = tiny(architecture)
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    a = generator(melody, generator.sample_noise(2, generator=torch.Generator().manual_seed(1)))
    b = generator(melody, generator.sample_noise(2, generator=torch.Generator().manual_seed(2)))
    assert (a - b).abs().mean() > 1e-3


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_melody_changes_generator_and_critic(architecture: str, chorales: tuple[torch.Tensor, torch.Tensor]) -> None:
    melodies, voices = chorales  # real soprano lines and their alto/tenor/bass, 2 bars of 16ths
    generator, critic, _ = tiny(architecture)
    generator.eval()
    noise = generator.sample_noise(1, generator=torch.Generator().manual_seed(3)).expand(4, -1)
    out = generator(melodies, noise)
    for i in range(1, 4):
        assert not torch.equal(melodies[0], melodies[i])
        assert (out[0] - out[i]).abs().mean() > 1e-4, f"chorale {i} melody gave the same accompaniment"
    # the same real voices scored under a different melody get a different score
    scores = critic(melodies, voices)
    swapped = critic(melodies.roll(1, dims=0), voices)
    assert not torch.allclose(scores, swapped)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_critic_scores_each_sample_on_its_own(architecture: str) -> None:
    """WGAN-GP needs a per-sample critic: no batch statistics, even in training mode."""
    _, critic, cfg = tiny(architecture)
    critic.train()
    melody = random_melody(5, cfg.n_steps, cfg.n_pitches)
    acc = torch.rand(5, cfg.n_tracks, cfg.n_steps, cfg.n_pitches)
    together = critic(melody, acc)
    alone = torch.cat([critic(melody[i : i + 1], acc[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_batch_of_one_trains(architecture: str) -> None:
    """A batch of one window gives every weight a finite gradient, and a step along it lowers the loss."""
    generator, critic, cfg = tiny(architecture)
    generator.train()
    critic.train()
    melody = random_melody(1, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(1, generator=torch.Generator().manual_seed(3))

    def score() -> torch.Tensor:  # the critic's score of the generated window: (1,)
        return critic(melody, generator.probabilities(generator(melody, noise)))

    before = score()
    assert before.shape == (1,) and torch.isfinite(before).all()
    before.sum().backward()
    for network in (generator, critic):
        grads = [p.grad for p in network.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    params = [p for p in (*generator.parameters(), *critic.parameters()) if p.grad is not None]
    with torch.no_grad():
        for p in params:  # gradient descent on the score: a small step must lower it (first order)
            p -= 1e-4 * p.grad / max(float(p.grad.norm()), 1e-12)
        after = score()
    assert float(after) < float(before.detach())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_wrong_input_shapes_are_one_line_errors(architecture: str) -> None:
    generator, critic, cfg = tiny(architecture)
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2)
    with pytest.raises(MuseforgeError, match=r"melody must have shape \(\*, 32, 84\)"):
        generator(melody[:, :-1], noise)
    with pytest.raises(MuseforgeError, match="noise must have shape"):
        generator(melody, noise[:1])
    with pytest.raises(MuseforgeError, match="accompaniment must have shape"):
        critic(melody, torch.zeros(2, cfg.n_tracks + 1, cfg.n_steps, cfg.n_pitches))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_meter_aware_model_plays_the_grid_it_is_given(architecture: str) -> None:
    """The metric grid reaches the generator and the critic; no grid is the 4/4 grid; a model built without it
    ignores one; a grid of the wrong shape is a one-line error."""
    generator, critic, cfg = tiny(architecture, meter_aware=True)
    generator.eval()
    melody = random_melody(2, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(2, generator=torch.Generator().manual_seed(0))
    resolution = cfg.steps_per_bar // 4

    def grid(n: int, d: int) -> torch.Tensor:
        return torch.from_numpy(window_grid(np.array([[n, d]] * 2), resolution, cfg.n_steps))

    with torch.no_grad():
        four, waltz, default = (
            generator(melody, noise, grid(4, 4)),
            generator(melody, noise, grid(3, 4)),
            generator(melody, noise),
        )
        assert torch.equal(four, default) and not torch.allclose(four, waltz)
        fake = torch.sigmoid(four)
        assert torch.equal(critic(melody, fake, grid(4, 4)), critic(melody, fake))
        assert not torch.allclose(critic(melody, fake, grid(4, 4)), critic(melody, fake, grid(6, 8)))
        with pytest.raises(MuseforgeError, match="meter"):
            generator(melody, noise, grid(3, 4)[:, :-1])

    plain, _, _ = tiny(architecture)
    plain.eval()
    with torch.no_grad():
        assert torch.equal(plain(melody, noise, grid(3, 4)), plain(melody, noise))
    assert sum(p.numel() for p in generator.parameters()) > sum(p.numel() for p in plain.parameters())
