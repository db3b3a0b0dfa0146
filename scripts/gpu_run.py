"""The GPU run, ready to go: the bench on CUDA, then the shipped recipes trained larger, inside a time budget.

    scripts/gpu_run.sh OUT --data DIR [--minutes 9] [--smoke]   (the wrapper; see docs/performance.md)

1. ``python -m bench.run --device cuda`` over the reference-shape and shipped-recipe cases: samples/s, FLOPs per
   sample, the achieved FLOP/s against the chip's dense bf16 peak (989 TFLOP/s for an H100 SXM, 756 for a PCIe
   one) and the 10x / 20x goals against the tutorial's 2,950 samples/s at batch 256 on an H100.
2. Every genre in ``--data`` (a data home: ``datasets/<genre>/{manifest.json, windows.npz}``, as ``museforge
   datasets build`` writes them) trained with its shipped recipe (``scripts/train_pretrained.py``) made larger for
   a GPU: twice the widths, batch 256, from the cached arrays alone (no MIDI, no ``../shared``), each genre for an
   equal share of the time left; then exported.

OUT receives ``bench.json`` and ``bench.log``, ``training.json`` (per genre: steps, seconds, samples/s, the last
epoch's losses and metrics), ``models.tar.gz`` (weights, cards, metrics logs) and ``summary.md``. ``--smoke``
runs the same path on the CPU with tiny networks, one bench round and two steps per genre (what the test does).
Exit code 2 for bad arguments, 1 if a stage failed (the others still run; ``summary.md`` says which).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "src"), str(REPO)]

import torch  # noqa: E402
from train_pretrained import COMMON, RECIPES, train_and_export  # noqa: E402

#: Bench cases of the GPU run (substrings of bench.cases names): both reference shapes, both shipped recipes.
BENCH_CASES = ("musegan @", "shipped")
#: How much larger than the CPU recipes the GPU run trains: widths times this, and this batch.
WIDTH_SCALE, GPU_BATCH = 2, 256
#: Model-config keys that are widths (scaled by WIDTH_SCALE).
WIDTHS = ("base_channels", "critic_base_channels", "temporal_hidden", "max_channels")
#: Networks of the smoke run (seconds on a CPU).
TINY = {
    "musegan": {"base_channels": 4, "critic_base_channels": 4, "temporal_hidden": 16, "z_dim": 8, "melody_dim": 8},
    "unet": {"base_channels": 4, "max_channels": 16, "critic_base_channels": 4, "noise_dim": 8, "noise_channels": 4},
}
#: Seconds kept back at the end (exporting, packing, the summary).
MARGIN_SECONDS = 30


def gpu_recipe(genre: str, smoke: bool) -> dict[str, Any]:
    """``genre``'s shipped recipe made larger for a GPU (or tiny, for a smoke run): TrainConfig keywords."""
    recipe = RECIPES[genre]
    if smoke:
        model_config = dict(TINY[recipe["model"]])
    else:
        model_config = {k: v * WIDTH_SCALE if k in WIDTHS else v for k, v in recipe["model_config"].items()}
    settings = {**COMMON, **recipe.get("hyperparameters", {})}
    settings.update(
        architecture=recipe["model"],
        model_config=model_config,
        batch_size=8 if smoke else GPU_BATCH,
        update_ratio=1 if smoke else settings["update_ratio"],
        max_steps=2 if smoke else 1_000_000,
        metrics_samples=8 if smoke else 256,
        samples_per_epoch=0,  # no MIDI or pictures: the weights and the metrics log are the results
    )
    return settings


def run_bench(out: Path, device: str, seconds: float, smoke: bool) -> dict[str, Any]:
    """``bench.run`` on ``device`` into ``out/bench.{json,log}``, stopped after ``seconds``."""
    argv = [sys.executable, "-m", "bench.run", "--device", device, "--skip-compose", "--json", str(out / "bench.json")]
    for case in ("musegan @ tutorial",) if smoke else BENCH_CASES:
        argv += ["--only", case]
    if smoke:
        argv += ["--rounds", "1"]
    started = time.perf_counter()
    with open(out / "bench.log", "w") as log:
        try:
            done = subprocess.run(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=seconds)
            status = "ok" if done.returncode == 0 else f"failed (exit code {done.returncode})"
        except subprocess.TimeoutExpired:
            status = f"stopped after {seconds:.0f} s"
    return {"stage": "bench", "status": status, "seconds": round(time.perf_counter() - started, 1)}


def last_epoch(folder: Path) -> dict[str, Any]:
    """The last line of a run's ``metrics.jsonl`` ({} if none)."""
    path = folder / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return json.loads(lines[-1]) if lines else {}


