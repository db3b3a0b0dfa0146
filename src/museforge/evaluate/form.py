"""The melody's form, measured on whole songs: where the melody of a held-out song repeats a bar, does the
generated accompaniment repeat as the real one does? Four-bar windows cannot show it (a strain comes back eight or
sixteen bars later), so the model accompanies whole stretches of the split's songs as ``compose`` does."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from museforge.datasets.cache import load_dataset
from museforge.datasets.songs import song_segments
from museforge.evaluate.compare import compare
from museforge.metrics.form import repeat_fidelity
from museforge.model_files import ModelCard
from museforge.music.form import bar_spans
from museforge.music.meter import bar_steps, window_grid
from museforge.sampling.form import accompany, default_variation
from museforge.sampling.generation import Generation

#: Song stretches an evaluation accompanies at most (the longest first).
FORM_SEGMENTS = 120


def form_comparison(
    generation: Generation, card: ModelCard, split: str, seed: int, variation: float | None = None
) -> dict[str, Any]:
    """Repeat fidelity of the generated against the real accompaniment of ``split``'s song stretches.

    Returns ``{"variation", "songs", "repeat_overlap": {generated, real, gap}, "repeat_identical": {...},
    "repeat_pairs": {...}}``; the model's own default variation unless ``variation`` is given.
    """
    assert card.window is not None  # every GAN card has its window
    chosen = default_variation(card) if variation is None else float(variation)
    dataset = load_dataset(card.genre)
    manifest = dataset.manifest
    melody = int(manifest.get("melody_track", 0))
    others = [int(i) for i in manifest.get("accompaniment_tracks", [])] or [
        i for i in range(len(manifest["tracks"])) if i != melody
    ]
    real, generated = [], []
    segments = song_segments(dataset, split, FORM_SEGMENTS)
    for n, (_song, rolls, meter) in enumerate(segments):
        spans = bar_spans(rolls.shape[1], None, bar_steps(*meter, card.resolution))
        grid = window_grid(np.asarray([meter]), card.resolution, rolls.shape[1])[0]
        rng, form_rng = torch.Generator().manual_seed(seed + n), np.random.default_rng(seed + n)
        notes = accompany(
            generation, rolls[melody], card.window, spans, rng=rng, form_rng=form_rng, variation=chosen, grid=grid
        )
        real.append((rolls[melody], rolls[others], spans))
        generated.append((rolls[melody], notes, spans))
    mine, theirs = repeat_fidelity(generated), repeat_fidelity(real)
    return {
        "variation": chosen,
        "songs": len(segments),
        **{metric: compare(mine[metric], theirs[metric]) for metric in theirs},
    }


__all__ = ["FORM_SEGMENTS", "form_comparison"]
