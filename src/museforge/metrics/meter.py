"""Whether the accompaniment plays in the melody's meter: how many of the drum and bass onsets fall on the
meter's beats, and how often a bar's downbeat is marked. Pure NumPy, for generated and real music alike.

A beat is a quarter note under x/4, a half note under x/2, and a dotted quarter under a compound meter (6/8, 9/8,
12/8, 3 x eighths); under other x/8 meters, an eighth note.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def beat_steps(numerator: int, denominator: int, resolution: int) -> float:
    """Steps per beat of a ``numerator/denominator`` meter on a grid of ``resolution`` steps per quarter note."""
    unit = 4 * resolution / denominator  # steps of one note of the denominator's length
    if denominator >= 8 and numerator % 3 == 0:
        return 3 * unit  # compound (6/8, 9/8, 12/8) and 3/8: dotted beats
    return unit


def beat_mask(spans: Sequence[tuple[int, int]], beat: float, n_steps: int) -> np.ndarray:
    """(S,) bool: the steps on which a beat of ``beat`` steps starts in each bar (counted from its bar line)."""
    beats = np.zeros(n_steps, dtype=bool)
    for start, end in spans:
        positions = np.round(start + np.arange(0.0, end - start, beat)).astype(np.int64)
        beats[positions[positions < end]] = True
    return beats


def meter_fit(
    onsets: np.ndarray, spans: Sequence[tuple[int, int]], numerator: int, denominator: int, resolution: int
) -> dict[str, float | None]:
    """How far ``onsets`` (``(K, S)`` bool: the onsets of the drum and bass tracks, any pitch) keep the meter.

    Returns ``beat_onset_share`` (the share of onsets that fall on a beat; None without onsets) and
    ``downbeat_rate`` (the share of whole bars with an onset on their bar line; None without a bar).
    """
    onsets = np.asarray(onsets, dtype=bool)
    n_steps = onsets.shape[-1]
    beats = beat_mask(spans, beat_steps(numerator, denominator, resolution), n_steps)
    any_onset = np.asarray(onsets.any(axis=0), dtype=bool)
    total = int(onsets.sum())
    full = [(s, e) for s, e in spans if e - s == round(numerator * 4 * resolution / denominator)]
    return {
        "beat_onset_share": float(onsets[:, beats].sum() / total) if total else None,
        "downbeat_rate": float(np.mean([any_onset[s] for s, _ in full])) if full else None,
    }


__all__ = ["beat_mask", "beat_steps", "meter_fit"]
