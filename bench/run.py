"""``make bench``: training speed, generation latency and peak memory, fast path against a plain one, side by side.

Run ``python -m bench.run`` from the repository root (``--help`` for options). For each training case (see
:mod:`bench.cases`) it builds the same model twice from the same seed: museforge's fast step, and a plain eager
float32 step (PyTorch's convolution layers, separate critic passes for real and fake, default Adam; see
:mod:`bench.plain`). Both run on random binary rolls of the case's shape, alternating, and the table prints
samples/s (batch x generator updates per second, each update with its critic updates), the ratio fast/plain,
the ratio against the public reference implementation's figure where there is one, the peak memory a step
adds, and FLOPs. Then the latency of one 8-bar composition: the model time of every shipped model (and the
default-size networks) fast and plain, and the end-to-end time of the ``museforge compose`` command; then an
8-bar Enhance and an 8-bar Extend, as a library call and as a command.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.cases import COMPOSE_BARS, COMPOSE_MELODY, COMPOSE_MODELS, TRAIN_CASES, TrainCase
from bench.measure import MALLOC_ENV, count_flops, interleaved_seconds, peak_memory, unpooled_malloc
from bench.plain import plainify
from museforge.models.layers import count_parameters
from museforge.models.registry import build_gan
from museforge.training.step import AdversarialStep, make_optimizer

MB = 2**20


def machine(device: torch.device) -> dict[str, Any]:
    """What the figures ran on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ------------------------------------------------------------------------------------------------ training
def _build_step(case: TrainCase, device: torch.device, plain: bool) -> AdversarialStep:
    torch.manual_seed(0)
    generator, critic, _ = build_gan(case.architecture, case.config)
    generator, critic = generator.to(device).train(), critic.to(device).train()
    if plain:
        plainify(generator)
        plainify(critic)
        g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
        d_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    else:
        g_opt = make_optimizer(generator, 1e-4, (0.5, 0.9))
        d_opt = make_optimizer(critic, 1e-4, (0.5, 0.9))
    return AdversarialStep(
        generator, critic, g_opt, d_opt, loss="wgan-gp", penalty_weight=10.0, compile=device.type == "cuda", plain=plain
    )


