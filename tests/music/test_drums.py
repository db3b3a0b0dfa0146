"""The General MIDI drum kit: Groove's Roland keys moved onto their instruments, and the kit a genre's data play."""

from __future__ import annotations

import numpy as np

from museforge.music.drums import ROLAND_TD11_TO_GM, kit_pitches, roland_to_general_midi
from museforge.music.keys import onset_counts
from museforge.music.pianoroll import Multitrack, TrackNotes


def test_roland_edges_and_rims_move_to_their_instruments_and_pitched_tracks_stay() -> None:
    drums = [(22, 0, 1, 90), (26, 4, 5, 80), (58, 8, 9, 70), (42, 12, 13, 60), (22, 12, 13, 100), (36, 0, 1, 110)]
    piano = [(22, 0, 4, 64), (58, 4, 8, 64)]  # a pitched track keeps its pitches
    music = Multitrack.from_notes(
        [TrackNotes("Drums", "drums", 0, True, drums), TrackNotes("Piano", "piano", 0, False, piano)], 4
    )
    moved = roland_to_general_midi(music)
    assert moved.notes(0) == [(36, 0, 1, 110), (42, 0, 1, 90), (46, 4, 5, 80), (43, 8, 9, 70), (42, 12, 13, 100)]
    assert moved.notes(1) == music.notes(1)
    assert music.notes(0)[0][0] == 22  # the input is not changed
    assert set(ROLAND_TD11_TO_GM.values()) <= set(range(35, 82))


def test_hits_are_counted_per_key_and_a_held_cell_is_one_hit() -> None:
    roll = np.zeros((2, 8, 5), dtype=bool)
    roll[0, 0:3, 1] = True  # one hit held three steps
    roll[0, 5, 1] = True
    roll[1, [0, 2, 4], 3] = True
    assert onset_counts(roll).tolist() == [0, 2, 0, 3, 0]


def test_the_kit_covers_the_datas_hits_on_general_midi_keys() -> None:
    counts = np.zeros(84, dtype=np.int64)  # column 0 = MIDI 24
    counts[42 - 24], counts[38 - 24], counts[36 - 24] = 500, 300, 180
    counts[62 - 24] = 10  # a conga, 1 % of the hits
    counts[94 - 24] = 2  # no General MIDI key
    counts[26 - 24] = 50  # no General MIDI key either, however often
    assert kit_pitches(counts, 24) == [36, 38, 42, 62]  # 99 % of the 990 General MIDI hits needs the conga
    assert kit_pitches(counts, 24, coverage=0.95) == [36, 38, 42]
    counts[49 - 24] = 10  # tied with the conga at the cut: both stay
    assert kit_pitches(counts, 24) == [36, 38, 42, 49, 62]
    assert kit_pitches(np.zeros(84, dtype=np.int64), 24) == []
