"""The melody's form and the accompaniment that follows it, checked by hand on small rolls."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.metrics.form import repeat_fidelity, repeat_pairs
from museforge.music.form import Repeat, bar_spans, melody_repeats
from museforge.sampling.form import check_variation, follow_form, repeat_notes, strains

BAR = 4  # steps per bar in these rolls
P = 12


def melody_of(*bars: list[int] | None) -> np.ndarray:
    """A one-line melody: each bar a list of 4 pitches (one per step; None: a rest bar)."""
    roll = np.zeros((BAR * len(bars), P), dtype=bool)
    for b, pitches in enumerate(bars):
        for s, pitch in enumerate(pitches or []):
            roll[b * BAR + s, pitch] = True
    return roll


def test_bar_spans_follow_the_downbeats_with_a_pickup_as_its_own_bar() -> None:
    assert bar_spans(10, [2, 6]) == [(0, 2), (2, 6), (6, 10)]
    assert bar_spans(8, None, 4) == [(0, 4), (4, 8)]
    assert bar_spans(8, [0, 3, 6]) == [(0, 3), (3, 6), (6, 8)]  # a 3-step meter


def test_exact_and_moved_repeats_point_at_the_first_appearance() -> None:
    a, b = [0, 2, 4, 5], [7, 7, 5, 4]
    moved = [p + 2 for p in a]
    melody = melody_of(a, b, a, moved, None, b)
    spans = bar_spans(melody.shape[0], None, BAR)
    assert melody_repeats(melody, spans) == [Repeat(2, 0, 0), Repeat(3, 0, 2), Repeat(5, 1, 0)]
    assert melody_repeats(melody, spans, transposed=False) == [Repeat(2, 0, 0), Repeat(5, 1, 0)]
    assert melody_repeats(melody_of(None, None), bar_spans(8, None, BAR)) == []  # rests repeat nothing


def test_strains_group_consecutive_repeats_of_consecutive_bars() -> None:
    repeats = [Repeat(4, 0, 0), Repeat(5, 1, 0), Repeat(6, 2, 0), Repeat(9, 0, 0)]
    assert strains(repeats) == [repeats[:3], repeats[3:]]


def test_variation_zero_plays_the_first_time_again_moved_with_the_melody_drums_as_they_were() -> None:
    rng = np.random.default_rng(0)
    probs = rng.random((2, 3 * BAR, P)).astype(np.float32)  # track 0 pitched, track 1 drums
    spans = bar_spans(3 * BAR, None, BAR)
    repeats = [Repeat(1, 0, 0), Repeat(2, 0, 3)]
    out, exact = follow_form(probs, spans, repeats, 0.0, [False, True], np.random.default_rng(1))
    assert exact == repeats
    np.testing.assert_array_equal(out[:, BAR : 2 * BAR], probs[:, :BAR])
    np.testing.assert_array_equal(out[0, 2 * BAR :, 3:], probs[0, :BAR, :-3])  # moved up 3 like the melody
    np.testing.assert_array_equal(out[0, 2 * BAR :, :3], 0)
    np.testing.assert_array_equal(out[1, 2 * BAR :], probs[1, :BAR])  # drums do not move
    notes = probs > 0.5
    again = repeat_notes(notes, spans, exact, [False, True])
    np.testing.assert_array_equal(again[:, BAR : 2 * BAR], notes[:, :BAR])
    np.testing.assert_array_equal(again[:, :BAR], notes[:, :BAR])  # the first time is left as it was


def test_variation_one_leaves_the_model_alone_and_between_blends_or_repeats() -> None:
    probs = np.random.default_rng(0).random((1, 2 * BAR, P)).astype(np.float32)
    spans, repeats = bar_spans(2 * BAR, None, BAR), [Repeat(1, 0, 0)]
    out, exact = follow_form(probs, spans, repeats, 1.0, [False], np.random.default_rng(0))
    np.testing.assert_array_equal(out, probs)
    assert exact == []
    kinds = set()
    for seed in range(40):
        out, exact = follow_form(probs, spans, repeats, 0.5, [False], np.random.default_rng(seed))
        if exact:
            np.testing.assert_array_equal(out[:, BAR:], probs[:, :BAR])
        else:
            np.testing.assert_allclose(out[:, BAR:], 0.5 * probs[:, :BAR] + 0.5 * probs[:, BAR:])
        kinds.add(bool(exact))
    assert kinds == {True, False}  # about half the strains come back note for note


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True, float("nan")])
def test_a_variation_outside_0_to_1_is_one_clear_error(bad: object) -> None:
    with pytest.raises(MuseforgeError, match="variation must be a number from 0"):
        check_variation(bad)  # type: ignore[arg-type]


def test_repeat_fidelity_counts_the_accompaniment_of_bars_whose_melody_repeats() -> None:
    a, b = [0, 2, 4, 5], [7, 7, 5, 4]
    melody = melody_of(a, b, a, a)
    spans = bar_spans(melody.shape[0], None, BAR)
    accompaniment = np.zeros((1, 4 * BAR, P), dtype=bool)
    accompaniment[0, 0:4, 0] = True  # bar 1: C held
    accompaniment[0, 8:12, 0] = True  # bar 3: the same
    accompaniment[0, 12:14, 0] = True  # bar 4: half of it, plus something new
    accompaniment[0, 12:16, 7] = True
    overlaps, identical = repeat_pairs(melody, accompaniment, spans)
    # pairs (1,3), (1,4), (3,4): identical, 2 shared of 8 cells, again 2 of 8
    assert overlaps == [1.0, 0.25, 0.25] and identical == [True, False, False]
    table = repeat_fidelity([(melody, accompaniment, spans)])
    assert table == {"repeat_overlap": pytest.approx(0.5), "repeat_identical": pytest.approx(1 / 3), "repeat_pairs": 3}
    assert repeat_fidelity([(melody_of(a, b), accompaniment[:, :8], spans[:2])])["repeat_overlap"] is None


def test_a_moved_repeat_keeps_a_line_in_its_range_an_octave_away() -> None:
    # A bass line (track 0, range columns 0-9 of a 24-column roll) moved up 7 with the melody would leave its
    # range (columns 5 and 8 -> 12 and 15); a player moves it down a fourth instead (-5: columns 0 and 3). A piano
    # (track 1, no range) moves up 7 as the melody does. Shape (K=2, T=8, P=24).
    notes = np.zeros((2, 2 * BAR, 24), dtype=bool)
    notes[0, :2, 5] = notes[0, 2:BAR, 8] = True
    notes[1, :BAR, 10] = True
    spans = bar_spans(2 * BAR, None, BAR)
    ranges = [list(range(10)), None]
    again = repeat_notes(notes, spans, [Repeat(1, 0, 7)], [False, False], ranges)
    assert np.flatnonzero(again[0, BAR : BAR + 2].any(axis=0)).tolist() == [0]
    assert np.flatnonzero(again[0, BAR + 2 :].any(axis=0)).tolist() == [3]
    assert again[1, BAR:, 17].all()
    # Without ranges it moves with the melody, as before.
    plain = repeat_notes(notes, spans, [Repeat(1, 0, 7)], [False, False])
    assert plain[0, BAR : BAR + 2, 12].all() and plain[0, BAR + 2 :, 15].all()
    probs = notes.astype(np.float32)
    out, _ = follow_form(probs, spans, [Repeat(1, 0, 7)], 0.0, [False, False], np.random.default_rng(0), ranges)
    np.testing.assert_array_equal(out[:, BAR:] > 0.5, again[:, BAR:])
