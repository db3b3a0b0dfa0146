"""The decoding's paths: a single line that keeps the chorale rule against consecutive fifths and octaves with the
lines written before it, and per-position change costs; and the shipped Bach model composing with the rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.metrics.voices import parallel_fifths_octaves
from museforge.pipelines.compose import compose
from museforge.pretrained import pretrained_card_path
from museforge.sampling.changes import change_costs
from museforge.sampling.notes import to_notes
from museforge.sampling.paths import forbidden_changes, roll_line, viterbi_line
from museforge.sampling.voice_rules import forbids_parallels

P = 24  # pitch columns: C3 = 0 ... B4 = 23


def evidence_of(pitches: list[int], sure: float = 6.0) -> np.ndarray:
    """``(T, P)`` log-odds of a line that plays ``pitches[t]`` with ``sure`` and everything else at -``sure``."""
    out = np.full((len(pitches), P), -sure, dtype=np.float32)
    for t, pitch in enumerate(pitches):
        out[t, pitch] = sure
    return out


def line_of(notes: np.ndarray) -> list[int]:
    return roll_line(notes).tolist()


def test_a_change_in_parallel_octaves_with_the_melody_is_not_taken() -> None:
    melody = np.array([[12, 14, 14, 14]])  # C4 -> D4, then held
    wanted = evidence_of([0, 2, 2, 2])  # the model's bass: C3 -> D3 on the same step, octaves ...
    wanted[1, 0] = 3.0  # ... though it finds a C3 held a step longer likely too
    free = viterbi_line(wanted, hold=1.5)
    assert line_of(free) == [0, 2, 2, 2]
    kept = viterbi_line(wanted, hold=1.5, fixed=melody)
    assert line_of(kept) == [0, 0, 2, 2]  # the bass moves a step later, against the held D4: oblique motion
    both = np.stack([melody[0], line_of(kept)])
    assert parallel_fifths_octaves(both).count == 0
    assert parallel_fifths_octaves(np.stack([melody[0], line_of(free)])).count == 1


def test_the_voices_stay_under_the_tune() -> None:
    probs = np.full((1, 2, 4, P), 0.01, dtype=np.float32)
    probs[0, 0, :, 16] = 0.9  # the "alto" wants E4 throughout ...
    probs[0, 0, :, 10] = 0.6  # ... or Bb3
    probs[0, 1, :, 12] = 0.9  # the "tenor" wants C4
    melody = np.zeros((1, 4, P), dtype=bool)
    melody[0, :2, 14] = True  # the tune: D4 for two steps, then B3
    melody[0, 2:, 11] = True
    free = to_notes(probs, monophonic=[True, True], hold=[1.0, 1.0])
    assert roll_line(free[0, 0]).tolist() == [16, 16, 16, 16]  # above the tune all along
    kept = to_notes(probs, monophonic=[True, True], hold=[1.0, 1.0], rule_lines=roll_line(melody)[:, None])
    alto, tenor = roll_line(kept[0, 0]).tolist(), roll_line(kept[0, 1]).tolist()
    assert alto == [10, 10, 10, 10]  # its other choice, under the tune
    assert tenor == [12, 12, -1, -1]  # its C4 while the tune is above it, a rest under the B3 (nothing else likely)
    # the inner voices may cross each other (the chorales' tenor is above their alto in 1.5 % of the steps)
    assert tenor[0] > alto[0]


def test_fifths_count_in_contrary_motion_and_a_holding_or_resting_line_forbids_nothing() -> None:
    # the fixed line G3 -> A3 (7 -> 9): from C3 (0) the line may not go to D3 (2) or D4 (14): fifths again
    forbid = forbidden_changes(np.array([7]), np.array([9]), P)
    assert set(np.flatnonzero(forbid[0]).tolist()) == {2, 16}  # |9 - 16| = 7 too
    assert not forbid[0, 0]  # staying on C3 is oblique motion
    assert not forbidden_changes(np.array([7]), np.array([7]), P).any()  # the fixed line holds
    assert not forbidden_changes(np.array([-1]), np.array([9]), P).any()  # it enters after a rest


@pytest.mark.parametrize("seed", range(4))
def test_on_random_evidence_the_rule_leaves_no_parallels_and_changes_nothing_that_kept_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    melody = rng.integers(-1, P, size=(1, 32))
    for t in range(1, 32):  # a tune holds its notes about half the time
        if rng.random() < 0.5:
            melody[0, t] = melody[0, t - 1]
    evidence = rng.normal(0.0, 3.0, size=(32, P)).astype(np.float32)
    kept = line_of(viterbi_line(evidence, hold=1.0, fixed=melody))
    assert parallel_fifths_octaves(np.stack([melody[0], kept])).count == 0
    free = line_of(viterbi_line(evidence, hold=1.0))
    if parallel_fifths_octaves(np.stack([melody[0], free])).count == 0:
        assert kept == free  # the model's own best path already kept the rule: it is the answer


def test_a_change_cost_moves_changes_off_a_position() -> None:
    # the line's likeliest path moves on the last 16th of the beat (step 3); a cost there moves it to the beat
    evidence = evidence_of([0, 0, 0, 2, 2, 2, 2, 2], sure=1.0)
    assert line_of(viterbi_line(evidence, hold=0.5)) == [0, 0, 0, 2, 2, 2, 2, 2]
    costs = np.zeros(8, dtype=np.float32)
    costs[3] = 4.0
    assert line_of(viterbi_line(evidence, hold=0.5, still=costs)) == [0, 0, 0, 0, 2, 2, 2, 2]


def test_the_card_says_what_a_change_costs_where() -> None:
    card = json.loads(pretrained_card_path("bach").read_text())  # alto, tenor, bass; 4 steps a beat
    given = {**card, "decoding": {**card["decoding"], "change_cost": {"tenor": {"3": 2.5}}}}
    assert change_costs(given) == (None, (0.0, 0.0, 0.0, 2.5), None)
    with pytest.raises(MuseforgeError, match=r"decoding\.change_cost"):
        change_costs({**card, "decoding": {"change_cost": {"tenor": {"7": 1.0}}}})


def test_the_bach_model_keeps_the_rule_by_default_and_can_be_told_not_to() -> None:
    assert forbids_parallels({"genre": "bach"}, None) and not forbids_parallels({"genre": "pop"}, None)
    counts = {}
    for parallels in ("allow", "forbid"):
        counted = 0
        for melody in ("ode_to_joy", "amazing_grace", "twinkle"):
            result = compose(melody, "bach", seed=3, parallels=parallels)
            music = result.multitrack
            assert result.summary["parallels"] == parallels
            counted += parallel_fifths_octaves(np.stack([roll_line(roll) for roll in music.rolls])).count
        counts[parallels] = counted
    assert counts["allow"] >= 3 and counts["forbid"] == 0
    default = compose("ode_to_joy", "bach", seed=3)
    assert default.summary["parallels"] == "forbid"
    with pytest.raises(MuseforgeError, match="parallels must be one of forbid, allow"):
        compose("ode_to_joy", "bach", seed=3, parallels="sometimes")
