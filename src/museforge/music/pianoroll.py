"""The multitrack piano roll: museforge's one in-memory music type.

A :class:`Multitrack` holds ``rolls`` of shape ``(tracks, time, 128)`` (velocity, 0 = silent) and ``onsets`` of the
same shape (True where a note starts, so repeated notes stay apart from held ones), on a grid of ``resolution``
steps per quarter-note beat, with the tempo map, the time signatures and per-track role, GM program and drum flag.
Everything else (reading, writing, windows for training) converts to or from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_MIDI_PITCHES = 128
#: The pitch window the models see: 84 pitches from C1 (MIDI 24) to B7 (MIDI 107), as in MuseGAN.
LOWEST_PITCH = 24
N_PITCHES = 84


@dataclass(frozen=True)
class TrackNotes:
    """One track as a note list: the input of :meth:`Multitrack.from_notes`.

    ``notes`` holds ``(pitch, start_step, end_step, velocity)`` with ``end_step > start_step``.
    """

    name: str
    role: str
    program: int
    is_drum: bool
    notes: list[tuple[int, int, int, int]]


@dataclass
class Multitrack:
    """A multitrack piano roll on a beat grid.

    Attributes
    ----------
    rolls : np.ndarray, shape (tracks, time, 128), uint8
        Velocity of each sounding (track, step, pitch); 0 is silence.
    onsets : np.ndarray, shape (tracks, time, 128), bool
        True at the first step of each note.
    names, roles : list[str]
        Per track: the name (from the file) and the role (``melody``, ``bass``, ``drums``, ...).
    programs : list[int]
        Per track: General MIDI program 0-127.
    is_drum : list[bool]
        Per track: True for a percussion track (MIDI channel 10).
    resolution : int
        Time steps per quarter-note beat.
    tempos : list[tuple[int, float]]
        Tempo map as ``(step, quarter notes per minute)``, the first at step 0.
    time_signatures : list[tuple[int, int, int]]
        ``(step, numerator, denominator)``, the first at step 0.
    downbeats : np.ndarray, shape (bars,), int
        Step index of each bar start. Derived from the time signatures unless given (e.g. from beat annotations).
    metadata : dict, optional
        What made the music (technique, model, seed, settings), as museforge writes it into a MIDI file and reads
        it back; None when unknown. :meth:`select` keeps it (the same piece); :meth:`with_tracks` does not (new
        music says what made it itself).
    key_signatures : list of tuple, optional
        ``(step, sharps, minor)``: the key signatures the music states (sharps -7..7, flats below 0), the first at
        step 0; None when it states none (a writer then names the key it hears). :meth:`select` and
        :meth:`with_tracks` keep them (the same piece's key).
    """

    rolls: np.ndarray
    onsets: np.ndarray
    names: list[str]
    roles: list[str]
    programs: list[int]
    is_drum: list[bool]
    resolution: int
    tempos: list[tuple[int, float]] = field(default_factory=lambda: [(0, 120.0)])
    time_signatures: list[tuple[int, int, int]] = field(default_factory=lambda: [(0, 4, 4)])
    downbeats: np.ndarray | None = None
    metadata: dict[str, Any] | None = None
    key_signatures: list[tuple[int, int, bool]] | None = None

    def __post_init__(self) -> None:
        if self.rolls.ndim != 3 or self.rolls.shape[2] != N_MIDI_PITCHES:
            raise ValueError(f"rolls must have shape (tracks, time, 128), got {self.rolls.shape}")
        if self.onsets.shape != self.rolls.shape:
            raise ValueError("onsets must have the same shape as rolls")
        n = self.rolls.shape[0]
        if not (len(self.names) == len(self.roles) == len(self.programs) == len(self.is_drum) == n):
            raise ValueError("names, roles, programs and is_drum need one entry per track")
        if self.resolution < 1:
            raise ValueError("resolution must be at least 1 step per beat")
        if self.downbeats is None:
            self.downbeats = downbeats_from_time_signatures(self.time_signatures, self.resolution, self.n_steps)

    # ------------------------------------------------------------------ shape
    @property
    def n_tracks(self) -> int:
        return int(self.rolls.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.rolls.shape[1])

    @property
    def n_bars(self) -> int:
        """Bars in the music's own meter (a bar that has started counts, as a pick-up bar does)."""
        assert self.downbeats is not None
        return max(1, int(np.count_nonzero(np.asarray(self.downbeats) < self.n_steps))) if self.n_steps else 0

    @property
    def meter(self) -> tuple[int, int]:
        """The opening time signature ``(numerator, denominator)``."""
        return int(self.time_signatures[0][1]), int(self.time_signatures[0][2])

    @property
    def tempo(self) -> float:
        """The opening tempo in quarter notes per minute."""
        return float(self.tempos[0][1])

    @property
    def n_notes(self) -> int:
        return int(self.onsets.sum())

    def track_index(self, role: str) -> int | None:
        """Index of the first track with ``role``, or None."""
        return self.roles.index(role) if role in self.roles else None

    # ------------------------------------------------------------- building
    @classmethod
    def from_notes(
        cls,
        tracks: list[TrackNotes],
        resolution: int,
        tempo: float = 120.0,
        time_signature: tuple[int, int] = (4, 4),
        n_steps: int | None = None,
        tempos: list[tuple[int, float]] | None = None,
        time_signatures: list[tuple[int, int, int]] | None = None,
    ) -> Multitrack:
        """Build a multitrack from note lists (steps on the grid); length is the last note end unless given."""
        end = max((n[2] for t in tracks for n in t.notes), default=0)
        length = max(end, n_steps or 0)
        rolls = np.zeros((len(tracks), length, N_MIDI_PITCHES), dtype=np.uint8)
        onsets = np.zeros(rolls.shape, dtype=bool)
        for i, track in enumerate(tracks):
            _paint_notes(rolls[i], onsets[i], track.notes)
        return cls(
            rolls=rolls,
            onsets=onsets,
            names=[t.name for t in tracks],
            roles=[t.role for t in tracks],
            programs=[t.program for t in tracks],
            is_drum=[t.is_drum for t in tracks],
            resolution=resolution,
            tempos=tempos or [(0, float(tempo))],
            time_signatures=time_signatures or [(0, time_signature[0], time_signature[1])],
        )

    def with_tracks(
        self, tracks: list[TrackNotes], n_steps: int | None = None, tempos: list[tuple[int, float]] | None = None
    ) -> Multitrack:
        """A multitrack of ``tracks`` on this one's grid, with its tempo map (or ``tempos``), meters and key
        signatures, and its length (or ``n_steps``): what a pipeline returns for its input."""
        music = Multitrack.from_notes(
            tracks,
            self.resolution,
            n_steps=self.n_steps if n_steps is None else n_steps,
            tempos=list(self.tempos) if tempos is None else tempos,
            time_signatures=list(self.time_signatures),
        )
        music.key_signatures = None if self.key_signatures is None else list(self.key_signatures)
        return music

    def notes(self, track: int) -> list[tuple[int, int, int, int]]:
        """The notes of one track as ``(pitch, start_step, end_step, velocity)``, sorted by start then pitch.

        A note starts at an onset (or where sound begins after silence) and lasts while the pitch sounds and
        no new onset of the same pitch begins.
        """
        return roll_to_notes(self.rolls[track], self.onsets[track])

    def note_array(self, track: int) -> np.ndarray:
        """:meth:`notes` as an int64 array of shape (notes, 4), for bulk work on long pieces."""
        return roll_to_note_array(self.rolls[track], self.onsets[track])

    def count_notes(self, track: int) -> int:
        """How many notes :meth:`notes` gives for one track, without listing them."""
        return int(np.count_nonzero(_note_starts(self.rolls[track] > 0, self.onsets[track])))

    def select(self, indices: list[int]) -> Multitrack:
        """A new multitrack with only the given tracks, in that order."""
        return self.with_rolls(self.rolls[indices], self.onsets[indices], indices)

    def with_rolls(self, rolls: np.ndarray, onsets: np.ndarray, tracks: list[int] | None = None) -> Multitrack:
        """The same piece (grid, tempo map, meters, bar lines, key signatures, metadata) with other ``rolls`` and
        ``onsets``: those of this one's ``tracks`` (names, roles, programs; default all, in order), their notes
        moved or re-keyed."""
        chosen = list(range(self.n_tracks)) if tracks is None else list(tracks)
        return Multitrack(
            rolls=rolls,
            onsets=onsets,
            names=[self.names[i] for i in chosen],
            roles=[self.roles[i] for i in chosen],
            programs=[self.programs[i] for i in chosen],
            is_drum=[self.is_drum[i] for i in chosen],
            resolution=self.resolution,
            tempos=list(self.tempos),
            time_signatures=list(self.time_signatures),
            downbeats=self.downbeats,
            metadata=self.metadata,
            key_signatures=None if self.key_signatures is None else list(self.key_signatures),
        )

    def binarized(self, lowest_pitch: int = LOWEST_PITCH, n_pitches: int = N_PITCHES) -> np.ndarray:
        """Sounding steps in the model's pitch window: bool array of shape (tracks, time, n_pitches).

        Notes outside the window are folded into it by octaves, so no note is lost.
        """
        return fold_pitches(self.rolls > 0, lowest_pitch, n_pitches)


def fold_pitches(roll: np.ndarray, lowest_pitch: int, n_pitches: int) -> np.ndarray:
    """Fold the 128 MIDI pitches of ``roll`` (..., 128) into ``n_pitches`` columns from ``lowest_pitch``.

    Pitches below or above the window move by whole octaves into it. Returns a bool array (..., n_pitches).
    """
    out = roll[..., lowest_pitch : lowest_pitch + n_pitches].astype(bool, copy=True)
    for pitch in range(N_MIDI_PITCHES):
        if lowest_pitch <= pitch < lowest_pitch + n_pitches:
            continue
        column = roll[..., pitch]
        if not column.any():
            continue
        target = pitch
        while target < lowest_pitch:
            target += 12
        while target >= lowest_pitch + n_pitches:
            target -= 12
        if lowest_pitch <= target < lowest_pitch + n_pitches:
            out[..., target - lowest_pitch] |= column.astype(bool)
    return out


def downbeats_from_time_signatures(
    time_signatures: list[tuple[int, int, int]], resolution: int, n_steps: int
) -> np.ndarray:
    """Bar starts (step indices) implied by a list of ``(step, numerator, denominator)`` changes.

    Returns an int64 array of shape (bars,) covering ``[0, n_steps)``.
    """
    if not time_signatures:
        time_signatures = [(0, 4, 4)]
    changes = sorted(time_signatures)
    end = max(n_steps, 1)  # a change past the music's end lists no bars: the work is bounded by the length
    starts: list[np.ndarray] = []
    for i, (step, num, den) in enumerate(changes):
        if step >= end:
            break
        bar_len = max(1, round(num * 4 * resolution / max(den, 1)))
        stop = min(changes[i + 1][0], end) if i + 1 < len(changes) else end
        starts.append(np.arange(step, stop, bar_len, dtype=np.int64))
    return np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)


