"""Which diatonic scale a melody uses, and moving music into one common key and back.

A melody's *scale* here is one of the 12 diatonic pitch-class sets (C major = A natural minor, G major = E minor,
...), named by the pitch class of its major tonic. It is the set that holds most of the melody's note onsets; ties
(a tune on C D E G fits C, F and G major alike) go to the key whose Krumhansl-Kessler profile correlates best with
the onsets (major or the relative minor). The same estimate serves two purposes:

- metrics: "key fit" measures accompaniment onsets against the melody's scale (:mod:`museforge.metrics`);
- the common key: a model may be trained on windows moved so that their melody's scale is C major / A minor, and
  the user's melody is moved the same way before composing and the accompaniment moved back after, as MuseGAN's
  key-transposed training data did. The move is a rigid transposition of every pitched track (chromatic notes stay
  chromatic; drums never move), by ``common_key_shift`` semitones in ``[-5, 6]``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Pitch classes of the C major scale.
MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
#: Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: ``(12, 12)``: row k is the scale of major tonic k as 0/1 over pitch classes.
SCALES = np.stack([np.roll(MAJOR_SCALE, k) for k in range(12)]).astype(np.float64)


def pitch_class_matrix(n_pitches: int, lowest_pitch: int) -> NDArray[np.float64]:
    """One-hot ``(n_pitches, 12)`` matrix mapping roll columns to pitch classes."""
    pcs = (lowest_pitch + np.arange(n_pitches)) % 12
    return (pcs[:, None] == np.arange(12)[None, :]).astype(np.float64)


def onsets(active: NDArray[np.bool_], axis: int = -2) -> NDArray[np.bool_]:
    """First step of every note: a cell that sounds where the step before (along ``axis``) did not."""
    active = np.asarray(active, dtype=bool)
    out = active.copy()
    head = [slice(None)] * active.ndim
    prev = [slice(None)] * active.ndim
    head[axis], prev[axis] = slice(1, None), slice(None, -1)
    out[tuple(head)] &= ~active[tuple(prev)]
    return out


def onset_counts(roll: ArrayLike) -> NDArray[np.int64]:
    """Note onsets per pitch column: ``(..., T, P)`` bool -> ``(P,)`` int64."""
    starts = onsets(np.asarray(roll, dtype=bool))
    return starts.reshape(-1, starts.shape[-1]).sum(axis=0).astype(np.int64)


def onset_histograms(melody: ArrayLike, lowest_pitch: int) -> NDArray[np.float64]:
    """Note onsets per pitch class of each window's melody.

    Parameters
    ----------
    melody : array, shape (n, time, pitch), bool
        Melody windows.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    ndarray, shape (n, 12)
    """
    first = onsets(np.asarray(melody, dtype=bool), axis=1)
    per_pitch = first.sum(axis=1, dtype=np.int64).astype(np.float64)  # (n, pitch)
    return per_pitch @ pitch_class_matrix(per_pitch.shape[1], lowest_pitch)


def _profile_correlations() -> NDArray[np.float64]:
    """``(12, 12)``: row k holds the z-scored profile of the better-fitting of major k and minor (k + 9)."""

    def z(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return (v - v.mean()) / v.std()

    major = np.stack([np.roll(z(_KK_MAJOR), k) for k in range(12)])
    minor = np.stack([np.roll(z(_KK_MINOR), (k + 9) % 12) for k in range(12)])
    return np.stack([major, minor], axis=1)  # (12 scales, 2 modes, 12 pcs)


_PROFILES = _profile_correlations()


def scale_tonics(histograms: ArrayLike) -> NDArray[np.int64]:
    """The major tonic (0 = C ... 11 = B) of the diatonic scale that holds most of each histogram.

    Parameters
    ----------
    histograms : array, shape (n, 12)
        Onsets (or any weights) per pitch class.

    Returns
    -------
    ndarray of int64, shape (n,)
        The tonic; -1 where the histogram is empty. Ties in the count are broken by the Krumhansl-Kessler
        correlation (the better of the major key and its relative minor), then by the lower tonic.
    """
    h = np.asarray(histograms, dtype=np.float64).reshape(-1, 12)
    fit = h @ SCALES.T  # (n, 12)
    centred = h - h.mean(axis=1, keepdims=True)
    correlation = np.einsum("np,smp->nsm", centred, _PROFILES).max(axis=2)  # (n, 12), unnormalised: ranks only
    best = fit.max(axis=1, keepdims=True)
    tie_break = np.where(np.isclose(fit, best), correlation, -np.inf)
    tonic = np.argmax(tie_break, axis=1).astype(np.int64)
    return np.where(h.sum(axis=1) > 0, tonic, -1)


def in_scale_mask(tonics: ArrayLike) -> NDArray[np.bool_]:
    """``(n, 12)`` bool: the pitch classes of each tonic's scale; all False where the tonic is -1."""
    t = np.asarray(tonics, dtype=np.int64).reshape(-1)
    mask = SCALES[np.clip(t, 0, 11)] > 0
    mask[t < 0] = False
    return mask


def common_key_shift(tonics: ArrayLike) -> NDArray[np.int64]:
    """Semitones in ``[-5, 6]`` that move each scale to C major (0 where the tonic is unknown, -1)."""
    t = np.asarray(tonics, dtype=np.int64)
    return np.where(t < 0, 0, (-t + 5) % 12 - 5).astype(np.int64)


