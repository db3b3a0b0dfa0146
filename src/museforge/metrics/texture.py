"""Rhythm, groove and texture: flicker, drum patterns that repeat and keep a backbeat, clusters, ranges, crowding.

Inputs are windows of one track, ``(n, time, pitch)`` bool (or one window, ``(time, pitch)``), starting on a bar
line, with column 0 at MIDI ``lowest_pitch``; each function returns one value per window, ``(n,)`` (a float for
one window), NaN where there is nothing to count. Notes are maximal runs of sounding steps of one pitch, as in
:mod:`museforge.metrics.tracks`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.metrics.melody import _out, _ratio, _windows
from museforge.music.keys import onsets

#: General MIDI drum keys of the snare family: side stick, acoustic snare, hand clap, electric snare.
SNARE_KEYS: tuple[int, ...] = (37, 38, 39, 40)
#: An ensemble step with more sounding pitches than this is crowded (a band rarely sounds 17 notes at once).
CROWDED_NOTES = 16


def _note_ends(active: NDArray[np.bool_]) -> NDArray[np.bool_]:
    ends = active.copy()
    ends[:, :-1] &= ~active[:, 1:]
    return ends


def one_step_note_rate(track: ArrayLike) -> NDArray[np.float64] | float:
    """Share of notes that last exactly one step: flicker, at a 16th-note grid a stream of 16th notes.

    A note that starts or ends at the window's edge counts by its length inside the window. NaN with no note.
    """
    t, single = _windows(track, "track")
    starts = onsets(t, axis=1)
    one = starts & _note_ends(t)  # a note whose first step is also its last
    return _out(_ratio(one.sum(axis=(1, 2)), starts.sum(axis=(1, 2))), single)


def _bar_onsets(track: NDArray[np.bool_], steps_per_bar: int) -> NDArray[np.bool_] | None:
    n, steps, pitches = track.shape
    bars = steps // steps_per_bar
    if bars == 0:
        return None
    return onsets(track, axis=1)[:, : bars * steps_per_bar].reshape(n, bars, steps_per_bar, pitches)


def drum_repetition(track: ArrayLike, steps_per_bar: int) -> NDArray[np.float64] | float:
    """How much each bar's drum pattern repeats the bar before: mean Jaccard similarity of consecutive bars'
    onset sets (step within the bar, drum key), over the pairs where either bar plays. A groove repeats (rock
    about 0.7); random hits do not (about 0.2). NaN with fewer than two bars or no hit."""
    t, single = _windows(track, "track")
    bars = _bar_onsets(t, steps_per_bar)
    if bars is None or bars.shape[1] < 2:
        return _out(np.full(t.shape[0], np.nan), single)
    a, b = bars[:, :-1], bars[:, 1:]
    union = (a | b).sum(axis=(2, 3))
    both = (a & b).sum(axis=(2, 3))
    similarity = _ratio(both, union)  # (n, pairs), NaN where neither bar plays
    counted = union > 0
    total = np.where(counted, np.nan_to_num(similarity), 0.0).sum(axis=1)
    return _out(_ratio(total, counted.sum(axis=1)), single)


def backbeat_rate(
    track: ArrayLike, resolution: int, lowest_pitch: int = 24, beats_per_bar: int = 4
) -> NDArray[np.float64] | float:
    """Share of backbeats (beats 2 and 4 of the bars where the drums play) that have a snare hit on the beat.

    Snare keys: :data:`SNARE_KEYS`. NaN where no bar has a hit or the bars do not have 4 beats.
    """
    t, single = _windows(track, "track")
    n, _steps, pitches = t.shape
    keys = [k - lowest_pitch for k in SNARE_KEYS if 0 <= k - lowest_pitch < pitches]
    bars = _bar_onsets(t, resolution * beats_per_bar)
    if bars is None or beats_per_bar != 4 or not keys:
        return _out(np.full(n, np.nan), single)
    playing = bars.any(axis=(2, 3))  # (n, bars)
    snare = np.any(bars[:, :, :, keys], axis=3)  # (n, bars, steps)
    on_backbeat = snare[:, :, resolution] & playing, snare[:, :, 3 * resolution] & playing
    hits = on_backbeat[0].sum(axis=1) + on_backbeat[1].sum(axis=1)
    return _out(_ratio(hits, 2 * playing.sum(axis=1)), single)


def semitone_cluster_rate(track: ArrayLike) -> NDArray[np.float64] | float:
    """Share of chord steps (two or more pitches) in which two sounding pitches are a semitone apart.

    Real piano and string writing does this rarely (a few %); a model that smears probability over neighbouring
    pitches does it often. NaN where the track never plays two pitches at once.
    """
    t, single = _windows(track, "track")
    chords = t.sum(axis=2) >= 2
    cluster = (t[:, :, 1:] & t[:, :, :-1]).any(axis=2)
    return _out(_ratio((cluster & chords).sum(axis=1), chords.sum(axis=1)), single)


def out_of_range_rate(track: ArrayLike, low: int, high: int, lowest_pitch: int = 24) -> NDArray[np.float64] | float:
    """Share of the track's note onsets outside the inclusive MIDI range ``[low, high]`` (its instrument's,
    :func:`museforge.music.instruments.playable_range`). NaN with no note."""
    t, single = _windows(track, "track")
    per_pitch = onsets(t, axis=1).sum(axis=1, dtype=np.int64)  # (n, pitch)
    midi = lowest_pitch + np.arange(t.shape[2])
    outside = (midi < low) | (midi > high)
    return _out(_ratio(per_pitch[:, outside].sum(axis=1), per_pitch.sum(axis=1)), single)


def ensemble_notes(rolls: ArrayLike) -> NDArray[np.int64]:
    """Sounding pitches per step over all the given tracks: ``(n, tracks, time, pitch)`` -> ``(n, time)``."""
    arr = np.asarray(rolls)
    if arr.ndim != 4:
        raise ValueError(f"rolls must have shape (n, tracks, time, pitch), got {arr.shape}")
    return (arr != 0).sum(axis=(1, 3))


def crowded(rolls: ArrayLike, limit: int = CROWDED_NOTES) -> NDArray[np.float64]:
    """Per window, 1.0 if some step sounds more than ``limit`` pitches over the tracks (pitched tracks: leave
    drums out), else 0.0: ``(n, tracks, time, pitch)`` -> ``(n,)``."""
    return (ensemble_notes(rolls).max(axis=1, initial=0) > limit).astype(np.float64)


def cell_overlap(first: ArrayLike, second: ArrayLike) -> NDArray[np.float64]:
    """Jaccard similarity of the sounding cells of two renderings of the same windows (e.g. two seeds):
    ``(n, ...)`` bool each -> ``(n,)``; 1.0 = the same music, NaN where neither sounds."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return _ratio((a & b).sum(axis=1), (a | b).sum(axis=1))


__all__ = [
    "CROWDED_NOTES",
    "SNARE_KEYS",
    "backbeat_rate",
    "cell_overlap",
    "crowded",
    "drum_repetition",
    "ensemble_notes",
    "one_step_note_rate",
    "out_of_range_rate",
    "semitone_cluster_rate",
]
