"""The positions in the beat where a track's notes change, read from its data (small rolls counted by hand)."""

from __future__ import annotations

import numpy as np

from museforge.music.meter import grid_from_bars
from museforge.music.rhythm import beat_positions, change_counts, change_grid, still_steps


def test_changes_are_counted_by_their_position_in_the_beat() -> None:
    roll = np.zeros((2, 8, 3), dtype=bool)
    roll[0, 0:4, 0] = True  # starts at 0 (not counted: the window's first step), stops at 4 (position 0)
    roll[0, 4:6, 1] = True  # the same step 4 changes once, stops at 6 (position 2)
    roll[1, 2:3, 2] = True  # starts at 2 (position 2), stops at 3 (position 3)
    assert change_counts(roll, resolution=4).tolist() == [1, 0, 2, 1]


def test_the_grid_holds_the_positions_of_nearly_every_change_most_used_first() -> None:
    assert change_grid(np.array([880, 0, 120, 0])) == [0, 2]
    assert change_grid(np.array([1000, 0, 0, 0])) == [0]
    assert change_grid(np.array([7439, 0, 2538, 23])) == [0, 2]  # 0.23 % on the "a" is left out
    assert change_grid(np.array([7088, 12, 2699, 200])) == [0, 2, 3]
    assert change_grid(np.zeros(4)) is None


def test_positions_count_from_each_beat_of_the_meter() -> None:
    assert beat_positions(8, 4).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    # a 6/8 bar of 12 steps: two dotted-quarter beats of 6 steps; the beat's third eighth reads as position 0
    grid = grid_from_bars([(0, 12)], [6.0], 12)
    assert beat_positions(12, 4, grid).tolist() == [0, 1, 2, 3, 0, 1, 0, 1, 2, 3, 0, 1]
    still = still_steps(beat_positions(8, 4), [0])
    assert still.tolist() == [False, True, True, True, False, True, True, True]
    assert not still_steps(np.array([3, 0]), [0])[0]  # a roll's first step may always change
