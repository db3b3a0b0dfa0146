"""Per-track music metrics over piano rolls (MuseGAN's and muspy's): pure NumPy.

Conventions
-----------
- A single-track roll is an array of shape ``(time, pitch)``, bool or numeric; any nonzero cell is a
  sounding pitch (threshold generator probabilities *before* calling these functions).
- ``resolution`` is the number of time steps per quarter-note beat; ``beats_per_bar`` defaults to 4.
  Rolls are assumed to start on a bar line.
- ``lowest_pitch`` is the MIDI pitch of column 0: 24 (C1) for the 84-column rolls C1..B7, 0 for
  128-column rolls. Pitch classes are ``(lowest_pitch + column) % 12``.
- Notes are recovered from a roll as maximal runs of consecutive sounding steps of one pitch. A roll
  cannot tell a repeated note from a held one, so two repeated quarter notes read as one half note, and a
  note crossing the edge of a window is cut in two.
- Degenerate input (no complete bar, no note, no sounding step, ...) gives ``float('nan')``, never an
  exception. Malformed arguments (wrong array rank, non-positive resolution) raise ``ValueError``.

The definitions follow MuseGAN (Dong et al., "MuseGAN: Multi-track sequential generative adversarial
networks for symbolic music generation and accompaniment", AAAI 2018, and the metric code in
github.com/salu133445/musegan) where MuseGAN defines the metric; the numbers are NOT taken from
pypianoroll 1.0.4, whose metrics are wrong (``empty_beat_rate`` counts non-empty beats, pitch classes by
``pitch // 10``, ``qualified_note_rate`` gives 1.0 for three one-step notes, ``polyphonic_rate`` divides
by all steps). MuseGAN's own ``to_chroma`` folds the 84 columns as ``reshape(..., 12, 7)``, which groups
neighbouring columns, not pitch classes; this module folds by ``pitch % 12``.

Every per-roll metric has a batched twin used by :func:`track_metrics`; the single-roll functions call
the batched ones with a batch of one, so the two always agree.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.music.keys import SCALES, onsets, pitch_class_matrix

__all__ = [
    "drum_pattern_rate",
    "empty_bar_rate",
    "in_scale_rate",
    "pitch_range",
    "polyphonic_rate",
    "qualified_note_rate",
    "relative_gap",
    "track_metrics",
    "used_pitch_classes",
]


_PITCHED_KEYS = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "in_scale_rate",
    "polyphonic_rate",
    "pitch_range",
)


# --- helpers ----------------------------------------------------------------------------------------------


def _active(roll: ArrayLike, ndim: int, name: str = "roll") -> NDArray[np.bool_]:
    """Return ``roll != 0`` as a bool array, checking that it has ``ndim`` dimensions."""
    arr = np.asarray(roll)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    return arr if arr.dtype == np.bool_ else arr != 0


def _check_positive(value: int, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _nanmean(values: NDArray[np.floating], axis: int | None = None) -> NDArray[np.floating] | float:
    """``np.nanmean`` without the all-NaN warning (all-NaN gives NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmean(values, axis=axis)


def _ratio(num: ArrayLike, den: ArrayLike) -> NDArray[np.float64]:
    """Element-wise ``num / den`` as float64, NaN where ``den`` is 0."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _bars(active: NDArray[np.bool_], resolution: int, beats_per_bar: int) -> NDArray[np.bool_] | None:
    """Cut ``(n, time, pitch)`` into ``(n, bars, steps_per_bar, pitch)``, dropping a trailing partial bar."""
    steps = _check_positive(resolution, "resolution") * _check_positive(beats_per_bar, "beats_per_bar")
    n, t, p = active.shape
    n_bars = t // steps
    if n_bars == 0:
        return None
    return active[:, : n_bars * steps].reshape(n, n_bars, steps, p)


# --- batched metrics: (n, time, pitch) bool -> (n,) float --------------------------------------------------


def _empty_bar_rate_batch(active: NDArray[np.bool_], resolution: int, beats_per_bar: int) -> NDArray:
    bars = _bars(active, resolution, beats_per_bar)
    if bars is None:
        return np.full(active.shape[0], np.nan)
    return (~bars.any(axis=(2, 3))).mean(axis=1)


def _used_pitch_classes_batch(
    active: NDArray[np.bool_], resolution: int, beats_per_bar: int, lowest_pitch: int
) -> NDArray:
    bars = _bars(active, resolution, beats_per_bar)
    if bars is None:
        return np.full(active.shape[0], np.nan)
    pitches_in_bar = bars.any(axis=2).astype(np.float64)  # (n, bars, pitch)
    classes = (pitches_in_bar @ pitch_class_matrix(active.shape[2], lowest_pitch)) > 0  # (n, bars, 12)
    per_bar = classes.sum(axis=2)
    non_empty = per_bar > 0
    return _ratio(per_bar.sum(axis=1), non_empty.sum(axis=1))


def _min_note_steps(resolution: int) -> int:
    """Shortest qualified note in steps: MuseGAN's 3 steps at 24 per beat scaled to ``resolution``, at least 2.

    ``max(2, ceil(3 * resolution / 24))``: 3 at 24 steps per beat, 2 at 12 and at 4. At 4 steps per beat MuseGAN's
    32nd note is less than a step, and a minimum of one step would qualify every note (QN = 1 for any music); two
    steps there is an 8th note, so QN then tells how much of the music is not 16th-note flicker.
    """
    return max(2, -(-3 * _check_positive(resolution, "resolution") // 24))


def _qualified_note_rate_batch(active: NDArray[np.bool_], min_steps: int) -> NDArray:
    starts = onsets(active)
    total = starts.sum(axis=(1, 2))
    # A note lasts >= min_steps iff its onset is followed by min_steps - 1 more sounding steps.
    long_enough = starts  # modified in place; ``total`` is already counted
    for k in range(1, min_steps):
        long_enough[:, -k:] = False
        long_enough[:, :-k] &= active[:, k:]
    return _ratio(long_enough.sum(axis=(1, 2)), total)


def _in_scale_rate_batch(active: NDArray[np.bool_], lowest_pitch: int, key: int | None) -> NDArray:
    per_pitch = active.sum(axis=1, dtype=np.int64).astype(np.float64)  # (n, pitch)
    histogram = per_pitch @ pitch_class_matrix(active.shape[2], lowest_pitch)  # (n, 12)
    # with no key, the best of the 12 diatonic scales
    in_scale = (histogram @ SCALES.T).max(axis=1) if key is None else histogram @ SCALES[key]
    return _ratio(in_scale, histogram.sum(axis=1))


def _polyphonic_rate_batch(active: NDArray[np.bool_], threshold: int) -> NDArray:
    counts = active.sum(axis=2)
    return _ratio((counts >= threshold).sum(axis=1), (counts > 0).sum(axis=1))


def _pitch_range_batch(active: NDArray[np.bool_]) -> NDArray:
    used = np.any(active, axis=1)  # (n, pitch)
    p = active.shape[2]
    if p == 0:
        return np.full(active.shape[0], np.nan)
    lowest = np.argmax(used, axis=1)
    highest = p - 1 - np.argmax(used[:, ::-1], axis=1)
    return np.where(used.any(axis=1), (highest - lowest).astype(np.float64), np.nan)


def _drum_weights(n_steps: int, resolution: int, grid: int | None, tolerance: float) -> NDArray:
    resolution = _check_positive(resolution, "resolution")
    if grid is None:
        grid = 16 if resolution >= 8 else 8
    _check_positive(grid, "grid")
    if (4 * resolution) % grid:
        raise ValueError(f"a 1/{grid}-note grid does not fall on steps at resolution {resolution}")
    spacing = 4 * resolution // grid
    position = np.arange(n_steps) % spacing
    distance = np.minimum(position, spacing - position)
    return np.where(distance == 0, 1.0, np.where(distance == 1, tolerance, 0.0))


def _drum_pattern_rate_batch(active: NDArray[np.bool_], resolution: int, grid: int | None, tolerance: float) -> NDArray:
    per_step = onsets(active).sum(axis=2, dtype=np.int32).astype(np.float64)  # (n, time)
    weights = _drum_weights(active.shape[1], resolution, grid, tolerance)
    return _ratio(per_step @ weights, per_step.sum(axis=1))


# --- single-roll metrics --------------------------------------------------------------------------------


def empty_bar_rate(roll: ArrayLike, resolution: int, beats_per_bar: int = 4) -> float:
    """EB: fraction of complete bars in which no pitch sounds.

    Source: MuseGAN's "ratio of empty bars" (Dong et al. 2018). A trailing partial bar is ignored.

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    resolution : int
        Time steps per beat.
    beats_per_bar : int
        Beats per bar.

    Returns
    -------
    float
        In [0, 1]; NaN if the roll is shorter than one bar.
    """
    return float(_empty_bar_rate_batch(_active(roll, 2)[None], resolution, beats_per_bar)[0])


def used_pitch_classes(roll: ArrayLike, resolution: int, beats_per_bar: int = 4, lowest_pitch: int = 24) -> float:
    """UPC: mean number of distinct pitch classes (``pitch % 12``) per non-empty bar.

    Source: MuseGAN's "number of used pitch classes per bar", which skips empty bars (Dong et al. 2018;
    the musegan v1 evaluation code leaves empty bars out of every metric but EB). A trailing partial bar is
    ignored.

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    resolution : int
        Time steps per beat.
    beats_per_bar : int
        Beats per bar.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    float
        In [1, 12]; NaN if there is no complete bar or every bar is empty.
    """
    return float(_used_pitch_classes_batch(_active(roll, 2)[None], resolution, beats_per_bar, lowest_pitch)[0])


def qualified_note_rate(roll: ArrayLike, resolution: int, min_steps: int | None = None) -> float:
    """QN: fraction of notes lasting at least ``min_steps`` steps.

    Source: MuseGAN (Dong et al. 2018) counts a note as qualified when it lasts at least 3 steps at 24
    steps per beat (96 per 4/4 bar), i.e. a 32nd note; QN tells whether the music is overly fragmented.
    The same musical length at another resolution is ``3 * resolution / 24`` steps, but at 4 steps per beat
    that is under one step and every note would qualify, so the default minimum is never below 2 steps:
    ``min_steps = max(2, ceil(3 * resolution / 24))`` (3 at 24 steps per beat, 2 at 12 and at 4, an 8th note
    on a 16th-note grid). Pass ``min_steps`` for another test.

    Notes are maximal runs of sounding steps per pitch (see the module docstring).

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    resolution : int
        Time steps per beat.
    min_steps : int, optional
        Shortest qualified note in steps; default ``max(2, ceil(3 * resolution / 24))``.

    Returns
    -------
    float
        In [0, 1]; NaN if the roll has no note.
    """
    min_steps = _min_note_steps(resolution) if min_steps is None else _check_positive(min_steps, "min_steps")
    return float(_qualified_note_rate_batch(_active(roll, 2)[None], min_steps)[0])


def drum_pattern_rate(roll: ArrayLike, resolution: int, grid: int | None = None, tolerance: float = 0.1) -> float:
    """DP: weighted fraction of drum onsets that fall on a regular 8th- or 16th-note grid.

    Source: MuseGAN's "drum pattern" metric, "ratio of notes in 8- or 16-beat patterns" (Dong et al.
    2018), as implemented by ``drum_in_pattern_rate`` in github.com/salu133445/musegan
    (``src/musegan/metrics.py``): a mask gives weight 1 to grid steps, ``tolerance`` (0.1) to steps
    one step off the grid and 0 elsewhere. The grid there is the 16th note at 8 or more steps per beat
    (96, 72, 64, 48, 36 or 32 steps per bar) and the 8th note at 4 or 6 steps per beat (16 or 24 steps per
    bar), which is this function's default (``grid=None``). At 4 steps per beat this means an onset on an
    8th-note position counts 1 and one on an off-beat 16th counts 0.1.

    Differences from the musegan code, on purpose: notes are counted by their onsets (a step where a
    pitch starts sounding), as in musegan v1's ``get_drum_pattern``, not by sounding steps; the grid is
    fixed to the roll's start (musegan v1 also tried six phase shifts and kept the best, musegan v2 does
    not). A drum hit held for several steps, or two hits of one drum on consecutive steps, count as one
    onset.

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Drum roll; nonzero = sounding.
    resolution : int
        Time steps per beat.
    grid : int, optional
        Grid as a note value: 8 (8th notes) or 16 (16th notes); must fall on whole steps.
    tolerance : float
        Weight of an onset one step off the grid.

    Returns
    -------
    float
        In [0, 1]; NaN if the roll has no onset.
    """
    return float(_drum_pattern_rate_batch(_active(roll, 2)[None], resolution, grid, tolerance)[0])


def in_scale_rate(roll: ArrayLike, lowest_pitch: int = 24, key: int | None = None, mode: str = "major") -> float:
    """Fraction of sounding note-steps whose pitch class is in a diatonic scale.

    Each sounding (step, pitch) cell counts once. With ``key=None`` all 12 diatonic scales are tried and
    the best one is kept; a natural minor scale has the notes of its relative major, so this covers all
    24 major and natural-minor keys (as muspy's ``scale_consistency`` does, after Mogren 2016). MuseGAN
    instead scores against C major only, which suits its key-transposed training data but not ours.
    Raised leading tones of minor keys count as out of scale.

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    lowest_pitch : int
        MIDI pitch of column 0.
    key : int, optional
        Pitch class of the tonic (0 = C, ..., 11 = B); None tries all keys.
    mode : {"major", "minor"}
        Mode of ``key`` (natural minor); ignored when ``key`` is None.

    Returns
    -------
    float
        In [0, 1]; NaN if nothing sounds.
    """
    if key is not None:
        if mode not in ("major", "minor"):
            raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
        key = (int(key) + (3 if mode == "minor" else 0)) % 12
    return float(_in_scale_rate_batch(_active(roll, 2)[None], lowest_pitch, key)[0])


def polyphonic_rate(roll: ArrayLike, threshold: int = 2) -> float:
    """Fraction of non-empty time steps with at least ``threshold`` pitches sounding.

    Source: MuseGAN's "polyphonicity" (musegan v1 ``get_polyphonic_ratio`` counts steps with at least
    ``threshold`` pitches), but divided by the steps where anything sounds rather than by all steps, so
    that rests do not lower it (pypianoroll and muspy divide by all steps).

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    threshold : int
        Number of simultaneous pitches that makes a step polyphonic.

    Returns
    -------
    float
        In [0, 1]; NaN if nothing sounds.
    """
    return float(_polyphonic_rate_batch(_active(roll, 2)[None], threshold)[0])


def pitch_range(roll: ArrayLike, lowest_pitch: int = 24) -> float:
    """Highest minus lowest sounding MIDI pitch, in semitones (as muspy's ``pitch_range``).

    ``lowest_pitch`` cancels out but is kept for a uniform signature.

    Parameters
    ----------
    roll : array, shape (time, pitch)
        Piano roll; nonzero = sounding.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    float
        Non-negative; NaN if nothing sounds.
    """
    del lowest_pitch
    return float(_pitch_range_batch(_active(roll, 2)[None])[0])


# --- aggregates ---------------------------------------------------------------------------------------


def _batch(rolls: ArrayLike, roles: Sequence[str]) -> NDArray[np.bool_]:
    """Validate ``rolls`` (n, tracks, time, pitch) or (tracks, time, pitch) against ``roles``."""
    arr = np.asarray(rolls)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"rolls must have shape (n, tracks, time, pitch) or (tracks, time, pitch), got {arr.shape}")
    if arr.shape[1] != len(roles):
        raise ValueError(f"got {len(roles)} roles for {arr.shape[1]} tracks")
    if len(set(roles)) != len(roles):
        raise ValueError(f"role names must be unique, got {list(roles)}")
    return arr if arr.dtype == np.bool_ else arr != 0


def track_metrics(
    rolls: ArrayLike,
    roles: Sequence[str],
    resolution: int,
    lowest_pitch: int = 24,
    drum_roles: Sequence[str] = ("drums",),
    beats_per_bar: int = 4,
) -> dict[str, dict[str, float]]:
    """Per-track metrics averaged over windows: the table used by training logs and ``museforge evaluate``.

    Every role gets the keys ``empty_bar_rate``, ``used_pitch_classes``, ``qualified_note_rate``,
    ``in_scale_rate``, ``polyphonic_rate`` and ``pitch_range``; roles in ``drum_roles`` also get
    ``drum_pattern_rate`` and have NaN for every pitched-only metric (all but ``empty_bar_rate``), since
    drum "pitches" are instruments and a drum hit's length means nothing. Each value is the NaN-ignoring
    mean over windows of the per-window metric (e.g. windows where a track is silent do not count toward
    its in-scale rate); NaN if no window has a value. The in-scale key is fitted per window.

    Parameters
    ----------
    rolls : array, shape (n, tracks, time, pitch) or (tracks, time, pitch)
        ``n`` windows of multi-track piano rolls; nonzero = sounding.
    roles : sequence of str, length tracks
        Unique role name of each track (e.g. ``("drums", "bass", "guitar", "piano", "strings")``).
    resolution : int
        Time steps per beat.
    lowest_pitch : int
        MIDI pitch of column 0.
    drum_roles : sequence of str
        Role names treated as drums.
    beats_per_bar : int
        Beats per bar.

    Returns
    -------
    dict
        ``{role: {metric name: mean value}}`` in track order.
    """
    active = _batch(rolls, roles)
    min_steps = _min_note_steps(resolution)
    nan = float("nan")
    result: dict[str, dict[str, float]] = {}
    for index, role in enumerate(roles):
        track = active[:, index]
        values = {"empty_bar_rate": _empty_bar_rate_batch(track, resolution, beats_per_bar)}
        if role in drum_roles:
            summary = {key: nan for key in _PITCHED_KEYS}
            values["drum_pattern_rate"] = _drum_pattern_rate_batch(track, resolution, None, 0.1)
        else:
            summary = {}
            values["used_pitch_classes"] = _used_pitch_classes_batch(track, resolution, beats_per_bar, lowest_pitch)
            values["qualified_note_rate"] = _qualified_note_rate_batch(track, min_steps)
            values["in_scale_rate"] = _in_scale_rate_batch(track, lowest_pitch, None)
            values["polyphonic_rate"] = _polyphonic_rate_batch(track, 2)
            values["pitch_range"] = _pitch_range_batch(track)
        for key, per_window in values.items():
            summary[key] = float(_nanmean(per_window))
        result[role] = summary
    return result


def relative_gap(generated: float, real: float) -> float:
    """``|generated - real| / |real|``: how far a generated metric is from the real data's, relatively.

    Returns
    -------
    float
        Non-negative; NaN if ``real`` is 0 or NaN, or ``generated`` is NaN.
    """
    generated, real = float(generated), float(real)
    if math.isnan(real) or real == 0.0:
        return float("nan")
    return abs(generated - real) / abs(real)
