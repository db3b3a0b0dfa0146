"""Harmony between tracks: MuseGAN's tonal distance between per-beat tonal centroids (pure NumPy).

Same conventions as :mod:`museforge.metrics.tracks`: rolls ``(time, pitch)`` (or batches ``(n, tracks, time,
pitch)``), ``resolution`` steps per beat, column 0 at MIDI ``lowest_pitch``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.metrics.tracks import _active, _batch, _check_positive, _nanmean, _ratio
from museforge.music.keys import pitch_class_matrix

__all__ = ["tonal_distance", "tonal_distances"]


def _tonal_matrix(r1: float = 1.0, r2: float = 1.0, r3: float = 0.5) -> NDArray[np.float64]:
    """Harte et al.'s ``(6, 12)`` tonal-centroid transform: circle of fifths (r1), minor thirds (r2),
    major thirds (r3), each as a (sin, cos) pair."""
    k = np.arange(12)
    return np.stack(
        [
            r1 * np.sin(k * 7 * np.pi / 6),
            r1 * np.cos(k * 7 * np.pi / 6),
            r2 * np.sin(k * 3 * np.pi / 2),
            r2 * np.cos(k * 3 * np.pi / 2),
            r3 * np.sin(k * 2 * np.pi / 3),
            r3 * np.cos(k * 2 * np.pi / 3),
        ]
    )


def _beat_centroids(
    active: NDArray[np.bool_], resolution: int, lowest_pitch: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Per-beat tonal centroids ``(n, beats, 6)`` and a mask ``(n, beats)`` of beats with any note."""
    resolution = _check_positive(resolution, "resolution")
    n, t, p = active.shape
    beats = t // resolution
    per_beat = active[:, : beats * resolution].reshape(n, beats, resolution, p).sum(axis=2, dtype=np.int32)
    chroma = per_beat @ pitch_class_matrix(p, lowest_pitch)  # (n, beats, 12)
    total = chroma.sum(axis=2, keepdims=True)
    sounding = total[..., 0] > 0
    chroma = np.divide(chroma, total, out=np.zeros_like(chroma), where=total > 0)
    return chroma @ _tonal_matrix().T, sounding


def _tonal_distance_from_centroids(
    a: tuple[NDArray[np.float64], NDArray[np.bool_]], b: tuple[NDArray[np.float64], NDArray[np.bool_]]
) -> NDArray:
    (ca, sa), (cb, sb) = a, b
    both = sa & sb
    dist = np.linalg.norm(ca - cb, axis=2)
    return _ratio(np.where(both, dist, 0.0).sum(axis=1), both.sum(axis=1))


def tonal_distance(roll_a: ArrayLike, roll_b: ArrayLike, resolution: int, lowest_pitch: int = 24) -> float:
    """TD: mean distance between two tracks' per-beat tonal centroids (lower = more harmonious).

    Source: MuseGAN's inter-track "tonal distance" (Dong et al. 2018; ``harmonicity`` in
    github.com/salu133445/musegan ``src/musegan/metrics.py``), built on the 6-D tonal centroid of Harte,
    Sandler & Gasser, "Detecting harmonic change in musical audio", ACM MM workshop AMCMM 2006. For every
    beat, each track's chroma (count of sounding steps per pitch class over the beat) is divided by its
    sum and mapped by the 6x12 matrix with rows ``r*sin(k*a), r*cos(k*a)`` for the circle of fifths
    (a = 7pi/6, r = 1), minor thirds (a = 3pi/2, r = 1) and major thirds (a = 2pi/3, r = 0.5),
    k = pitch class. TD is the mean Euclidean distance between the two centroids over the beats in which
    both tracks sound; beats where either is silent are skipped (musegan would give NaN there).

    Parameters
    ----------
    roll_a, roll_b : array, shape (time, pitch)
        Piano rolls of the two tracks, same shape.
    resolution : int
        Time steps per beat.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    float
        Non-negative (at most about 2.5); NaN if no complete beat has both tracks sounding.
    """
    a = _active(roll_a, 2, "roll_a")[None]
    b = _active(roll_b, 2, "roll_b")[None]
    if a.shape != b.shape:
        raise ValueError(f"roll_a and roll_b must have the same shape, got {a.shape[1:]} and {b.shape[1:]}")
    centroids_a = _beat_centroids(a, resolution, lowest_pitch)
    centroids_b = _beat_centroids(b, resolution, lowest_pitch)
    return float(_tonal_distance_from_centroids(centroids_a, centroids_b)[0])


def tonal_distances(
    rolls: ArrayLike,
    roles: Sequence[str],
    resolution: int,
    lowest_pitch: int = 24,
    drum_roles: Sequence[str] = ("drums",),
) -> dict[str, float]:
    """Tonal distance (see :func:`tonal_distance`) for every pair of pitched tracks, averaged over windows.

    Parameters
    ----------
    rolls : array, shape (n, tracks, time, pitch) or (tracks, time, pitch)
        ``n`` windows of multi-track piano rolls; nonzero = sounding.
    roles : sequence of str, length tracks
        Unique role name of each track.
    resolution : int
        Time steps per beat.
    lowest_pitch : int
        MIDI pitch of column 0.
    drum_roles : sequence of str
        Role names left out (drums have no harmony).

    Returns
    -------
    dict
        ``{"a/b": mean TD}`` for each pitched pair in track order (``a`` before ``b``); the value is the
        NaN-ignoring mean over windows, NaN if the two tracks never sound in the same beat.
    """
    active = _batch(rolls, roles)
    pitched = [i for i, role in enumerate(roles) if role not in drum_roles]
    centroids = {i: _beat_centroids(active[:, i], resolution, lowest_pitch) for i in pitched}
    result: dict[str, float] = {}
    for pos, i in enumerate(pitched):
        for j in pitched[pos + 1 :]:
            per_window = _tonal_distance_from_centroids(centroids[i], centroids[j])
            result[f"{roles[i]}/{roles[j]}"] = float(_nanmean(per_window))
    return result