def _random_batches(case: TrainCase, batch: int, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``update_ratio`` pairs of binary melody ``(B, T, P)`` and accompaniment ``(B, K, T, P)`` rolls."""
    _, _, cfg = build_gan(case.architecture, case.config)
    gen = torch.Generator().manual_seed(1)
    shape = (case.update_ratio, batch, cfg.n_steps, cfg.n_pitches)
    melody = (torch.rand(shape, generator=gen) < 0.05).float()
    real = (torch.rand((*shape[:2], cfg.n_tracks, *shape[2:]), generator=gen) < 0.05).float()
    return [(m.to(device), r.to(device)) for m, r in zip(melody, real, strict=True)]


def _same_networks(fast: AdversarialStep, plain: AdversarialStep, batches: list[Any]) -> None:
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


def bench_training(case: TrainCase, batch: int, device: torch.device, rounds: int) -> dict[str, Any]:
    """Samples/s, memory and FLOPs of one training case at one batch size, fast and plain."""
    steps = {"fast": _build_step(case, device, plain=False), "plain": _build_step(case, device, plain=True)}
    batches = _random_batches(case, batch, device)
    _same_networks(steps["fast"], steps["plain"], batches)
    rngs = {name: torch.Generator(device).manual_seed(2) for name in steps}
    calls: dict[str, Callable[[], Any]] = {name: (lambda s=s, r=rngs[name]: s(batches, r)) for name, s in steps.items()}

    phases: dict[str, float] = {}
    mark = time.perf_counter()
    if device.type == "cuda":  # the first step of each: compilation, optimizer state, activations
        memory = {name: peak_memory(fn, device) for name, fn in calls.items()}
    else:
        memory = _cpu_memory(case, batch)
    phases["memory"], mark = time.perf_counter() - mark, time.perf_counter()
    for _ in range(3 if device.type == "cuda" else 1):  # compile on CUDA; lazy optimizer state everywhere
        calls["fast"]()
    # the plain step's first call on the CPU: warm-up, and a count of every matrix product and convolution
    flops = count_flops(calls["plain"])
    phases["warmup"], mark = time.perf_counter() - mark, time.perf_counter()
    one = interleaved_seconds(calls, device, rounds=1, calls=1)
    slowest = max(one.values())
    per_round = max(1, int(0.5 / max(min(one.values()), 1e-6)))  # about half a second per round and variant
    rounds = rounds if slowest < 2.0 else max(1, rounds - 1)  # slow CPU cases: one round fewer
    seconds = interleaved_seconds(calls, device, rounds=rounds, calls=per_round)
    phases["timing"] = time.perf_counter() - mark

    fast = steps["fast"]
    row: dict[str, Any] = {
        "case": case.name,
        "batch": batch,
        "update_ratio": case.update_ratio,
        "generator_params": count_parameters(fast.generator),
        "critic_params": count_parameters(fast.critic),
        "samples_per_second": {name: batch / s for name, s in seconds.items()},
        "speedup": seconds["plain"] / seconds["fast"],
        "peak_memory_mb": {name: m / MB for name, m in memory.items()},
        "gflop_per_step": flops / 1e9,
        "tflops_achieved": flops / seconds["fast"] / 1e12,
        "phase_seconds": phases,
    }
    reference = case.reference.samples_per_second.get((device.type, batch)) if case.reference else None
    if case.reference is not None and reference is not None:
        row["reference"] = {
            "name": case.reference.name,
            "params": case.reference.params,
            "samples_per_second": reference,
            "ratio": row["samples_per_second"]["fast"] / reference,
        }
    return row


def step_memory(case: TrainCase, batch: int, device: torch.device) -> dict[str, int]:
    """Peak bytes the first step of each variant adds above the weights and data: optimizer state and the
    step's activations and gradients (what training needs beyond the model)."""
    memory = {}
    for variant in ("fast", "plain"):
        step = _build_step(case, device, plain=variant == "plain")
        batches = _random_batches(case, batch, device)
        rng = torch.Generator(device).manual_seed(2)
        memory[variant] = peak_memory(lambda s=step, b=batches, r=rng: s(b, r), device)
        del step, batches
    return memory


def _cpu_memory(case: TrainCase, batch: int) -> dict[str, int]:
    """:func:`step_memory` on the CPU, in a child process with unpooled malloc (see :mod:`bench.measure`)."""
    argv = [sys.executable, "-m", "bench.run", "--memory-child", case.name, str(batch)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env={**os.environ, **MALLOC_ENV})
    return json.loads(done.stdout.splitlines()[-1])


# ------------------------------------------------------------------------------------------------ composing
def _melody_roll(resolution: int, lowest: int, n_pitches: int) -> np.ndarray:
    from museforge.compose import load_melody, melody_roll

    roll = melody_roll(load_melody(COMPOSE_MELODY, resolution), lowest, n_pitches)
    return roll[: COMPOSE_BARS * 4 * resolution]


def bench_compose_models(rounds: int) -> list[dict[str, Any]]:
    """Model time of one 8-bar composition on the CPU: every shipped model, and the default-size networks."""
    from museforge.compose import generate_probabilities, load_model
    from museforge.generation import Generation

    cases: list[tuple[str, torch.nn.Module, dict[str, Any], int, np.ndarray]] = []
    for genre in COMPOSE_MODELS:
        generator, card = load_model(genre)
        data, mc = card["data"], card["model_config"]
        roll = _melody_roll(int(data["resolution"]), int(data["lowest_pitch"]), int(data["n_pitches"]))
        cases.append((f"{genre} (shipped)", generator, card, int(mc["n_bars"]) * int(mc["steps_per_bar"]), roll))
    for architecture in ("musegan", "unet"):
        torch.manual_seed(0)
        generator, _, cfg = build_gan(architecture, {})
        resolution = cfg.steps_per_bar // 4
        roll = _melody_roll(resolution, cfg.lowest_pitch, cfg.n_pitches)
        tracks = [{"role": f"track{k}", "is_drum": False} for k in range(cfg.n_tracks)]
        card = {"data": {"tracks": tracks, "lowest_pitch": cfg.lowest_pitch}}
        cases.append((f"{architecture} default (untrained)", generator.eval(), card, cfg.n_steps, roll))

    rows = []
    for name, generator, card, window, roll in cases:
        generator.eval()
        plain = plainify(copy.deepcopy(generator))
        generations = {model: Generation.from_card(g, card) for model, g in (("fast", generator), ("plain", plain))}
        calls = {
            model: (lambda g=g, r=roll, w=window: generate_probabilities(g, r, w, torch.Generator().manual_seed(0)))
            for model, g in generations.items()
        }
        for fn in calls.values():
            fn()
        seconds = interleaved_seconds(calls, torch.device("cpu"), rounds=rounds, calls=5)
        rows.append(
            {
                "model": name,
                "parameters": count_parameters(generator),
                "steps": int(roll.shape[0]),
                "model_ms": {k: v * 1000 for k, v in seconds.items()},
                "speedup": seconds["plain"] / seconds["fast"],
            }
        )
    return rows


def bench_compose_cli(runs: int) -> list[dict[str, Any]]:
    """Wall time of the ``museforge compose`` command (process start, imports, model, MIDI; then also audio)."""
    script = Path(sys.executable).with_name("museforge")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "museforge.cli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = [*command, "compose", "--model", "pop", "--melody", COMPOSE_MELODY, "--seed", "0"]
        variants = {
            "MIDI": [*base, "--out", str(out / "a.mid")],
            "MIDI + WAV + PNG": [
                *base,
                "--out",
                str(out / "b.mid"),
                "--wav",
                str(out / "b.wav"),
                "--png",
                str(out / "b.png"),
            ],
        }
        for label, argv in variants.items():
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(argv, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    "command": f"museforge compose --model pop --melody {COMPOSE_MELODY} ({label})",
                    "seconds": statistics.median(times),
                }
            )
    return rows


