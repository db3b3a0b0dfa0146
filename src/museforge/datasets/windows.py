"""From a song's multitrack to training windows: runs of bars of one meter, windows of ``n_bars * 4`` beats, a
monophonic melody.

A window always starts on a bar line and spans ``n_bars * 4 * resolution`` steps (16 quarter-note beats for four
bars) of bars of one meter: four bars of 4/4, 5 1/3 bars of 3/4 or 6/8, and so on; each window keeps its meter, so
the models can learn where its bars and beats fall (:mod:`museforge.music.meter`). A 4/4 or 2/2 bar is 4/4; two
consecutive 2/4 bars make one 4/4 bar and a 4/2 bar two; a bar whose length disagrees with its meter (a pickup or a
POP909 phrase of 2 or 6 beats) breaks the run of bars and is counted. Track 0 is the melody: it is cut down to its
top note at every step (a skyline), and windows whose melody is silent in more than half of their 4-beat stretches
are dropped.

This module also holds what the genre readers share: :class:`SongRef` (one song to read), :class:`SkipSong` (why
a song gives no windows) and :func:`merge_tracks` (several source tracks of one role folded into one track).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from museforge.music.meter import bar_steps
from museforge.music.pianoroll import N_MIDI_PITCHES, N_PITCHES, Multitrack

BEATS_PER_BAR = 4


class SkipSong(Exception):
    """A song that gives no training windows; ``reason`` is a short label counted in the manifest."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SongRef:
    """One song a genre reader can read.

    ``name`` is unique in the genre; ``group`` is what the split is decided by (the song title when several
    files transcribe one song); ``split`` is the source's own split or None (then a hash of ``group`` decides);
    ``payload`` is whatever the reader needs (a path, an array), picklable for worker processes.
    """

    name: str
    group: str
    split: str | None
    payload: Any = None


@dataclass
class SongWindows:
    """The windows of one song.

    Attributes
    ----------
    windows : np.ndarray, shape (windows, tracks, n_bars * steps_per_bar, 84), bool
    starts : np.ndarray, shape (windows,), int32
        Step where each window starts in the song.
    bars : np.ndarray, shape (windows,), int32
        Each window's first step counted in 4-beat bars from the song's first bar line, rounded up: windows
        that follow each other without a gap in one meter differ by their distance in 4-beat bars.
    meters : np.ndarray, shape (windows, 2), int16
        Each window's meter ``(numerator, denominator)``; the window starts on one of its bar lines.
    skipped_bars : Counter
        Bars left out, by reason (``"irregular bar"``, ``"meter 2/4 (unpaired)"``).
    dropped : int
        Windows dropped because the melody is silent in more than half of their bars.
    """

    windows: np.ndarray
    starts: np.ndarray
    bars: np.ndarray
    meters: np.ndarray
    skipped_bars: Counter = field(default_factory=Counter)
    dropped: int = 0


