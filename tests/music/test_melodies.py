"""The built-in sample melodies: whole bars, singable range, the right notes, and a faithful MIDI rendering."""

from __future__ import annotations

import itertools
from pathlib import Path

import pretty_midi
import pytest

from museforge.errors import MuseforgeError, NotFoundError
from museforge.music.melodies import (
    SampleMelody,
    get_melody,
    list_melodies,
    melody_names,
    melody_to_multitrack,
    note_number,
)
from museforge.music.midi import read_midi, write_midi

#: Excerpts that stop at the end of the tune's first half, on the dominant.
HALF_CADENCE = {"amazing_grace"}
REQUIRED = ["twinkle", "ode_to_joy", "new_world", "we_wish_you", "deck_the_halls", "frere_jacques"]
ALL = melody_names()
C4, C6 = 60, 84
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
TONICS = {"C": 0, "D-flat": 1, "D": 2, "E-flat": 3, "E": 4, "F": 5, "G": 7, "A": 9, "B-flat": 10}


def _names(pitches: list[int]) -> list[str]:
    letters = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    return [letters[p % 12] for p in pitches]


def test_note_number() -> None:
    assert note_number("C4") == 60
    assert note_number("A4") == 69
    assert note_number("F#4") == 66
    assert note_number("Bb3") == 58
    assert note_number("C6") == 84
    with pytest.raises(ValueError):
        note_number("H4")


def test_the_required_samples_are_there_with_unique_names() -> None:
    names = [m.name for m in list_melodies()]
    assert names[: len(REQUIRED)] == REQUIRED
    assert len(set(names)) == len(names)
    assert {"happy_birthday", "amazing_grace"} <= set(names)


@pytest.mark.parametrize("name", ALL)
def test_whole_bars_four_to_eight_of_them(name: str) -> None:
    melody = get_melody(name)
    bar = melody.beats_per_bar
    last_end = max(start + duration for _, start, duration in melody.notes)
    assert last_end == pytest.approx(melody.n_beats), "the last note must end on the final bar line"
    assert melody.n_beats == pytest.approx(melody.n_bars * bar)
    first_start = melody.notes[0][1]
    if melody.pickup_beats:
        # An upbeat sits at the end of an otherwise silent first bar (documented in the module).
        assert 0 < melody.pickup_beats < bar
        assert first_start == pytest.approx(bar - melody.pickup_beats)
        tune_bars = melody.n_bars - 1
    else:
        assert first_start == 0.0
        tune_bars = melody.n_bars
    assert 4 <= tune_bars <= 8


@pytest.mark.parametrize("name", ALL)
def test_monophonic_and_legato_from_first_note_to_last(name: str) -> None:
    melody = get_melody(name)
    starts = [start for _, start, _ in melody.notes]
    assert starts == sorted(starts)
    for (_, start, duration), (_, next_start, _) in itertools.pairwise(melody.notes):
        assert duration > 0
        # None of these tunes has a rest: each note ends exactly where the next begins.
        assert start + duration == pytest.approx(next_start)
    total = sum(duration for _, _, duration in melody.notes)
    assert total == pytest.approx(melody.n_beats - melody.notes[0][1])


@pytest.mark.parametrize("name", ALL)
def test_range_tempo_meter_and_key(name: str) -> None:
    melody = get_melody(name)
    low, high = melody.pitch_range
    assert low >= C4
    assert high <= C6
    assert 40 <= melody.tempo <= 200
    assert melody.time_signature in {(4, 4), (3, 4)}
    tonic_name, mode = melody.key.rsplit(" ", 1)
    assert mode == "major"
    scale = {(TONICS[tonic_name] + step) % 12 for step in MAJOR_STEPS}
    outside = [p for p, _, _ in melody.notes if p % 12 not in scale]
    assert not outside, f"{name}: notes outside {melody.key}: {_names(outside)}"
    # The excerpt ends on its tonic, or on the dominant where it is the first half of a tune (a half cadence).
    final = (melody.notes[-1][0] - TONICS[tonic_name]) % 12
    assert final == (7 if name in HALF_CADENCE else 0)
    assert melody.title and melody.composer and melody.about


