"""Generation latency on the CPU: one 8-bar composition (model time, fast and plain), the ``museforge compose``
command end to end, and an 8-bar Enhance and Extend as library calls and as commands."""

from __future__ import annotations

import copy
import functools
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

from bench.cases import COMPOSE_BARS, COMPOSE_MELODY, COMPOSE_MODELS
from bench.measure import interleaved_seconds
from bench.plain import plainify
from museforge.models.layers import count_parameters
from museforge.models.registry import build_gan


def _melody_roll(resolution: int, lowest: int, n_pitches: int) -> np.ndarray:
    from museforge.music.inputs import load_melody, melody_roll

    roll = melody_roll(load_melody(COMPOSE_MELODY, resolution), lowest, n_pitches)
    return roll[: COMPOSE_BARS * 4 * resolution]


def bench_compose_models(rounds: int) -> list[dict[str, Any]]:
    """Model time of one 8-bar composition on the CPU: every shipped model, and the default-size networks."""
    from museforge.models.loading import load_model
    from museforge.sampling.generation import Generation
    from museforge.sampling.windows import generate_probabilities

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


def bench_parts(rounds: int, genres: tuple[str, ...] = ("rock", "symphony")) -> list[dict[str, Any]]:
    """Model time of accompanying every built-in melody (seeds 0-4) so that every instrument plays a part (what
    compose does: :func:`museforge.sampling.form.accompany`, drawing again where a track is left out) against the
    first draw alone (``parts=()``), side by side in the same rounds; milliseconds per piece."""
    from museforge.models.loading import load_model
    from museforge.sampling.generation import Generation

    rows = []
    for genre in genres:
        generator, card = load_model(genre)
        generation = Generation.from_card(generator, card)
        pieces = _builtin_pieces(card)
        calls: dict[str, Callable[[], None]] = {
            "every part": functools.partial(_accompany_all, generation, card, pieces, None),
            "first draw": functools.partial(_accompany_all, generation, card, pieces, ()),
        }
        seconds = interleaved_seconds(calls, torch.device("cpu"), rounds=rounds, calls=1)
        n = 5 * len(pieces)
        rows.append(
            {
                "genre": genre,
                "pieces": n,
                "ms_per_piece": {k: v * 1000 / n for k, v in seconds.items()},
                "ratio": seconds["every part"] / seconds["first draw"],
            }
        )
    return rows


def bench_voice_rules(rounds: int) -> dict[str, Any]:
    """Model time of the Bach model accompanying every built-in melody (seeds 0-4) as compose does, its voices
    decoded with the part-writing rules (no parallel fifths or octaves, none above the tune:
    :mod:`museforge.sampling.paths`) against without them, side by side in the same rounds; milliseconds per
    piece."""
    from dataclasses import replace

    from museforge.models.loading import load_model
    from museforge.sampling.generation import Generation

    generator, card = load_model("bach")
    ruled = Generation.from_card(generator, card)
    free = replace(ruled, policy=replace(ruled.policy, parallels=False))
    pieces = _builtin_pieces(card)
    calls: dict[str, Callable[[], None]] = {
        "rules": functools.partial(_accompany_all, ruled, card, pieces, None),
        "no rules": functools.partial(_accompany_all, free, card, pieces, None),
    }
    seconds = interleaved_seconds(calls, torch.device("cpu"), rounds=rounds, calls=1)
    n = 5 * len(pieces)
    return {
        "pieces": n,
        "ms_per_piece": {k: v * 1000 / n for k, v in seconds.items()},
        "ratio": seconds["rules"] / seconds["no rules"],
    }


def _builtin_pieces(card: Any) -> list[tuple[Any, Any, Any]]:
    """``(melody roll, bar spans, metric grid)`` of every built-in melody on ``card``'s grid."""
    from museforge.music.form import bar_spans
    from museforge.music.inputs import melody_roll
    from museforge.music.melodies import get_melody, list_melodies, melody_to_multitrack
    from museforge.music.meter import multitrack_grid

    assert card.window is not None  # every GAN card has its window
    pieces = []
    for info in list_melodies():
        source = melody_to_multitrack(get_melody(info.name), resolution=card.resolution)
        roll = melody_roll(source, card.lowest_pitch, card.n_pitches)
        pieces.append((roll, bar_spans(source.n_steps, source.downbeats), multitrack_grid(source)))
    return pieces


def _accompany_all(generation: Any, card: Any, pieces: list[tuple[Any, Any, Any]], parts: tuple | None) -> None:
    """Accompany each ``(melody roll, bar spans, grid)`` of ``pieces`` with seeds 0-4, ``parts`` as
    :func:`museforge.sampling.form.accompany` takes it."""
    from museforge.sampling.form import accompany, default_variation

    for roll, spans, grid in pieces:
        for seed in range(5):
            accompany(
                generation,
                roll,
                int(card.window),
                spans,
                rng=torch.Generator().manual_seed(seed),
                form_rng=np.random.default_rng(seed),
                variation=default_variation(card),
                grid=grid,
                parts=parts,
            )


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
    from museforge.pipelines.enhance import DEFAULT_ITERATIONS, enhance
    from museforge.pipelines.extend import extend

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
            # the part-writing rule's cost: the same rewrite without it, side by side
            f"enhance {COMPOSE_MELODY} ({COMPOSE_BARS} bars, {DEFAULT_ITERATIONS} iterations, parallels allowed)": (
                lambda: enhance(COMPOSE_MELODY, out_midi=out / "f.mid", seed=0, parallels="allow"),
                [
                    "enhance",
                    "--melody",
                    COMPOSE_MELODY,
                    "--seed",
                    "0",
                    "--parallels",
                    "allow",
                    "--out",
                    str(out / "f2.mid"),
                ],
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