def metered_bars(multitrack: Multitrack) -> tuple[np.ndarray, np.ndarray, np.ndarray, Counter]:
    """The whole bars of a multitrack, by its ``downbeats`` and ``time_signatures``, with their meters.

    Bars of four quarter-note beats (4/4, 2/2) keep the meter 4/4; two consecutive 2/4 bars make one 4/4 bar and a
    4/2 bar two. A bar of any other meter (3/4, 6/8, 9/8, 12/8, 5/4...) keeps its own meter when it is as long as
    that meter says.

    Returns
    -------
    starts : np.ndarray, shape (bars,), int64
        Step where each bar starts (ascending).
    indices : np.ndarray, shape (bars,), int64
        Index in ``multitrack.downbeats`` of the bar line at or before each bar (the first of a pair of 2/4 bars;
        the same for both halves of a 4/2 bar).
    meters : np.ndarray, shape (bars, 2), int64
        Each bar's ``(numerator, denominator)``.
    skipped : Counter
        Every other bar, counted by reason: ``"meter 2/4 (unpaired)"`` for a lone 2/4 bar, ``"irregular bar"``
        for bars whose length disagrees with their meter.

    Two consecutive short bars that add up to one bar of their meter (a measure split at a repeat sign) count as
    one bar.
    """
    resolution = multitrack.resolution
    full = BEATS_PER_BAR * resolution
    starts: list[int] = []
    indices: list[int] = []
    meters: list[tuple[int, int]] = []
    skipped: Counter = Counter()
    pending: tuple[int, int] | None = None  # an unpaired 2-beat bar: (index, start)

    def keep(k: int, start: int, meter: tuple[int, int]) -> None:
        starts.append(start)
        indices.append(k)
        meters.append(meter)

    for k, start, length, num, den in _bars(multitrack):
        beats = num * 4 / den
        if beats == BEATS_PER_BAR and length == full:
            kind = "full"
        elif beats == 2 * BEATS_PER_BAR and length == 2 * full:
            kind = "double"
        elif beats == BEATS_PER_BAR / 2 and length == full // 2:
            kind = "half"
        elif beats not in (BEATS_PER_BAR, BEATS_PER_BAR / 2, 2 * BEATS_PER_BAR) and length == bar_steps(
            num, den, resolution
        ):
            kind = "own meter"
        else:
            kind = "irregular"
        if kind == "half":
            if pending is not None and pending[1] + full // 2 == start:
                keep(pending[0], pending[1], (4, 4))
                pending = None
                continue
            if pending is not None:
                skipped["meter 2/4 (unpaired)"] += 1
            pending = (k, int(start))
            continue
        if pending is not None:
            skipped["meter 2/4 (unpaired)"] += 1
            pending = None
        if kind == "full":
            keep(k, int(start), (4, 4))
        elif kind == "double":
            keep(k, int(start), (4, 4))
            keep(k, int(start) + full, (4, 4))
        elif kind == "own meter":
            keep(k, int(start), (int(num), int(den)))
        else:
            skipped["irregular bar"] += 1
    if pending is not None:
        skipped["meter 2/4 (unpaired)"] += 1
    return (
        np.asarray(starts, dtype=np.int64),
        np.asarray(indices, dtype=np.int64),
        np.asarray(meters, dtype=np.int64).reshape(-1, 2),
        skipped,
    )


def _bars(multitrack: Multitrack) -> list[tuple[int, int, int, int, int]]:
    """``(downbeat index, start, length, numerator, denominator)`` of every bar.

    The last bar lasts as long as its meter says. Two consecutive short bars of one meter that together make
    one full bar (a measure split at a repeat sign: 3 beats, then 1) are joined.
    """
    resolution = multitrack.resolution
    downbeats = np.asarray(multitrack.downbeats, dtype=np.int64)
    signatures = sorted(multitrack.time_signatures)
    signature_steps = np.asarray([s[0] for s in signatures], dtype=np.int64)
    bars = []
    for k, start in enumerate(downbeats):
        _, num, den = signatures[max(0, int(np.searchsorted(signature_steps, start, side="right")) - 1)]
        nominal = round(num * 4 * resolution / den)
        length = int(downbeats[k + 1] - start) if k + 1 < len(downbeats) else nominal
        bars.append((k, int(start), length, num, den, nominal))
    joined: list[tuple[int, int, int, int, int]] = []
    i = 0
    while i < len(bars):
        k, start, length, num, den, nominal = bars[i]
        if i + 1 < len(bars) and length < nominal:
            _, _, next_length, next_num, next_den, _ = bars[i + 1]
            if (next_num, next_den) == (num, den) and length + next_length == nominal:
                joined.append((k, start, nominal, num, den))
                i += 2
                continue
        joined.append((k, start, length, num, den))
        i += 1
    return joined


