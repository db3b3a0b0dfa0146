"""Four-part writing checks for chorales: voice ranges, crossings, parallel fifths and octaves (pure NumPy).

Voices are pitch sequences ``(voices, time)`` of MIDI pitches, -1 for a rest, highest voice first; get them from
per-voice rolls with :func:`voices_from_rolls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.metrics.tracks import _active, _ratio

__all__ = [
    "SATB_RANGES",
    "ParallelMotion",
    "parallel_fifths_octaves",
    "voice_crossings",
    "voice_range_violations",
    "voices_from_rolls",
]

#: Inclusive MIDI ranges of soprano, alto, tenor and bass: S C4-G5, A G3-D5, T C3-G4, B E2-C4. These are
#: the conventional four-part-writing ranges of harmony textbooks (e.g. Kostka & Payne, "Tonal Harmony";
#: textbooks differ by a step or so at either end). Bach's chorales stray slightly outside them.
SATB_RANGES: tuple[tuple[int, int], ...] = ((60, 79), (55, 74), (48, 67), (40, 60))


# --- four-voice chorale checks ------------------------------------------------------------------------


class ParallelMotion(NamedTuple):
    """Result of :func:`parallel_fifths_octaves`."""

    count: int  # type: ignore[assignment]  # shadows tuple.count: the field name is the API
    """Number of consecutive fifths/octaves (voice pair, step to next step)."""
    rate: float
    """``count`` over the voice-pair motions in which both voices move; NaN if there are none."""


def voices_from_rolls(rolls: ArrayLike, lowest_pitch: int = 24) -> NDArray[np.int64]:
    """Turn per-voice rolls into pitch sequences: the highest sounding MIDI pitch of each voice per step.

    Parameters
    ----------
    rolls : array, shape (voices, time, pitch)
        One roll per voice, highest voice first (S, A, T, B); nonzero = sounding.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    ndarray of int64, shape (voices, time)
        MIDI pitch, or -1 where the voice rests.
    """
    active = _active(rolls, 3, "rolls")
    p = active.shape[2]
    if p == 0:
        return np.full(active.shape[:2], -1, dtype=np.int64)
    top = p - 1 - np.argmax(active[..., ::-1], axis=2)
    return np.where(active.any(axis=2), top + lowest_pitch, -1).astype(np.int64)


def _voices(voices: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(voices)
    if arr.ndim != 2:
        raise ValueError(f"voices must have shape (voices, time), got {arr.shape}")
    return arr.astype(np.int64)


def voice_range_violations(voices: ArrayLike, ranges: Sequence[tuple[int, int]] = SATB_RANGES) -> float:
    """Fraction of sounding voice-steps outside the voice's range.

    Parameters
    ----------
    voices : array of int, shape (voices, time)
        MIDI pitch per voice and step, -1 for a rest; highest voice first.
    ranges : sequence of (low, high)
        Inclusive MIDI range of each voice; default :data:`SATB_RANGES` (S 60-79, A 55-74, T 48-67,
        B 40-60), the textbook four-part-writing ranges.

    Returns
    -------
    float
        In [0, 1]; NaN if no voice sounds.
    """
    v = _voices(voices)
    if len(ranges) != v.shape[0]:
        raise ValueError(f"got {len(ranges)} ranges for {v.shape[0]} voices")
    bounds = np.asarray(ranges, dtype=np.int64).reshape(-1, 2)
    sounding = v >= 0
    outside = sounding & ((v < bounds[:, :1]) | (v > bounds[:, 1:]))
    return float(_ratio(outside.sum(), sounding.sum()))


def voice_crossings(voices: ArrayLike) -> float:
    """Fraction of steps where some voice sounds above the next higher voice.

    Only adjacent voices (S-A, A-T, T-B) are compared, and only when both sound; a unison is not a
    crossing. The denominator is the number of steps in which at least one adjacent pair both sound.

    Parameters
    ----------
    voices : array of int, shape (voices, time)
        MIDI pitch per voice and step, -1 for a rest; highest voice first.

    Returns
    -------
    float
        In [0, 1]; NaN if no adjacent pair ever sounds together.
    """
    v = _voices(voices)
    upper, lower = v[:-1], v[1:]
    both = (upper >= 0) & (lower >= 0)
    crossed = both & (lower > upper)
    return float(_ratio(crossed.any(axis=0).sum(), both.any(axis=0).sum()))


def parallel_fifths_octaves(voices: ArrayLike) -> ParallelMotion:
    """Count consecutive (parallel) fifths and octaves between every pair of voices.

    For each pair of voices (all pairs, not only adjacent ones) and each step ``t -> t + 1`` in which both
    voices sound at both steps and both change pitch, the motion is a consecutive fifth if the interval
    ``|upper - lower| % 12`` is 7 at both steps and a consecutive octave (or unison) if it is 0 at both.
    Contrary fifths/octaves (e.g. a fifth to a twelfth) are included, as strict part-writing forbids them
    too. Motions where a voice holds or repeats its pitch (oblique motion) are not eligible: a roll cannot
    tell repeated notes from held ones.

    Parameters
    ----------
    voices : array of int, shape (voices, time)
        MIDI pitch per voice and step, -1 for a rest.

    Returns
    -------
    ParallelMotion
        ``count`` of consecutive fifths/octaves, and ``rate`` = count / eligible motions (NaN if none).
    """
    v = _voices(voices)
    count = 0
    eligible = 0
    n_voices = v.shape[0]
    for i in range(n_voices):
        for j in range(i + 1, n_voices):
            a, b = v[i], v[j]
            sounding = (a >= 0) & (b >= 0)
            moves = sounding[:-1] & sounding[1:] & (a[1:] != a[:-1]) & (b[1:] != b[:-1])
            interval = np.abs(a - b) % 12
            same = ((interval[:-1] == 7) & (interval[1:] == 7)) | ((interval[:-1] == 0) & (interval[1:] == 0))
            count += int((moves & same).sum())
            eligible += int(moves.sum())
    return ParallelMotion(count=count, rate=float(_ratio(count, eligible)))
