"""Metrics of a melody continuation against its prompt: pure functions over note lists.

A note is ``(pitch, start_step, end_step)``. Every function returns NaN where it has nothing to measure (no notes).
"""

from __future__ import annotations

import math

import numpy as np

from museforge.music.keys import SCALES, scale_tonics

Note = tuple[int, int, int]


def _histogram(notes: list[Note]) -> np.ndarray:
    h = np.zeros(12)
    for pitch, _, _ in notes:
        h[pitch % 12] += 1
    return h


def key_fit_with_prompt(prompt: list[Note], continuation: list[Note]) -> float:
    """Share of the continuation's notes in the diatonic scale that holds most of the prompt's notes."""
    if not continuation or not prompt:
        return math.nan
    tonic = int(scale_tonics(_histogram(prompt)[None])[0])
    scale = SCALES[tonic] > 0
    return float(np.mean([scale[p % 12] for p, _, _ in continuation]))


def pitch_range(notes: list[Note]) -> float:
    """Highest minus lowest pitch, in semitones."""
    if not notes:
        return math.nan
    pitches = [p for p, _, _ in notes]
    return float(max(pitches) - min(pitches))


def mean_note_length(notes: list[Note]) -> float:
    """Mean note length in steps."""
    return float(np.mean([e - s for _, s, e in notes])) if notes else math.nan


def short_note_rate(notes: list[Note]) -> float:
    """Share of notes one step long (16th notes at 4 steps per beat)."""
    return float(np.mean([e - s == 1 for _, s, e in notes])) if notes else math.nan


def mean_interval(notes: list[Note]) -> float:
    """Mean absolute step between consecutive notes, in semitones (how far the line leaps)."""
    if len(notes) < 2:
        return math.nan
    ordered = sorted(notes, key=lambda n: n[1])
    return float(np.mean(np.abs(np.diff([p for p, _, _ in ordered]))))


def notes_per_bar(notes: list[Note], n_bars: int) -> float:
    """Notes per bar over ``n_bars`` bars."""
    return len(notes) / n_bars if n_bars > 0 else math.nan


def repeated_bar_rate(prompt: list[Note], continuation: list[Note], steps_per_bar: int, first_bar: int) -> float:
    """Share of the continuation's non-empty bars whose notes (positions in the bar and pitches) repeat a bar of the
    prompt or an earlier bar of the continuation exactly: the motifs a song brings back."""
    bars: dict[int, set[tuple[int, int]]] = {}
    for pitch, start, _ in [*prompt, *continuation]:
        bars.setdefault(start // steps_per_bar, set()).add((start % steps_per_bar, pitch))
    later = sorted(b for b in bars if b >= first_bar)
    if not later:
        return math.nan
    repeats = sum(1 for b in later if any(bars[a] == bars[b] for a in bars if a < b))
    return repeats / len(later)


def continuation_metrics(
    prompt: list[Note], continuation: list[Note], steps_per_bar: int, first_bar: int, n_bars: int
) -> dict[str, float]:
    """Every metric of one continuation (``n_bars`` bars from bar ``first_bar``) as a dict."""
    return {
        "key_fit_with_prompt": key_fit_with_prompt(prompt, continuation),
        "pitch_range": pitch_range(continuation),
        "mean_note_length": mean_note_length(continuation),
        "short_note_rate": short_note_rate(continuation),
        "mean_interval": mean_interval(continuation),
        "notes_per_bar": notes_per_bar(continuation, n_bars),
        "repeated_bar_rate": repeated_bar_rate(prompt, continuation, steps_per_bar, first_bar),
    }


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float | None]:
    """The NaN-ignoring mean of each metric over rows (None where no row has a value)."""
    keys = list(rows[0]) if rows else []
    out: dict[str, float | None] = {}
    for key in keys:
        values = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = float(np.mean(values)) if values else None
    return out


__all__ = [
    "continuation_metrics",
    "key_fit_with_prompt",
    "mean_interval",
    "mean_metrics",
    "mean_note_length",
    "notes_per_bar",
    "pitch_range",
    "repeated_bar_rate",
    "short_note_rate",
]