def train_genres(out: Path, data: Path, device: str, deadline: float, smoke: bool) -> list[dict[str, Any]]:
    """Train every genre cached in ``data`` for an equal share of the time left; export into ``out/models``."""
    from museforge.training import TrainConfig
    from museforge.training.registry import model_dir

    genres = [g for g in RECIPES if (data / "datasets" / g / "windows.npz").exists()]
    rows = []
    models = out / "models"
    models.mkdir(exist_ok=True)
    for i, genre in enumerate(genres):
        minutes = max(0.1, (deadline - time.monotonic() - MARGIN_SECONDS) / (len(genres) - i) / 60)
        settings = gpu_recipe(genre, smoke)
        config = TrainConfig(name=f"gpu-{genre}", genre=genre, device=device, **settings)
        command = f"scripts/gpu_run.sh OUT --data DIR{' --smoke' if smoke else ''} ({minutes:.1f} min)"
        try:
            seconds, steps, _ = train_and_export(config, minutes, models, genre, 0.0, command)
        except Exception as error:  # one genre's failure must not cost the others their time
            rows.append({"genre": genre, "status": f"failed: {type(error).__name__}: {error}"})
            continue
        shutil.copy(model_dir(config.name) / "metrics.jsonl", models / f"{genre}.metrics.jsonl")
        last = last_epoch(model_dir(config.name))
        per_step = config.batch_size * config.update_ratio
        rows.append(
            {
                "genre": genre,
                "status": "ok",
                "model": config.architecture,
                "model_config": settings["model_config"],
                "batch_size": config.batch_size,
                "update_ratio": config.update_ratio,
                "minutes_budget": round(minutes, 2),
                "seconds": round(seconds, 1),
                "steps": steps,
                "samples_per_second": round(steps * config.batch_size / seconds, 1) if seconds else None,
                "windows_per_second": round(steps * per_step / seconds, 1) if seconds else None,
                "last_epoch": {k: last.get(k) for k in ("epoch", "step", "losses", "metrics") if k in last},
            }
        )
    return rows


def summary(out: Path, stages: list[dict[str, Any]], rows: list[dict[str, Any]], machine: str, total: float) -> None:
    """``out/summary.md``: the stages, the bench's tables and the training rows."""
    lines = [f"# GPU run on {machine}: {total:.0f} s", ""]
    lines += [f"- {s['stage']}: {s['status']} ({s['seconds']} s)" for s in stages]
    bench_log = out / "bench.log"
    if bench_log.exists():
        tables = [line for line in bench_log.read_text().splitlines() if line.startswith(("|", "10x", "20x"))]
        lines += ["", "## Bench", "", *tables]
    lines += ["", "## Training (the shipped recipes, larger)", ""]
    lines += ["| genre | status | steps | seconds | samples/s |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {r['genre']} | {r['status']} | {r.get('steps', '')} | {r.get('seconds', '')} | "
        f"{r.get('samples_per_second', '')} |"
        for r in rows
    ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the results (created)")
    parser.add_argument("--data", type=Path, required=True, help="data home holding datasets/<genre>/ caches")
    parser.add_argument("--minutes", type=float, default=9.0, help="the whole run's time budget")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny networks, two steps: check the path runs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    deadline = started + args.minutes * 60
    if not (args.data / "datasets").is_dir():
        print(f"gpu_run: no datasets/ in {args.data} (build them, then copy the data home)", file=sys.stderr)
        return 2
    if not args.smoke and not torch.cuda.is_available():
        print("gpu_run: no CUDA GPU here (use --smoke to check the path on a CPU)", file=sys.stderr)
        return 2
    device = "cpu" if args.smoke else "cuda"
    machine = "CPU (smoke run)" if args.smoke else torch.cuda.get_device_name(0)
    args.out.mkdir(parents=True, exist_ok=True)
    stages = [run_bench(args.out, device, 0.4 * (deadline - time.monotonic()), args.smoke)]

    with tempfile.TemporaryDirectory(prefix="gpu_run_home_") as home:  # the runs' folders; the data stays as is
        (Path(home) / "datasets").symlink_to((args.data / "datasets").resolve(), target_is_directory=True)
        os.environ["MUSEFORGE_HOME"] = home
        mark = time.monotonic()
        rows = train_genres(args.out, args.data, device, deadline, args.smoke)
        status = "ok" if rows and all(r["status"] == "ok" for r in rows) else "failed" if rows else "no datasets"
        stages.append({"stage": "training", "status": status, "seconds": round(time.monotonic() - mark, 1)})
    (args.out / "training.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    with tarfile.open(args.out / "models.tar.gz", "w:gz") as tar:
        tar.add(args.out / "models", arcname="models")
    shutil.rmtree(args.out / "models")
    total = time.monotonic() - started
    summary(args.out, stages, rows, machine, total)
    print((args.out / "summary.md").read_text())
    return 0 if all(s["status"] == "ok" for s in stages) else 1


if __name__ == "__main__":
    raise SystemExit(main())
