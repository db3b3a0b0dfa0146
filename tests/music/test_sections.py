"""A section plays a track: the symphony's woodwinds on a Clarinet hand their notes below D3 to a Bassoon in the
MIDI file, the audio and the score, and stay one part for everything that reads the piece back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
from music21 import instrument

from museforge.music.instruments import playable_range, section_for
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.music.sections import join_sections, perform_sections, performed_instrument
from museforge.pipelines.compose import compose
from museforge.pipelines.regenerate import regenerate
from museforge.render.musicxml import build_score

# (pitch, start, end, velocity) on a 4-step beat: a D3 and a C3 under a G4 chord tone, then a Bb1 alone
WOODWINDS = [(67, 0, 8, 90), (50, 0, 8, 80), (48, 8, 12, 70), (48, 12, 16, 72), (34, 16, 20, 60)]


def _piece(woodwinds: list[tuple[int, int, int, int]], program: int = 71) -> Multitrack:
    return Multitrack.from_notes(
        [
            TrackNotes("Tune (melody)", "melody", 0, False, [(72, 0, 8, 100), (74, 8, 20, 100)]),
            TrackNotes("Woodwinds", "woodwinds", program, False, woodwinds),
            TrackNotes("Brass", "brass", 61, False, [(48, 0, 20, 90)]),
        ],
        resolution=4,
    )


def test_the_woodwinds_section_reaches_the_bassoons_low_notes() -> None:
    section = section_for(71, "woodwinds")
    assert section is not None and (section.low_program, section.split) == (70, 50)
    assert playable_range(71, "woodwinds") == (34, 94)  # Bassoon's Bb1 to the Clarinet's Bb6
    assert playable_range(71) == (50, 94) and section_for(71, "melody") is None  # a Clarinet alone
    assert performed_instrument(71, "woodwinds") == "Clarinet (Bassoon below D3)"
    assert performed_instrument(73, "woodwinds") == "Flute"


def test_notes_below_the_split_go_to_the_bassoon_and_the_rest_stays() -> None:
    music = _piece(WOODWINDS)
    performed = perform_sections(music)
    assert performed.names == ["Tune (melody)", "Woodwinds", "Woodwinds (Bassoon)", "Brass"]
    assert performed.programs == [0, 71, 70, 61] and performed.roles[2] == "woodwinds"
    assert performed.notes(1) == [(50, 0, 8, 80), (67, 0, 8, 90)]  # D3 is the Clarinet's lowest note
    assert performed.notes(2) == [(48, 8, 12, 70), (48, 12, 16, 72), (34, 16, 20, 60)]  # repeated C3 stays two
    assert performed.notes(3) == music.notes(2)  # the brass's C3 is no section's
    assert performed.metadata == {"sections": [["Woodwinds", "Woodwinds (Bassoon)", 71]]}
    assert music.n_tracks == 3 and music.metadata is None  # the part itself is not changed
    high = _piece([n for n in WOODWINDS if n[0] >= 50])
    assert perform_sections(high) is high  # nothing below the split: one Clarinet
    flute = _piece(WOODWINDS, program=73)
    assert perform_sections(flute) is flute  # a program the user chose plays the part alone


def test_the_midi_file_has_both_instruments_and_reads_back_as_one_part(tmp_path: Path) -> None:
    music = _piece(WOODWINDS)
    write_midi(music, tmp_path / "piece.mid")
    other = pretty_midi.PrettyMIDI(str(tmp_path / "piece.mid"))  # what a DAW or another library sees
    assert [(i.name, i.program) for i in other.instruments] == [
        ("Tune (melody)", 0),
        ("Woodwinds", 71),
        ("Woodwinds (Bassoon)", 70),
        ("Brass", 61),
    ]
    assert sorted(n.pitch for n in other.instruments[2].notes) == [34, 48, 48]
    back = read_midi(tmp_path / "piece.mid", resolution=4)
    assert back.names == music.names and back.programs == music.programs and back.roles == music.roles
    assert np.array_equal(back.rolls, music.rolls) and np.array_equal(back.onsets, music.onsets)
    assert back.metadata is None


def test_a_part_played_all_below_the_split_reads_back_on_its_program(tmp_path: Path) -> None:
    music = _piece([n for n in WOODWINDS if n[0] < 50])
    write_midi(music, tmp_path / "low.mid")
    assert [i.program for i in pretty_midi.PrettyMIDI(str(tmp_path / "low.mid")).instruments] == [0, 70, 61]
    back = read_midi(tmp_path / "low.mid", resolution=4)
    assert back.names == music.names and back.programs == [0, 71, 61]
    assert back.notes(1) == music.notes(1)


def test_a_file_renamed_elsewhere_keeps_both_tracks() -> None:
    performed = perform_sections(_piece(WOODWINDS))
    performed.names[2] = "Bassoons"  # a DAW user renamed the track: no pair to join, nothing lost
    joined = join_sections(performed)
    assert joined.names == ["Tune (melody)", "Woodwinds", "Bassoons", "Brass"] and joined.metadata is None
    assert sum(joined.count_notes(i) for i in range(4)) == sum(performed.count_notes(i) for i in range(4))


def test_the_score_gives_the_bassoon_its_own_staff() -> None:
    score = build_score(_piece(WOODWINDS), title="Section")
    sounds = [part.recurse().getElementsByClass(instrument.Instrument).first() for part in score.parts]
    assert [s.instrumentName for s in sounds] == ["Acoustic Grand Piano", "Clarinet", "Bassoon", "Brass Section"]
    assert [part.partName for part in score.parts][1:3] == ["Woodwinds", "Woodwinds (Bassoon)"]
    bassoon = [n.pitch.midi for n in score.parts[2].recurse().notes]
    assert sorted(bassoon) == [34, 48, 48]


def test_regenerating_the_brass_keeps_the_woodwinds_low_notes(tmp_path: Path) -> None:
    """A symphony piece whose woodwinds go below D3 (Amazing Grace, seed 1) regenerated on its brass: the woodwinds
    part, Bassoon notes included, is kept note for note and written as the same two instruments."""
    first = compose("amazing_grace", "symphony", seed=1, out_midi=tmp_path / "first.mid")
    woodwinds = first.multitrack.roles.index("woodwinds")
    assert any(note[0] < 50 for note in first.multitrack.notes(woodwinds))
    again = regenerate(tmp_path / "first.mid", tracks=["brass"], seed=2, out_midi=tmp_path / "again.mid")
    assert again.multitrack.names == first.multitrack.names
    assert again.multitrack.notes(woodwinds) == first.multitrack.notes(woodwinds)
    written = pretty_midi.PrettyMIDI(str(tmp_path / "again.mid"))
    assert [i.program for i in written.instruments if i.name.startswith("Woodwinds")] == [71, 70]