def pitch_key_shift(pitches: Iterable[int]) -> int:
    """Semitones in ``[-5, 6]`` that move the scale holding most of these notes (MIDI pitches, one per note onset) to
    C major / A minor; 0 for no notes."""
    histogram = np.zeros(12)
    for pitch in pitches:
        histogram[int(pitch) % 12] += 1
    return int(common_key_shift(scale_tonics(histogram[None]))[0])


#: Tonic names as the studio's key menu spells them.
TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Pitch-class names with sharps, as a piano roll's axis labels them.
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI number, with sharps: 60 is C4, 50 is D3, 34 is A#1."""
    return f"{SHARP_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


def key_name(notes: Iterable[tuple[int, int]]) -> str | None:
    """The key a listener would name for ``notes`` (``(MIDI pitch, length)`` pairs, any unit), e.g. ``"G major"``
    or ``"E minor"``; None for no notes.

    The Krumhansl-Schmuckler estimate: of the 24 major and minor keys, the one whose Krumhansl-Kessler profile
    correlates best with the notes' pitch classes weighted by length.
    """
    key = estimate_key(notes)
    return None if key is None else f"{TONIC_NAMES[key[0]]} {key[1]}"


def estimate_key(notes: Iterable[tuple[int, int]]) -> tuple[int, str] | None:
    """``(tonic 0-11, "major" or "minor")`` of :func:`key_name`'s estimate; None for no notes."""
    histogram = np.zeros(12)
    for pitch, length in notes:
        histogram[int(pitch) % 12] += max(float(length), 0.0)
    if not histogram.any() or histogram.std() == 0:
        return None if not histogram.any() else (int(np.argmax(histogram)), "major")
    fits = [
        (float(np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]), tonic, mode)
        for mode, profile in (("major", _KK_MAJOR), ("minor", _KK_MINOR))
        for tonic in range(12)
    ]
    _, tonic, mode = max(fits)
    return tonic, mode


def key_signature(tonic: int, mode: str) -> tuple[int, bool]:
    """The key signature of a key: ``(sharps -6..5, minor)`` (flats below 0; F# / Gb major is written 6 flats).

    >>> key_signature(7, "major"), key_signature(4, "minor"), key_signature(10, "major")
    ((1, False), (1, True), (-2, False))
    """
    major = (int(tonic) + (3 if mode == "minor" else 0)) % 12
    return (major * 7 + 6) % 12 - 6, mode == "minor"


def signature_tonic(sharps: int, minor: bool) -> int:
    """The tonic (0 = C ... 11 = B) of a key signature, the inverse of :func:`key_signature`: 1 sharp is G major
    or E minor."""
    return (int(sharps) * 7 - (3 if minor else 0)) % 12


def transposed_keys(keys: list[tuple[int, int, bool]] | None, semitones: int) -> list[tuple[int, int, bool]] | None:
    """Key signatures ``(step, sharps, minor)`` of music moved by ``semitones`` (None stays None)."""
    if keys is None:
        return None
    moved = []
    for step, sharps, minor in keys:
        tonic = (signature_tonic(sharps, minor) + semitones) % 12
        moved.append((step, *key_signature(tonic, "minor" if minor else "major")))
    return moved


def transpose_rolls(rolls: ArrayLike, shifts: ArrayLike, is_drum: list[bool] | None = None) -> NDArray[np.bool_]:
    """Move each window's pitched tracks by its own number of semitones; drums stay; notes pushed out are dropped.

    Parameters
    ----------
    rolls : array, shape (n, tracks, time, pitch) or (n, time, pitch)
        Windows (a 3-D array is one pitched track per window).
    shifts : array of int, shape (n,)
        Semitones per window, positive is up.
    is_drum : list of bool, optional
        Per track (4-D input): True leaves the track as it is.

    Returns
    -------
    ndarray, same shape and dtype
    """
    x = np.asarray(rolls)
    shifts = np.asarray(shifts, dtype=np.int64).reshape(-1)
    if len(shifts) != x.shape[0]:
        raise ValueError(f"got {len(shifts)} shifts for {x.shape[0]} windows")
    out = np.zeros_like(x)
    p = x.shape[-1]
    for s in np.unique(shifts):
        rows = np.flatnonzero(shifts == s)
        part = x[rows]
        moved = np.zeros_like(part)
        if s >= 0:
            moved[..., s:] = part[..., : p - s]
        else:
            moved[..., : p + s] = part[..., -s:]
        if is_drum is not None and x.ndim == 4 and any(is_drum):
            drums = np.asarray(is_drum, dtype=bool)
            moved[:, drums] = part[:, drums]
        out[rows] = moved
    return out


__all__ = [
    "MAJOR_SCALE",
    "SCALES",
    "SHARP_NAMES",
    "TONIC_NAMES",
    "common_key_shift",
    "estimate_key",
    "in_scale_mask",
    "key_name",
    "key_signature",
    "onset_counts",
    "onset_histograms",
    "onsets",
    "pitch_class_matrix",
    "pitch_key_shift",
    "pitch_name",
    "scale_tonics",
    "signature_tonic",
    "transpose_rolls",
    "transposed_keys",
]
