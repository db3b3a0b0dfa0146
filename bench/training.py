"""Training speed: museforge's fast step beside the plain step and the reference, in the same rounds.

For each training case (see :mod:`bench.cases`) the same model is built from the same seed for each variant:

- ``fast``: :class:`~museforge.training.step.AdversarialStep` as ``museforge train`` runs it (bf16 autocast where
  it pays, see :func:`~museforge.training.step.bf16_pays`);
- ``fast fp32``: the same step kept in float32, where ``fast`` runs bf16 (what bf16 itself brings);
- ``plain``: eager float32 with PyTorch's convolution layers, separate critic passes for real and fake windows
  and default Adam (:mod:`bench.plain`);
- ``reference``: at a reference's shape, the reference's own step (:mod:`bench.references`).

All run on random binary rolls of the case's shape, alternating in rounds. Every variant's FLOPs are counted on
its own step (matrix products and convolutions, forward and both backwards).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from bench.cases import MIN_ROUNDS, TrainCase
from bench.measure import MALLOC_ENV, count_flops, interleaved_rounds, load_average, peak_memory
from bench.plain import plainify
from bench.references import REFERENCE_STEPS
from museforge.models.layers import count_parameters
from museforge.models.registry import build_gan
from museforge.training.step import AdversarialStep, make_optimizer

MB = 2**20
#: Wall time each variant runs per round, seconds (at least one call).
ROUND_SECONDS = 0.5


def build_step(case: TrainCase, device: torch.device, variant: str, compile: bool = False) -> AdversarialStep:
    """The step of ``variant`` (``fast``, ``fast fp32`` or ``plain``) for ``case``'s model, built from seed 0."""
    torch.manual_seed(0)
    generator, critic, _ = build_gan(case.architecture, case.config)
    generator, critic = generator.to(device).train(), critic.to(device).train()
    plain = variant == "plain"
    if plain:
        plainify(generator)
        plainify(critic)
        g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
        d_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    else:
        g_opt = make_optimizer(generator, 1e-4, (0.5, 0.9))
        d_opt = make_optimizer(critic, 1e-4, (0.5, 0.9))
    return AdversarialStep(
        generator,
        critic,
        g_opt,
        d_opt,
        loss="wgan-gp",
        penalty_weight=10.0,
        autocast=variant == "fast",
        compile=compile and device.type == "cuda",
        plain=plain,
    )


def random_batches(case: TrainCase, batch: int, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``update_ratio`` pairs of binary melody ``(B, T, P)`` and accompaniment ``(B, K, T, P)`` rolls."""
    _, _, cfg = build_gan(case.architecture, case.config)
    gen = torch.Generator().manual_seed(1)
    shape = (case.update_ratio, batch, cfg.n_steps, cfg.n_pitches)
    melody = (torch.rand(shape, generator=gen) < 0.05).float()
    real = (torch.rand((*shape[:2], cfg.n_tracks, *shape[2:]), generator=gen) < 0.05).float()
    return [(m.to(device), r.to(device)) for m, r in zip(melody, real, strict=True)]


def same_networks(fast: AdversarialStep, plain: AdversarialStep, batches: list[Any]) -> None:
    """The plain networks compute what the fast ones do (a check that the comparison is fair)."""
    melody, real = batches[0]
    noise = fast.generator.sample_noise(melody.shape[0], generator=torch.Generator(melody.device).manual_seed(0))
    with torch.no_grad():
        pairs = [
            (fast.generator(melody, noise), plain.generator(melody, noise)),
            (fast.critic(melody, real), plain.critic(melody, real)),
        ]
    for a, b in pairs:
        if not torch.allclose(a, b, rtol=1e-3, atol=1e-3):
            raise SystemExit(f"bench: the plain and fast networks differ by {(a - b).abs().max().item():.3g}")


def step_memory(case: TrainCase, batch: int, device: torch.device) -> dict[str, int]:
    """Peak bytes the first step of ``fast`` and ``plain`` adds above the weights and data: optimizer state and
    the step's activations and gradients (what training needs beyond the model)."""
    memory = {}
    for variant in ("fast", "plain"):
        step = build_step(case, device, variant)
        batches = random_batches(case, batch, device)
        rng = torch.Generator(device).manual_seed(2)
        memory[variant] = peak_memory(lambda s=step, b=batches, r=rng: s(b, r), device)
        del step, batches
    return memory


def cpu_memory(case: TrainCase, batch: int) -> dict[str, int]:
    """:func:`step_memory` on the CPU, in a child process with unpooled malloc (see :mod:`bench.measure`)."""
    argv = [sys.executable, "-m", "bench.run", "--memory-child", case.name, str(batch)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, **MALLOC_ENV})
    return json.loads(done.stdout.splitlines()[-1])