def _paint_notes(roll: np.ndarray, onsets: np.ndarray, notes: list[tuple[int, int, int, int]]) -> None:
    """Write ``(pitch, start, end, velocity)`` notes into a (time, 128) roll and onset mask in place.

    Same-pitch overlaps play as a synthesizer plays one key struck again while it sounds: the new note restarts
    it (an onset, at the new note's velocity) and the key sounds until the last of their ends. Of notes struck
    together on one pitch the loudest wins. Empty notes and pitches outside 0..127 are skipped. The work is
    linear in the notes plus the roll's cells, whatever the notes' lengths and overlaps: every cell is painted
    once, through a running sum over the roll (int16, twice the roll's size), never a list of note cells.
    """
    if not notes:
        return
    pitch, start, end, velocity = np.asarray(notes, dtype=np.int64).reshape(-1, 4).T
    keep = (end > start) & (start >= 0) & (pitch >= 0) & (pitch < N_MIDI_PITCHES)
    pitch, start, end, velocity = pitch[keep], start[keep], end[keep], np.clip(velocity[keep], 1, 127)
    if not len(pitch):
        return
    order = np.lexsort((velocity, start, pitch))  # by pitch, then start, the loudest last among equal starts
    pitch, start, end, velocity = pitch[order], start[order], end[order], velocity[order]
    n_steps = roll.shape[0]
    end = np.minimum(end, n_steps)
    # How long the key has sounded by each note: the running maximum of the ends so far, per pitch (a pitch's
    # offset lifts its ends above every earlier pitch's, so one running maximum serves all).
    lift = pitch * (n_steps + 1)
    sounding_until = np.maximum.accumulate(end + lift) - lift
    same_pitch_next = np.append(pitch[1:] == pitch[:-1], False)
    next_start = np.append(start[1:], 0)
    stop = np.where(same_pitch_next, np.minimum(next_start, sounding_until), sounding_until)
    painted = stop > start  # a note restarted at its own step by a louder one paints nothing
    pitch, start, stop, velocity = pitch[painted], start[painted], stop[painted], velocity[painted]
    # Painted stretches of one pitch are disjoint, so each (step, pitch) gets at most one rise and one fall.
    change = np.zeros((n_steps + 1, N_MIDI_PITCHES), dtype=np.int16)
    change[start, pitch] += velocity.astype(np.int16)
    change[stop, pitch] -= velocity.astype(np.int16)
    level = np.cumsum(change[:n_steps], axis=0, dtype=np.int16)
    np.maximum(roll, level.astype(roll.dtype), out=roll)
    onsets[start, pitch] = True


