"""Melodies as token sequences on the beat grid, for the Extend Transformer.

A melody (one line: at most one note starts per step is assumed, chords keep their top note) becomes, bar after
bar::

    BAR  POS_s PITCH_p DUR_d  POS_s PITCH_p DUR_d ...  BAR ...

``POS_s`` is the note's first step within its bar (``0 <= s < steps_per_bar``), ``PITCH_p`` its MIDI pitch and
``DUR_d`` its length in steps (``1 <= d <= MAX_DURATION``; longer notes are cut). An empty bar is a lone ``BAR``.
The grid is the model's (e.g. 4 steps per beat); the meter is the number of steps per bar, which the decoder keeps
by never offering a position outside the bar (:meth:`MelodyTokenizer.allowed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Longest note a token can say, in steps (two 4/4 bars at 4 steps per beat).
MAX_DURATION = 32
#: Most steps per bar a token can address (8 beats at 4 steps per beat, or 4 at 8).
MAX_POSITIONS = 32

PAD, BOS, BAR = 0, 1, 2
_POS0 = 3
_PITCH0 = _POS0 + MAX_POSITIONS
_DUR0 = _PITCH0 + 128
VOCAB_SIZE = _DUR0 + MAX_DURATION

#: One note: ``(pitch, start_step, end_step)``.
Note = tuple[int, int, int]


def position(step_in_bar: int) -> int:
    """The token of a note starting ``step_in_bar`` steps into its bar."""
    return _POS0 + step_in_bar


def pitch(midi_pitch: int) -> int:
    """The token of MIDI pitch ``midi_pitch``."""
    return _PITCH0 + midi_pitch


def duration(steps: int) -> int:
    """The token of a note ``steps`` long (cut to :data:`MAX_DURATION`)."""
    return _DUR0 + min(max(steps, 1), MAX_DURATION) - 1


def kind(token: int) -> str:
    """``pad``, ``bos``, ``bar``, ``pos``, ``pitch`` or ``dur``."""
    if token < _POS0:
        return ("pad", "bos", "bar")[token]
    if token < _PITCH0:
        return "pos"
    if token < _DUR0:
        return "pitch"
    return "dur"


def value(token: int) -> int:
    """The number a ``pos``, ``pitch`` or ``dur`` token carries (steps, MIDI pitch, steps)."""
    k = kind(token)
    if k == "pos":
        return token - _POS0
    if k == "pitch":
        return token - _PITCH0
    if k == "dur":
        return token - _DUR0 + 1
    raise ValueError(f"token {token} ({k}) carries no value")


def top_line(roll: np.ndarray) -> list[Note]:
    """The melody line of a ``(T, 128)`` roll: its top note per step, held notes merged.

    ``onsets`` are not known here: a pitch that sounds on consecutive steps is one note.
    """
    sounding = np.asarray(roll) > 0
    top = np.full(sounding.shape[0], -1)
    steps = np.flatnonzero(sounding.any(axis=1))
    top[steps] = sounding.shape[1] - 1 - np.argmax(sounding[steps, ::-1], axis=1)
    notes: list[Note] = []
    start = 0
    for t in range(1, len(top) + 1):
        if t == len(top) or top[t] != top[start]:
            if top[start] >= 0:
                notes.append((int(top[start]), start, t))
            start = t
    return notes


@dataclass(frozen=True)
class MelodyTokenizer:
    """Tokens of melodies on a grid of ``steps_per_bar`` steps per bar."""

    steps_per_bar: int

    def __post_init__(self) -> None:
        if not 1 <= self.steps_per_bar <= MAX_POSITIONS:
            raise ValueError(f"steps_per_bar must be 1..{MAX_POSITIONS}, got {self.steps_per_bar}")

    def encode(self, notes: list[Note], n_bars: int) -> list[int]:
        """Tokens of ``n_bars`` bars holding ``notes`` (``(pitch, start, end)``, sorted by start; later ones
        starting before an earlier one ends cut it short)."""
        tokens: list[int] = []
        by_bar: dict[int, list[Note]] = {}
        ordered = sorted(notes, key=lambda n: (n[1], -n[0]))
        kept: list[Note] = []
        for note in ordered:
            if kept and kept[-1][1] == note[1]:
                continue  # one note per start: the top one
            if kept and kept[-1][2] > note[1]:
                kept[-1] = (kept[-1][0], kept[-1][1], note[1])
            kept.append(note)
        for note in kept:
            by_bar.setdefault(note[1] // self.steps_per_bar, []).append(note)
        for bar in range(n_bars):
            tokens.append(BAR)
            for p, start, end in by_bar.get(bar, []):
                tokens += [position(start - bar * self.steps_per_bar), pitch(p), duration(end - start)]
        return tokens

    def decode(self, tokens: list[int]) -> tuple[list[Note], int]:
        """Notes and the number of bars of a token sequence (malformed groups are skipped).

        The first ``BAR`` starts bar 0; tokens before it are ignored.
        """
        notes: list[Note] = []
        bar = -1
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token == BAR:
                bar += 1
                i += 1
                continue
            group = tokens[i : i + 3]
            if (
                bar >= 0
                and len(group) == 3
                and [kind(t) for t in group] == ["pos", "pitch", "dur"]
                and value(group[0]) < self.steps_per_bar
            ):
                start = bar * self.steps_per_bar + value(group[0])
                notes.append((value(group[1]), start, start + value(group[2])))
                i += 3
            else:
                i += 1
        return notes, bar + 1

    def allowed(self, tokens: list[int], min_position: int) -> np.ndarray:
        """``(VOCAB_SIZE,)`` bool: the tokens that may come next after ``tokens`` (a grammar, not a model).

        After ``BAR`` or a note's ``DUR``: ``BAR`` or a ``POS`` at or after ``min_position`` (where the last note
        of this bar ends, so notes do not overlap) and inside the bar; after ``POS``: a ``PITCH``; after
        ``PITCH``: a ``DUR``.
        """
        mask = np.zeros(VOCAB_SIZE, dtype=bool)
        last = kind(tokens[-1]) if tokens else "bos"
        if last == "pos":
            mask[_PITCH0:_DUR0] = True
        elif last == "pitch":
            mask[_DUR0:] = True
        else:
            mask[BAR] = True
            lo = max(0, min_position)
            mask[_POS0 + lo : _POS0 + self.steps_per_bar] = True
        return mask


__all__ = [
    "BAR",
    "BOS",
    "MAX_DURATION",
    "MAX_POSITIONS",
    "PAD",
    "VOCAB_SIZE",
    "MelodyTokenizer",
    "Note",
    "duration",
    "kind",
    "pitch",
    "position",
    "top_line",
    "value",
]