def bench_techniques(runs: int) -> list[dict[str, Any]]:
    """Enhance and Extend on the CPU: the library call (model loaded, files written), and the whole command."""
    from museforge.enhance import DEFAULT_ITERATIONS, enhance
    from museforge.extend import extend

    script = Path(sys.executable).with_name("museforge")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "museforge.cli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        calls = {
            f"enhance {COMPOSE_MELODY} ({COMPOSE_BARS} bars, {DEFAULT_ITERATIONS} iterations)": (
                lambda: enhance(COMPOSE_MELODY, out_midi=out / "e.mid", seed=0),
                ["enhance", "--melody", COMPOSE_MELODY, "--seed", "0", "--out", str(out / "e2.mid")],
            ),
            f"extend {COMPOSE_MELODY} by {COMPOSE_BARS} bars": (
                lambda: extend(COMPOSE_MELODY, bars=COMPOSE_BARS, out_midi=out / "x.mid", seed=0),
                [
                    "extend",
                    "--melody",
                    COMPOSE_MELODY,
                    "--bars",
                    str(COMPOSE_BARS),
                    "--seed",
                    "0",
                    "--out",
                    str(out / "x2.mid"),
                ],
            ),
        }
        for label, (call, argv) in calls.items():
            call()  # warm: the model is read once
            inside, whole = [], []
            for _ in range(runs):
                start = time.perf_counter()
                call()
                inside.append(time.perf_counter() - start)
                start = time.perf_counter()
                subprocess.run([*command, *argv], check=True, capture_output=True)
                whole.append(time.perf_counter() - start)
            rows.append(
                {"task": label, "call_seconds": statistics.median(inside), "command_seconds": statistics.median(whole)}
            )
    return rows


