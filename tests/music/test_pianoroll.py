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
