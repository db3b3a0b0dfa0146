"""The melody's scale and the common key: estimates on hand-made melodies, transposition that keeps drums."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.music.keys import common_key_shift, in_scale_mask, onset_histograms, scale_tonics, transpose_rolls


def test_scale_tonics_from_onset_histograms() -> None:
    h = np.zeros((3, 12))
    h[0, [7, 9, 11, 0, 2, 4, 6]] = 1  # G major scale
    h[1, [9, 11, 0, 2, 4, 5, 7]] = [4, 1, 2, 1, 3, 1, 1]  # A natural minor: C major's set
    assert scale_tonics(h).tolist() == [7, 0, -1]
    assert in_scale_mask([7, -1]).sum(axis=1).tolist() == [7, 0]


@pytest.mark.parametrize(("tonic", "shift"), [(0, 0), (2, -2), (5, -5), (6, 6), (7, 5), (11, 1), (-1, 0)])
def test_common_key_shift_moves_the_scale_to_c_within_a_tritone(tonic: int, shift: int) -> None:
    assert int(common_key_shift(np.array([tonic]))[0]) == shift
    if tonic >= 0:
        assert (tonic + shift) % 12 == 0


def test_onset_histograms_count_note_starts_not_held_steps() -> None:
    melody = np.zeros((1, 8, 84), dtype=bool)
    melody[0, 0:6, 36] = True  # C3 held 6 steps: one onset
    melody[0, 6:8, 43] = True  # G3: one onset
    assert onset_histograms(melody, 24)[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_transpose_rolls_moves_pitched_tracks_per_window_and_keeps_drums() -> None:
    x = np.zeros((2, 2, 4, 84), dtype=bool)
    x[:, 0, :, 40] = True  # pitched
    x[:, 1, :, 14] = True  # drums (a snare key)
    moved = transpose_rolls(x, np.array([3, -5]), is_drum=[False, True])
    assert np.flatnonzero(moved[0, 0].any(axis=0)).tolist() == [43]
    assert np.flatnonzero(moved[1, 0].any(axis=0)).tolist() == [35]
    assert np.array_equal(moved[:, 1], x[:, 1])
    # Notes pushed past the window are dropped, not wrapped.
    edge = np.zeros((1, 1, 84), dtype=bool)
    edge[0, 0, 83] = True
    assert not transpose_rolls(edge, np.array([2])).any()
