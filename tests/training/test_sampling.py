"""Probabilities to notes: the explicit threshold / Bernoulli step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.sampling.notes import to_notes


def test_threshold_keeps_cells_at_or_above_the_cut() -> None:
    probs = torch.tensor([[0.1, 0.5, 0.49, 0.9], [0.0, 1.0, 0.7, 0.3]])
    assert to_notes(probs).tolist() == [[False, True, False, True], [False, True, True, False]]
    assert to_notes(probs, threshold=0.8).tolist() == [[False, False, False, True], [False, True, False, False]]


def test_numpy_in_numpy_out_same_shape() -> None:
    probs = np.full((2, 3, 4, 84), 0.6, dtype=np.float32)
    notes = to_notes(probs)
    assert isinstance(notes, np.ndarray) and notes.dtype == bool and notes.shape == probs.shape and notes.all()


def test_bernoulli_follows_the_probabilities_and_repeats_with_a_seed() -> None:
    probs = torch.tensor([0.0, 0.25, 0.75, 1.0]).repeat(20_000, 1)
    first = to_notes(probs, mode="bernoulli", generator=torch.Generator().manual_seed(3))
    again = to_notes(probs, mode="bernoulli", generator=torch.Generator().manual_seed(3))
    other = to_notes(probs, mode="bernoulli", generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    rates = first.float().mean(0)
    assert rates[0] == 0.0 and rates[3] == 1.0
    assert abs(rates[1] - 0.25) < 0.02 and abs(rates[2] - 0.75) < 0.02


@pytest.mark.parametrize(("mode", "threshold"), [("argmax", 0.5), ("threshold", 0.0), ("threshold", 1.5)])
def test_bad_arguments_are_one_line_errors(mode: str, threshold: float) -> None:
    with pytest.raises(MuseforgeError):
        to_notes(torch.zeros(3), mode=mode, threshold=threshold)


def test_hold_removes_flicker_and_keeps_sure_notes() -> None:
    # A cell that flickers about 0.5 is left out with a hold; a long likely note stays whole, one dip included;
    # a one-step blip stays only where the model is sure of it (p > sigmoid(2 * hold)).
    p = np.array([0.6, 0.4, 0.6, 0.4, 0.6, 0.1, 0.1, 0.95, 0.1, 0.8, 0.8, 0.45, 0.8, 0.8, 0.1], dtype=np.float32)
    cells = p[:, None]  # (T, P=1)
    assert to_notes(cells).ravel().astype(int).tolist() == [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0]
    held = to_notes(cells, hold=1.0).ravel().astype(int).tolist()
    assert held == [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0]


def test_single_line_hold_stops_a_trill_between_two_pitches() -> None:
    # Two pitches trade the lead every step (a 16th-note trill F3-E3 under the plain rule); with a hold the line
    # keeps the first pitch. Shape (B=1, K=1, T=8, P=3).
    probs = np.full((1, 1, 8, 3), 0.05, dtype=np.float32)
    probs[0, 0, :, 0] = [0.7, 0.6] * 4
    probs[0, 0, :, 1] = [0.6, 0.7] * 4
    plain = to_notes(probs, monophonic=[True])[0, 0]
    assert plain.sum(axis=1).tolist() == [1] * 8 and plain[:, 0].tolist() == [True, False] * 4
    held = to_notes(probs, monophonic=[True], hold=[1.0])[0, 0]
    assert held[:, 0].all() and not held[:, 1:].any()
    # The path is the most likely one: with no hold it is the cell-wise argmax, as before.
    assert np.array_equal(to_notes(torch.from_numpy(probs), monophonic=[True], hold=[1.0]).numpy(), held[None, None])


def test_per_track_options_must_fit_the_tracks() -> None:
    with pytest.raises(MuseforgeError, match="hold has 1 values for 2 tracks"):
        to_notes(np.zeros((2, 4, 3), dtype=np.float32), hold=[1.0])
    with pytest.raises(MuseforgeError, match="monophonic has 3 flags for 2 tracks"):
        to_notes(np.zeros((2, 4, 3), dtype=np.float32), monophonic=[True, False, True])


def test_the_card_policy_takes_single_lines_and_holds_from_the_training_data() -> None:
    from museforge.sampling.notes import DEFAULT_HOLD, NotePolicy, track_hold

    card = {
        "data": {
            "tracks": [
                {"role": "bass", "is_drum": False},
                {"role": "drums", "is_drum": True},
                {"role": "piano", "is_drum": False},
                {"role": "strings", "is_drum": False},
            ]
        },
        "train_data_metrics": {
            "bass": {"polyphonic_rate": 0.03, "one_step_note_rate": 0.25},  # a rock bass: a line of short notes
            "drums": {"polyphonic_rate": None},
            "piano": {"polyphonic_rate": 0.8, "one_step_note_rate": 0.0},  # sustained chords
            "strings": {"polyphonic_rate": 0.9},  # an older card without the note-length figure
        },
    }
    policy = NotePolicy.from_card(card)
    assert policy.monophonic == (True, False, False, False)
    assert policy.hold == pytest.approx((DEFAULT_HOLD * 0.75**2, 0.0, DEFAULT_HOLD, DEFAULT_HOLD))
    assert track_hold(1.0, 1.5) == 0.0 and track_hold(1.0, None) == 1.0
    # a hold measured for a track (scripts/measure_holds.py) replaces the formula's for that track only
    measured = NotePolicy.from_card({**card, "decoding": {"track_hold": {"piano": 2.5, "drums": 9.0}}})
    assert measured.hold == pytest.approx((DEFAULT_HOLD * 0.75**2, 0.0, 2.5, DEFAULT_HOLD))
    for bad in ({"piano": -1.0}, {"piano": "long"}, [2.0]):
        with pytest.raises(MuseforgeError, match=r"decoding\.track_hold"):
            NotePolicy.from_card({**card, "decoding": {"track_hold": bad}})


def test_a_drum_track_plays_only_its_datas_kit() -> None:
    from museforge.sampling.notes import NotePolicy

    card = {
        "data": {
            "lowest_pitch": 24,
            "n_pitches": 84,
            "tracks": [{"role": "bass", "is_drum": False}, {"role": "drums", "is_drum": True}],
            "drum_kit": {"drums": [36, 38, 42]},
        }
    }
    policy = NotePolicy.from_card(card)
    assert policy.kits == (None, (12, 14, 18))
    probs = np.zeros((1, 2, 8, 84), dtype=np.float32)
    probs[0, :, :, 14] = 0.9  # the snare, in the kit, and the bass's D1
    probs[0, :, :, 74] = 0.99  # key 98 on the drums: no kit piece of the data; the bass's D7
    notes = policy.decode(probs)
    assert notes[0, 1, :, 14].all() and not notes[0, 1, :, 74].any()
    assert notes[0, 0, :, 74].all()  # a pitched track is not limited
    drawn = policy.decode(probs, mode="bernoulli", generator=torch.Generator().manual_seed(0))
    assert not drawn[0, 1][:, [c for c in range(84) if c not in (12, 14, 18)]].any()
    # A card without a kit (models trained before kits were recorded) plays every key, as before.
    del card["data"]["drum_kit"]
    assert NotePolicy.from_card(card).kits == ()
    assert NotePolicy.from_card(card).decode(probs)[0, 1, :, 74].all()
    card["data"]["drum_kit"] = {"drums": ["kick"]}
    with pytest.raises(MuseforgeError, match=r"malformed: data\.drum_kit"):
        NotePolicy.from_card(card)
    with pytest.raises(MuseforgeError, match="kits has 1 entries for 2 tracks"):
        to_notes(probs, kits=[None])


def test_a_line_bias_keeps_a_spread_voice_singing_its_most_likely_pitch() -> None:
    from museforge.sampling.notes import NotePolicy

    # An alto the model spreads over three neighbouring pitches in steps 2-5 (0.3 each: none passes 0.5, but the
    # voice plainly goes on), and truly rests (every pitch near 0) in steps 6-7. Shape (B=1, K=2, T=8, P=4).
    probs = np.full((1, 2, 8, 4), 0.01, dtype=np.float32)
    probs[0, 0, :2, 1] = 0.9
    probs[0, 0, 2:6, 0:3] = [0.3, 0.35, 0.3]
    probs[0, 1, 2:6, 0:3] = [0.3, 0.35, 0.3]  # the same on a chordal track, which no line bias touches
    card = {
        "data": {"tracks": [{"role": "alto", "is_drum": False}, {"role": "piano", "is_drum": False}]},
        "train_data_metrics": {"alto": {"polyphonic_rate": 0.0}, "piano": {"polyphonic_rate": 0.7}},
    }
    plain = NotePolicy.from_card(card).decode(probs)
    assert plain[0, 0].any(axis=-1).tolist() == [True, True] + [False] * 6  # falls silent mid-phrase
    card["decoding"] = {"line_bias": {"alto": 1.5, "piano": 3.0}}
    policy = NotePolicy.from_card(card)
    assert policy.line_bias == (1.5, 0.0)  # only a single line takes one
    notes = policy.decode(probs)[0]
    assert notes[0].any(axis=-1).tolist() == [True] * 6 + [False] * 2  # sings on, rests where the model rests
    assert notes[0, 2:6, 1].all() and notes[0].sum() == 6  # its most likely pitch, one at a time
    assert np.array_equal(notes[1], plain[0, 1])
    card["decoding"] = {"line_bias": {"alto": "loud"}}
    with pytest.raises(MuseforgeError, match=r"malformed: decoding\.line_bias"):
        NotePolicy.from_card(card)
    with pytest.raises(MuseforgeError, match="line_bias has 1 values for 2 tracks"):
        to_notes(probs, monophonic=[True, False], line_bias=[1.0])


def test_a_line_kept_in_its_datas_range_where_the_card_says_so() -> None:
    from museforge.music.ranges import line_range
    from museforge.sampling.notes import NotePolicy

    # A tenor whose data sing MIDI 50-68; the model's likeliest pitch in steps 4-7 is 74 (a D5: the alto's
    # register), its second 62. Columns are MIDI 24 + index. Shape (B=1, K=1, T=8, P=60).
    probs = np.full((1, 1, 8, 60), 0.01, dtype=np.float32)
    probs[0, 0, :4, 62 - 24] = 0.9
    probs[0, 0, 4:, 74 - 24] = 0.8
    probs[0, 0, 4:, 62 - 24] = 0.6
    card = {
        "data": {
            "lowest_pitch": 24,
            "n_pitches": 60,
            "tracks": [{"role": "tenor", "is_drum": False}],
            "line_range": {"tenor": [50, 68]},
        },
        "train_data_metrics": {"tenor": {"polyphonic_rate": 0.0, "one_step_note_rate": 1.0}},
    }
    free = NotePolicy.from_card(card).decode(probs)[0, 0]
    assert free[4:, 74 - 24].all()  # the range is only kept where the card's decoding says so
    card["decoding"] = {"line_range": True}
    kept = NotePolicy.from_card(card).decode(probs)[0, 0]
    assert kept[:, 62 - 24].all() and kept.sum() == 8  # the tenor stays a tenor on its next likeliest pitch
    card["data"]["line_range"] = {"tenor": "low"}
    with pytest.raises(MuseforgeError, match=r"malformed: data\.line_range"):
        NotePolicy.from_card(card)
    # The range holds 99.5 % of the onsets, a quarter of a percent cut at each end.
    counts = np.zeros(60, dtype=np.int64)
    counts[26:45] = 100  # MIDI 50-68
    counts[10] = 1  # one stray low note (MIDI 34) among 1,901
    assert line_range(counts, 24) == [50, 68]
    counts[10] = 50  # 50 of 1,950 (2.6 %) is part of the line's range
    assert line_range(counts, 24) == [34, 68]
    assert line_range(np.zeros(60), 24) is None