def roll_to_notes(roll: np.ndarray, onsets: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """Notes of one track's roll.

    Parameters
    ----------
    roll : np.ndarray, shape (time, pitch)
        Velocity or bool; nonzero is sounding. Bool rolls get velocity 100.
    onsets : np.ndarray, shape (time, pitch), optional
        Where notes start; without it, a note is a maximal run of sounding steps.

    Returns
    -------
    list of (pitch, start_step, end_step, velocity), sorted by start then pitch.
    """
    return list(map(tuple, roll_to_note_array(roll, onsets).tolist()))


def roll_to_note_array(roll: np.ndarray, onsets: np.ndarray | None = None) -> np.ndarray:
    """:func:`roll_to_notes` as an int64 array of shape (notes, 4): pitch, start step, end step, velocity.

    A note starts at an onset or where sound begins after silence, and lasts until the first step after its start
    that is silent or starts another note of its pitch.
    """
    sounding = roll > 0
    n_steps = roll.shape[0]
    starts = _note_starts(sounding, onsets)
    # Pitch-major, with one silent step after each pitch's time, so a search never runs into the next pitch.
    stops_here = np.ones((sounding.shape[1], n_steps + 1), dtype=bool)
    stops_here[:, :n_steps] = ~sounding.T | starts.T
    stops = np.flatnonzero(stops_here)
    pitch, start = np.nonzero(starts.T)
    offset = pitch * (n_steps + 1)
    end = stops[np.searchsorted(stops, offset + start, side="right")] - offset
    velocity = roll[start, pitch].astype(np.int64) if roll.dtype != bool else np.full(len(start), 100)
    order = np.lexsort((pitch, start))
    return np.stack([pitch, start, end, velocity], axis=1).astype(np.int64)[order]


def _note_starts(sounding: np.ndarray, onsets: np.ndarray | None) -> np.ndarray:
    """Where notes start in a (time, pitch) bool roll: at marked onsets and where sound begins after silence."""
    previous = np.zeros_like(sounding)
    previous[1:] = sounding[:-1]
    return sounding & ~previous if onsets is None else sounding & (onsets | ~previous)
