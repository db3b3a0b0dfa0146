"""The metric grid a meter-aware model reads, checked by hand: bar lines and beats of 4/4, 3/4, 6/8, a pickup and a
meter change."""

from __future__ import annotations

import numpy as np

from museforge.music.meter import piece_grid, window_grid

R = 4  # steps per quarter note


def test_windows_of_each_meter_have_its_bar_lines_and_beats() -> None:
    grids = window_grid(np.array([[4, 4], [3, 4], [6, 8], [9, 8]]), R, 36)
    assert grids.shape == (4, 36, 2) and grids.dtype == np.float32
    lines = [np.flatnonzero(g[:, 0]).tolist() for g in grids]
    beats = [np.flatnonzero(g[:, 1]).tolist() for g in grids]
    assert lines == [[0, 16, 32], [0, 12, 24], [0, 12, 24], [0, 18]]
    assert beats[0] == list(range(0, 36, 4)) and beats[1] == list(range(0, 36, 4))
    assert beats[2] == list(range(0, 36, 6)) and beats[3] == list(range(0, 36, 6))  # dotted-quarter beats


def test_a_piece_with_a_pickup_and_a_meter_change() -> None:
    # one beat of pickup, two bars of 3/4, then two bars of 6/8
    grid = piece_grid(4 + 24 + 24, [4, 16, 28, 40], [(0, 3, 4), (28, 6, 8)], R)
    assert np.flatnonzero(grid[:, 0]).tolist() == [4, 16, 28, 40]
    assert np.flatnonzero(grid[:, 1]).tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 34, 40, 46]
    assert not grid[:4, 0].any()  # the pickup is no bar
