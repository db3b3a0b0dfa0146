"""Whether the accompaniment plays in the melody's meter: how many of the drum and bass onsets fall on the
meter's beats, and how often a bar's downbeat is marked. Pure NumPy, for generated and real music alike.

What a beat is: :mod:`museforge.music.meter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from museforge.music.meter import bar_steps, beat_mask, beat_steps


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
    full = [(s, e) for s, e in spans if e - s == bar_steps(numerator, denominator, resolution)]
    return {
        "beat_onset_share": float(onsets[:, beats].sum() / total) if total else None,
        "downbeat_rate": float(np.mean([any_onset[s] for s, _ in full])) if full else None,
    }


def rhythm_tracks(tracks: Sequence[Mapping[str, Any]]) -> list[int]:
    """The indices of the tracks (``{role, is_drum}`` each) that carry the meter: drums and bass."""
    return [k for k, t in enumerate(tracks) if t.get("is_drum") or t.get("role") == "bass"]


def roll_onsets(rolls: np.ndarray) -> np.ndarray:
    """Onsets of sounding rolls ``(..., S, P)`` bool: a cell that sounds where the step before did not, per pitch;
    ``(..., S)`` bool over all pitches (a drum hit or a note starts at that step)."""
    rolls = np.asarray(rolls, dtype=bool)
    starts = rolls.copy()
    starts[..., 1:, :] &= ~rolls[..., :-1, :]
    return np.asarray(starts.any(axis=-1), dtype=bool)


def windows_meter_fit(
    rhythm: np.ndarray, grids: np.ndarray, meters: np.ndarray, resolution: int, min_windows: int = 1
) -> dict[str, dict[str, float | int | None]]:
    """Meter fit per meter of windows, each with its metric grid.

    Parameters
    ----------
    rhythm : np.ndarray, shape (n, K, T, P), bool — the drum and bass tracks of each window, sounding cells.
    grids : np.ndarray, shape (n, T, 2) — each window's metric grid (its bar lines in column 0).
    meters : np.ndarray, shape (n, 2), int — each window's ``(numerator, denominator)``.
    resolution : steps per quarter note.
    min_windows : meters with fewer windows are left out.

    Returns
    -------
    dict
        ``{"3/4": {"windows": n, "beat_onset_share": ..., "downbeat_rate": ...}}``: :func:`meter_fit` over the
        windows of that meter laid end to end, bars from each window's bar lines (steps before its first bar line
        are left out).
    """
    rhythm = np.asarray(rhythm, dtype=bool)
    grids = np.asarray(grids)
    meters = np.asarray(meters, dtype=np.int64).reshape(-1, 2)
    out: dict[str, dict[str, float | int | None]] = {}
    if rhythm.ndim != 4 or rhythm.shape[1] == 0:
        return out
    steps = rhythm.shape[2]
    for numerator, denominator in sorted({(int(a), int(b)) for a, b in meters}):
        rows = np.flatnonzero((meters == (numerator, denominator)).all(axis=1))
        if len(rows) < min_windows:
            continue
        onsets = roll_onsets(rhythm[rows])  # (m, K, T)
        laid = onsets.transpose(1, 0, 2).reshape(onsets.shape[1], -1)  # (K, m * T)
        keep = np.zeros(laid.shape[1], dtype=bool)
        spans = []
        for w, row in enumerate(rows):
            lines = np.flatnonzero(grids[row, :, 0] > 0)
            ends = [*lines[1:], steps]
            spans += [(w * steps + int(a), w * steps + int(b)) for a, b in zip(lines, ends, strict=True)]
            if len(lines):
                keep[w * steps + int(lines[0]) : (w + 1) * steps] = True
        fit = meter_fit(laid & keep, spans, numerator, denominator, resolution)
        out[f"{numerator}/{denominator}"] = {"windows": len(rows), **fit}
    return out


__all__ = ["beat_mask", "beat_steps", "meter_fit", "rhythm_tracks", "roll_onsets", "windows_meter_fit"]