def window_starts(
    bar_starts: np.ndarray, meters: np.ndarray, resolution: int, steps: int, hop_steps: int
) -> np.ndarray:
    """Positions (into ``bar_starts``) where a window of ``steps`` steps begins, on a bar line.

    A run is a stretch of bars of one meter, each starting where the one before ends. In every run, windows begin
    on its first bar and then every ``max(1, round(hop_steps / bar length))`` bars, as long as the window ends
    inside the run. Returns an int64 array of shape (windows,).
    """
    positions: list[int] = []
    n = len(bar_starts)
    run_start = 0
    for i in range(1, n + 1):
        if i < n:
            size = bar_steps(int(meters[i - 1][0]), int(meters[i - 1][1]), resolution)
            same = tuple(meters[i]) == tuple(meters[i - 1]) and bar_starts[i] == bar_starts[i - 1] + size
            if same:
                continue
        size = bar_steps(int(meters[run_start][0]), int(meters[run_start][1]), resolution)
        run_end = int(bar_starts[i - 1]) + size
        hop = max(1, round(hop_steps / size))
        positions.extend(p for p in range(run_start, i, hop) if int(bar_starts[p]) + steps <= run_end)
        run_start = i
    return np.asarray(positions, dtype=np.int64)


def skyline(roll: np.ndarray) -> np.ndarray:
    """Keep only the highest sounding pitch at every step.

    Parameters
    ----------
    roll : np.ndarray, shape (..., time, pitch), bool

    Returns
    -------
    np.ndarray, same shape, bool: at most one True per step.
    """
    roll = np.asarray(roll, dtype=bool)
    out = np.zeros_like(roll)
    n_pitches = roll.shape[-1]
    top = n_pitches - 1 - np.argmax(roll[..., ::-1], axis=-1)
    sounding = np.any(roll, axis=-1)
    np.put_along_axis(out, top[..., None], sounding[..., None], axis=-1)
    return out


