"""The bench's printed report: markdown tables of the training rows (speed, then work), the generation rows and,
on a GPU, the targets."""

from __future__ import annotations

from typing import Any

from bench.cases import GPU_TARGETS, TUTORIAL


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A markdown table, columns padded to their widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def hardware_line(machine: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """What the figures ran on, in words: the CPU model, whether it computes bf16 natively, and (once there are
    training rows) the precision the fast step ran in, since the machines the bench runs on differ."""
    bf16 = "native bf16 (AVX512-BF16 or AMX)" if machine.get("cpu_native_bf16") else "no native bf16"
    line = f"CPU: {machine['cpu']}, {machine['cpu_cores']} cores, kernels {machine['cpu_capability']}, {bf16}"
    if machine.get("gpu"):
        line += f"; GPU: {machine['gpu']}"
    if rows:
        ran = sorted({r["precision"] for r in rows})
        line += "; the fast step ran " + (" and ".join(ran) if len(ran) > 1 else f"in {ran[0]}")
        line += " (bf16 ran)" if "bf16" in ran else " (bf16 did not run)"
    return line


def _ratio(value: float, spread: list[float] | None = None) -> str:
    """``2.61x (2.40-2.75)``: the ratio of the medians, and the lowest and highest round-by-round ratio."""
    text = f"{value:.2f}x"
    return f"{text} ({spread[0]:.2f}-{spread[2]:.2f})" if spread else text


def speed_table(rows: list[dict[str, Any]]) -> str:
    """Samples/s of every variant and the ratios measured in the run, beside the stored reference figure."""
    out = []
    for r in rows:
        sps, ref = r["samples_per_second"], r.get("reference")
        stored = ""
        if ref and ref["stored_samples_per_second"]:
            stored = f"{ref['stored_samples_per_second']:g} -> {ref['stored_ratio']:.1f}x"
        out.append(
            [
                r["case"],
                f"{r['batch']} x {r['update_ratio']}",
                r["precision"],
                f"{sps['fast']:.1f}",
                f"{sps['fast fp32']:.1f}" if "fast fp32" in sps else "",
                f"{sps['plain']:.1f}",
                f"{ref['samples_per_second']:.1f}" if ref else "",
                _ratio(r["speedup"], r["speedup_rounds"]),
                _ratio(ref["ratio"], ref["ratio_rounds"]) if ref else "",
                stored,
            ]
        )
    headers = [
        "training case",
        "batch x ratio",
        "fast runs",
        "samples/s fast",
        "fast in fp32",
        "plain",
        "reference, here",
        "fast / plain (rounds)",
        "fast / reference here (rounds)",
        "stored reference (elsewhere) -> fast / it",
    ]
    return table(headers, out)


def work_table(rows: list[dict[str, Any]]) -> str:
    """Parameters and FLOPs per sample of each variant, the fast step's FLOP/s, memory and the load."""
    out = []
    for r in rows:
        flop, ref = r["mflop_per_sample"], r.get("reference")
        per_sample = f"{flop['fast']:.1f} / {flop['plain']:.1f}" + (f" / {flop['reference']:.1f}" if ref else "")
        rate = f"{r['gflops_fast']:.1f}"
        if "peak_fraction" in r:
            rate += f" ({100 * r['peak_fraction']:.2f} % of {r['peak_tflops']:g} TFLOP/s)"
        out.append(
            [
                r["case"],
                f"{r['generator_params'] / 1e6:.2f}M / {r['critic_params'] / 1e6:.2f}M",
                f"{ref['generator_params'] / 1e6:.2f}M / {ref['critic_params'] / 1e6:.2f}M" if ref else "",
                per_sample,
                rate,
                f"{r['peak_memory_mb']['fast']:.0f} / {r['peak_memory_mb']['plain']:.0f}",
                f"{r['load_average']['start']:.1f} -> {r['load_average']['end']:.1f}",
            ]
        )
    headers = [
        "training case",
        "params G / D",
        "reference G / D",
        "MFLOP / sample fast / plain / reference",
        "GFLOP/s fast",
        "first-step peak MB fast / plain",
        "load average",
    ]
    return table(headers, out)


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
    return table(
        ["8-bar composition", "generator params", "time steps", "model ms fast", "model ms plain", "fast / plain"], out
    )


def gpu_targets(rows: list[dict[str, Any]]) -> list[str]:
    """Lines on the GPU goals: the tutorial-shape step at batch 256 against the tutorial's stored H100 figure."""
    stored = TUTORIAL.samples_per_second[("cuda", 256)]
    lines = []
    for r in rows:
        if r["case"] == "musegan @ tutorial shape" and r["batch"] == 256:
            fast = r["samples_per_second"]["fast"]
            for target in GPU_TARGETS:
                met = "met" if fast >= target * stored else "not met"
                lines.append(
                    f"{target:g}x target: {fast:,.0f} samples/s against {target * stored:,.0f} "
                    f"({target:g} x the tutorial's {stored:,.0f} on an H100, stored): {met}"
                )
    return lines