# ------------------------------------------------------------------------------------------------ report
def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def training_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the training rows."""
    out = []
    for r in rows:
        ref = r.get("reference")
        out.append(
            [
                r["case"],
                f"{r['generator_params'] / 1e6:.2f}M / {r['critic_params'] / 1e6:.2f}M",
                f"{r['batch']} x {r['update_ratio']}",
                f"{r['samples_per_second']['fast']:.1f}",
                f"{r['samples_per_second']['plain']:.1f}",
                f"{r['speedup']:.2f}x",
                f"{ref['samples_per_second']:g} -> {ref['ratio']:.1f}x" if ref else "",
                f"{r['peak_memory_mb']['fast']:.0f} / {r['peak_memory_mb']['plain']:.0f}",
                f"{r['gflop_per_step']:.2f}",
                f"{r['tflops_achieved'] * 1000:.1f}",
            ]
        )
    headers = [
        "training case",
        "params G / D",
        "batch x ratio",
        "samples/s fast",
        "samples/s plain",
        "fast / plain",
        "reference samples/s -> fast / ref",
        "first-step peak MB fast / plain",
        "GFLOP / step",
        "GFLOP/s fast",
    ]
    return _table(headers, out)


def compose_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the model-time rows."""
    out = [
        [
            r["model"],
            f"{r['parameters'] / 1e6:.2f}M",
            str(r["steps"]),
            f"{r['model_ms']['fast']:.1f}",
            f"{r['model_ms']['plain']:.1f}",
            f"{r['speedup']:.2f}x",
        ]
        for r in rows
    ]
    return _table(
        ["8-bar composition", "generator params", "time steps", "model ms fast", "model ms plain", "fast / plain"], out
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per measurement")
    parser.add_argument("--only", help="run only the training cases whose name contains this text")
    parser.add_argument("--skip-compose", action="store_true", help="leave out the generation latencies")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--memory-child", nargs=2, metavar=("CASE", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        name, batch = args.memory_child
        case = next(c for c in TRAIN_CASES if c.name == name)
        assert unpooled_malloc(), "a memory child needs MALLOC_ENV"
        print(json.dumps(step_memory(case, int(batch), torch.device("cpu"))))
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench: --device cuda was asked for but no CUDA GPU is available", file=sys.stderr)
        return 2
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(device), "training": [], "compose": [], "cli": [], "techniques": []}
    print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()), flush=True)
    for case in TRAIN_CASES:
        if args.only and args.only not in case.name:
            continue
        for batch in case.batch[device.type]:
            case_start = time.perf_counter()
            row = bench_training(case, batch, device, args.rounds)
            row["bench_seconds"] = time.perf_counter() - case_start
            report["training"].append(row)
            print(
                f"  {case.name}, batch {batch}: {row['samples_per_second']['fast']:.1f} samples/s fast, "
                f"{row['speedup']:.2f}x plain ({row['bench_seconds']:.0f} s)",
                flush=True,
            )
    if not args.skip_compose:
        report["compose"] = bench_compose_models(args.rounds)
        report["cli"] = bench_compose_cli(runs=3)
        report["techniques"] = bench_techniques(runs=3)
    report["seconds"] = time.perf_counter() - started

    print()
    print(
        f"Training ({device}; samples/s = batch x generator updates/s; first-step peak = memory the first "
        "step adds above the weights and data: optimizer state, activations, gradients)"
    )
    print(training_table(report["training"]))
    if report["compose"]:
        print()
        print(f"Generation: one {COMPOSE_BARS}-bar composition of {COMPOSE_MELODY} on the CPU (model time)")
        print(compose_table(report["compose"]))
        print()
        for r in report["cli"]:
            print(f"{r['command']}: {r['seconds']:.2f} s end to end")
        print()
        print("Enhance and Extend on the CPU (library call with files written; whole command with Python start-up)")
        for r in report["techniques"]:
            print(f"{r['task']}: {r['call_seconds']:.2f} s call, {r['command_seconds']:.2f} s command")
    print(f"\nbench took {report['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