def _spread(numerator: list[float], denominator: list[float]) -> list[float]:
    """``[min, median, max]`` of the round-by-round ratios ``numerator[i] / denominator[i]``."""
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    return [min(ratios), statistics.median(ratios), max(ratios)]


def bench_training(
    case: TrainCase,
    batch: int,
    device: torch.device,
    rounds: int = MIN_ROUNDS,
    compile: bool = False,
    peak_tflops: float | None = None,
) -> dict[str, Any]:
    """Samples/s, FLOPs per sample, memory and the ratios of one training case at one batch size."""
    load_start = load_average()
    steps = {"fast": build_step(case, device, "fast", compile), "plain": build_step(case, device, "plain")}
    if steps["fast"].precision == "bf16":
        steps["fast fp32"] = build_step(case, device, "fast fp32")
    batches = random_batches(case, batch, device)
    same_networks(steps["fast"], steps["plain"], batches)
    rngs = {name: torch.Generator(device).manual_seed(2) for name in steps}
    calls: dict[str, Callable[[], Any]] = {name: (lambda s=s, r=rngs[name]: s(batches, r)) for name, s in steps.items()}
    reference = None
    if case.reference is not None:
        reference = REFERENCE_STEPS[case.reference.live](batch, device)
        calls["reference"] = reference.step

    phases: dict[str, float] = {}
    mark = time.perf_counter()
    if device.type == "cuda":  # the first step of each: compilation, optimizer state, activations
        memory = {name: peak_memory(calls[name], device) for name in ("fast", "plain")}
    else:
        memory = cpu_memory(case, batch)
    phases["memory"], mark = time.perf_counter() - mark, time.perf_counter()
    flops, first = {}, {}
    for name, fn in calls.items():  # warm-up (lazy optimizer state; compilation on CUDA), counting the FLOPs
        for _ in range(2 if device.type == "cuda" else 0):
            fn()
        start = time.perf_counter()
        flops[name] = count_flops(fn)  # each variant's own step
        first[name] = time.perf_counter() - start
    phases["warmup"], mark = time.perf_counter() - mark, time.perf_counter()
    # calls per round: about ROUND_SECONDS of each variant (one call where the first one already took longer)
    quick = {name: fn for name, fn in calls.items() if first[name] < 2 * ROUND_SECONDS}
    one = {name: values[0] for name, values in interleaved_rounds(quick, device, 1, 1).items()}
    per_round = {name: max(1, round(ROUND_SECONDS / max(one.get(name, first[name]), 1e-6))) for name in calls}
    times = interleaved_rounds(calls, device, rounds, per_round)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    phases["timing"] = time.perf_counter() - mark

    fast = steps["fast"]
    row: dict[str, Any] = {
        "case": case.name,
        "batch": batch,
        "update_ratio": case.update_ratio,
        "precision": fast.precision,
        "generator_params": count_parameters(fast.generator),
        "critic_params": count_parameters(fast.critic),
        "rounds": rounds,
        "calls_per_round": per_round,
        "samples_per_second": {name: batch / s for name, s in seconds.items()},
        "speedup": seconds["plain"] / seconds["fast"],
        "speedup_rounds": _spread(times["plain"], times["fast"]),
        "gflop_per_step": {name: f / 1e9 for name, f in flops.items()},
        "mflop_per_sample": {name: f / batch / 1e6 for name, f in flops.items()},
        "gflops_fast": flops["fast"] / seconds["fast"] / 1e9,
        "peak_memory_mb": {name: m / MB for name, m in memory.items()},
        "load_average": {"start": load_start, "end": load_average()},
        "phase_seconds": phases,
    }
    if "fast fp32" in seconds:
        row["bf16_gain"] = seconds["fast fp32"] / seconds["fast"]
    if peak_tflops:
        row["peak_tflops"] = peak_tflops
        row["peak_fraction"] = row["gflops_fast"] / 1e3 / peak_tflops
    if case.reference is not None and reference is not None:
        stored = case.reference.samples_per_second.get((device.type, batch))
        row["reference"] = {
            "name": case.reference.name,
            "params": case.reference.params,
            "generator_params": count_parameters(reference.generator),
            "critic_params": count_parameters(reference.critic),
            "samples_per_second": batch / seconds["reference"],
            "ratio": seconds["reference"] / seconds["fast"],
            "ratio_rounds": _spread(times["reference"], times["fast"]),
            "stored_samples_per_second": stored,
            "stored_ratio": batch / seconds["fast"] / stored if stored else None,
        }
    return row