def song_windows(multitrack: Multitrack, n_bars: int, hop_bars: int, melody_track: int = 0) -> SongWindows:
    """Cut a song into windows of ``n_bars`` bars of four beats, ``n_bars * 4 * resolution`` steps, each starting
    on a bar line of a run of bars of one meter (a 3/4 window of 64 steps covers 5 1/3 bars).

    Parameters
    ----------
    multitrack : the song, tracks in the dataset's order, ``melody_track`` the melody.
    n_bars : 4-beat bars per window.
    hop_bars : 4-beat bars between the starts of consecutive windows in one run of bars (rounded to whole bars
        of the run's meter).

    Returns
    -------
    SongWindows
        ``windows`` of shape (windows, tracks, n_bars * 4 * resolution, 84), pitches folded into MIDI 24-107, and
        each window's ``meters``.

    Raises
    ------
    SkipSong
        No window survives; the reason says why (irregular bars, too short, or a silent melody).
    """
    steps_per_bar = BEATS_PER_BAR * multitrack.resolution
    starts, _, meters, skipped = metered_bars(multitrack)
    if len(starts) == 0:
        raise SkipSong(skipped.most_common(1)[0][0] if skipped else "no bars")
    length = n_bars * steps_per_bar
    positions = window_starts(starts, meters, multitrack.resolution, length, hop_bars * steps_per_bar)
    if len(positions) == 0:
        raise SkipSong(f"fewer than {n_bars * BEATS_PER_BAR} beats of bars in one meter")

    roll = multitrack.binarized()  # (tracks, time, 84)
    roll[melody_track] = skyline(roll[melody_track])
    last_end = int(starts[positions[-1]]) + length
    if last_end > roll.shape[1]:
        roll = np.concatenate([roll, np.zeros((roll.shape[0], last_end - roll.shape[1], N_PITCHES), bool)], axis=1)
    windows = np.stack([roll[:, int(starts[p]) : int(starts[p]) + length] for p in positions])

    # the melody must sound in at least half of the window's 4-beat stretches
    melody_bars = windows[:, melody_track].reshape(len(windows), n_bars, steps_per_bar, N_PITCHES).any(axis=(2, 3))
    keep = (~melody_bars).sum(axis=1) * 2 <= n_bars
    if not keep.any():
        raise SkipSong("melody silent in most bars")
    window_steps = starts[positions][keep]
    first_bar_line = int(np.asarray(multitrack.downbeats)[0])
    return SongWindows(
        windows=windows[keep],
        starts=window_steps.astype(np.int32),
        bars=(-(-(window_steps - first_bar_line) // steps_per_bar)).astype(np.int32),
        meters=meters[positions][keep].astype(np.int16),
        skipped_bars=skipped,
        dropped=int((~keep).sum()),
    )


def transposed(windows: np.ndarray, semitones: int, is_drum: Sequence[bool] | None = None) -> np.ndarray:
    """Shift pitched tracks by ``semitones``; drum tracks stay; notes shifted out of the window are dropped.

    Parameters
    ----------
    windows : np.ndarray, shape (..., tracks, time, pitch), bool
    semitones : positive is up.
    is_drum : per track, True for a drum track (left as it is). None: every track is pitched.

    Returns
    -------
    np.ndarray, same shape and dtype (a new array).
    """
    windows = np.asarray(windows)
    out = np.zeros_like(windows)
    n = windows.shape[-1]
    shift = int(semitones)
    pitched = [i for i in range(windows.shape[-3]) if not (is_drum is not None and is_drum[i])]
    drums = [i for i in range(windows.shape[-3]) if i not in pitched]
    if drums:
        out[..., drums, :, :] = windows[..., drums, :, :]
    if abs(shift) >= n:
        return out
    if shift >= 0:
        out[..., pitched, :, shift:] = windows[..., pitched, :, : n - shift]
    else:
        out[..., pitched, :, : n + shift] = windows[..., pitched, :, -shift:]
    return out


def merge_tracks(
    multitrack: Multitrack,
    layout: Sequence[tuple[str, str, Sequence[int], bool]],
    default_programs: dict[str, int] | None = None,
) -> Multitrack:
    """Fold source tracks into the dataset's tracks.

    Parameters
    ----------
    multitrack : the song as read.
    layout : one ``(role, name, source track indices, is_drum)`` per output track, in output order; an empty
        index list gives a silent track.
    default_programs : program of an output track with no source notes, by role (else 0).

    Returns
    -------
    Multitrack
        ``rolls`` of shape (len(layout), time, 128): per step and pitch the loudest source velocity. Each
        output track's program is the one with the most notes among its source tracks.
    """
    n_steps = multitrack.n_steps
    rolls = np.zeros((len(layout), n_steps, N_MIDI_PITCHES), dtype=np.uint8)
    onsets = np.zeros(rolls.shape, dtype=bool)
    programs: list[int] = []
    for out, (role, _, sources, _) in enumerate(layout):
        notes_by_program: Counter = Counter()
        for index in sources:
            np.maximum(rolls[out], multitrack.rolls[index], out=rolls[out])
            onsets[out] |= multitrack.onsets[index]
            notes_by_program[multitrack.programs[index]] += int(multitrack.onsets[index].sum())
        best = max(notes_by_program, key=lambda p: notes_by_program[p]) if sum(notes_by_program.values()) else None
        programs.append(int(best if best is not None else (default_programs or {}).get(role, 0)))
    return Multitrack(
        rolls=rolls,
        onsets=onsets,
        names=[name for _, name, _, _ in layout],
        roles=[role for role, _, _, _ in layout],
        programs=programs,
        is_drum=[bool(drum) for _, _, _, drum in layout],
        resolution=multitrack.resolution,
        tempos=list(multitrack.tempos),
        time_signatures=list(multitrack.time_signatures),
        downbeats=multitrack.downbeats,
    )
