"""``make bench``: training speed against a plain step and the references, generation latency, peak memory.

Run ``python -m bench.run`` from the repository root (``--help`` for options). For each training case (see
:mod:`bench.cases`) museforge's fast step (as ``museforge train`` runs it), the same step in float32 where the
fast one runs bf16, a plain eager float32 step (:mod:`bench.plain`) and, at a reference's shape, the reference's
own step (:mod:`bench.references`) run on random binary rolls in alternating rounds (at least
:data:`~bench.cases.MIN_ROUNDS`); see :mod:`bench.training`. Two tables follow: samples/s and the ratios measured
in the run (the stored reference figures beside them, labelled as measured elsewhere), then the work (FLOPs per
sample of each variant's own step), the fast step's FLOP/s, memory and the load average. Then the latency of one
8-bar composition, the ``museforge compose`` command, and an 8-bar Enhance and Extend (:mod:`bench.generation`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.cases import COMPOSE_BARS, COMPOSE_MELODY, GPU_PEAK_TFLOPS, MIN_ROUNDS, TRAIN_CASES
from bench.measure import load_average, unpooled_malloc
from bench.report import compose_table, gpu_targets, hardware_line, speed_table, work_table
from bench.training import bench_training, step_memory
from museforge.training.step import cpu_has_native_bf16


def machine(device: torch.device) -> dict[str, Any]:
    """What the figures ran on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_native_bf16": cpu_has_native_bf16(),
        "device": str(device),
        "load_average": load_average(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    """The CPU's model name, with its family and model numbers (a virtual machine's name often hides the rest)."""
    try:
        fields: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            return f"{fields['model name']} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_peak_tflops(name: str) -> float | None:
    """The dense bf16 peak of a known GPU (:data:`~bench.cases.GPU_PEAK_TFLOPS`), else None."""
    return next((peak for key, peak in GPU_PEAK_TFLOPS if key in name), None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    rounds = f"alternating timing rounds per case (a figure needs {MIN_ROUNDS})"
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS, help=rounds)
    parser.add_argument(
        "--only", action="append", help="run only the training cases whose name contains this text (repeatable)"
    )
    parser.add_argument("--skip-compose", action="store_true", help="leave out the generation latencies")
    parser.add_argument("--compile", action="store_true", help="torch.compile the fast step's forward passes (CUDA)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if the bench does not know it")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--memory-child", nargs=2, metavar=("CASE", "BATCH"), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memory_child:
        name, batch = args.memory_child
        case = next(c for c in TRAIN_CASES if c.name == name)
        assert unpooled_malloc(), "a memory child needs MALLOC_ENV"
        print(json.dumps(step_memory(case, int(batch), torch.device("cpu"))))
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench: --device cuda was asked for but no CUDA GPU is available", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)

    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(device), "training": [], "compose": [], "cli": [], "techniques": []}
    peak = args.peak_tflops or (gpu_peak_tflops(report["machine"]["gpu"]) if device.type == "cuda" else None)
    report["machine"]["peak_tflops"] = peak
    print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()), flush=True)
    print(hardware_line(report["machine"], []), flush=True)
    if args.rounds < MIN_ROUNDS:
        print(f"bench: {args.rounds} round(s), fewer than {MIN_ROUNDS}: a smoke run, not figures", flush=True)
    for case in TRAIN_CASES:
        if args.only and not any(text in case.name for text in args.only):
            continue
        for batch in case.batch[device.type]:
            case_start = time.perf_counter()
            row = bench_training(case, batch, device, args.rounds, args.compile, peak)
            row["bench_seconds"] = time.perf_counter() - case_start
            report["training"].append(row)
            ref = row.get("reference")
            print(
                f"  {case.name}, batch {batch} ({row['precision']}): {row['samples_per_second']['fast']:.1f} samples/s"
                f" fast, {row['speedup']:.2f}x plain"
                + (f", {ref['ratio']:.2f}x the reference run here" if ref else "")
                + f" ({row['bench_seconds']:.0f} s, load {row['load_average']['end']:.1f})",
                flush=True,
            )
    if not args.skip_compose:
        from bench.generation import (
            bench_compose_cli,
            bench_compose_models,
            bench_parts,
            bench_techniques,
            bench_voice_rules,
        )

        report["compose"] = bench_compose_models(args.rounds)
        report["cli"] = bench_compose_cli(runs=3)
        report["parts"] = bench_parts(args.rounds)
        report["voice_rules"] = bench_voice_rules(args.rounds)
        report["techniques"] = bench_techniques(runs=3)
    report["seconds"] = time.perf_counter() - started
    _print(report, device)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _print(report: dict[str, Any], device: torch.device) -> None:
    """The tables and lines of ``report``."""
    if report["training"]:
        print(
            f"\nTraining ({device}): samples/s = batch x generator updates/s, medians of alternating rounds; "
            "ratios as medians (lowest-highest round); the stored reference figures were measured elsewhere, at "
            "another load (issue 7)"
        )
        print(hardware_line(report["machine"], report["training"]))
        print(speed_table(report["training"]))
        print(
            "\nWork: FLOPs per sample of each variant's own step (matrix products and convolutions, forward and both "
            "backwards); first-step peak = memory the first step adds above the weights and data"
        )
        print(work_table(report["training"]))
        for line in gpu_targets(report["training"]):
            print(line)
    if report["compose"]:
        print()
        print(f"Generation: one {COMPOSE_BARS}-bar composition of {COMPOSE_MELODY} on the CPU (model time)")
        print(compose_table(report["compose"]))
        print()
        for r in report["cli"]:
            print(f"{r['command']}: {r['seconds']:.2f} s end to end")
        print()
        print("Every instrument plays a part: the built-in melodies x 5 seeds accompanied as compose does, against")
        print("the first draw alone (model time a piece, medians of alternating rounds)")
        for r in report.get("parts", []):
            ms = r["ms_per_piece"]
            print(
                f"{r['genre']}: {ms['every part']:.0f} ms every part, {ms['first draw']:.0f} ms first draw "
                f"({r['ratio']:.2f}x, {r['pieces']} pieces)"
            )
        rules = report.get("voice_rules")
        if rules:
            ms = rules["ms_per_piece"]
            print(
                f"bach, the part-writing rules in decoding: {ms['rules']:.0f} ms with them, {ms['no rules']:.0f} ms "
                f"without ({rules['ratio']:.2f}x, {rules['pieces']} pieces)"
            )
        print()
        print("Enhance and Extend on the CPU (library call with files written; whole command with Python start-up)")
        for r in report["techniques"]:
            print(f"{r['task']}: {r['call_seconds']:.2f} s call, {r['command_seconds']:.2f} s command")
    print(f"\nbench took {report['seconds']:.0f} s; load average {load_average():.1f} at the end")


if __name__ == "__main__":
    raise SystemExit(main())
