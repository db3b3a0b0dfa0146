"""Read a music21 score into a :class:`Multitrack`: one track per part, bar lines from the score's measures.

Offsets in a music21 part count quarter notes from the start of its first measure, so a pickup measure of one
beat puts the first full bar at offset 1.0. :func:`read_score` keeps those offsets (the pickup is sounding music)
and gives the multitrack the measure starts as ``downbeats``, leaving the pickup out: a training window then
starts on the first real bar line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.music.tracks import role_for_track

if TYPE_CHECKING:
    from music21 import stream

#: Tempo (quarter notes per minute) of a score without a metronome mark.
DEFAULT_TEMPO = 100.0
#: Velocity of notes that carry no dynamics.
DEFAULT_VELOCITY = 90


def read_score(score: stream.Score, resolution: int) -> Multitrack:
    """Convert a music21 score to a multitrack on a grid of ``resolution`` steps per quarter-note beat.

    Parameters
    ----------
    score : music21.stream.Score
        Parts become tracks in score order; a score without parts is read as one track.
    resolution : int
        Steps per quarter-note beat.

    Returns
    -------
    Multitrack
        ``rolls`` of shape (parts, steps, 128). Tied notes are merged into one note, chords give one note per
        pitch, grace notes and unpitched percussion are dropped. Tempo comes from the first metronome mark
        (else :data:`DEFAULT_TEMPO`); time signatures are kept; ``downbeats`` are the measure starts of the
        first part, without a pickup measure.

    Raises
    ------
    MuseforgeError
        The score has no pitched notes.
    """
    from music21 import meter, stream, tempo

    parts: list[Any] = list(score.parts) or [score]
    tracks: list[TrackNotes] = []
    for index, part in enumerate(parts):
        flat = part.stripTies(inPlace=False).flatten()
        notes: list[tuple[int, int, int, int]] = []
        for element in flat.notes:
            length = float(element.quarterLength)
            if length <= 0 or not hasattr(element, "pitches"):
                continue
            start = round(float(element.offset) * resolution)
            end = max(start + 1, round((float(element.offset) + length) * resolution))
            velocity = element.volume.velocity or DEFAULT_VELOCITY
            notes.extend((int(p.midi), start, end, int(velocity)) for p in element.pitches if 0 <= p.midi < 128)
        instrument = part.getInstrument(returnDefault=False)
        program = instrument.midiProgram if instrument is not None and instrument.midiProgram is not None else 0
        name = part.partName or (instrument.partName if instrument is not None else None) or f"Part {index + 1}"
        name = str(name).strip()
        tracks.append(TrackNotes(name, role_for_track(name, program, False), int(program), False, notes))
    if not any(t.notes for t in tracks):
        raise MuseforgeError(f"score {score.metadata.title if score.metadata else ''!s} has no notes".strip())

    first = parts[0]
    flat_first = first.flatten()
    signatures = [
        (round(float(ts.offset) * resolution), int(ts.numerator), int(ts.denominator))
        for ts in flat_first.getElementsByClass(meter.TimeSignature)
    ] or [(0, 4, 4)]
    marks: list[tuple[int, float]] = []
    for mark in score.flatten().getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM() if mark.number is not None else None
        if bpm and bpm > 0:
            marks.append((round(float(mark.offset) * resolution), float(bpm)))
    marks = marks or [(0, DEFAULT_TEMPO)]

    n_steps = max(round(float(score.highestTime) * resolution), max((n[2] for t in tracks for n in t.notes), default=0))
    multitrack = Multitrack.from_notes(
        tracks,
        resolution,
        n_steps=n_steps,
        tempos=_from_step_zero(marks),
        time_signatures=_from_step_zero(signatures),
    )
    measures = list(first.getElementsByClass(stream.Measure))
    starts = [
        round(float(m.offset) * resolution)
        for i, m in enumerate(measures)
        if not (i == 0 and (m.number == 0 or float(m.paddingLeft) > 0))
    ]
    if starts:
        steps = np.unique(np.asarray(starts, dtype=np.int64))
        multitrack.downbeats = steps[(steps >= 0) & (steps < max(multitrack.n_steps, 1))]
    return multitrack


def _from_step_zero(changes: list[tuple]) -> list[tuple]:
    """Keep the last change at each step, sorted, with the first moved to step 0."""
    by_step = {change[0]: change for change in sorted(changes, key=lambda c: c[0])}
    ordered = sorted(by_step.values(), key=lambda c: c[0])
    ordered[0] = (0, *ordered[0][1:])
    return ordered
