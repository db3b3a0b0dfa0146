"""Velocities a player would give the notes a model writes: accents of the meter, a swell over each phrase.

A generator writes which notes sound, not how loud. Written at one velocity per track (accompaniment 80, drums
100), a piece sounds mechanical in the audio and in a DAW. :func:`step_accents` gives every step of a piece a
velocity offset from its metric grid (:mod:`museforge.music.meter`): the bar's first beat strongest, then the
other beats, the eighth notes between them, and the rest (sixteenths, triplets) softest; over each phrase of
:data:`PHRASE_BARS` bars a swell rises to the middle and falls back. :func:`note_velocities` adds a base per
instrument: pitched accompaniment sits under the melody (:data:`ACCOMPANIMENT_VELOCITY`), and a drum kit's
pieces have their own levels (kick and snare loud, hi-hats and ride softer, a snare off the beat a ghost note).

The user's melody keeps its own velocities; the shaping is a function of the position only, so composing and
regenerating a track give its notes the same velocities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The velocity of a pitched accompaniment note on an ordinary beat, before accents.
ACCOMPANIMENT_VELOCITY = 74
#: Offsets of the metric positions: a bar's first beat, another beat, an eighth between beats, any other step.
BAR_ACCENT, BEAT_ACCENT, EIGHTH_ACCENT, OFF_ACCENT = 10, 4, -2, -8
#: Bars per phrase, and the largest swell (velocity) in its middle.
PHRASE_BARS, PHRASE_SWELL = 4, 6
#: Velocity of each General MIDI kit piece on an ordinary beat (other keys: :data:`OTHER_DRUM_VELOCITY`).
DRUM_VELOCITIES: dict[int, int] = {
    35: 98,
    36: 98,  # kicks
    37: 78,  # side stick
    38: 96,
    40: 96,  # snares
    39: 84,  # hand clap
    41: 88,
    43: 88,
    45: 88,
    47: 88,
    48: 88,
    50: 88,  # toms
    42: 70,
    44: 66,
    46: 78,  # hi-hats: closed, pedal, open
    49: 100,
    52: 96,
    55: 92,
    57: 100,  # crashes, china, splash
    51: 72,
    59: 72,
    53: 80,  # ride, ride bell
}
OTHER_DRUM_VELOCITY = 72
_DRUM_LEVELS = np.full(128, OTHER_DRUM_VELOCITY, dtype=np.int64)
_DRUM_LEVELS[list(DRUM_VELOCITIES)] = list(DRUM_VELOCITIES.values())
#: Snare keys, whose hits off the beat are ghost notes this much softer.
SNARES, GHOST = frozenset({38, 40}), 34


@dataclass(frozen=True)
class Dynamics:
    """The dynamics of a piece's steps.

    Attributes
    ----------
    accents : np.ndarray
        ``(S,)`` int: velocity offset of each step (:func:`step_accents`).
    on_beat : np.ndarray
        ``(S,)`` bool: the step starts a beat.
    """

    accents: np.ndarray
    on_beat: np.ndarray

    @classmethod
    def of(cls, grid: np.ndarray, resolution: int) -> Dynamics:
        """The dynamics of a piece's ``(S, 2)`` metric grid at ``resolution`` steps per quarter."""
        grid = np.asarray(grid, dtype=bool).reshape(-1, 2)
        return cls(step_accents(grid, resolution), grid[:, 0] | grid[:, 1])

    def at(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accents ``(N,)`` and on-beat flags ``(N,)`` of notes starting at steps ``(N,)`` (past the end: the
        last step's)."""
        if len(self.accents) == 0:
            return np.zeros(len(starts), dtype=np.int64), np.ones(len(starts), dtype=bool)
        index = np.clip(np.asarray(starts, dtype=np.int64), 0, len(self.accents) - 1)
        return self.accents[index], self.on_beat[index]


def step_accents(grid: np.ndarray, resolution: int) -> np.ndarray:
    """Velocity offsets of every step of a piece: ``(S, 2)`` metric grid (bar starts, beat starts) -> ``(S,)`` int.

    The metric accent of the step's position (a bar's first beat :data:`BAR_ACCENT`, a beat :data:`BEAT_ACCENT`,
    an eighth note from the last beat :data:`EIGHTH_ACCENT`, anything else :data:`OFF_ACCENT`) plus the phrase's
    swell, ``PHRASE_SWELL * sin(pi * position in the phrase)``, phrases being :data:`PHRASE_BARS` bars from the
    first bar line (a pickup before it is a phrase's start).
    """
    grid = np.asarray(grid, dtype=bool)
    n_steps = len(grid)
    if n_steps == 0:
        return np.zeros(0, dtype=np.int64)
    steps = np.arange(n_steps)
    bar_start, beat_start = grid[:, 0], grid[:, 0] | grid[:, 1]
    last_beat = np.maximum.accumulate(np.where(beat_start, steps, 0))
    eighth = max(1, int(resolution) // 2)
    accents = np.where((steps - last_beat) % eighth == 0, EIGHTH_ACCENT, OFF_ACCENT)
    accents = np.where(beat_start, BEAT_ACCENT, accents)
    accents = np.where(bar_start, BAR_ACCENT, accents)
    bar_index = np.cumsum(bar_start) - 1  # -1 before the first bar line
    starts = np.flatnonzero(bar_start)
    if len(starts) == 0:
        return accents.astype(np.int64)
    bar_lengths = np.diff(np.append(starts, n_steps))
    this_bar = np.maximum(bar_index, 0)
    within = np.where(bar_index >= 0, (steps - starts[this_bar]) / bar_lengths[this_bar], 0.0)
    position = (np.maximum(bar_index, 0) % PHRASE_BARS + within) / PHRASE_BARS
    swell = np.rint(PHRASE_SWELL * np.sin(np.pi * position)).astype(np.int64)
    return (accents + swell).astype(np.int64)


def note_velocities(pitches: np.ndarray, starts: np.ndarray, dynamics: Dynamics, is_drum: bool) -> np.ndarray:
    """Velocities 1-127 of notes ``(N,)`` MIDI pitches starting at steps ``(N,)``: the instrument's base
    (:data:`ACCOMPANIMENT_VELOCITY`, or the kit piece's) plus the accent of the note's first step. A snare hit
    off the beat is a ghost note (:data:`GHOST` softer)."""
    pitches = np.asarray(pitches, dtype=np.int64)
    accents, on_beat = dynamics.at(starts)
    if not is_drum:
        return np.clip(ACCOMPANIMENT_VELOCITY + accents, 1, 127)
    base = _DRUM_LEVELS[np.clip(pitches, 0, 127)]
    ghost = np.isin(pitches, list(SNARES)) & ~on_beat
    return np.clip(base + accents - np.where(ghost, GHOST, 0), 1, 127)


def shaped(
    notes: Sequence[tuple[int, int, int, int]], dynamics: Dynamics, is_drum: bool
) -> list[tuple[int, int, int, int]]:
    """``notes`` ``(pitch, start, end, velocity)`` with the velocities of :func:`note_velocities`."""
    if not notes:
        return []
    array = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
    array[:, 3] = note_velocities(array[:, 0], array[:, 1], dynamics, is_drum)
    return [(int(p), int(s), int(e), int(v)) for p, s, e, v in array.tolist()]


__all__ = [
    "ACCOMPANIMENT_VELOCITY",
    "DRUM_VELOCITIES",
    "Dynamics",
    "note_velocities",
    "shaped",
    "step_accents",
]
