"""How long a training run will take, said before it starts: an estimate from measured speeds, labelled as such.

The measured figure is the shipped models' own training (``training.seconds`` over ``training.steps`` in each
``src/museforge/pretrained/*.json`` card, evaluation after each epoch included), on this project's 2-core CPU:
seconds per window pass (one window through one update: a GAN step passes ``batch_size * (update_ratio + 1)``
windows, the critic's and the generator's; the AR-CNN and the Transformer ``batch_size``). Those are ``small``
models. A bigger size is scaled by its parameter count against ``small`` on the same data, which underestimates
(wider convolutions cost more than their parameters say), so the text says "at least".
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from museforge.datasets.cache import build_command, dataset_status
from museforge.pretrained import PRETRAINED_DIR
from museforge.training.config import SIZE_PRESETS, TrainConfig


def _small_seconds_per_pass(config: TrainConfig) -> float | None:
    """Measured seconds per window pass of a small model of this architecture (this genre's card if it ships)."""

    cards = sorted(PRETRAINED_DIR.glob("*.json")) + sorted(PRETRAINED_DIR.glob("*/*.json"))
    figures: dict[str, list[float]] = {}
    for path in cards:
        try:
            card = json.loads(path.read_text())
            training, hyper = card["training"], card["hyperparameters"]
            passes = int(training["steps"]) * int(hyper["batch_size"])
            if card["architecture"] in ("musegan", "unet"):
                passes *= int(hyper["update_ratio"]) + 1
            seconds = float(training["seconds"]) / passes
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
            continue
        figures.setdefault(card["architecture"], []).append(seconds)
        if (
            card["architecture"] == config.architecture
            and card.get("genre") == config.genre
            and path.parent == PRETRAINED_DIR
        ):
            return seconds
    values = figures.get(config.architecture)
    return sum(values) / len(values) if values else None


def _parameters(config: TrainConfig, model_config: dict[str, Any], manifest: dict[str, Any]) -> int | None:
    """Parameters of the networks ``config`` would train on the dataset of ``manifest`` (None if unknown), counted
    on the meta device: the networks are built without their weights, so a huge width costs no memory."""
    import torch

    from museforge.models.registry import build_gan, build_network

    decided = {
        "n_tracks": max(1, len(manifest.get("tracks", [])) - 1),
        "steps_per_bar": int(manifest["steps_per_bar"]),
        "n_pitches": int(manifest["n_pitches"]),
        "lowest_pitch": int(manifest["lowest_pitch"]),
    }
    try:
        with torch.device("meta"):  # shapes only: no memory for the weights, however wide the request
            if config.is_gan:
                generator, critic, _cfg = build_gan(config.architecture, {**model_config, **decided})
                networks = [generator, critic]
            else:
                network, _cfg = build_network(config.architecture, dict(model_config))
                networks = [network]
    except Exception:  # a config this estimate cannot build: the run itself will say what is wrong
        return None
    return sum(p.numel() for net in networks for p in net.parameters())


def estimate_run(config: TrainConfig) -> dict[str, Any] | None:
    """An estimate of a new run's length on a CPU: ``{"seconds", "steps", "at_least", "size", "parameters",
    "small_parameters"}``, or None when the dataset is not built or nothing was measured for the architecture."""

    if "+" in config.genre:
        return None
    manifest = dataset_status(config.genre)
    per_pass = _small_seconds_per_pass(config)
    if manifest is None or per_pass is None:
        return None
    windows = int(manifest.get("splits", {}).get("train", {}).get("windows", 0))
    model_bars = {"unet": 2}.get(config.architecture, int(manifest.get("n_bars", 4)))
    pieces = max(1, int(manifest.get("n_bars", 4)) // model_bars)
    per_step = config.batch_size * (config.update_ratio if config.is_gan else 1)
    steps_per_epoch = max(1, windows * pieces // per_step)
    steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        steps = min(steps, config.max_steps)
    passes = steps * config.batch_size * ((config.update_ratio + 1) if config.is_gan else 1)
    small_config = {**config.model_config, **SIZE_PRESETS["small"].get(config.architecture, {})}
    for key in SIZE_PRESETS.get(str(config.size), {}).get(config.architecture, {}):
        if key not in SIZE_PRESETS["small"].get(config.architecture, {}):
            small_config.pop(key, None)
    params = _parameters(config, config.model_config, manifest)
    small = _parameters(config, small_config, manifest)
    scale = max(1.0, params / small) if params and small else 1.0
    return {
        "seconds": passes * per_pass * scale,
        "steps": steps,
        "at_least": scale > 1.0,
        "size": config.size,
        "parameters": params,
        "small_parameters": small,
    }


def describe_estimate(config: TrainConfig) -> str:
    """One line for the command line: the estimated time of ``config``'s run, or why there is none."""
    if config.resume:
        return "estimated time: shown by the progress bar once the first steps are measured (resumed run)"
    estimate = estimate_run(config)
    if estimate is None:
        if "+" in config.genre or dataset_status(config.genre) is not None:
            return "estimated time: unknown (nothing was measured for this model)"
        return f"estimated time: unknown (the {config.genre} dataset is not built: {build_command(config.genre)})"
    minutes = estimate["seconds"] / 60
    if estimate["seconds"] < 60:
        amount = f"{max(10, 10 * math.ceil(estimate['seconds'] / 10))} s"
    else:
        amount = f"{math.ceil(minutes)} min" if minutes < 90 else f"{minutes / 60:.1f} h"
    bound = "at least " if estimate["at_least"] else "about "
    size = f"{estimate['size']} model"
    if estimate["parameters"] and estimate["small_parameters"] and estimate["at_least"]:
        size += f", {estimate['parameters'] / estimate['small_parameters']:.1f}x the parameters of small"
    busy = cpu_busy()
    crowded = ""
    if busy is not None and busy >= BUSY_SHARE:
        crowded = (
            f"; the CPU is busy with other work now ({busy:.0%} of {os.cpu_count()} cores): the run's threads then "
            "wait on each other and it can take several times longer"
        )
    return (
        f"estimated time: {bound}{amount} for {estimate['steps']} steps on a 2-core CPU that is otherwise idle "
        f"({size}; an estimate from the shipped models' measured training speed; a GPU is faster){crowded}"
    )


#: Share of the CPU in use by other work above which the estimate warns that the run will be slower: with one
#: core of two busy, a small jazz MuseGAN's steps took 15x longer on torch's 2 threads (67 s against 4.6 s). One
#: busy core of two reads 0.49-0.51 over the quarter second measured, so the line sits below a half.
BUSY_SHARE = 0.4


def cpu_busy(seconds: float = 0.25) -> float | None:
    """Share (0-1) of all cores busy over ``seconds``, from ``/proc/stat`` (None where there is none)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total_a, idle_a = sample()
        time.sleep(seconds)
        total_b, idle_b = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_b - total_a
    return None if total <= 0 else 1.0 - (idle_b - idle_a) / total


__all__ = ["BUSY_SHARE", "cpu_busy", "describe_estimate", "estimate_run"]
