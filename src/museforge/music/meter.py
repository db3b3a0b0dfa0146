"""A piece's meter as the models see it: where its bars and beats start, step by step.

A beat is a quarter note under x/4, a half note under x/2, and a dotted quarter under a compound meter (6/8, 9/8,
12/8, 3 x eighths); under other x/8 meters, an eighth note.

The **metric grid** of ``S`` steps is ``(S, 2)`` float32: column 0 is 1 where a bar starts (its downbeat), column 1
is 1 where a beat starts (every downbeat is a beat). A meter-aware model reads it next to the melody, so it can play
a waltz or a jig in its own meter; :func:`window_grid` gives the grid of training windows (which start on a bar
line), :func:`piece_grid` that of a whole piece, bar lines, pickups and meter changes included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from museforge.music.pianoroll import Multitrack

#: Channels of a metric grid: downbeat, beat.
GRID_CHANNELS = 2


def beat_steps(numerator: int, denominator: int, resolution: int) -> float:
    """Steps per beat of a ``numerator/denominator`` meter on a grid of ``resolution`` steps per quarter note."""
    unit = 4 * resolution / denominator  # steps of one note of the denominator's length
    if denominator >= 8 and numerator % 3 == 0:
        return 3 * unit  # compound (6/8, 9/8, 12/8) and 3/8: dotted beats
    return unit


def bar_steps(numerator: int, denominator: int, resolution: int) -> int:
    """Steps of one whole bar of ``numerator/denominator`` at ``resolution`` steps per quarter note."""
    return round(numerator * 4 * resolution / denominator)


def beat_mask(spans: Sequence[tuple[int, int]], beat: float, n_steps: int) -> np.ndarray:
    """(S,) bool: the steps on which a beat of ``beat`` steps starts in each bar (counted from its bar line)."""
    beats = np.zeros(n_steps, dtype=bool)
    for start, end in spans:
        positions = np.round(start + np.arange(0.0, end - start, beat)).astype(np.int64)
        beats[positions[(positions >= 0) & (positions < min(end, n_steps))]] = True
    return beats


def grid_from_bars(spans: Sequence[tuple[int, int]], beats: Sequence[float], n_steps: int) -> np.ndarray:
    """The metric grid ``(n_steps, 2)`` float32 of bars ``spans`` (``[(start, end)]``, steps) with ``beats[i]``
    steps per beat in bar ``i``."""
    grid = np.zeros((n_steps, GRID_CHANNELS), dtype=np.float32)
    for (start, end), beat in zip(spans, beats, strict=True):
        if 0 <= start < n_steps:
            grid[start, 0] = 1.0
        grid[:, 1] = np.maximum(grid[:, 1], beat_mask([(start, end)], beat, n_steps))
    return grid


def window_grid(meters: np.ndarray, resolution: int, n_steps: int) -> np.ndarray:
    """The metric grids of windows that start on a bar line and keep one meter.

    Parameters
    ----------
    meters : np.ndarray, shape (N, 2), int — each window's ``(numerator, denominator)``.
    resolution : steps per quarter note.
    n_steps : steps per window.

    Returns
    -------
    np.ndarray, shape (N, n_steps, 2), float32.
    """
    meters = np.asarray(meters, dtype=np.int64).reshape(-1, 2)
    out = np.zeros((len(meters), n_steps, GRID_CHANNELS), dtype=np.float32)
    cache: dict[tuple[int, int], np.ndarray] = {}
    for i, (numerator, denominator) in enumerate(meters):
        key = (int(numerator), int(denominator))
        if key not in cache:
            size = max(1, bar_steps(*key, resolution))
            spans = [(s, s + size) for s in range(0, n_steps, size)]
            cache[key] = grid_from_bars(spans, [beat_steps(*key, resolution)] * len(spans), n_steps)
        out[i] = cache[key]
    return out


def piece_grid(
    n_steps: int,
    downbeats: Sequence[int] | np.ndarray,
    time_signatures: Sequence[tuple[int, int, int]],
    resolution: int,
) -> np.ndarray:
    """The metric grid ``(n_steps, 2)`` float32 of a piece: a downbeat on every bar line in ``downbeats``, beats
    of the meter in force (``time_signatures``: ``(step, numerator, denominator)``) counted from each bar line. A
    pickup before the first bar line gets the beats that lead up to it, counted back from it."""
    signatures = sorted(time_signatures) or [(0, 4, 4)]
    at = np.asarray([s[0] for s in signatures], dtype=np.int64)

    def beat_at(step: int) -> float:
        _, numerator, denominator = signatures[max(0, int(np.searchsorted(at, step, side="right")) - 1)]
        return beat_steps(int(numerator), int(denominator), resolution)

    lines = sorted({int(d) for d in downbeats if 0 <= int(d) < n_steps})
    ends = [*lines[1:], n_steps]
    grid = grid_from_bars(list(zip(lines, ends, strict=True)), [beat_at(s) for s in lines], n_steps)
    if lines and lines[0] > 0:  # a pickup: beats counted back from the first bar line
        beat = beat_at(lines[0])
        back = np.round(lines[0] - np.arange(beat, lines[0] + 1e-9, beat)).astype(np.int64)
        grid[back[back >= 0], 1] = 1.0
    return grid


def multitrack_grid(multitrack: Multitrack) -> np.ndarray:
    """The metric grid ``(S, 2)`` float32 of a multitrack, by its bar lines and time signatures."""
    downbeats: Sequence[int] | np.ndarray = multitrack.downbeats if multitrack.downbeats is not None else []
    return piece_grid(multitrack.n_steps, downbeats, multitrack.time_signatures, multitrack.resolution)


__all__ = [
    "GRID_CHANNELS",
    "bar_steps",
    "beat_mask",
    "beat_steps",
    "grid_from_bars",
    "multitrack_grid",
    "piece_grid",
    "window_grid",
]