def test_every_bar_line_is_a_real_bar_line() -> None:
    """In 4/4 tunes every bar starts with a note (no note spans a bar line except the held endings)."""
    for melody in list_melodies():
        onsets = {start for _, start, _ in melody.notes}
        held = melody.notes[-1]
        for bar in range(1 if melody.pickup_beats else 0, melody.n_bars):
            downbeat = bar * melody.beats_per_bar
            inside_last = held[1] < downbeat < held[1] + held[2]
            assert downbeat in onsets or inside_last, (melody.name, bar)


def test_twinkle_opening() -> None:
    notes = get_melody("twinkle").notes
    assert _names([p for p, _, _ in notes[:7]]) == ["C", "C", "G", "G", "A", "A", "G"]
    assert [p for p, _, _ in notes[:7]] == [60, 60, 67, 67, 69, 69, 67]
    assert [d for _, _, d in notes[:7]] == [1, 1, 1, 1, 1, 1, 2]
    assert notes[-1] == (60, 14.0, 2.0)


def test_ode_to_joy_opening_and_dotted_rhythm() -> None:
    melody = get_melody("ode_to_joy")
    pitches = [p for p, _, _ in melody.notes]
    assert _names(pitches[:8]) == ["E", "E", "F", "G", "G", "F", "E", "D"]
    # Bar 4 "E. D D" and bar 8 "D. C C": dotted quarter, eighth, half.
    bar4 = [n for n in melody.notes if 12 <= n[1] < 16]
    bar8 = [n for n in melody.notes if 28 <= n[1] < 32]
    assert bar4 == [(64, 12.0, 1.5), (62, 13.5, 0.5), (62, 14.0, 2.0)]
    assert bar8 == [(62, 28.0, 1.5), (60, 29.5, 0.5), (60, 30.0, 2.0)]


def test_frere_jacques_opening() -> None:
    pitches = [p for p, _, _ in get_melody("frere_jacques").notes]
    assert _names(pitches[:4]) == ["C", "D", "E", "C"]
    assert [b - a for a, b in itertools.pairwise(pitches[:5])] == [2, 2, -4, 0]


def test_new_world_largo_theme() -> None:
    melody = get_melody("new_world")
    assert melody.key == "D-flat major" and melody.tempo == 52.0
    pitches = [p for p, _, _ in melody.notes]
    # mi sol sol | mi re do in D-flat: F Ab Ab | F Eb Db, dotted quarter + eighth + half.
    assert _names(pitches[:6]) == ["F", "Ab", "Ab", "F", "Eb", "C#"]
    assert [d for _, _, d in melody.notes[:6]] == [1.5, 0.5, 2, 1.5, 0.5, 2]


def test_three_four_tunes_keep_their_meter_and_upbeat() -> None:
    for name in ("we_wish_you", "amazing_grace", "happy_birthday"):
        melody = get_melody(name)
        assert melody.time_signature == (3, 4)
        assert melody.beats_per_bar == 3.0
        assert melody.pickup_beats == 1.0
        assert melody.n_bars == 9
    for name in REQUIRED:
        if name != "we_wish_you":
            assert get_melody(name).time_signature == (4, 4)
    we_wish = get_melody("we_wish_you").notes
    # "We | wish you a mer-ry | Christ-mas": D | G G A G F# | E
    assert _names([p for p, _, _ in we_wish[:7]]) == ["D", "G", "G", "A", "G", "F#", "E"]
    birthday = get_melody("happy_birthday").notes
    assert _names([p for p, _, _ in birthday[:6]]) == ["C", "C", "D", "C", "F", "E"]
    assert [d for _, _, d in birthday[:2]] == [0.75, 0.25]


def test_get_melody_accepts_cli_spellings() -> None:
    assert get_melody("ode-to-joy") is get_melody("ode_to_joy")
    assert get_melody(" Twinkle ").name == "twinkle"


def test_get_melody_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(NotFoundError) as caught:
        get_melody("jingle_bells")
    message = str(caught.value)
    assert "\n" not in message
    assert "jingle_bells" in message
    for name in ALL:
        assert name in message
    assert isinstance(caught.value, MuseforgeError)


