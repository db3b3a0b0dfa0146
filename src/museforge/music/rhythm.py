"""Where in the beat a track's notes change: the rhythmic grid its data keep to.

A Real Book comping piano moves on eighth notes and its walking bass on the beat; a chorale bass moves on eighths.
A generator that writes each step as if alone can start, stop or change a note on any sixteenth, which these
players never do (the jazz bass's one-step notes and the piano's notes on the "e" and "a" of the beat gave the jazz
model's windows away to the classifier in nearly every case). The grid is read from the training data the way a
drum track's kit is (:mod:`museforge.music.drums`): the positions within the beat (steps after the beat's start,
on a grid of ``resolution`` steps per beat) at which the track's sounding pitches change, those that together hold
:data:`CHANGE_COVERAGE` of the changes. Decoding may then keep a track still between them
(:mod:`museforge.sampling.notes`): the notes are still the model's, only when they move follows the data.
"""

from __future__ import annotations

import numpy as np

#: Share of a track's changes the positions of its grid hold.
CHANGE_COVERAGE = 0.995
#: Windows counted at a time (bounds the temporaries).
_CHUNK = 2000


def change_counts(rolls: np.ndarray, resolution: int) -> np.ndarray:
    """Changes of ``(n, T, P)`` bool windows (each starting on a bar line) by position in the beat: ``(resolution,)``
    int64. A change is a step whose sounding pitches differ from the step before's (a note starts, stops or moves);
    each window's first step is not counted."""
    resolution = max(1, int(resolution))
    out = np.zeros(resolution, dtype=np.int64)
    rolls = np.asarray(rolls, dtype=bool)
    if rolls.ndim != 3 or rolls.shape[1] < 2:
        return out
    position = np.arange(1, rolls.shape[1]) % resolution
    for start in range(0, len(rolls), _CHUNK):
        part = rolls[start : start + _CHUNK]
        changed = (part[:, 1:] != part[:, :-1]).any(axis=2).sum(axis=0)  # (T - 1,)
        out += np.bincount(position, weights=changed, minlength=resolution).astype(np.int64)
    return out


def change_grid(counts: np.ndarray, coverage: float = CHANGE_COVERAGE) -> list[int] | None:
    """The positions in the beat (sorted) that hold ``coverage`` of the changes ``counts`` (``(resolution,)``),
    the most used first; None without changes."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    order = np.argsort(-counts, kind="stable")
    held = np.cumsum(counts[order]) / total
    keep = order[: int(np.searchsorted(held, min(max(float(coverage), 0.0), 1.0) - 1e-12)) + 1]
    return sorted(int(p) for p in keep)


def beat_positions(n_steps: int, resolution: int, grid: np.ndarray | None = None) -> np.ndarray:
    """``(S,)`` int: each step's position in its beat, ``steps since the beat began % resolution``: from a metric
    grid ``(S, 2)`` (:mod:`museforge.music.meter`; column 1 marks the beats) when given, else ``step % resolution``
    (a roll starting on a bar line, quarter-note beats). A compound meter's dotted beat reads as a quarter and an
    eighth: its third eighth is on position 0."""
    resolution = max(1, int(resolution))
    steps = np.arange(n_steps)
    if grid is None:
        return steps % resolution
    beats = np.asarray(grid)[:n_steps, 1] > 0
    if not beats.any():
        return steps % resolution
    last = np.maximum.accumulate(np.where(beats, steps, -1))
    since = np.where(last >= 0, steps - last, steps)
    return since % resolution


def still_steps(positions: np.ndarray, allowed: list[int] | tuple[int, ...]) -> np.ndarray:
    """``(S,)`` bool: the steps at which a track with the grid ``allowed`` keeps what it plays (its position is
    not on the grid); the first step never is."""
    still = ~np.isin(np.asarray(positions), np.asarray(allowed, dtype=np.int64))
    if len(still):
        still[0] = False
    return still


__all__ = ["CHANGE_COVERAGE", "beat_positions", "change_counts", "change_grid", "still_steps"]
