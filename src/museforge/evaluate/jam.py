"""The musical cost of playing along: jam mode's causal composer against compose, on the same melodies.

Both accompany the same stretches of held-out songs (:func:`museforge.datasets.songs.song_segments`) with the same
seed: compose sees the whole melody (:func:`museforge.sampling.form.accompany`), jam only the bars already played
(:class:`museforge.sampling.causal.CausalAccompanist`). Both are cut into the model's windows and measured against
the real accompaniment of those windows with every metric of the shipping bar (the form on the whole stretches, the
meter per meter, the real-vs-generated classifier).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from museforge.datasets.cache import load_dataset
from museforge.datasets.songs import song_segments
from museforge.evaluate.bar import shipping_bar
from museforge.evaluate.classifier import two_sample_accuracy, window_features
from museforge.evaluate.compare import compare, largest_gap
from museforge.evaluate.grid import MetricGrid
from museforge.evaluate.meter import meter_comparison
from museforge.evaluate.run import _comparison, _header, _load_model
from museforge.metrics.form import repeat_fidelity
from museforge.music.form import bar_spans
from museforge.music.meter import bar_steps, window_grid
from museforge.sampling.causal import CausalAccompanist
from museforge.sampling.form import accompany, default_variation
from museforge.sampling.generation import Generation

#: The ways of writing compared: compose (the whole melody known) and jam (one bar ahead).
WRITERS: tuple[str, ...] = ("compose", "jam")
#: Song stretches compared at most (the longest first).
JAM_SEGMENTS = 60


def _windows(rolls: NDArray[np.bool_], window: int) -> NDArray[np.bool_]:
    """``(tracks, S, P)`` cut into whole windows ``(n, tracks, T, P)`` from step 0 (a trailing part is left out)."""
    n = rolls.shape[1] // window
    return rolls[:, : n * window].reshape(rolls.shape[0], n, window, rolls.shape[2]).transpose(1, 0, 2, 3)


def jam_comparison(name: str, *, split: str = "test", seed: int = 0, guess: str = "form") -> dict[str, Any]:
    """Compose and jam on the same stretches of ``split``'s songs, each measured against the real music.

    Returns ``{"model", "genre", "split", "segments", "windows", "guess", "compose": result, "jam": result}``, each
    result shaped like :func:`museforge.evaluate.run.evaluate_model`'s (``tracks``, ``tonal_distances``,
    ``voice_leading``, ``form``, ``meter``, ``classifier``, ``shipping_bar``).
    """
    generator, card, kind, _history, status = _load_model(name)
    assert card.window is not None  # every GAN card has its window
    window = card.window
    generation = Generation.from_card(generator, card)
    variation = default_variation(card)
    dataset = load_dataset(card.genre)
    manifest = dataset.manifest
    melody_track = int(manifest.get("melody_track", 0))
    others = [int(i) for i in manifest.get("accompaniment_tracks", [])] or [
        i for i in range(len(manifest["tracks"])) if i != melody_track
    ]
    real_windows, grids, meters, songs = [], [], [], []
    pieces: dict[str, list[Any]] = {writer: [] for writer in ("real", *WRITERS)}
    written: dict[str, list[NDArray[np.bool_]]] = {writer: [] for writer in WRITERS}
    for n, (song, rolls, meter) in enumerate(song_segments(dataset, split, JAM_SEGMENTS)):
        melody, real = rolls[melody_track], rolls[others]
        spans = bar_spans(rolls.shape[1], None, bar_steps(*meter, card.resolution))
        grid = window_grid(np.asarray([meter]), card.resolution, rolls.shape[1])[0]
        rng, form_rng = torch.Generator().manual_seed(seed + n), np.random.default_rng(seed + n)
        notes = {
            "compose": accompany(
                generation, melody, window, spans, rng=rng, form_rng=form_rng, variation=variation, grid=grid
            ),
            "jam": CausalAccompanist.for_card(generation, card, seed + n, variation, guess).play_through(
                melody, spans, grid
            ),
        }
        pieces["real"].append((melody, real, spans))
        cut = _windows(np.concatenate([melody[None], real]), window)
        real_windows.append(cut)
        grids.append(_windows(grid.T[:, :, None], window)[:, :, :, 0].transpose(0, 2, 1))
        meters += [meter] * len(cut)
        songs += [song] * len(cut)
        for writer in WRITERS:
            pieces[writer].append((melody, notes[writer], spans))
            written[writer].append(_windows(notes[writer], window))
    real_all = np.concatenate(real_windows)
    grid_all, meter_all = np.concatenate(grids), np.asarray(meters, dtype=np.int64)
    song_all = np.asarray(songs, dtype=np.int64)
    metric_grid = MetricGrid(card.tracks, card.resolution, card.lowest_pitch, card.beats_per_bar)
    real_form = repeat_fidelity(pieces["real"])
    out: dict[str, Any] = {
        "model": name,
        "genre": card.get("genre"),
        "split": split,
        "segments": len(pieces["real"]),
        "windows": len(real_all),
        "guess": guess,
    }
    for writer in WRITERS:
        generated = np.concatenate(written[writer])
        fake = np.concatenate([real_all[:, :1], generated], axis=1)
        mine = repeat_fidelity(pieces[writer])
        result: dict[str, Any] = {
            **_header("model", name, kind, status, card, split),
            **_comparison(metric_grid, card, fake, real_all, grid_all, grid_all),
            "form": {"variation": variation, **{m: compare(mine[m], real_form[m]) for m in real_form}},
            "meter": meter_comparison(card, real_all, generated, grid_all, meter_all),
        }
        real_features, fake_features = (
            window_features(
                rolls[:, 1:],
                real_all[:, 0],
                metric_grid.resolution,
                metric_grid.is_drum,
                metric_grid.lowest,
                metric_grid.beats_per_bar,
            )
            for rolls in (real_all, fake)
        )
        result["classifier"] = two_sample_accuracy(real_features, fake_features, song_all, song_all, seed=seed)
        result["largest_gap"] = largest_gap(result)
        result["shipping_bar"] = shipping_bar(result)
        out[writer] = result
    return out


__all__ = ["JAM_SEGMENTS", "WRITERS", "jam_comparison"]
