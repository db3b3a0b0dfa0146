"""A melody of any length through a model of a fixed window: half-overlapping windows, noise that drifts from
window to window, and a triangular cross-fade of the overlapping halves in probability space, so the music carries
across window edges instead of restarting every few bars. Compose, regenerate and evaluate generate this way."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch

from museforge.models.base import Generator
from museforge.music.keys import onset_histograms
from museforge.sampling.generation import Generation


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between noise vectors ``a`` and ``b`` (both (noise_dim,)) at ``t`` in [0, 1]."""
    cos = torch.clamp((a * b).sum() / (a.norm() * b.norm() + 1e-8), -1.0, 1.0)
    omega = torch.arccos(cos)
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def window_noise(
    generator: torch.nn.Module, n_windows: int, rng: torch.Generator, anchor_every: int = 4
) -> torch.Tensor:
    """Noise for consecutive windows that drifts smoothly: (n_windows, noise_dim).

    Random anchors every ``anchor_every`` windows, spherical interpolation between them.
    """
    n_anchors = n_windows // anchor_every + 2
    anchors = cast(Generator, generator).sample_noise(n_anchors, generator=rng)
    rows = []
    for w in range(n_windows):
        k, t = divmod(w, anchor_every)
        rows.append(slerp(anchors[k], anchors[k + 1], t / anchor_every))
    return torch.stack(rows)


def window_starts(length: int, window: int, bar_lines: Sequence[int] | np.ndarray | None = None) -> list[int]:
    """First step of each window of ``window`` steps that together cover ``length`` steps.

    Without ``bar_lines`` the windows overlap by half. With them (the first step of each bar, for a meter-aware
    model, which learnt windows that start on a bar line), each window starts on the bar line nearest to half a
    window after the one before: the first on the bar line at or before step 0 (a pickup gets the bar lines before
    the first one, counted back by its first bar's length; the start is then negative and the melody is padded), the
    bar lines after the last one continue at its last bar's length.
    """
    hop = max(1, window // 2)
    if bar_lines is None or not len(bar_lines):
        n_windows = max(1, math.ceil(max(length - window, 0) / hop) + 1)
        return [w * hop for w in range(n_windows)]
    lines = extended_bar_lines(bar_lines, length, window)
    starts = [max(line for line in lines if line <= 0)]
    while starts[-1] + window < length:
        here = starts[-1]
        inside = [line for line in lines if here < line < here + window]
        starts.append(min(inside, key=lambda line: abs(line - here - hop)) if inside else here + hop)
    return starts


def extended_bar_lines(bar_lines: Sequence[int] | np.ndarray, length: int, window: int) -> list[int]:
    """``bar_lines`` (at least one) sorted, continued back to step 0 or before by the first bar's length (a pickup)
    and on to ``length`` or after by the last bar's (a bar of ``window`` steps when there is only one line)."""
    lines = sorted({int(v) for v in bar_lines})
    first = max(1, lines[1] - lines[0] if len(lines) > 1 else window)
    last = max(1, lines[-1] - lines[-2] if len(lines) > 1 else window)
    while lines[0] > 0:
        lines.insert(0, lines[0] - first)
    while lines[-1] < length:
        lines.append(lines[-1] + last)
    return lines


def bar_lines_of(grid: np.ndarray) -> np.ndarray:
    """The steps where a bar starts, from a metric grid ``(S, 2)``: (bars,) int64."""
    return np.flatnonzero(np.asarray(grid)[:, 0] > 0)


def generate_probabilities(
    generation: Generation,
    melody: np.ndarray,
    window: int,
    rng: torch.Generator,
    noise: torch.Tensor | None = None,
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """Accompaniment probabilities for a melody of any length.

    Parameters
    ----------
    generation : the model and its card's key handling (:class:`museforge.sampling.generation.Generation`).
    melody : np.ndarray, shape (time, P), bool — the melody on the model's grid.
    window : T, the model's window length in steps (a whole number of bars).
    rng : seeded generator for the noise.
    noise : torch.Tensor, shape (W, noise_dim), optional — each window's noise (one row per
        :func:`window_starts` entry); default :func:`window_noise` drawn from ``rng``.
    grid : np.ndarray, shape (time, 2), optional — the melody's metric grid (:mod:`museforge.music.meter`). A
        meter-aware model reads each window's grid and its windows start on bar lines
        (:func:`melody_window_starts`); None: 4/4 bars and half-overlapping windows from step 0.

    Returns
    -------
    np.ndarray, shape (K, time, P), float32 probabilities in the melody's key. Windows overlap by half; overlaps
    are cross-faded with triangular weights.
    """
    length = melody.shape[0]
    starts = melody_window_starts(generation, length, window, grid)
    hop = max(1, window // 2)
    before = max(0, -starts[0])  # steps of padding before step 0 (a pickup)
    padded = np.zeros((before + starts[-1] + window, melody.shape[1]), dtype=bool)
    padded[before : before + length] = melody
    inputs = np.stack([padded[before + s : before + s + window] for s in starts])
    grids = None
    if grid is not None and generation.meter_aware:
        grid_padded = np.zeros((padded.shape[0], np.asarray(grid).shape[1]), dtype=np.float32)
        grid_padded[before : before + length] = grid
        if before:  # the pickup's bar lines before step 0, as window_starts placed the windows on them
            pickup = [line for line in extended_bar_lines(bar_lines_of(grid), length, window) if line < 0]
            grid_padded[before + np.asarray(pickup, dtype=np.int64), 0] = 1.0
        grids = np.stack([grid_padded[before + s : before + s + window] for s in starts])
    if noise is None:
        noise = window_noise(generation.generator, len(starts), rng)
    whole = onset_histograms(melody[None], generation.lowest_pitch)[0]  # the key of windows with few notes
    with torch.inference_mode():
        probs = generation.probabilities(inputs, noise, fallback=whole, grid=grids)  # (W, K, T, P)
    ramp = np.minimum(np.arange(window) + 0.5, window - np.arange(window) - 0.5)
    weights = np.clip(ramp / max(hop, 1), 1e-3, 1.0).astype(np.float32)  # triangular cross-fade
    total = np.zeros((probs.shape[1], padded.shape[0], probs.shape[3]), dtype=np.float32)
    norm = np.zeros(padded.shape[0], dtype=np.float32)
    for w, start in enumerate(starts):
        total[:, before + start : before + start + window] += probs[w] * weights[None, :, None]
        norm[before + start : before + start + window] += weights
    return (total / norm[None, :, None])[:, before : before + length]


def melody_window_starts(generation: Generation, length: int, window: int, grid: np.ndarray | None) -> list[int]:
    """The windows' first steps for ``generation``'s model: on the melody's bar lines (``grid``) for a
    meter-aware model, half-overlapping from step 0 otherwise (:func:`window_starts`)."""
    lines = bar_lines_of(grid) if grid is not None and generation.meter_aware else None
    return window_starts(length, window, lines)


__all__ = [
    "bar_lines_of",
    "extended_bar_lines",
    "generate_probabilities",
    "melody_window_starts",
    "slerp",
    "window_noise",
    "window_starts",
]
