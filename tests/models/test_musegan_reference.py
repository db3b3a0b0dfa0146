"""The MuseGAN in the track-rows layout computes what it computed with PyTorch's layers, on the same weights.

:func:`bench.plain.plainify` runs a MuseGAN as it ran before the track-rows layout: every per-track layer a
grouped ``conv2d`` / ``conv_transpose2d`` on ``(N, K * C, H, W)`` maps (tracks folded into channels), PyTorch's
own batch and group norms, the across-bars ``Conv2d``, on the parameters of the modules under test. Same state
dict, same outputs, input gradients and penalty gradients: checkpoints keep their meaning.
"""

from __future__ import annotations

import copy

import pytest
import torch

from bench.plain import plainify

from .conftest import random_melody, tiny


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "n_tracks": 4,
            "n_bars": 3,
            "steps_per_bar": 12,
            "n_pitches": 30,
            "lowest_pitch": 21,
            "pattern_tracks": "1",
            "critic_base_channels": 6,
        },
        {"steps_per_bar": 48, "meter_aware": True},
        {"n_bars": 1, "steps_per_bar": 24, "n_pitches": 40, "lowest_pitch": 30, "generator_batchnorm": False},
    ],
)
def test_the_networks_compute_what_pytorch_layers_do_on_the_same_weights(overrides: dict[str, object]) -> None:
    generator, critic, cfg = tiny("musegan", **overrides)
    with torch.no_grad():  # away from the initial zeros and ones, so that every parameter matters
        for p in [*generator.parameters(), *critic.parameters()]:
            p.add_(0.1 * torch.randn_like(p))
    plain_g, plain_c = plainify(copy.deepcopy(generator)), plainify(copy.deepcopy(critic))
    melody = random_melody(3, cfg.n_steps, cfg.n_pitches)
    noise = generator.sample_noise(3, generator=torch.Generator().manual_seed(0))
    extra = (torch.rand(3, cfg.n_steps, 2),) if cfg.meter_aware else ()
    for mode in (True, False):  # batch statistics (the running ones updated alike), then the running ones
        generator.train(mode), plain_g.train(mode)
        with torch.no_grad():
            got, expected = generator(melody, noise, *extra), plain_g(melody, noise, *extra)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    for mine, theirs in zip(generator.buffers(), plain_g.buffers(), strict=True):
        torch.testing.assert_close(mine, theirs)
    accompaniment = torch.sigmoid(got).requires_grad_(True)
    scores, reference = critic(melody, accompaniment, *extra), plain_c(melody, accompaniment, *extra)
    torch.testing.assert_close(scores, reference, rtol=1e-4, atol=1e-5)
    # the penalty's input gradient and its own gradient with respect to the parameters
    (grad,) = torch.autograd.grad(scores.sum(), accompaniment, create_graph=True)
    (expected_grad,) = torch.autograd.grad(reference.sum(), accompaniment, create_graph=True)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)
    pairs = [(p, q) for p, q in zip(critic.parameters(), plain_c.parameters(), strict=True) if p is not critic.out.bias]
    got_second = torch.autograd.grad(grad.square().sum(), [p for p, _ in pairs])
    expected_second = torch.autograd.grad(expected_grad.square().sum(), [q for _, q in pairs])
    for a, b in zip(got_second, expected_second, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)
