"""How an accompaniment track fits the melody it accompanies: key fit, consonance, doubling, in-scale.

Each function takes windows of one accompaniment track and of the melody, ``(n, time, pitch)`` bool (or one
window, ``(time, pitch)``), with column 0 at MIDI ``lowest_pitch``, and returns one value per window, shape
``(n,)`` (a float for a single window). A window where the measure has nothing to count is NaN.

The melody's scale is the diatonic set (one of 12; a natural minor shares its relative major's) that holds most
of the melody's note onsets in the window, ties broken by the Krumhansl-Kessler key profiles
(:func:`museforge.music.keys.scale_tonics`). Real music scores 0.8-1.0 on key fit (accompaniment in the
melody's key, with its chromatic passing and leading tones); a model that ignores the key scores near 7/12.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.metrics.tracks import _ratio
from museforge.music.keys import in_scale_mask, onset_histograms, onsets, pitch_class_matrix, scale_tonics

#: Intervals (semitones mod 12) heard as consonant against the melody: unison/octave, minor and major thirds and
#: sixths, perfect fourth and fifth. The set is symmetric under inversion, so above and below are the same.
CONSONANT_INTERVALS: tuple[int, ...] = (0, 3, 4, 5, 7, 8, 9)


def _windows(x: ArrayLike, name: str) -> tuple[NDArray[np.bool_], bool]:
    arr = np.asarray(x)
    single = arr.ndim == 2
    if single:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{name} must have shape (n, time, pitch) or (time, pitch), got {arr.shape}")
    return (arr if arr.dtype == np.bool_ else arr != 0), single


def _pair(track: ArrayLike, melody: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.bool_], bool]:
    t, single = _windows(track, "track")
    m, _ = _windows(melody, "melody")
    if t.shape != m.shape:
        raise ValueError(f"track and melody must have the same shape, got {t.shape} and {m.shape}")
    return t, m, single


def _out(values: NDArray[np.float64], single: bool) -> NDArray[np.float64] | float:
    return float(values[0]) if single else values


def melody_scales(melody: ArrayLike, lowest_pitch: int = 24) -> NDArray[np.int64]:
    """Major tonic (0-11) of each melody window's scale, -1 where the melody has no note: ``(n,)``."""
    m, _ = _windows(melody, "melody")
    return scale_tonics(onset_histograms(m, lowest_pitch))


def _in_melody_scale(track: NDArray[np.bool_], melody: NDArray[np.bool_], lowest_pitch: int) -> NDArray[np.bool_]:
    """``(n, pitch)``: which columns are in each window's melody scale."""
    scale = in_scale_mask(melody_scales(melody, lowest_pitch))  # (n, 12)
    return scale @ pitch_class_matrix(track.shape[2], lowest_pitch).T.astype(bool) > 0


def key_fit(track: ArrayLike, melody: ArrayLike, lowest_pitch: int = 24) -> NDArray[np.float64] | float:
    """Share of the track's note onsets whose pitch class is in the melody's scale (see the module docstring).

    NaN where the track has no onset or the melody no note.
    """
    t, m, single = _pair(track, melody)
    inside = _in_melody_scale(t, m, lowest_pitch)  # (n, pitch)
    per_pitch = onsets(t, axis=1).sum(axis=1, dtype=np.int64)  # (n, pitch)
    has_key = m.any(axis=(1, 2))
    values = _ratio((per_pitch * inside).sum(axis=1), np.where(has_key, per_pitch.sum(axis=1), 0))
    return _out(values, single)


def melody_in_scale_rate(track: ArrayLike, melody: ArrayLike, lowest_pitch: int = 24) -> NDArray[np.float64] | float:
    """Share of the track's sounding cells (step, pitch) in the melody's scale: in-scale against the melody's key.

    Unlike :func:`museforge.metrics.in_scale_rate`, which fits each track its own best key, a track in another key
    than the melody's fails here. NaN where the track is silent or the melody has no note.
    """
    t, m, single = _pair(track, melody)
    inside = _in_melody_scale(t, m, lowest_pitch)
    cells = t.sum(axis=1, dtype=np.int64)  # (n, pitch)
    has_key = m.any(axis=(1, 2))
    return _out(_ratio((cells * inside).sum(axis=1), np.where(has_key, cells.sum(axis=1), 0)), single)


def _interval_counts(track: NDArray[np.bool_], melody: NDArray[np.bool_]) -> NDArray[np.int64]:
    """``(n, 12)``: the track's sounding cells under a melody note, by interval to the melody's top note mod 12."""
    n, _steps, pitches = track.shape
    sounding = np.any(melody, axis=2)
    top = np.where(sounding, pitches - 1 - np.argmax(melody[:, :, ::-1], axis=2), 0)  # (n, time)
    columns = np.arange(pitches)
    interval = (columns[None, None, :] - top[:, :, None]) % 12  # (n, time, pitch)
    cells = track & sounding[:, :, None]
    counts = np.zeros((n, 12), dtype=np.int64)
    for k in range(12):
        counts[:, k] = (cells & (interval == k)).sum(axis=(1, 2))
    return counts


def consonance(track: ArrayLike, melody: ArrayLike) -> NDArray[np.float64] | float:
    """Share of the track's cells sounding under a melody note at a consonant interval to the melody's top note.

    Intervals mod 12 in :data:`CONSONANT_INTERVALS`; chance (uniform pitch classes) is 7/12 = 0.58. NaN where the
    track never sounds with the melody.
    """
    t, m, single = _pair(track, melody)
    counts = _interval_counts(t, m)
    return _out(_ratio(counts[:, list(CONSONANT_INTERVALS)].sum(axis=1), counts.sum(axis=1)), single)


def melody_doubling(track: ArrayLike, melody: ArrayLike) -> NDArray[np.float64] | float:
    """Share of the track's cells under a melody note that double it (same pitch class): copying, not
    accompanying, when it is far above the real music's. NaN where the track never sounds with the melody."""
    t, m, single = _pair(track, melody)
    counts = _interval_counts(t, m)
    return _out(_ratio(counts[:, 0], counts.sum(axis=1)), single)


__all__ = [
    "CONSONANT_INTERVALS",
    "consonance",
    "key_fit",
    "melody_doubling",
    "melody_in_scale_rate",
    "melody_scales",
]
