"""Generated against real, value by value: JSON-ready numbers, relative gaps, the largest gap, voice leading."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from museforge.metrics import (
    parallel_fifths_octaves,
    relative_gap,
    voice_crossings,
    voice_range_violations,
    voices_from_rolls,
)

#: The largest gap of a result ignores metrics whose real value is below this.
GAP_FLOOR = 0.05


# ------------------------------------------------------------------------------------------------ results
def number(value: Any) -> float | None:
    """A finite float, or None for NaN, infinity and missing values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def clean(metrics: dict[str, float]) -> dict[str, float | None]:
    return {key: number(value) for key, value in metrics.items()}


def compare(generated: float | None, real: float | None) -> dict[str, float | None]:
    """``{generated, real, gap}``; gap is :func:`museforge.metrics.relative_gap`, None where undefined."""
    gap = None
    if generated is not None and real is not None:
        gap = number(relative_gap(generated, real))
    return {"generated": generated, "real": real, "gap": gap}


def compare_tables(
    generated: dict[str, dict[str, float | None]], real: dict[str, dict[str, float | None]]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per track and metric, generated against real; metrics with no value on either side are left out."""
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for role, values in real.items():
        row = {}
        for metric, value in values.items():
            mine = generated.get(role, {}).get(metric)
            if mine is not None or value is not None:
                row[metric] = compare(mine, value)
        table[role] = row
    return table


def largest_gap(result: dict[str, Any]) -> dict[str, Any] | None:
    """The track metric whose generated value is relatively furthest from the real one.

    Real values below :data:`GAP_FLOOR` are left out: against a real rate of 0.002 (the polyphony of a bass line)
    any difference is a gap of thousands of percent, which says little about the music.
    """
    best = None
    for role, row in result.get("tracks", {}).items():
        for metric, cell in row.items():
            gap = cell.get("gap")
            if gap is None or abs(cell["real"]) < GAP_FLOOR:
                continue
            if best is None or gap > best["gap"]:
                best = {"track": role, "metric": metric, **cell}
    return best


# ------------------------------------------------------------------------------------------------ metrics
def voice_leading(rolls: NDArray[np.bool_], lowest_pitch: int) -> dict[str, float | None]:
    """The four-part-writing checks of :mod:`museforge.metrics`, pooled over windows.

    Parameters
    ----------
    rolls : array, shape (n, 4, time, pitch), bool
        Windows of soprano (the melody), alto, tenor and bass.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    dict
        ``range_violations`` (fraction of sounding voice-steps outside the SATB ranges), ``crossings`` (fraction
        of steps with a voice above the next higher one), ``parallel_rate`` (consecutive fifths and octaves over
        the voice-pair motions where both voices move) and ``parallels_per_window``. Windows are joined with a
        rest between them, so no motion spans two windows.
    """
    n, voices, steps, pitches = rolls.shape
    if n == 0:
        return {"range_violations": None, "crossings": None, "parallel_rate": None, "parallels_per_window": None}
    joined = np.zeros((voices, n, steps + 1, pitches), dtype=bool)
    joined[:, :, :steps] = rolls.transpose(1, 0, 2, 3)
    line = voices_from_rolls(joined.reshape(voices, n * (steps + 1), pitches), lowest_pitch)
    parallel = parallel_fifths_octaves(line)
    return {
        "range_violations": number(voice_range_violations(line)),
        "crossings": number(voice_crossings(line)),
        "parallel_rate": number(parallel.rate),
        "parallels_per_window": parallel.count / n,
    }


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"
