"""The multitrack piano-roll type: shapes, notes, folding into the model's pitch window, bar lines."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.music.pianoroll import (
    LOWEST_PITCH,
    N_PITCHES,
    Multitrack,
    TrackNotes,
    downbeats_from_time_signatures,
    fold_pitches,
    roll_to_notes,
)
from museforge.music.tracks import role_for_track, role_from_program


def test_from_notes_shapes_and_notes() -> None:
    multitrack = Multitrack.from_notes(
        [TrackNotes("a", "melody", 0, False, [(60, 0, 4, 90)]), TrackNotes("b", "bass", 33, False, [(36, 2, 10, 70)])],
        resolution=4,
    )
    assert multitrack.rolls.shape == (2, 10, 128)
    assert multitrack.notes(1) == [(36, 2, 10, 70)]
    assert multitrack.n_notes == 2
    assert multitrack.track_index("bass") == 1
    assert multitrack.select([1]).roles == ["bass"]


def test_fold_pitches_keeps_out_of_range_notes_by_octave() -> None:
    roll = np.zeros((3, 128), dtype=bool)
    roll[0, 12] = True  # C0, below the window: folds to C1 (24)
    roll[1, 120] = True  # C9, above: folds to C7 (96)
    roll[2, 60] = True
    folded = fold_pitches(roll, LOWEST_PITCH, N_PITCHES)
    assert folded.shape == (3, N_PITCHES)
    assert [int(np.flatnonzero(row)[0]) + LOWEST_PITCH for row in folded] == [24, 96, 60]


def test_roll_to_notes_without_onsets_takes_runs() -> None:
    roll = np.zeros((8, 4), dtype=bool)
    roll[0:3, 1] = True
    roll[5:8, 1] = True
    assert roll_to_notes(roll) == [(1, 0, 3, 100), (1, 5, 8, 100)]


@pytest.mark.parametrize(
    ("signatures", "expected"),
    [
        ([(0, 4, 4)], [0, 16, 32]),
        ([(0, 2, 2)], [0, 16, 32]),
        ([(0, 3, 4), (12, 4, 4)], [0, 3, 6, 9, 12, 16]),
        ([(0, 6, 8)], [0, 12, 24]),
    ],
)
def test_downbeats_follow_the_meter(signatures: list[tuple[int, int, int]], expected: list[int]) -> None:
    resolution = 4 if signatures[0][1] != 3 else 1
    n_steps = 48 if resolution == 4 else 20
    got = downbeats_from_time_signatures(signatures, resolution, n_steps)
    assert list(got[: len(expected)]) == expected


def test_roles_from_names_come_before_programs() -> None:
    assert role_for_track("Chords:", 65, False) == "piano"  # the jazz lead sheets' chord track on a sax program
    assert role_for_track("Melody:Voice", 65, False) == "melody"
    assert role_for_track("Walking Bass (auto)", 33, False) == "bass"
    assert role_for_track("Bassoon", 70, False) == "woodwinds"
    assert role_for_track("anything", 0, True) == "drums"
    assert role_from_program(47, False) == "timpani"
    assert role_from_program(30, False) == "guitar"
    assert role_from_program(41, False) == "strings"


def test_a_key_struck_again_while_it_sounds_restarts_and_sounds_until_the_last_end() -> None:
    # pitch 60: [0, 8) at 50, [4, 6) at 100 (struck again inside), [4, 5) at 30 (same step, quieter: dropped),
    # [10, 12) at 70 after a rest; pitch 64: [2, 3) at 90 alone
    notes = [(60, 0, 8, 50), (60, 4, 6, 100), (60, 4, 5, 30), (60, 10, 12, 70), (64, 2, 3, 90)]
    multitrack = Multitrack.from_notes([TrackNotes("a", "melody", 0, False, notes)], resolution=4)
    assert multitrack.rolls[0, :, 60].tolist() == [50, 50, 50, 50, 100, 100, 100, 100, 0, 0, 70, 70]
    assert np.flatnonzero(multitrack.onsets[0, :, 60]).tolist() == [0, 4, 10]
    assert multitrack.notes(0) == [(60, 0, 4, 50), (64, 2, 3, 90), (60, 4, 8, 100), (60, 10, 12, 70)]


def test_painting_costs_the_roll_not_the_notes_lengths() -> None:
    # 4,000 notes of one pitch, each held 2,048 beats at 12 steps a beat: 98 million note cells, one sounding key
    # (the audit's 24 KB file took 10 s and 3.1 GB; painting went through an int64 list of every note cell)
    import tracemalloc

    held = [(60, 0, 2048 * 12, 90)] * 4000
    tracemalloc.start()
    try:
        multitrack = Multitrack.from_notes([TrackNotes("a", "melody", 0, False, held)], resolution=12)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert multitrack.notes(0) == [(60, 0, 2048 * 12, 90)]
    roll_bytes = multitrack.rolls.nbytes
    assert peak < 8 * roll_bytes  # roll, onsets and the int16 running sum (before: 1,300 times the roll)
