"""The training step the trainer runs computes the same updates as the plain reference step of the benchmarks.

``bench/`` compares museforge's step (per-track layers as batched matrix products, real and fake windows in one
critic pass, multi-tensor Adam) with a plain one (PyTorch's grouped convolutions, two critic passes, default
Adam); its speed ratios only mean something if both train the same model the same way.
"""

from __future__ import annotations

import copy

import pytest
import torch

from bench.plain import ConvDownsample, ConvUpsample, plainify
from museforge.models import build_gan
from museforge.models.layers import TrackDownsample, TrackUpsample
from museforge.training.step import SUM_KEYS, AdversarialStep, make_optimizer

CONFIGS = {
    "musegan": {"n_tracks": 3, "n_bars": 2, "steps_per_bar": 16, "z_dim": 8, "base_channels": 8, "melody_dim": 8},
    "unet": {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4},
}


def _pair(architecture: str, loss: str) -> tuple[AdversarialStep, AdversarialStep, object]:
    torch.manual_seed(0)
    generator, critic, cfg = build_gan(architecture, CONFIGS[architecture])
    plain_g, plain_c = plainify(copy.deepcopy(generator)), plainify(copy.deepcopy(critic))
    penalty = 10.0 if loss == "wgan-gp" else 0.0
    fast = AdversarialStep(
        generator,
        critic,
        make_optimizer(generator, 1e-3, (0.5, 0.9)),
        make_optimizer(critic, 1e-3, (0.5, 0.9)),
        loss=loss,
        penalty_weight=penalty,
    )
    plain = AdversarialStep(
        plain_g,
        plain_c,
        torch.optim.Adam(plain_g.parameters(), lr=1e-3, betas=(0.5, 0.9)),
        torch.optim.Adam(plain_c.parameters(), lr=1e-3, betas=(0.5, 0.9)),
        loss=loss,
        penalty_weight=penalty,
        plain=True,
    )
    # Adam turns a gradient that is zero in exact arithmetic (a bias before a normalisation) but float noise in
    # practice into a full-size step of random sign; a larger eps keeps such noise from deciding the comparison.
    for optimizer in (fast.g_opt, fast.d_opt, plain.g_opt, plain.d_opt):
        for group in optimizer.param_groups:
            group["eps"] = 1e-4
    return fast, plain, cfg


def test_plainify_swaps_every_per_track_layer_and_keeps_the_parameters() -> None:
    generator, critic, _ = build_gan("musegan", CONFIGS["musegan"])
    before = {name: p for name, p in [*generator.named_parameters(), *critic.named_parameters()]}
    plainify(generator)
    plainify(critic)
    modules = [*generator.modules(), *critic.modules()]
    assert not any(type(m) in (TrackDownsample, TrackUpsample) and not _wrapped(m, modules) for m in modules)
    assert any(isinstance(m, ConvUpsample) for m in modules) and any(isinstance(m, ConvDownsample) for m in modules)
    after = [*generator.parameters(), *critic.parameters()]
    assert {id(p) for p in after} == {id(p) for p in before.values()}


def _wrapped(layer: torch.nn.Module, modules: list[torch.nn.Module]) -> bool:
    return any(isinstance(m, ConvDownsample | ConvUpsample) and m.layer is layer for m in modules)


@pytest.mark.parametrize("architecture", ["musegan", "unet"])
@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])
def test_fast_step_trains_exactly_like_the_plain_step(architecture: str, loss: str) -> None:
    fast, plain, cfg = _pair(architecture, loss)
    data = torch.Generator().manual_seed(1)
    shape = (2, 6, cfg.n_steps, cfg.n_pitches)  # 2 critic batches of 6 windows
    melody = (torch.rand(shape, generator=data) < 0.1).float()
    real = (torch.rand((2, 6, cfg.n_tracks, *shape[2:]), generator=data) < 0.1).float()
    start = [p.detach().clone() for p in fast.generator.parameters()]
    rng_fast, rng_plain = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    for _ in range(3):
        sums_fast = fast(zip(melody, real, strict=True), rng_fast)
        sums_plain = plain(zip(melody, real, strict=True), rng_plain)
        assert sums_fast.shape == (len(SUM_KEYS),)
        torch.testing.assert_close(sums_fast, sums_plain, rtol=1e-4, atol=1e-4)
    for net_fast, net_plain in ((fast.generator, plain.generator), (fast.critic, plain.critic)):
        for a, b in zip(net_fast.parameters(), net_plain.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    moved = max((p - s).abs().max().item() for p, s in zip(fast.generator.parameters(), start, strict=True))
    assert moved > 1e-4  # the generator did learn something in 3 steps


def test_a_step_needs_a_batch() -> None:
    fast, _, _ = _pair("unet", "hinge")
    with pytest.raises(ValueError, match="at least one critic batch"):
        fast([])
