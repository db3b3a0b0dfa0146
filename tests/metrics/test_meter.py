"""Meter fit checked by hand: onsets on a 3/4, a 6/8 and a 4/4 grid."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.metrics.meter import beat_mask, beat_steps, meter_fit
from museforge.music.form import bar_spans

R = 4  # steps per quarter note


def test_beats_are_quarters_halves_or_dotted_quarters() -> None:
    assert beat_steps(3, 4, R) == 4 and beat_steps(4, 4, R) == 4 and beat_steps(2, 2, R) == 8
    assert beat_steps(6, 8, R) == 6 and beat_steps(9, 8, R) == 6 and beat_steps(12, 8, R) == 6
    assert beat_steps(3, 8, R) == 6 and beat_steps(5, 8, R) == 2


def test_a_waltz_bass_on_one_and_drums_on_two_and_three_keep_the_meter() -> None:
    spans = bar_spans(24, None, 12)  # two 3/4 bars
    onsets = np.zeros((2, 24), dtype=bool)
    onsets[0, [0, 12]] = True  # bass on the downbeats
    onsets[1, [4, 8, 16, 20]] = True  # drums on beats 2 and 3
    assert meter_fit(onsets, spans, 3, 4, R) == {"beat_onset_share": 1.0, "downbeat_rate": 1.0}
    onsets[1, 14] = True  # one hit off the beat (an eighth after the downbeat)
    assert meter_fit(onsets, spans, 3, 4, R)["beat_onset_share"] == pytest.approx(6 / 7)


def test_a_four_four_pattern_under_a_jig_misses_its_beats() -> None:
    spans = bar_spans(24, None, 12)  # two 6/8 bars: beats at 0 and 6 of each
    np.testing.assert_array_equal(np.flatnonzero(beat_mask(spans, beat_steps(6, 8, R), 24)), [0, 6, 12, 18])
    four = np.zeros((1, 24), dtype=bool)
    four[0, ::4] = True  # a quarter-note pulse: 0 4 8 12 16 20
    fit = meter_fit(four, spans, 6, 8, R)
    assert fit["beat_onset_share"] == pytest.approx(2 / 6)  # only 0 and 12 are the jig's beats
    assert fit["downbeat_rate"] == 1.0


def test_no_onsets_and_no_whole_bar_have_no_value() -> None:
    assert meter_fit(np.zeros((1, 12), dtype=bool), bar_spans(12, None, 12), 3, 4, R)["beat_onset_share"] is None
    assert meter_fit(np.ones((1, 5), dtype=bool), [(0, 5)], 3, 4, R)["downbeat_rate"] is None


def test_windows_of_two_meters_are_measured_each_in_its_own() -> None:
    from museforge.metrics.meter import roll_onsets, windows_meter_fit
    from museforge.music.meter import window_grid

    rhythm = np.zeros((2, 1, 24, 84), dtype=bool)  # one drum track, two windows of 24 steps
    rhythm[0, 0, [0, 4, 8, 12, 16, 20], 10] = True  # a 3/4 window: every quarter beat
    rhythm[1, 0, [0, 4, 8, 12, 16, 20], 10] = True  # the same hits in 6/8: beats 0, 6, 12, 18 only
    rhythm[1, 0, 5, 10] = True  # ... and one held for two steps: a single onset
    meters = np.array([[3, 4], [6, 8]])
    fit = windows_meter_fit(rhythm, window_grid(meters, R, 24), meters, R)
    assert fit["3/4"] == {"windows": 1, "beat_onset_share": 1.0, "downbeat_rate": 1.0}
    assert fit["6/8"]["beat_onset_share"] == pytest.approx(2 / 6)  # onsets 0, 4 (held to 5), 8, 12, 16, 20
    assert rhythm[1, 0].sum() == 7 and roll_onsets(rhythm[1, 0]).sum() == 6  # 4 and 5 sound as one note
    assert windows_meter_fit(rhythm, window_grid(meters, R, 24), meters, R, min_windows=2) == {}
