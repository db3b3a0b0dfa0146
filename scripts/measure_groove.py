"""Choose each shipped model's ``decoding.groove``: how strongly its drums hold a phrase's groove
(:mod:`museforge.sampling.groove`), so that they repeat from bar to bar as much as its genre's real drums do.

    python scripts/measure_groove.py [--genres rock jazz] [--write]

The script accompanies the melodies of the validation split (as ``museforge evaluate`` does, the same noise),
holds the drums' groove at every strength of a grid (0 to 1), and measures the drums' bar-to-bar repetition and
snare on the backbeat in each window's own bars (:func:`museforge.metrics.report.drum_bar_metrics`), and empty
bars, against the real drums of the same windows. It picks the strength whose repetition is closest to real; 0
where the model's drums already repeat as much or more (the groove only holds, it never loosens). ``--write``
records it in the shipped card.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from museforge.evaluate.run import held_out
from museforge.metrics.report import drum_bar_metrics
from museforge.model_files import ModelCard
from museforge.models.loading import load_model
from museforge.pretrained import record_decoding
from museforge.sampling.generation import Generation

GRID = tuple(round(g, 2) for g in np.arange(0.0, 1.0001, 0.05))
WINDOWS = 1000


def drum_figures(drums: np.ndarray, card: ModelCard, grids: np.ndarray) -> dict[str, float]:
    """Mean repetition and backbeat (in each window's own bars, ``grids`` ``(n, T, 2)``) and empty-bar share of
    ``(n, T, P)`` drum windows."""
    steps = int(card.model_config.get("steps_per_bar") or card.resolution * card.beats_per_bar)
    figures = drum_bar_metrics(drums, card.resolution, card.lowest_pitch, steps, grids)
    bars = drums.reshape(len(drums), -1, steps, drums.shape[-1]).any(axis=(2, 3))
    return {
        "repetition": round(float(np.nanmean(figures["drum_repetition"])), 4),
        "backbeat": round(float(np.nanmean(figures["backbeat_rate"])), 4),
        "empty_bars": round(float(1.0 - bars.mean()), 4),
    }


def measure(genre: str, windows: int = WINDOWS, seed: int = 0) -> dict[str, dict] | None:
    """Per strength of :data:`GRID`: the generated drums' figures on the validation split, with the real ones and
    the chosen strength; None when the model has no drums."""
    generator, card = load_model(genre)
    generation = Generation.from_card(generator, card)
    drums = [k for k, drum in enumerate(generation.is_drum) if drum]
    if not drums:
        return None
    held = held_out(card, "valid", windows)
    melody, real = held.windows[:, 0], held.windows[:, 1:]
    noise = generator.sample_noise(len(melody), generator=torch.Generator().manual_seed(seed))
    probs = generation.probabilities(melody, noise, grid=held.grids)
    k = drums[0]
    figures = {}
    for strength in GRID:
        held_probs = generation.hold_window_grooves(probs, held.grids, strength)
        notes = generation.policy.track(k).decode(held_probs[:, k : k + 1])
        figures[strength] = drum_figures(np.asarray(notes)[:, 0], card, held.grids)
    target = drum_figures(real[:, k], card, held.grids)
    chosen = min(GRID, key=lambda g: (abs(figures[g]["repetition"] - target["repetition"]), g))
    return {"real": target, "generated": {str(g): f for g, f in figures.items()}, "chosen": chosen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genres", nargs="+", default=["rock", "jazz", "pop", "symphony"])
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--write", action="store_true", help="record the chosen strength in the shipped cards")
    args = parser.parse_args()
    for genre in args.genres:
        result = measure(genre, args.windows)
        print(json.dumps({"genre": genre, "groove": result}), flush=True)
        if args.write and result is not None:
            record_decoding(genre, {"groove": result["chosen"]})


if __name__ == "__main__":
    main()
