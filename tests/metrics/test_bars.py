"""The drums' repetition and backbeat measured in each window's own bars: waltzes, pickups and 12/8 by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from museforge.metrics import music_metrics
from museforge.metrics.bars import bar_groups, window_bars
from museforge.metrics.report import drum_bar_metrics
from museforge.music.meter import piece_grid, window_grid

LOW, RES = 24, 4
KICK, SNARE, HAT = 36, 38, 42
TRACKS = [
    {"role": "drums", "program": 0, "is_drum": True},
    {"role": "piano", "program": 0, "is_drum": False},
]


def waltz(steps: int = 64, first: int = 0) -> np.ndarray:
    """``(2, steps, 84)``: a 3/4 groove (kick on 1, snare on 2 and 3) and a piano C-E-G chord on every bar's first
    beat, in 12-step bars from step ``first``; nothing before it (a pickup bar)."""
    out = np.zeros((2, steps, 84), dtype=bool)
    for bar in range(first, steps, 12):
        for key, beat in ((KICK, 0), (SNARE, 1), (SNARE, 2)):
            if bar + beat * RES < steps:
                out[0, bar + beat * RES, key - LOW] = True
        out[1, bar : min(bar + RES, steps), [60 - LOW, 64 - LOW, 67 - LOW]] = True
    return out


def test_window_bars_reads_first_line_and_bar_length() -> None:
    grids = window_grid(np.array([[4, 4], [3, 4], [12, 8]]), RES, 64)
    assert window_bars(grids, 16).tolist() == [[0, 16], [0, 12], [0, 24]]
    pickup = piece_grid(64, [4, 16, 28, 40, 52], [(0, 3, 4)], RES)
    assert window_bars(pickup[None], 16).tolist() == [[4, 12]]
    # no bar line: the model's bar from step 0; one bar line: the model's bar from it
    one = np.zeros((2, 64, 2), np.float32)
    one[1, 10, 0] = 1
    assert window_bars(one, 16).tolist() == [[0, 16], [10, 16]]
    with pytest.raises(ValueError, match="grids"):
        window_bars(np.zeros((64, 2)), 16)


def test_bar_groups_gather_windows_that_share_their_bars() -> None:
    groups = bar_groups(np.array([[0, 16], [0, 12], [0, 16], [4, 12]]))
    assert [(rows.tolist(), first, steps) for rows, first, steps in groups] == [
        ([1], 0, 12),
        ([0, 2], 0, 16),
        ([3], 4, 12),
    ]


def _metrics(rolls: np.ndarray, grids: np.ndarray | None) -> dict[str, dict[str, float]]:
    melody = np.zeros((len(rolls), rolls.shape[2], 84), dtype=bool)
    return music_metrics(melody, rolls, TRACKS, ["drums", "piano"], RES, LOW, 4, grids=grids)


def test_a_waltz_groove_repeats_in_its_own_bars() -> None:
    rolls = waltz()[None]
    own = _metrics(rolls, window_grid(np.array([[3, 4]]), RES, 64))
    # five whole 12-step bars, each the same pattern: it repeats exactly
    assert own["drums"]["drum_repetition"] == 1.0
    assert math.isnan(own["drums"]["backbeat_rate"])  # a 3-beat bar has no beats 2 and 4
    # cut into 16-step pieces, the same groove seems to change every bar
    plain = _metrics(rolls, None)
    assert plain["drums"]["drum_repetition"] < 0.5
    # counts per bar stay counts per 4 beats in every meter: the same stretch of music as the real data's bars
    assert own["piano"]["used_pitch_classes"] == plain["piano"]["used_pitch_classes"] == 3.0
    assert own["piano"]["empty_bar_rate"] == plain["piano"]["empty_bar_rate"] == 0.0


def test_a_pickup_is_left_out_of_the_bars() -> None:
    # a one-beat pickup (nothing sounds in it), then 3/4 bars from step 4
    rolls = waltz(first=4)[None]
    grid = piece_grid(64, [4, 16, 28, 40, 52], [(0, 3, 4)], RES)[None]
    assert _metrics(rolls, grid)["drums"]["drum_repetition"] == 1.0
    # read in 12-step bars from step 0, across the bar lines, the same groove does not repeat exactly
    shifted = _metrics(rolls, window_grid(np.array([[3, 4]]), RES, 64))
    assert shifted["drums"]["drum_repetition"] < 1.0


def test_backbeat_counts_in_four_beat_bars_only() -> None:
    # one 4/4 window with a snare on 2 and 4 of both bars it plays, one 12/8 window
    steps = 32
    four = np.zeros((2, steps, 84), dtype=bool)
    for bar in (0, 16):
        four[0, bar, KICK - LOW] = True
        four[0, bar + 4, SNARE - LOW] = True
        four[0, bar + 12, SNARE - LOW] = True
    jig = np.zeros((2, steps, 84), dtype=bool)
    jig[0, 6, SNARE - LOW] = jig[0, 18, SNARE - LOW] = True  # a 12/8 bar's beats 2 and 4 (dotted quarters)
    grids = window_grid(np.array([[4, 4], [12, 8]]), RES, steps)
    both = _metrics(np.stack([four, jig]), grids)
    assert both["drums"]["backbeat_rate"] == 1.0  # the jig's window has no value, not 1.0 or 0.0
    # read as two 4/4 bars, the jig has no snare on 2 and 4
    assert _metrics(np.stack([four, jig]), None)["drums"]["backbeat_rate"] == 0.5


def test_without_grids_the_metrics_are_those_of_model_bars() -> None:
    rng = np.random.default_rng(0)
    rolls = rng.random((6, 2, 64, 84)) > 0.97
    plain = _metrics(rolls, None)
    four = _metrics(rolls, window_grid(np.tile([[4, 4]], (6, 1)), RES, 64))
    for role, row in plain.items():
        assert row == pytest.approx(four[role], nan_ok=True)
    with pytest.raises(ValueError, match="metric grids"):
        _metrics(rolls, window_grid(np.tile([[4, 4]], (5, 1)), RES, 64))
    with pytest.raises(ValueError, match="shape"):
        drum_bar_metrics(rolls[0, 0], RES, LOW, 16)
