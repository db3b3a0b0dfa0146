"""Sheet music of a result: a :class:`~museforge.music.pianoroll.Multitrack` as a MusicXML score (with music21).

One part per track, named after the track, on its General MIDI instrument (drum tracks on a percussion staff,
channel 10), with the piece's time signatures, its tempo marks (in the first part) and the key signature its MIDI
file states (:func:`museforge.music.midi.written_keys`: the one the input came with, else the key its melody is
heard in), its notes spelled in that key. Notes stay on the piece's grid (``steps / resolution`` quarter
notes); where a track plays several pitches at once they become a chord, and where notes of one track start or end
at different times the sound is cut at every start and end and the pieces are tied, so each part is one voice.
Drums are written as a drummer reads them: one chord per stroke on the usual staff lines, never held. music21 then
makes the measures, the ties over bar lines, the beams and the accidentals, and writes MusicXML 4.0, which notation
programs such as MuseScore open.

The work is linear in the notes and the bars: a 64-bar piece of six tracks takes a few seconds, 512 bars about half
a minute.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import music21
import numpy as np
from music21 import chord, clef, duration, instrument, key, metadata, meter, note, percussion, stream, tempo, tie
from music21.musicxml.m21ToXml import GeneralObjectExporter

from museforge.errors import MuseforgeError
from museforge.files import atomic_write_bytes
from museforge.music.instruments import program_name
from museforge.music.midi import written_keys
from museforge.music.pianoroll import Multitrack
from museforge.music.sections import perform_sections

#: Names of the pitch classes, by whether a key is written with sharps or with flats (music21 spells flats "-").
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")
#: Where General MIDI drums sit on a percussion staff (the usual drum-kit notation); others on the snare's line.
_DRUM_LINES = {
    35: "F4", 36: "F4", 37: "C5", 38: "C5", 39: "D5", 40: "C5", 41: "G4", 42: "G5", 43: "A4", 44: "D4", 45: "D5",
    46: "G5", 47: "D5", 48: "E5", 49: "A5", 50: "E5", 51: "F5", 52: "B5", 53: "F5", 55: "A5", 57: "A5", 59: "F5",
}  # fmt: skip
#: Cymbals and hi-hats get a cross notehead.
_CYMBALS = frozenset({42, 44, 46, 49, 51, 52, 53, 55, 57, 59})
_DRUM_LINE = "C5"


def write_musicxml(multitrack: Multitrack, path: Path, title: str | None = None) -> Path:
    """Write ``multitrack`` as a MusicXML score to ``path`` (atomically) and return the path.

    ``title`` names the score (default: the melody's track name). Raises :class:`MuseforgeError` (one line) when
    the file cannot be written or music21 cannot notate the music.
    """
    path = Path(path)
    if multitrack.n_tracks == 0 or multitrack.n_steps == 0:
        raise MuseforgeError(f"cannot write sheet music to {path}: the music has no tracks or no length")
    try:
        score = build_score(multitrack, title)
        exporter = GeneralObjectExporter(score)
        exporter.makeNotation = False  # done once, in build_score: no second copy of the score
        data = exporter.parse()
    except music21.exceptions21.Music21Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MuseforgeError(f"cannot write sheet music to {path}: {first_line}") from None
    atomic_write_bytes(path, data)
    return path


def build_score(multitrack: Multitrack, title: str | None = None) -> stream.Score:
    """The music21 score of ``multitrack``, in measures, ready to export (see the module's description); a
    section's low notes on its low instrument's staff (:func:`museforge.music.sections.perform_sections`)."""
    multitrack = perform_sections(multitrack)
    melody = _melody_index(multitrack)
    tonality = piece_key(multitrack)
    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = title or multitrack.names[melody].removesuffix(" (melody)")
    score.metadata.add("arranger", "museforge")
    for index in range(multitrack.n_tracks):
        part = _part(multitrack, index, tonality, with_tempo=index == 0)
        part.makeNotation(inPlace=True)  # measures, ties over bar lines, beams, accidentals
        part.splitAtDurations(recurse=True)  # e.g. 5 sixteenths: a quarter tied to a sixteenth
        if multitrack.is_drum[index]:
            starts = multitrack.note_array(index)[:, 1].tolist()
            _tie_drum_pieces(part, {Fraction(int(step), multitrack.resolution) for step in starts})
        score.insert(0, part)
    return score


def piece_key(multitrack: Multitrack) -> key.Key:
    """The key of the piece, as its MIDI file states it (:func:`museforge.music.midi.written_keys`: the key
    signature the music came with, else the key its melody is heard in), else C major."""
    keys = written_keys(multitrack)
    if not keys:
        return key.Key("C", "major")
    _, sharps, minor = keys[0]
    return key.KeySignature(int(sharps)).asKey("minor" if minor else "major")


def _melody_index(multitrack: Multitrack) -> int:
    return multitrack.track_index("melody") or 0


def _part(multitrack: Multitrack, index: int, tonality: key.Key, *, with_tempo: bool) -> stream.Part:
    """One track as a flat music21 part (before measures): instrument, clef, meters, key, tempo and its notes."""
    drums = multitrack.is_drum[index]
    program = int(multitrack.programs[index])
    part = stream.Part(id=f"P{index + 1}")
    part.partName = multitrack.names[index]
    sound = instrument.UnpitchedPercussion() if drums else instrument.instrumentFromMidiProgram(program)
    sound.instrumentName = program_name(program, drums)
    sound.partId, sound.instrumentId = f"P{index + 1}", f"P{index + 1}-I1"  # the same ids in every file
    if drums:
        sound.midiChannel = 9  # General MIDI's percussion channel (10, counted from 1)
    else:
        sound.midiProgram = program
    part.insert(0, sound)
    part.insert(0, clef.PercussionClef() if drums else key.Key(tonality.tonic, tonality.mode))
    resolution = multitrack.resolution
    for step, numerator, denominator in sorted(multitrack.time_signatures):
        if step < multitrack.n_steps:
            part.insert(Fraction(int(step), resolution), meter.TimeSignature(f"{numerator}/{denominator}"))
    if with_tempo:
        for step, bpm in sorted(multitrack.tempos):
            if step < multitrack.n_steps:
                mark = tempo.MetronomeMark(number=round(float(bpm), 2), referent=note.Note(type="quarter"))
                part.insert(Fraction(int(step), resolution), mark)
    spelling = _spelling(tonality)
    notes = multitrack.note_array(index)
    if drums:
        assert multitrack.downbeats is not None  # set when the multitrack is made
        notes = _hits(notes, multitrack.downbeats, resolution)
    for start, end, sounding in _segments(notes, multitrack.n_steps):
        element = _element(sounding, start, end, drums, spelling)
        element.quarterLength = Fraction(int(end - start), resolution)
        part.coreInsert(Fraction(int(start), resolution), element)
    part.coreElementsChanged()
    return part


def _segments(notes: np.ndarray, n_steps: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Cut one track's notes ``(pitch, start, end, velocity)`` at every note start and end: yields ``(start, end,
    notes sounding)`` for consecutive stretches covering ``[0, n_steps)`` (no notes in a rest)."""
    notes = notes[notes[:, 1] < n_steps].copy()
    notes[:, 2] = np.minimum(notes[:, 2], n_steps)
    cuts = np.unique(np.concatenate(([0, n_steps], notes[:, 1], notes[:, 2])))
    first = np.searchsorted(cuts, notes[:, 1])
    last = np.searchsorted(cuts, notes[:, 2])
    covering: list[list[int]] = [[] for _ in range(len(cuts) - 1)]
    for row, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
        for segment in range(a, b):
            covering[segment].append(row)
    for segment, rows in enumerate(covering):
        yield int(cuts[segment]), int(cuts[segment + 1]), notes[rows]


def _hits(notes: np.ndarray, bar_lines: np.ndarray, resolution: int) -> np.ndarray:
    """Drum notes as a drummer reads them: the drums struck together make one chord (one note per staff line),
    held until the next stroke, the longest of them ends or the bar ends, whichever comes first, and for no
    longer than one plain note value (no tied drum notes: a drum is struck, not held)."""
    if not len(notes):
        return notes
    seen: set[tuple[int, str]] = set()
    keep = []
    for row, (pitch, start) in enumerate(notes[:, :2].tolist()):
        place = (start, _DRUM_LINES.get(pitch, _DRUM_LINE))
        if place not in seen:
            seen.add(place)
            keep.append(row)
    notes = notes[keep].copy()
    onsets, group = np.unique(notes[:, 1], return_inverse=True)
    longest = np.zeros(len(onsets), dtype=np.int64)
    np.maximum.at(longest, group, notes[:, 2])
    never = np.iinfo(np.int64).max
    following = np.append(onsets[1:], never)
    bars = np.append(np.asarray(bar_lines, dtype=np.int64), never)
    next_bar = bars[np.searchsorted(bars, onsets, side="right")]
    room = np.minimum(np.minimum(longest, following), next_bar) - onsets
    lengths = np.array([_plain_steps(int(steps), resolution) for steps in room.tolist()], dtype=np.int64)
    notes[:, 2] = (onsets + lengths)[group]
    return notes


@functools.lru_cache(maxsize=1024)
def _plain_steps(steps: int, resolution: int) -> int:
    """The most steps, up to ``steps``, that one note value (dotted or in a tuplet, never tied) can last."""
    for length in range(steps, 1, -1):
        if duration.Duration(Fraction(length, resolution)).type != "complex":
            return length
    return 1


def _element(sounding: np.ndarray, start: int, end: int, drums: bool, spelling: list[str]) -> note.GeneralNote:
    """A rest, a note or a chord for one stretch; a note that began before it or lasts after it is tied."""
    if not len(sounding):
        return note.Rest()
    members: list[note.NotRest] = []
    for pitch, begins, ends, velocity in sounding.tolist():
        member = _drum(pitch) if drums else _note(pitch, spelling)
        member.volume.velocity = int(velocity)
        if begins < start or ends > end:
            kind = "continue" if begins < start and ends > end else "stop" if begins < start else "start"
            member.tie = tie.Tie(kind)
        members.append(member)
    if len(members) == 1:
        return members[0]
    return percussion.PercussionChord(members) if drums else chord.Chord(cast("list[note.Note]", members))


def _tie_drum_pieces(part: stream.Part, strokes: set[Fraction]) -> None:
    """Tie the pieces music21 cut a drum stroke into (to complete a tuplet, say): it ties a cut note but not a cut
    percussion chord. A piece that starts where no stroke (offset in quarter notes) does continues the one before."""
    pieces = [
        (Fraction(measure.offset) + Fraction(element.offset), element)
        for measure in part.getElementsByClass(stream.Measure)
        for element in measure.notesAndRests
    ]
    for i, (at, element) in enumerate(pieces):
        if element.isRest:
            continue
        after = i + 1 < len(pieces) and not pieces[i + 1][1].isRest and pieces[i + 1][0] not in strokes
        kind = {(False, True): "start", (True, True): "continue", (True, False): "stop"}.get((at not in strokes, after))
        members = element.notes if isinstance(element, chord.ChordBase) else [element]
        for member in members:
            member.tie = tie.Tie(kind) if kind else None


def _spelling(tonality: key.Key) -> list[str]:
    """The name of each pitch class in ``tonality``: its scale's own names (in a minor key also the raised sixth
    and seventh, C# and B in D minor), sharps or flats (as its signature) for the others."""
    names = list(_FLAT_NAMES if tonality.sharps < 0 else _SHARP_NAMES)
    scale = tonality.getScale(tonality.mode).getPitches()[:7]
    if tonality.mode == "minor":
        scale += [tonality.tonic.transpose("M6"), tonality.tonic.transpose("-m2")]
    for scale_pitch in scale:
        names[scale_pitch.pitchClass] = scale_pitch.name
    return names


def _note(midi: int, spelling: list[str]) -> note.Note:
    """MIDI pitch ``midi`` spelled as its pitch class is in the key (B#3 is MIDI 60, as C4 is). The few pitches
    below C0 (MIDI 12), which a staff cannot write, move up by octaves."""
    midi = midi + 12 * max(0, (12 - midi + 11) // 12)
    written = note.Note(f"{spelling[midi % 12]}4")
    written.pitch.octave = 4 + (midi - written.pitch.midi) // 12
    return written


def _drum(midi: int) -> note.Unpitched:
    """A General MIDI drum as an unpitched note on its line of the percussion staff."""
    hit = note.Unpitched(displayName=_DRUM_LINES.get(midi, _DRUM_LINE))
    if midi in _CYMBALS:
        hit.notehead = "x"
    return hit


__all__ = ["build_score", "piece_key", "write_musicxml"]
