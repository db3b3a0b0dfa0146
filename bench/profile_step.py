"""Where a training step's time goes: ``python -m bench.profile_step [--case NAME] [--steps N]``.

Profiles (``torch.profiler``, CPU activities) ``--steps`` steps of museforge's fast step and of the reference at
a reference-shape case, after warm-up, and prints for each: operators per step, milliseconds per step, the share
of self time in matrix products and convolutions (the FLOPs) against everything else (copies, elementwise,
normalisation, optimizer), and the operators that take the most self time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from bench.cases import TRAIN_CASES
from bench.references import REFERENCE_STEPS
from bench.training import build_step, random_batches

#: Operators that do the arithmetic the FLOP counts measure (forward and backward).
MATMUL_OPS = {
    "aten::mm",
    "aten::bmm",
    "aten::baddbmm",
    "aten::addmm",
    "aten::matmul",
    "aten::mkldnn_convolution",
    "aten::convolution_backward",
    "aten::_convolution",
    "aten::mkldnn_rnn_layer",
    "aten::_slow_conv2d_forward",
    "aten::slow_conv_transpose2d",
    "aten::slow_conv3d_forward",
    "aten::slow_conv_transpose3d",
    "aten::_slow_conv2d_backward",
}


def profile_calls(fn: Callable[[], Any], steps: int, top: int) -> dict[str, Any]:
    """Profile ``steps`` calls of ``fn``: per-step operator count and time, matmul share, the top operators."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            fn()
    events = [e for e in prof.key_averages() if not e.key.startswith(("Optimizer.", "ProfilerStep"))]
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return {
        "ops_per_step": sum(e.count for e in events) / steps,
        "ms_per_step": total / steps / 1000,
        "matmul_share": matmul / total if total else 0.0,
        "top": [(e.key, e.self_cpu_time_total / total, e.count / steps) for e in ranked],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_step", description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="musegan @ tutorial shape", help="a training case with a reference")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    case = next((c for c in TRAIN_CASES if c.name == args.case and c.reference), None)
    if case is None:
        parser.error(f"no training case {args.case!r} with a reference")
    device, batch = torch.device("cpu"), case.batch["cpu"][0]
    step = build_step(case, device, "fast")
    batches = random_batches(case, batch, device)
    rng = torch.Generator().manual_seed(2)
    reference = REFERENCE_STEPS[case.reference.live](batch, device)  # type: ignore[union-attr]
    calls = {f"museforge fast ({step.precision})": lambda: step(batches, rng), "reference": reference.step}
    for name, fn in calls.items():
        for _ in range(3):
            fn()
        result = profile_calls(fn, args.steps, args.top)
        print(
            f"\n{name}, {case.name}, batch {batch}: {result['ops_per_step']:.0f} operators and "
            f"{result['ms_per_step']:.1f} ms per step (under the profiler); matrix products and convolutions "
            f"{100 * result['matmul_share']:.0f} % of the self time"
        )
        for key, share, count in result["top"]:
            print(f"  {100 * share:5.1f} %  {count:6.0f} calls/step  {key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
