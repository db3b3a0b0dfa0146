"""The training step the trainer runs computes the same updates as the plain reference step of the benchmarks.

``bench/`` compares museforge's step (per-track layers as batched matrix products, real and fake windows in one
critic pass, multi-tensor Adam) with a plain one (PyTorch's grouped convolutions, two critic passes, default
Adam); its speed ratios only mean something if both train the same model the same way. The step's bf16 autocast
(on where it pays, see ``museforge.training.step.bf16_pays``) is checked to train like float32 does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import torch

from bench.plain import ConvDownsample, ConvUpsample, plainify
from museforge.models import build_gan
from museforge.models.layers import TrackDownsample, TrackUpsample
from museforge.training.losses import gradient_penalty
from museforge.training.step import (
    CPU_BF16_MIN_PARAMETERS,
    SUM_KEYS,
    AdversarialStep,
    bf16_pays,
    cpu_has_native_bf16,
    make_optimizer,
)

CONFIGS = {
    "musegan": {"n_tracks": 3, "n_bars": 2, "steps_per_bar": 16, "z_dim": 8, "base_channels": 8, "melody_dim": 8},
    "unet": {"noise_dim": 8, "noise_channels": 4, "base_channels": 4, "max_channels": 16, "critic_base_channels": 4},
}


def _pair(architecture: str, loss: str, **fast_settings: bool) -> tuple[AdversarialStep, AdversarialStep, object]:
    """The fast step (float32 unless ``fast_settings`` say otherwise) and the plain one, on the same networks."""
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
        **{"autocast": False, **fast_settings},
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


@pytest.fixture
def float64() -> Iterator[None]:
    """Networks, noise and data in float64 while the test runs."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("architecture", ["musegan", "unet"])
@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])
def test_fast_step_trains_exactly_like_the_plain_step(architecture: str, loss: str, float64: None) -> None:
    # In float64, so that the comparison is of the arithmetic and not of rounding: a generator batch norm over a
    # nearly constant channel turns float32 rounding (different in batched products and in convolutions) into
    # gradient differences of 1 % on some batches, which then decide the comparison.
    fast, plain, cfg = _pair(architecture, loss)
    data = torch.Generator().manual_seed(1)
    shape = (2, 6, cfg.n_steps, cfg.n_pitches)  # 2 critic batches of 6 windows
    melody = (torch.rand(shape, generator=data) < 0.1).double()
    real = (torch.rand((2, 6, cfg.n_tracks, *shape[2:]), generator=data) < 0.1).double()
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


def _train(step: AdversarialStep, cfg: object, steps: int) -> list[list[float]]:
    """``steps`` steps of 2 critic batches of 8 fixed real windows; the per-step sums, in SUM_KEYS order."""
    data = torch.Generator().manual_seed(1)
    shape = (2, 8, cfg.n_steps, cfg.n_pitches)  # type: ignore[attr-defined]
    melody = (torch.rand(shape, generator=data) < 0.1).float()
    real = (torch.rand((2, 8, cfg.n_tracks, *shape[2:]), generator=data) < 0.1).float()  # type: ignore[attr-defined]
    rng = torch.Generator().manual_seed(2)
    return [step(zip(melody, real, strict=True), rng).tolist() for _ in range(steps)]


@pytest.mark.parametrize("architecture", ["musegan", "unet"])
def test_a_bf16_step_trains_like_a_float32_one(architecture: str) -> None:
    runs = {}
    for label, settings in (("fp32", {"autocast": False}), ("bf16", {"force_autocast": True})):
        fast, _, cfg = _pair(architecture, "wgan-gp", **settings)
        assert fast.precision == label
        runs[label] = _train(fast, cfg, 12)
        assert all(p.dtype == torch.float32 for p in fast.generator.parameters())  # master weights stay fp32
    d, real, fake, penalty = (
        SUM_KEYS.index(k) for k in ("discriminator_loss", "real_score", "fake_score", "gradient_penalty")
    )
    for label, sums in runs.items():
        assert all(torch.isfinite(torch.tensor(s)).all() for s in sums), label
        # the critic learns to tell the fixed real windows from the generated ones: its Wasserstein estimate
        # (real score - fake score) grows, and its loss falls, as in float32
        first, last = sums[0], sums[-1]
        assert last[real] - last[fake] > first[real] - first[fake] + 0.5, (label, first, last)
        assert last[d] < first[d] - 0.5, (label, first, last)
    # bf16 stays close to float32: the same first step within bf16 rounding, the same course after
    first32, first16 = runs["fp32"][0], runs["bf16"][0]
    for key in (real, fake, penalty):
        assert abs(first16[key] - first32[key]) <= 0.05 * abs(first32[key]) + 0.02, (SUM_KEYS[key], first16, first32)
    gap32 = runs["fp32"][-1][real] - runs["fp32"][-1][fake]
    gap16 = runs["bf16"][-1][real] - runs["bf16"][-1][fake]
    assert abs(gap16 - gap32) < 0.25 * abs(gap32), (gap16, gap32)


def test_the_penalty_norm_stays_float32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    _, critic, cfg = build_gan("musegan", CONFIGS["musegan"])
    melody = (torch.rand(4, cfg.n_steps, cfg.n_pitches) < 0.1).float()
    real = (torch.rand(4, cfg.n_tracks, cfg.n_steps, cfg.n_pitches) < 0.1).float()
    fake = torch.rand_like(real)
    alpha = torch.rand(4)
    exact = gradient_penalty(critic, melody, real, fake, alpha)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gradient_penalty(critic, melody, real, fake, alpha)
    assert mixed.dtype == torch.float32 and exact.dtype == torch.float32
    assert abs(mixed.item() - exact.item()) < 0.05 * exact.item()


def test_bf16_runs_where_it_pays() -> None:
    big = CPU_BF16_MIN_PARAMETERS
    assert bf16_pays(torch.device("cuda"), 1000)
    assert not bf16_pays(torch.device("cpu"), big - 1)
    assert bf16_pays(torch.device("cpu"), big) == cpu_has_native_bf16()
    # the trainer's default (autocast on) keeps the tests' tiny networks in float32, the plain step always
    fast, plain, _ = _pair("unet", "hinge", autocast=True)
    assert (fast.precision, plain.precision) == ("fp32", "fp32")


def test_a_step_needs_a_batch() -> None:
    fast, _, _ = _pair("unet", "hinge")
    with pytest.raises(ValueError, match="at least one critic batch"):
        fast([])
