"""Tests of museforge.metrics: hand-made rolls with values worked out by hand, and real JSB chorales."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from museforge import metrics as m

LOW = 24  # MIDI pitch of column 0 in the default 84-column rolls (C1)
C4, D4, E4, F4, G4 = 60, 62, 64, 65, 67


def roll(steps: int, notes: list[tuple[int, int, int]], n_pitches: int = 84, lowest: int = LOW) -> np.ndarray:
    """A bool roll (steps, n_pitches) with each (midi_pitch, start, end) sounding on steps [start, end)."""
    out = np.zeros((steps, n_pitches), dtype=bool)
    for pitch, start, end in notes:
        out[start:end, pitch - lowest] = True
    return out


def isnan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- empty_bar_rate -------------------------------------------------------------------------------------


def test_empty_bar_rate_counts_empty_complete_bars() -> None:
    # resolution 1, 4 beats per bar -> 4 steps per bar. 10 steps = 2 complete bars + 2 steps of a third.
    # Bar 0 has a note, bar 1 is empty; the note at step 9 lies in the partial bar and is ignored -> 1/2.
    r = roll(10, [(C4, 0, 1), (G4, 9, 10)])
    assert m.empty_bar_rate(r, resolution=1) == 0.5
    # Three-beat bars: steps 0-2 (note), 3-5 (empty), 6-8 (empty), step 9 partial -> 2/3.
    assert m.empty_bar_rate(r, resolution=1, beats_per_bar=3) == pytest.approx(2 / 3)
    # Numeric rolls work like bool ones (nonzero = sounding).
    assert m.empty_bar_rate(r.astype(np.uint8) * 100, resolution=1) == 0.5


def test_empty_bar_rate_degenerate_is_nan() -> None:
    assert isnan(m.empty_bar_rate(roll(3, [(C4, 0, 3)]), resolution=1))  # shorter than one bar
    assert m.empty_bar_rate(np.zeros((8, 84)), resolution=1) == 1.0  # silent but complete bars: all empty


# --- used_pitch_classes ---------------------------------------------------------------------------------


def test_used_pitch_classes_per_non_empty_bar() -> None:
    # 3 bars of 4 steps: bar 0 a C-major triad (C, E, G: 3 classes), bar 1 empty (skipped),
    # bar 2 C3 + C5 + D4 (classes C, D: 2). Mean over the two non-empty bars = (3 + 2) / 2 = 2.5.
    r = roll(12, [(C4, 0, 4), (E4, 0, 4), (G4, 0, 4), (48, 8, 12), (72, 8, 12), (D4, 9, 10)])
    assert m.used_pitch_classes(r, resolution=1) == 2.5
    assert m.used_pitch_classes(r[:4], resolution=1) == 3.0


def test_used_pitch_classes_folds_by_pitch_mod_12() -> None:
    # C4 (60) and C5 (72) are one pitch class; pypianoroll's pitch // 10 would call them 2 classes.
    assert m.used_pitch_classes(roll(4, [(60, 0, 4), (72, 0, 4)]), resolution=1) == 1.0
    # A 128-column roll with lowest_pitch=0 gives the same: E4 (64) and E2 (40) are one class, plus B4 (71).
    r128 = roll(4, [(64, 0, 2), (40, 2, 4), (71, 1, 2)], n_pitches=128, lowest=0)
    assert m.used_pitch_classes(r128, resolution=1, lowest_pitch=0) == 2.0
    # Column 0 of an 84-column roll is C1 = pitch class 0, so columns 0 and 12 are both C.
    r84 = np.zeros((4, 84), dtype=bool)
    r84[0, 0] = r84[1, 12] = True
    assert m.used_pitch_classes(r84, resolution=1) == 1.0
    # With lowest_pitch=25 the same columns are C#: still one class, and column 1 is D.
    r84[2, 1] = True
    assert m.used_pitch_classes(r84, resolution=1, lowest_pitch=25) == 2.0


def test_used_pitch_classes_all_empty_is_nan() -> None:
    assert isnan(m.used_pitch_classes(np.zeros((8, 84), dtype=bool), resolution=1))
    assert isnan(m.used_pitch_classes(roll(3, [(C4, 0, 3)]), resolution=1))


# --- qualified_note_rate --------------------------------------------------------------------------------


def test_qualified_note_rate_three_one_step_notes_is_zero() -> None:
    # At 24 steps per beat a note needs >= 3 steps (MuseGAN's 32nd note). Three one-step notes -> 0
    # (pypianoroll 1.0.4 returns 1.0 here).
    r = roll(24, [(C4, 0, 1), (E4, 4, 5), (G4, 8, 9)])
    assert m.qualified_note_rate(r, resolution=24) == 0.0
    # Adding one 3-step note: 1 qualified of 4 notes.
    r2 = roll(24, [(C4, 0, 1), (E4, 4, 5), (G4, 8, 9), (C4, 12, 15)])
    assert m.qualified_note_rate(r2, resolution=24) == 0.25
    # Numeric (velocity) rolls give the same result (pypianoroll fails on bool rolls).
    assert m.qualified_note_rate(r2.astype(np.int64) * 90, resolution=24) == 0.25


def test_qualified_note_rate_scales_with_resolution() -> None:
    # resolution 12 -> ceil(3 * 12 / 24) = 2 steps: a 1-step and a 2-step note -> 1/2.
    r = roll(12, [(C4, 0, 1), (D4, 3, 5)])
    assert m.qualified_note_rate(r, resolution=12) == 0.5
    # resolution 4 -> never below 2 steps (an 8th note): the 16th note does not qualify, so QN sees flicker
    # on a 16th-note grid too (with a 1-step minimum it was 1.0 for any music).
    assert m.qualified_note_rate(r, resolution=4) == 0.5
    assert m.qualified_note_rate(r, resolution=4, min_steps=1) == 1.0
    # An explicit min_steps overrides: lengths 1, 2 and 4 with min 2 -> 2/3.
    r3 = roll(16, [(C4, 0, 1), (D4, 2, 4), (E4, 8, 12)])
    assert m.qualified_note_rate(r3, resolution=4, min_steps=2) == pytest.approx(2 / 3)


def test_qualified_note_rate_reads_repeated_notes_as_one() -> None:
    # Two repeated 2-step Cs (steps 0-1 and 2-3) cannot be told from one 4-step C: one note, qualified.
    r = roll(8, [(C4, 0, 2), (C4, 2, 4)])
    assert m.qualified_note_rate(r, resolution=24) == 1.0
    # A note running to the last step of the roll is still counted (length 2 < 3 -> 0).
    assert m.qualified_note_rate(roll(8, [(C4, 6, 8)]), resolution=24) == 0.0


def test_qualified_note_rate_empty_is_nan() -> None:
    assert isnan(m.qualified_note_rate(np.zeros((16, 84)), resolution=4))


# --- drum_pattern_rate ----------------------------------------------------------------------------------


def test_drum_pattern_rate_8th_grid_at_16th_resolution() -> None:
    # resolution 4: default grid = 8th notes (every 2 steps), off-grid 16ths weigh 0.1.
    # Kick (36) hits steps 0, 2 and 4-5 (held: one onset at 4): 3 onsets on the grid.
    # Hi-hat (42) hits steps 1 and 7: 2 onsets off the grid -> 0.1 each.
    # DP = (3 + 0.2) / 5 = 0.64.
    r = roll(16, [(36, 0, 1), (36, 2, 3), (36, 4, 6), (42, 1, 2), (42, 7, 8)])
    assert m.drum_pattern_rate(r, resolution=4) == pytest.approx(0.64)
    assert m.drum_pattern_rate(r, resolution=4, tolerance=0.0) == pytest.approx(0.6)
    # On a 16th grid every step of a 16th-note roll is on the grid.
    assert m.drum_pattern_rate(r, resolution=4, grid=16) == 1.0


def test_drum_pattern_rate_16th_grid_at_24_steps_per_beat() -> None:
    # resolution 24: default grid = 16th notes (every 6 steps), MuseGAN's mask [1, .1, 0, 0, 0, .1].
    # Onsets at 0 (1), 6 (1), 7 (0.1), 9 (0: 3 steps off), 11 (0.1: one before 12) -> 2.2 / 5 = 0.44.
    r = roll(24, [(36, 0, 1), (38, 6, 7), (42, 7, 8), (42, 9, 10), (42, 11, 12)])
    assert m.drum_pattern_rate(r, resolution=24) == pytest.approx(0.44)


def test_drum_pattern_rate_degenerate() -> None:
    assert isnan(m.drum_pattern_rate(np.zeros((16, 84)), resolution=4))
    with pytest.raises(ValueError, match="grid"):
        m.drum_pattern_rate(np.zeros((12, 84)), resolution=3, grid=8)  # an 8th is 1.5 steps


# --- tonal_distance -------------------------------------------------------------------------------------


def test_tonal_distance_hand_values() -> None:
    # Centroid of one pitch class k (Harte et al.): (sin 7πk/6, cos 7πk/6, sin 3πk/2, cos 3πk/2,
    # .5 sin 2πk/3, .5 cos 2πk/3). C (k=0) = (0, 1, 0, 1, 0, .5); G (k=7) = (1/2, √3/2, 1, 0, √3/4, -1/4).
    # |C - G|² = 1/4 + (1 - √3/2)² + 1 + 1 + 3/16 + 9/16 = 4.75 - √3. For C# (k=1) = (-1/2, -√3/2, -1, 0,
    # √3/4, -1/4): |C - C#|² = 4.75 + √3, so a fifth is closer than a semitone.
    c = roll(4, [(C4, 0, 4)])
    assert m.tonal_distance(c, roll(4, [(G4, 0, 4)]), resolution=4) == pytest.approx(math.sqrt(4.75 - math.sqrt(3)))
    assert m.tonal_distance(c, roll(4, [(61, 0, 4)]), resolution=4) == pytest.approx(math.sqrt(4.75 + math.sqrt(3)))
    # Octaves do not matter, and chroma is normalised per beat: C then G over one beat (one step each)
    # has the same centroid as C and G together for the whole beat.
    assert m.tonal_distance(c, roll(4, [(36, 0, 4)]), resolution=4) == pytest.approx(0.0)
    alternating = roll(2, [(C4, 0, 1), (G4, 1, 2)])
    together = roll(2, [(48, 0, 2), (79, 0, 2)])
    assert m.tonal_distance(alternating, together, resolution=2) == pytest.approx(0.0)


def test_tonal_distance_skips_beats_where_a_track_rests() -> None:
    # Two beats of 2 steps. Beat 0: C against G; beat 1: C against silence (skipped) -> the beat-0 distance.
    a = roll(4, [(C4, 0, 4)])
    b = roll(4, [(G4, 0, 2)])
    assert m.tonal_distance(a, b, resolution=2) == pytest.approx(math.sqrt(4.75 - math.sqrt(3)))
    assert isnan(m.tonal_distance(a, np.zeros_like(a), resolution=2))
    assert isnan(m.tonal_distance(a[:1], b[:1], resolution=2))  # no complete beat
    with pytest.raises(ValueError, match="same shape"):
        m.tonal_distance(a, b[:2], resolution=2)


# --- in_scale_rate --------------------------------------------------------------------------------------


def test_in_scale_rate_c_major_triad_is_one() -> None:
    assert m.in_scale_rate(roll(4, [(C4, 0, 4), (E4, 0, 4), (G4, 0, 4)])) == 1.0


def test_in_scale_rate_counts_note_steps_and_fits_the_best_key() -> None:
    # C held 3 steps, C# 1 step, D 2 steps: 6 note-steps. No diatonic scale holds C, C# and D.
    # C major (C, D in): 5/6. D major (C#, D): 3/6. C# major (B# = C, C#): 4/6. Best = 5/6.
    # (Counting notes instead of steps would give 2/3.)
    r = roll(6, [(C4, 0, 3), (61, 3, 4), (D4, 4, 6)])
    assert m.in_scale_rate(r) == pytest.approx(5 / 6)
    assert m.in_scale_rate(r, key=2) == pytest.approx(3 / 6)
    assert m.in_scale_rate(r, key=1) == pytest.approx(4 / 6)
    assert m.in_scale_rate(r, key=9, mode="minor") == pytest.approx(5 / 6)  # A minor = C major's notes
    # lowest_pitch shifts every column's pitch class: read with lowest_pitch 25 the same roll is
    # C# (3 steps), D (1), D# (2), as bad a cluster -> again 5/6 at best (B major: C#, D# in).
    assert m.in_scale_rate(r, lowest_pitch=25) == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="mode"):
        m.in_scale_rate(r, key=0, mode="dorian")


def test_in_scale_rate_empty_is_nan() -> None:
    assert isnan(m.in_scale_rate(np.zeros((4, 84))))


# --- polyphonic_rate and pitch_range --------------------------------------------------------------------


def test_polyphonic_rate_divides_by_non_empty_steps() -> None:
    # Steps 0-1 silent, step 2 one pitch, steps 3-4 two pitches, step 5 three pitches.
    # Non-empty steps: 4; with >= 2 pitches: 3 -> 0.75 (dividing by all 6 steps would give 0.5).
    r = roll(6, [(C4, 2, 6), (E4, 3, 6), (G4, 5, 6)])
    assert m.polyphonic_rate(r) == 0.75
    assert m.polyphonic_rate(r, threshold=3) == 0.25
    assert isnan(m.polyphonic_rate(np.zeros((6, 84))))


def test_pitch_range() -> None:
    assert m.pitch_range(roll(8, [(C4, 0, 2), (79, 4, 5), (E4, 6, 8)])) == 19.0  # G5 - C4
    assert m.pitch_range(roll(8, [(E4, 0, 8)])) == 0.0
    assert m.pitch_range(roll(4, [(21, 0, 1), (108, 1, 2)], n_pitches=128, lowest=0), lowest_pitch=0) == 87.0
    assert isnan(m.pitch_range(np.zeros((8, 84))))


# --- four-voice checks ----------------------------------------------------------------------------------


def test_voices_from_rolls_takes_the_highest_pitch() -> None:
    rolls = np.stack([roll(3, [(72, 0, 2), (76, 1, 2)]), roll(3, [(C4, 0, 3)]), roll(3, []), roll(3, [(48, 2, 3)])])
    expected = [[72, 76, -1], [60, 60, 60], [-1, -1, -1], [-1, -1, 48]]
    np.testing.assert_array_equal(m.voices_from_rolls(rolls), expected)
    np.testing.assert_array_equal(m.voices_from_rolls(rolls, lowest_pitch=0)[0], [48, 52, -1])


def test_voice_range_violations() -> None:
    voices = np.array(
        [
            [60, 80, -1, 79],  # S 60-79: 80 out
            [55, 54, 74, -1],  # A 55-74: 54 out
            [48, 67, 68, 50],  # T 48-67: 68 out
            [40, 39, 60, 61],  # B 40-60: 39 and 61 out
        ]
    )
    # 14 sounding voice-steps, 5 out of range.
    assert m.voice_range_violations(voices) == pytest.approx(5 / 14)
    assert m.voice_range_violations(voices, ranges=[(0, 127)] * 4) == 0.0
    assert isnan(m.voice_range_violations(np.full((4, 3), -1)))


def test_voice_crossings() -> None:
    voices = np.array(
        [
            [72, 67, 72, 67, 72],
            [67, 69, 60, 67, -1],  # step 1: alto above soprano; step 3: unison, not a crossing
            [60, 60, 62, 60, -1],  # step 2: tenor above alto
            [48, 48, 48, 48, -1],
        ]
    )
    # Comparable steps: 0-3 (step 4 has only the soprano). Crossed: steps 1 and 2 -> 2/4.
    assert m.voice_crossings(voices) == 0.5
    assert isnan(m.voice_crossings(voices[:, 4:]))


def test_parallel_fifths_and_octaves() -> None:
    voices = np.array(
        [
            [72, 74, 76],  # S: C5 D5 E5
            [65, 67, 67],  # A: F4 G4 G4
            [60, 59, 59],  # T: C4 B3 B3
            [53, 55, 55],  # B: F3 G3 G3
        ]
    )
    # Step 0 -> 1, every voice moves, so all 6 pairs are eligible:
    # S-A 7 -> 7 (fifths), S-T 12 -> 15, S-B 19 -> 19 (fifths, mod 12), A-T 5 -> 8, A-B 12 -> 12 (octaves),
    # T-B 7 -> 4. Step 1 -> 2 only the soprano moves: oblique motion, not eligible. -> 3 of 6.
    assert m.parallel_fifths_octaves(voices) == m.ParallelMotion(count=3, rate=0.5)
    # Contrary octaves count too (C4/C3 -> G4/G2: 12 -> 24); a rest breaks the motion.
    assert m.parallel_fifths_octaves(np.array([[60, 67], [48, 43]])) == (1, 1.0)
    result = m.parallel_fifths_octaves(np.array([[60, -1, 62], [53, -1, 55]]))
    assert result.count == 0
    assert isnan(result.rate)


# --- aggregates -----------------------------------------------------------------------------------------


def test_track_metrics_by_hand() -> None:
    # Two windows of one 4/4 bar at resolution 4 (16 steps), tracks (drums, bass).
    # Window 0: kick on every beat (8th grid: DP 1.0); bass holds C2 the whole bar.
    # Window 1: hi-hat on steps 1 and 3 (off the 8th grid: DP 0.1); bass silent.
    rolls = np.zeros((2, 2, 16, 84), dtype=bool)
    rolls[0, 0] = roll(16, [(36, t, t + 1) for t in (0, 4, 8, 12)])
    rolls[0, 1] = roll(16, [(36, 0, 16)])
    rolls[1, 0] = roll(16, [(42, 1, 2), (42, 3, 4)])
    result = m.track_metrics(rolls, ("drums", "bass"), resolution=4)
    assert list(result) == ["drums", "bass"]
    drums, bass = result["drums"], result["bass"]
    assert drums["empty_bar_rate"] == 0.0
    assert drums["drum_pattern_rate"] == pytest.approx((1.0 + 0.1) / 2)
    assert all(isnan(drums[key]) for key in ("used_pitch_classes", "in_scale_rate", "pitch_range"))
    # Bass: EB (0 + 1) / 2; the other metrics are NaN in the silent window and so average window 0 only.
    assert bass == {
        "empty_bar_rate": 0.5,
        "used_pitch_classes": 1.0,
        "qualified_note_rate": 1.0,
        "in_scale_rate": 1.0,
        "polyphonic_rate": 0.0,
        "pitch_range": 0.0,
    }
    # One window given as (tracks, time, pitch) equals the single-roll functions.
    single = m.track_metrics(rolls[0], ("drums", "bass"), resolution=4)
    assert single["drums"]["drum_pattern_rate"] == m.drum_pattern_rate(rolls[0, 0], 4)
    assert single["bass"]["used_pitch_classes"] == m.used_pitch_classes(rolls[0, 1], 4)


def test_track_metrics_rejects_bad_roles() -> None:
    rolls = np.zeros((2, 16, 84), dtype=bool)
    with pytest.raises(ValueError, match="roles"):
        m.track_metrics(rolls, ("bass",), resolution=4)
    with pytest.raises(ValueError, match="unique"):
        m.track_metrics(rolls, ("piano", "piano"), resolution=4)


def test_tonal_distances_pairs_pitched_tracks() -> None:
    # Tracks drums, bass (C), piano (G), strings (C): drums are left out.
    rolls = np.stack([roll(8, [(36, 0, 1)]), roll(8, [(36, 0, 8)]), roll(8, [(G4, 0, 8)]), roll(8, [(72, 0, 8)])])
    result = m.tonal_distances(rolls, ("drums", "bass", "piano", "strings"), resolution=4)
    fifth = math.sqrt(4.75 - math.sqrt(3))
    assert list(result) == ["bass/piano", "bass/strings", "piano/strings"]
    assert result["bass/piano"] == pytest.approx(fifth)
    assert result["bass/strings"] == pytest.approx(0.0)
    assert result["piano/strings"] == pytest.approx(fifth)


def test_relative_gap() -> None:
    assert m.relative_gap(1.5, 1.0) == 0.5
    assert m.relative_gap(0.5, -1.0) == 1.5
    assert isnan(m.relative_gap(1.0, 0.0))
    assert isnan(m.relative_gap(1.0, float("nan")))
    assert isnan(m.relative_gap(float("nan"), 1.0))


@pytest.mark.parametrize("shape", [(0, 84), (16, 0), (0, 0)])
def test_empty_shapes_give_nan_not_exceptions(shape: tuple[int, int]) -> None:
    r = np.zeros(shape, dtype=bool)
    values = [
        m.used_pitch_classes(r, 4),
        m.qualified_note_rate(r, 4),
        m.drum_pattern_rate(r, 4),
        m.tonal_distance(r, r, 4),
        m.in_scale_rate(r),
        m.polyphonic_rate(r),
        m.pitch_range(r),
    ]
    assert all(isnan(value) for value in values), values
    assert isnan(m.parallel_fifths_octaves(np.full((4, shape[0]), -1)).rate)


def test_malformed_arguments_raise() -> None:
    with pytest.raises(ValueError, match="2 dimensions"):
        m.pitch_range(np.zeros((2, 4, 84)))
    with pytest.raises(ValueError, match="resolution"):
        m.empty_bar_rate(np.zeros((16, 84)), resolution=0)


# --- real data: JSB chorales ----------------------------------------------------------------------------

SECONDS_PER_STEP = 0.15  # the derived chorale MIDI is a constant 100 qpm: a 16th note lasts 0.15 s
VOICES = ("soprano", "alto", "tenor", "bass")


def chorale_rolls(path: Path, to_bar_line: bool = True) -> np.ndarray:
    """(4, time, 84) 16th-note rolls of a chorale; with ``to_bar_line`` cut at the start so that it ends on a
    bar line (most chorales open with a pickup)."""
    midi = pretty_midi.PrettyMIDI(str(path))
    assert [inst.name for inst in midi.instruments] == ["Soprano", "Alto", "Tenor", "Bass"]
    steps = round(midi.get_end_time() / SECONDS_PER_STEP)
    rolls = np.zeros((4, steps, 84), dtype=bool)
    for voice, inst in enumerate(midi.instruments):
        for note in inst.notes:
            start, end = round(note.start / SECONDS_PER_STEP), round(note.end / SECONDS_PER_STEP)
            rolls[voice, start:end, note.pitch - LOW] = True
    return rolls[:, steps % 16 :] if to_bar_line else rolls


@pytest.fixture(scope="module")
def chorales(shared_datasets: Path) -> list[np.ndarray]:
    folder = shared_datasets / "bach" / "jsb_chorales_czhuang" / "midi_derived_satb" / "train"
    paths = sorted(folder.glob("*.mid"))[:12]
    assert len(paths) == 12
    return [chorale_rolls(path) for path in paths]


def test_real_chorales_land_near_the_reference_values(chorales: list[np.ndarray]) -> None:
    # 4-bar windows (64 steps), as in the datasets README's reference values: UPC 2.9-3.7 per bar for
    # Bach voices, in-scale 0.90-0.99, empty-bar rate 0.
    windows = np.concatenate([c[:, : c.shape[1] // 64 * 64].reshape(4, -1, 64, 84).swapaxes(0, 1) for c in chorales])
    assert windows.shape[0] >= 40
    result = m.track_metrics(windows, VOICES, resolution=4)
    for voice in VOICES:
        values = result[voice]
        assert 1.5 <= values["used_pitch_classes"] <= 4.5, (voice, values)
        assert values["in_scale_rate"] > 0.85, (voice, values)
        assert values["empty_bar_rate"] < 0.05, (voice, values)
        assert values["qualified_note_rate"] > 0.9  # 16th passing notes: none to a few in 100 per voice
        assert values["polyphonic_rate"] == 0.0  # each voice sings one note at a time
        assert 3 <= values["pitch_range"] <= 24, (voice, values)
    # The bass moves more than the upper voices (wider range, more pitch classes per bar).
    assert result["bass"]["pitch_range"] > result["alto"]["pitch_range"]
    # The four voices together sound at least two notes almost everywhere.
    assert m.polyphonic_rate(windows.any(axis=1).reshape(-1, 84)) > 0.9

    # Harmony: aligned voices are closer in tonal space than the bass of another chorale's window.
    aligned = m.tonal_distances(windows, VOICES, resolution=4)
    shuffled = windows.copy()
    shuffled[:, 3] = np.roll(windows[:, 3], windows.shape[0] // 2, axis=0)
    mismatched = m.tonal_distances(shuffled, VOICES, resolution=4)
    for upper in VOICES[:3]:
        key = f"{upper}/bass"
        assert 0.5 < aligned[key] < mismatched[key] - 0.1, (key, aligned[key], mismatched[key])


def test_real_chorales_follow_part_writing_rules(chorales: list[np.ndarray]) -> None:
    for rolls in chorales:
        voices = m.voices_from_rolls(rolls)
        assert (voices >= 0).mean() > 0.9  # the voices rarely rest
        assert m.voice_range_violations(voices) < 0.05
        assert m.voice_crossings(voices) < 0.15
        parallels = m.parallel_fifths_octaves(voices)
        assert parallels.rate < 0.05, parallels
    # Breaking the voice leading is detected: singing the soprano an octave higher and the alto with it
    # in octaves (alto = soprano - 12) puts every moving S/A motion in parallel octaves.
    voices = m.voices_from_rolls(chorales[0])
    doubled = voices.copy()
    doubled[1] = np.where(voices[0] >= 0, voices[0] - 12, -1)
    assert m.parallel_fifths_octaves(doubled).count > m.parallel_fifths_octaves(voices).count + 10


def test_agrees_with_muspy_on_a_real_chorale(shared_datasets: Path) -> None:
    # muspy defines pitch_range and n_pitch_classes_used over a whole song exactly as we do over one bar.
    muspy = pytest.importorskip("muspy")
    path = shared_datasets / "bach" / "jsb_chorales_czhuang" / "midi_derived_satb" / "train" / "jsb_train_005.mid"
    music = muspy.from_pretty_midi(pretty_midi.PrettyMIDI(str(path)))
    together = chorale_rolls(path, to_bar_line=False).any(axis=0)
    whole = together[: together.shape[0] // 4 * 4]  # whole beats, so that the song is one "bar"
    assert m.pitch_range(together) == muspy.pitch_range(music)
    assert m.used_pitch_classes(whole, resolution=4, beats_per_bar=whole.shape[0] // 4) == (
        muspy.n_pitch_classes_used(music)
    )