def test_multitrack_steps_at_resolution_4() -> None:
    melody = get_melody("twinkle")
    multitrack = melody_to_multitrack(melody, resolution=4)
    assert multitrack.n_tracks == 1
    assert multitrack.roles == ["melody"]
    assert multitrack.programs == [0]
    assert multitrack.is_drum == [False]
    assert "Twinkle Twinkle Little Star" in multitrack.names[0]
    assert multitrack.resolution == 4
    assert multitrack.n_steps == 4 * 4 * 4
    assert multitrack.tempos == [(0, 100.0)]
    assert multitrack.time_signatures == [(0, 4, 4)]
    notes = multitrack.notes(0)
    # A quarter note is 4 steps; the repeated C C and G G stay two notes each; the 7th note is a half (8 steps).
    assert [(p, s, e) for p, s, e, _ in notes[:7]] == [
        (60, 0, 4),
        (60, 4, 8),
        (67, 8, 12),
        (67, 12, 16),
        (69, 16, 20),
        (69, 20, 24),
        (67, 24, 32),
    ]
    assert multitrack.n_notes == len(melody.notes)
    assert multitrack.rolls[0, :, 60].sum() > 0 and multitrack.rolls.max() == 100


def test_multitrack_bars_and_upbeat_in_three_four() -> None:
    melody = get_melody("happy_birthday")
    multitrack = melody_to_multitrack(melody, resolution=4)
    assert multitrack.time_signatures == [(0, 3, 4)]
    assert multitrack.n_steps == 9 * 3 * 4
    assert list(multitrack.downbeats) == list(range(0, 108, 12))
    notes = multitrack.notes(0)
    # The upbeat "Hap-py" (dotted eighth + sixteenth) ends the silent first bar; "birth-" is on the downbeat.
    assert [(p, s, e) for p, s, e, _ in notes[:3]] == [(60, 8, 11), (60, 11, 12), (62, 12, 16)]
    assert not multitrack.rolls[0, :8].any()


@pytest.mark.parametrize("name", ALL)
def test_multitrack_matches_the_notes(name: str) -> None:
    melody = get_melody(name)
    multitrack = melody_to_multitrack(melody, resolution=12)
    expected = [(p, round(s * 12), round((s + d) * 12), 100) for p, s, d in melody.notes]
    assert multitrack.notes(0) == expected
    assert multitrack.n_steps == round(melody.n_beats * 12)


def test_resolution_too_coarse_is_a_clear_error() -> None:
    with pytest.raises(MuseforgeError, match="grid of 2 steps"):
        melody_to_multitrack(get_melody("happy_birthday"), resolution=2)  # has sixteenths
    with pytest.raises(MuseforgeError):
        melody_to_multitrack(get_melody("twinkle"), resolution=0)
    assert melody_to_multitrack(get_melody("twinkle"), resolution=1).n_steps == 16


@pytest.mark.parametrize("name", ALL)
def test_written_midi_has_the_same_pitches_and_times(name: str, tmp_path: Path) -> None:
    melody: SampleMelody = get_melody(name)
    path = tmp_path / f"{name}.mid"
    write_midi(melody_to_multitrack(melody), path)
    midi = pretty_midi.PrettyMIDI(str(path))
    assert len(midi.instruments) == 1
    instrument = midi.instruments[0]
    assert instrument.program == 0 and not instrument.is_drum
    seconds_per_beat = 60.0 / melody.tempo
    got = sorted(instrument.notes, key=lambda n: n.start)
    assert [n.pitch for n in got] == [p for p, _, _ in melody.notes]
    for note, (_, start, duration) in zip(got, melody.notes, strict=True):
        assert note.start == pytest.approx(start * seconds_per_beat, abs=1e-3)
        assert note.end == pytest.approx((start + duration) * seconds_per_beat, abs=1e-3)
    assert midi.get_tempo_changes()[1][0] == pytest.approx(melody.tempo, abs=0.01)
    signature = midi.time_signature_changes[0]
    assert (signature.numerator, signature.denominator) == melody.time_signature
    # Read back by museforge itself, the track is still the melody.
    assert read_midi(path).roles == ["melody"]
