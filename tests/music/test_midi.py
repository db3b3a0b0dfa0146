"""MIDI reading and writing on real files and on the bad input users bring."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes


def _real_files(shared_datasets: Path) -> list[Path]:
    return [
        sorted((shared_datasets / "bach/jsb_chorales_czhuang/midi_derived_satb/train").glob("*.mid"))[0],
        sorted((shared_datasets / "rock/beatles_lmd_midi_ground_truth/mid").glob("*/*.mid"))[0],
        sorted((shared_datasets / "jazz/openbook_realbook_with_bass/midis_with_bass").glob("*.mid"))[0],
        sorted((shared_datasets / "rock/groove_midi_drums_gmd").rglob("*.mid"))[0],
    ]


def test_round_trip_keeps_every_note(shared_datasets: Path, tmp_path: Path) -> None:
    for source in _real_files(shared_datasets):
        first = read_midi(source, resolution=12)
        write_midi(first, tmp_path / "out.mid")
        second = read_midi(tmp_path / "out.mid", resolution=12)
        assert second.n_tracks == first.n_tracks, source.name
        for track in range(first.n_tracks):
            assert second.notes(track) == first.notes(track), (source.name, first.names[track])
        assert second.names == first.names
        assert second.programs == first.programs
        assert second.is_drum == first.is_drum
        assert second.tempos == first.tempos
        assert second.time_signatures == first.time_signatures


def test_notes_land_on_the_grid_of_the_source(shared_datasets: Path) -> None:
    """Every note of a JSB chorale starts where pretty_midi says, at 16th-note resolution."""
    source = _real_files(shared_datasets)[0]
    multitrack = read_midi(source, resolution=4)
    reference = pretty_midi.PrettyMIDI(str(source))
    seconds_per_step = 60.0 / 100.0 / 4  # the derived chorales are a constant 100 qpm
    assert multitrack.tempo == pytest.approx(100.0, abs=0.01)
    for track, instrument in enumerate(reference.instruments):
        expected = sorted(
            (n.pitch, round(n.start / seconds_per_step), round(n.end / seconds_per_step)) for n in instrument.notes
        )
        got = sorted((p, s, e) for p, s, e, _ in multitrack.notes(track))
        assert got == expected
    assert multitrack.roles[0] == "melody"  # "Soprano"


def test_roles_drums_and_programs_of_a_beatles_file(shared_datasets: Path) -> None:
    source = (
        shared_datasets
        / "rock/beatles_lmd_midi_ground_truth/mid/01_-_Please_Please_Me/01_-_I_Saw_Her_Standing_There.v0.mid"
    )
    multitrack = read_midi(source)
    roles = dict(zip(multitrack.names, multitrack.roles, strict=True))
    assert roles["Bass"] == "bass"
    assert roles["Vocal"] == "melody"
    assert roles["Drum&SE"] == "drums"
    drums = multitrack.names.index("Drum&SE")
    assert multitrack.is_drum[drums]


def test_written_file_has_drums_on_channel_ten_and_the_tempo(tmp_path: Path) -> None:
    multitrack = Multitrack.from_notes(
        [
            TrackNotes("Lead", "melody", 73, False, [(72, 0, 4, 90), (74, 4, 8, 90)]),
            TrackNotes("Kit", "drums", 0, True, [(36, 0, 1, 100), (38, 4, 5, 100)]),
        ],
        resolution=4,
        tempo=96.0,
        time_signature=(3, 4),
    )
    write_midi(multitrack, tmp_path / "band.mid")
    parsed = pretty_midi.PrettyMIDI(str(tmp_path / "band.mid"))
    assert parsed.get_tempo_changes()[1][0] == pytest.approx(96.0, abs=0.01)
    assert [(ts.numerator, ts.denominator) for ts in parsed.time_signature_changes] == [(3, 4)]
    flute, kit = parsed.instruments
    assert (flute.program, flute.is_drum, kit.is_drum) == (73, False, True)
    channels = {m.channel for t in mido.MidiFile(tmp_path / "band.mid").tracks for m in t if m.type == "note_on"}
    assert channels == {0, 9}


def test_repeated_notes_stay_apart_from_held_notes(tmp_path: Path) -> None:
    repeated = [(60, 0, 2, 80), (60, 2, 4, 80)]
    held = [(64, 0, 4, 80)]
    multitrack = Multitrack.from_notes([TrackNotes("x", "piano", 0, False, repeated + held)], resolution=4)
    write_midi(multitrack, tmp_path / "r.mid")
    back = read_midi(tmp_path / "r.mid", resolution=4)
    assert back.notes(0) == sorted(repeated + held, key=lambda n: (n[1], n[0]))


def test_the_written_file_reads_in_another_parser_event_for_event(tmp_path: Path) -> None:
    # every kind of event the writer makes, read back by mido: tempo and meter changes, names and programs, a
    # note re-struck where the last one ends (the off before the on), drums on channel 10, a rest of 5,000
    # beats (a four-byte delta), running status between notes and a Latin-1 name
    piano = [(60, 0, 2, 70), (60, 2, 4, 90), (64, 0, 4, 80), (62, 20_000, 20_001, 100)]
    multitrack = Multitrack.from_notes(
        [TrackNotes("Klavier ä", "piano", 4, False, piano), TrackNotes("Kit", "drums", 0, True, [(36, 1, 2, 100)])],
        resolution=4,
        tempos=[(0, 100.0), (4, 150.0)],
        time_signatures=[(0, 3, 4), (6, 6, 8)],
    )
    multitrack.key_signatures = [(0, -3, True), (4, 2, False)]  # C minor (three flats), then D major
    write_midi(multitrack, tmp_path / "all.mid")
    parsed = mido.MidiFile(tmp_path / "all.mid")
    assert parsed.type == 1 and parsed.ticks_per_beat == 480
    assert read_midi(tmp_path / "all.mid", 4).key_signatures == [(0, -3, True), (4, 2, False)]

    def events(track: mido.MidiTrack) -> list[tuple[int, str]]:
        now, out = 0, []
        for message in track:
            now += message.time
            out.append((now, str(message.copy(time=0))))
        return out

    conductor, keys, kit = (events(t) for t in parsed.tracks)
    assert conductor == [
        (0, str(mido.MetaMessage("time_signature", numerator=3, denominator=4))),
        (0, str(mido.MetaMessage("key_signature", key="Cm"))),
        (0, str(mido.MetaMessage("set_tempo", tempo=600_000))),
        (480, str(mido.MetaMessage("key_signature", key="D"))),
        (480, str(mido.MetaMessage("set_tempo", tempo=400_000))),
        (720, str(mido.MetaMessage("time_signature", numerator=6, denominator=8))),
        (720, str(mido.MetaMessage("end_of_track"))),
    ]
    on = lambda tick, note, velocity: (tick, str(mido.Message("note_on", note=note, velocity=velocity)))  # noqa: E731
    off = lambda tick, note: (tick, str(mido.Message("note_off", note=note, velocity=0)))  # noqa: E731
    assert keys == [
        (0, str(mido.MetaMessage("track_name", name="Klavier ä"))),
        (0, str(mido.Message("program_change", program=4))),
        on(0, 60, 70),
        on(0, 64, 80),
        off(240, 60),
        on(240, 60, 90),
        off(480, 64),  # offs at one tick in the order of their notes' starts
        off(480, 60),
        on(2_400_000, 62, 100),
        off(2_400_120, 62),
        (2_400_120, str(mido.MetaMessage("end_of_track"))),
    ]
    assert [m for _, m in kit][2:4] == [
        str(mido.Message("note_on", channel=9, note=36, velocity=100)),
        str(mido.Message("note_off", channel=9, note=36, velocity=0)),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable MIDI"),
        (b"RIFF....WAVEfmt ", "not a readable MIDI"),
        (b"MThd\x00\x00\x00\x06", "not a readable"),
    ],
)
def test_not_midi_is_a_one_line_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "song.mid"
    path.write_bytes(content)
    with pytest.raises(MuseforgeError, match=message) as caught:
        read_midi(path)
    assert "\n" not in str(caught.value)


def _save(tmp_path: Path, messages: list[mido.Message | mido.MetaMessage], name: str = "x.mid") -> Path:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack(messages)
    midi.tracks.append(track)
    path = tmp_path / name
    midi.save(path)
    return path


def test_zero_track_and_note_free_files_are_errors(tmp_path: Path) -> None:
    empty = mido.MidiFile(ticks_per_beat=480)
    empty.save(tmp_path / "empty.mid")
    with pytest.raises(MuseforgeError, match="has no notes"):
        read_midi(tmp_path / "empty.mid")
    with pytest.raises(MuseforgeError, match="has no notes"):
        read_midi(_save(tmp_path, [mido.MetaMessage("set_tempo", tempo=500000)]))


def test_bad_tempi_zero_length_notes_and_odd_meters_are_handled(tmp_path: Path) -> None:
    path = _save(
        tmp_path,
        [
            mido.MetaMessage("set_tempo", tempo=60_000),  # 1000 bpm: implausible, dropped
            mido.MetaMessage("time_signature", numerator=6, denominator=8),
            mido.Message("note_on", note=60, velocity=90, time=0),
            mido.Message("note_off", note=60, velocity=0, time=0),  # zero length
            mido.Message("note_on", note=62, velocity=90, time=480),
            mido.Message("note_off", note=62, velocity=0, time=480),
        ],
    )
    multitrack = read_midi(path, resolution=4)
    assert multitrack.tempo == 120.0  # the MIDI default, since 1000 bpm is not a real tempo
    assert multitrack.notes(0) == [(60, 0, 1, 90), (62, 4, 8, 90)]
    assert multitrack.time_signatures == [(0, 6, 8)]
    assert list(multitrack.downbeats) == [0]  # a 6/8 bar is 3 quarter beats = 12 steps, longer than the piece


def test_a_twenty_thousand_note_file_reads(tmp_path: Path) -> None:
    messages: list[mido.Message] = []
    for i in range(20_000):
        messages.append(mido.Message("note_on", note=40 + i % 40, velocity=80, time=0 if i == 0 else 60))
        messages.append(mido.Message("note_off", note=40 + i % 40, velocity=0, time=60))
    multitrack = read_midi(_save(tmp_path, messages, "long.mid"), resolution=4)
    assert multitrack.n_notes == 20_000


def test_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = _save(
        tmp_path, [mido.Message("note_on", note=60, velocity=80), mido.Message("note_off", note=60, time=480 * 1000)]
    )
    with pytest.raises(MuseforgeError, match="too long"):
        read_midi(path, resolution=12, max_steps=10_000)


def test_beat_annotations_place_notes_by_the_heard_beat(tmp_path: Path) -> None:
    """A file at 120 bpm whose annotated beats are 0.6 s apart: the grid follows the annotation."""
    path = _save(
        tmp_path,
        [
            mido.Message("note_on", note=60, velocity=80, time=int(480 * 1.2)),  # at 0.6 s
            mido.Message("note_off", note=60, velocity=0, time=int(480 * 1.2)),  # until 1.2 s
        ],
    )
    beats = np.arange(0, 10) * 0.6
    multitrack = read_midi(path, resolution=4, beat_times=beats, downbeat_times=beats[::4])
    assert multitrack.notes(0) == [(60, 4, 8, 80)]
    assert multitrack.tempo == pytest.approx(100.0)
    assert list(multitrack.downbeats) == [0]


def test_write_to_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    multitrack = Multitrack.from_notes([TrackNotes("x", "piano", 0, False, [(60, 0, 4, 80)])], resolution=4)
    with pytest.raises(MuseforgeError, match="does not exist"):
        write_midi(multitrack, tmp_path / "nowhere" / "x.mid")
    assert not (tmp_path / "nowhere").exists()
