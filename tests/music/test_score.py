"""music21 scores -> multitracks: ties, chords, pickups, tempo and meter, on built scores and a real chorale."""

from __future__ import annotations

import numpy as np
import pytest
from music21 import chord, corpus, meter, note, stream, tempo

from museforge.errors import MuseforgeError
from museforge.music.score import DEFAULT_TEMPO, read_score


def _score_with_pickup() -> stream.Score:
    """Two parts in 4/4 at 90 bpm: a one-beat pickup, a chord, a half note tied over the bar line, a rest."""
    upper = stream.Part(id="upper")
    upper.partName = "Soprano"
    pickup = stream.Measure(number=0)
    pickup.append(meter.TimeSignature("4/4"))
    pickup.append(tempo.MetronomeMark(number=90))
    pickup.append(note.Note("G4", quarterLength=1))
    pickup.paddingLeft = 3.0
    first = stream.Measure(number=1)
    first.append(chord.Chord(["E4", "G4", "C5"], quarterLength=2))
    tied_start = note.Note("C5", quarterLength=2)
    tied_start.tie = note.tie.Tie("start")
    first.append(tied_start)
    second = stream.Measure(number=2)
    tied_end = note.Note("C5", quarterLength=1)
    tied_end.tie = note.tie.Tie("stop")
    second.append(tied_end)
    second.append(note.Rest(quarterLength=1))
    second.append(note.Note("D5", quarterLength=2))
    upper.append([pickup, first, second])

    lower = stream.Part(id="lower")
    lower.partName = "Bass"
    for number, pitch, length in ((0, "G2", 1), (1, "C3", 4), (2, "G2", 4)):
        measure = stream.Measure(number=number)
        if number == 0:
            measure.append(meter.TimeSignature("4/4"))
            measure.paddingLeft = 3.0
        measure.append(note.Note(pitch, quarterLength=length))
        lower.append(measure)
    score = stream.Score([upper, lower])
    return score


def test_notes_ties_chords_and_pickup() -> None:
    multitrack = read_score(_score_with_pickup(), resolution=4)
    assert multitrack.n_tracks == 2
    assert multitrack.names == ["Soprano", "Bass"]
    assert multitrack.roles == ["melody", "bass"]
    # The pickup plays from step 0; the tie joins C5 over the bar line (steps 12..24, 3 beats), and the chord's
    # own C5 just before it stays a separate note.
    assert multitrack.notes(0) == [
        (67, 0, 4, 90),
        (64, 4, 12, 90),
        (67, 4, 12, 90),
        (72, 4, 12, 90),
        (72, 12, 24, 90),
        (74, 28, 36, 90),
    ]
    assert [n[:3] for n in multitrack.notes(1)] == [(43, 0, 4), (48, 4, 20), (43, 20, 36)]
    # Bar lines at the real bars only: the pickup measure is not a bar start.
    assert multitrack.downbeats.tolist() == [4, 20]
    assert multitrack.tempo == pytest.approx(90.0)
    assert multitrack.time_signatures == [(0, 4, 4)]
    assert multitrack.n_steps == 36


def test_a_score_without_a_metronome_mark_gets_the_default_tempo() -> None:
    part = stream.Part()
    part.append(meter.TimeSignature("3/4"))
    part.append(note.Note("A4", quarterLength=3))
    multitrack = read_score(stream.Score([part]), resolution=12)
    assert multitrack.tempo == DEFAULT_TEMPO
    assert multitrack.time_signatures == [(0, 3, 4)]
    assert multitrack.notes(0) == [(69, 0, 36, 90)]


def test_a_score_without_notes_is_an_error() -> None:
    part = stream.Part()
    part.append(note.Rest(quarterLength=4))
    with pytest.raises(MuseforgeError, match="no notes"):
        read_score(stream.Score([part]), resolution=4)


def test_a_bundled_chorale_in_three_four() -> None:
    """BWV 269 opens with a one-beat pickup in 3/4: 12-step bars from step 4; the soprano matches music21."""
    score = corpus.parse("bach/bwv269")
    multitrack = read_score(score, resolution=4)
    assert multitrack.names == ["Soprano", "Alto", "Tenor", "Bass"]
    assert multitrack.time_signatures == [(0, 3, 4)]
    assert multitrack.downbeats[0] == 4
    assert np.diff(multitrack.downbeats[:6]).tolist() == [12] * 5
    soprano = score.parts[0].stripTies().flatten().notes
    expected = [(n.pitch.midi, round(n.offset * 4), round((n.offset + n.quarterLength) * 4)) for n in soprano]
    assert [n[:3] for n in multitrack.notes(0)] == expected
