"""Flicker, drum repetition and backbeat, clusters, ranges, crowding, seed overlap: small rolls by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from museforge import metrics as m
from museforge.music.instruments import playable_range, playable_share

LOW = 24
KICK, SNARE, HAT = 36, 38, 42


def roll(steps: int, notes: list[tuple[int, int, int]]) -> np.ndarray:
    out = np.zeros((steps, 84), dtype=bool)
    for pitch, start, end in notes:
        out[start:end, pitch - LOW] = True
    return out


def test_one_step_note_rate_counts_notes_of_one_step() -> None:
    # Notes of 1, 1, 2 and 4 steps -> 2 of 4 flicker.
    r = roll(16, [(60, 0, 1), (62, 2, 3), (64, 4, 6), (65, 8, 12)])
    assert m.one_step_note_rate(r) == 0.5
    # A trill F3-E3-F3-E3 of 16th notes is all flicker.
    trill = roll(8, [(53 if t % 2 == 0 else 52, t, t + 1) for t in range(8)])
    assert m.one_step_note_rate(trill) == 1.0
    assert math.isnan(m.one_step_note_rate(np.zeros((8, 84), bool)))


def _groove(bars: int, resolution: int = 4) -> np.ndarray:
    """Rock beat: kick on 1 and 3, snare on 2 and 4, hi-hat on every 8th."""
    steps = 4 * resolution
    notes = []
    for b in range(bars):
        o = b * steps
        notes += [(KICK, o, o + 1), (KICK, o + 2 * resolution, o + 2 * resolution + 1)]
        notes += [(SNARE, o + resolution, o + resolution + 1), (SNARE, o + 3 * resolution, o + 3 * resolution + 1)]
        notes += [(HAT, o + e * resolution // 2, o + e * resolution // 2 + 1) for e in range(8)]
    return roll(bars * steps, notes)


def test_a_repeating_groove_repeats_and_keeps_the_backbeat() -> None:
    groove = _groove(4)
    assert m.drum_repetition(groove, steps_per_bar=16) == 1.0
    assert m.backbeat_rate(groove, resolution=4) == 1.0


def test_changing_bars_and_a_missing_backbeat() -> None:
    groove = _groove(2)
    # Bar 2 loses its snare on beat 4: onset sets {12 hits} and {11 hits}, Jaccard 11/12.
    groove[16 + 12, SNARE - LOW] = False
    assert m.drum_repetition(groove, steps_per_bar=16) == 11 / 12
    # Backbeats: bar 1 both, bar 2 only beat 2 -> 3 of 4.
    assert m.backbeat_rate(groove, resolution=4) == 0.75
    # An empty second bar does not count as a change, and no drums at all is NaN.
    one_bar = _groove(1)
    assert m.drum_repetition(np.concatenate([one_bar, np.zeros_like(one_bar)]), steps_per_bar=16) == 0.0
    assert math.isnan(m.drum_repetition(np.zeros((32, 84), bool), steps_per_bar=16))


def test_semitone_clusters_among_chord_steps() -> None:
    # Steps 0-3: C E G (no cluster); steps 4-5: C C# (cluster); steps 6-7: a single note (not a chord).
    r = roll(8, [(60, 0, 4), (64, 0, 4), (67, 0, 4), (60, 4, 6), (61, 4, 6), (70, 6, 8)])
    assert m.semitone_cluster_rate(r) == 2 / 6
    assert math.isnan(m.semitone_cluster_rate(roll(4, [(60, 0, 4)])))


def test_out_of_range_counts_note_onsets_outside_the_instrument() -> None:
    low, high = playable_range(40)  # violin G3-G7
    assert (low, high) == (55, 103)
    # Notes: C3 (below the violin), G3, D5 -> 1 of 3 outside.
    r = roll(12, [(48, 0, 4), (55, 4, 8), (74, 8, 12)])
    assert m.out_of_range_rate(r, low, high) == 1 / 3
    assert playable_range(52, "tenor") == (47, 69)  # chorale voices: Bach's own extremes
    assert playable_range(0, is_drum=True) is None


def test_the_share_of_notes_an_instrument_can_play() -> None:
    counts = np.zeros(84, dtype=np.int64)  # column 0 is MIDI 24
    counts[[36 - 24, 60 - 24, 62 - 24, 67 - 24]] = [1, 5, 3, 1]  # a C2 below the clarinet's D3, nine above it
    assert playable_share(counts, 24, 71) == pytest.approx(0.9)
    assert playable_share(counts, 24, 70) == 1.0  # the bassoon (B-flat 1 to E-flat 5) plays them all
    assert playable_share(np.zeros(84), 24, 71) == 1.0  # no notes: nothing it cannot play


def test_crowded_windows_and_ensemble_density() -> None:
    rolls = np.zeros((2, 3, 4, 84), dtype=bool)
    rolls[0, :, 0, 0:6] = True  # 18 notes at step 0 of window 0
    rolls[1, 0, :, 0] = True  # one note throughout window 1
    assert m.crowded(rolls).tolist() == [1.0, 0.0]
    assert m.ensemble_notes(rolls)[0].tolist() == [18, 0, 0, 0]


def test_cell_overlap_of_two_renderings() -> None:
    a = np.zeros((2, 1, 4, 84), dtype=bool)
    b = a.copy()
    a[0, 0, :, 10] = True
    b[0, 0, :2, 10] = True
    b[0, 0, :, 20] = True
    # window 0: shared 2 cells, union 4 + 4 = 8 - 2 ... a has 4, b has 6, shared 2 -> 2 / 8
    assert m.cell_overlap(a, b)[0] == 2 / 8
    assert math.isnan(m.cell_overlap(a, b)[1])
