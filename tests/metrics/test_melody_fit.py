"""Key fit, consonance, doubling and in-scale against the melody: small rolls worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from museforge import metrics as m

LOW = 24


def roll(steps: int, notes: list[tuple[int, int, int]]) -> np.ndarray:
    """(steps, 84) bool with each (midi_pitch, start, end) sounding on [start, end)."""
    out = np.zeros((steps, 84), dtype=bool)
    for pitch, start, end in notes:
        out[start:end, pitch - LOW] = True
    return out


# C major melody: C4 D4 E4 F4 G4 A4 B4 C5, one per 2 steps (16 steps).
C_MELODY = roll(16, [(p, 2 * i, 2 * i + 2) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72))])
# G major melody: G A B C D E F# G (the F# rules out C major, the C rules out D major).
G_MELODY = roll(16, [(p, 2 * i, 2 * i + 2) for i, p in enumerate((67, 69, 71, 72, 74, 76, 78, 79))])


def test_melody_scale_is_the_diatonic_set_holding_its_onsets() -> None:
    assert m.melody_scales(np.stack([C_MELODY, G_MELODY])).tolist() == [0, 7]
    # C D E G fits C, F and G major alike: the Krumhansl-Kessler profile picks C.
    ambiguous = roll(16, [(60, 0, 4), (62, 4, 8), (64, 8, 12), (67, 12, 16)])
    assert m.melody_scales(ambiguous[None]).tolist() == [0]
    assert m.melody_scales(np.zeros((1, 16, 84), dtype=bool)).tolist() == [-1]


def test_key_fit_counts_onsets_in_the_melodys_scale() -> None:
    # Bass under the C melody: C2 (held 8 steps), F#2, G2, A#2 -> onsets C, F#, G, A#: 2 of 4 in C major.
    bass = roll(16, [(36, 0, 8), (42, 8, 10), (43, 10, 14), (46, 14, 16)])
    assert m.key_fit(bass, C_MELODY) == 0.5
    # The same bass under the G melody: C, F#, G in G major, A# not -> 3/4.
    assert m.key_fit(bass, G_MELODY) == 0.75
    # Batched: one value per window.
    assert m.key_fit(np.stack([bass, bass]), np.stack([C_MELODY, G_MELODY])).tolist() == [0.5, 0.75]
    # No onset, or no melody: nothing to count.
    assert math.isnan(m.key_fit(np.zeros_like(bass), C_MELODY))
    assert math.isnan(m.key_fit(bass, np.zeros_like(bass)))


def test_melody_in_scale_rate_weighs_cells_not_onsets() -> None:
    # C2 held 8 steps (in C major) and C#2 for 8 steps (out): cells 8 of 16 in scale.
    track = roll(16, [(36, 0, 8), (37, 8, 16)])
    assert m.melody_in_scale_rate(track, C_MELODY) == 0.5
    # A track in its own key (all F# major notes) passes the track-own in-scale rate but not the melody's.
    f_sharp = roll(16, [(p, 2 * i, 2 * i + 2) for i, p in enumerate((54, 56, 58, 59, 61, 63, 65, 66))])
    assert m.in_scale_rate(f_sharp) == 1.0
    assert m.melody_in_scale_rate(f_sharp, C_MELODY) == 0.25  # only F (65) and B (59), 2 of 8 notes, fit C


def test_consonance_and_doubling_against_the_melodys_top_note() -> None:
    melody = roll(8, [(72, 0, 8)])  # C5 for 8 steps
    # under it: E4 (major sixth below C5 -> interval 4 from C mod 12... E-C = 4: consonant) for 4 steps,
    # B3 (interval 11: dissonant) for 2 steps, C3 (doubling, 0: consonant) for 2 steps.
    track = roll(8, [(64, 0, 4), (59, 4, 6), (48, 6, 8)])
    assert m.consonance(track, melody) == 0.75
    assert m.melody_doubling(track, melody) == 0.25
    # Cells where the melody rests do not count: the melody sounds only in the first 4 steps here.
    short = roll(8, [(72, 0, 4)])
    assert m.consonance(track, short) == 1.0
    assert math.isnan(m.consonance(np.zeros_like(track), melody))
    # With a chord in the melody, its top note is the reference: C5 over E4 -> B4 in the track is a semitone off.
    chord_melody = roll(4, [(72, 0, 4), (64, 0, 4)])
    assert m.consonance(roll(4, [(71, 0, 4)]), chord_melody) == 0.0


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="same shape"):
        m.key_fit(np.zeros((16, 84), bool), np.zeros((8, 84), bool))
