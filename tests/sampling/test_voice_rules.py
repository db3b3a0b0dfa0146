"""The Enhance sampler's part-writing rule: the pitches it forbids are exactly those the chorale check counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.metrics.voices import parallel_fifths_octaves
from museforge.sampling.voice_rules import line_pitches, parallel_candidates

P = 24  # pitch columns: C3 = 0 ... B4 = 23 (intervals are all that count)


def rolls_of(lines: list[list[int]]) -> torch.Tensor:
    """``(1, V, T, P)`` from per-line pitch columns (-1 a rest)."""
    out = torch.zeros(1, len(lines), len(lines[0]), P)
    for v, line in enumerate(lines):
        for t, pitch in enumerate(line):
            if pitch >= 0:
                out[0, v, t, pitch] = 1.0
    return out


def forbidden_at(lines: list[list[int]], voice: int, step: int) -> set[int]:
    mask = parallel_candidates(rolls_of(lines), [True] * len(lines))
    return set(np.flatnonzero(mask[0, voice, step].numpy()).tolist())


def test_octaves_and_fifths_into_a_step_are_forbidden_by_hand() -> None:
    # soprano C4 -> D4 (12 -> 14), bass an octave under at first: at step 1 the bass may not take a D
    octave = forbidden_at([[12, 14], [0, 5]], voice=1, step=1)
    assert octave == {2, 14}  # D3 and D4: an octave and a unison with the soprano's D4
    # soprano G3 -> A3 (7 -> 9) over a bass C3 (0): a fifth; D3 (2) or D4 (14) under A3 would be fifths again
    assert forbidden_at([[7, 9], [0, 5]], voice=1, step=1) == {2, 16}
    # 16 = E4: |9 - 16| = 7, a fifth above (contrary or not, the check counts it): both are left out


def test_holding_a_note_resting_or_a_still_voice_is_never_forbidden() -> None:
    # the bass holding its C3 against a moving soprano is oblique motion: allowed
    assert 0 not in forbidden_at([[12, 14], [0, 5]], voice=1, step=1)
    # the soprano holds C4: nothing the bass does into step 1 makes parallels
    assert forbidden_at([[12, 12], [0, 5]], voice=1, step=1) == set()
    # a rest before the step: no motion into it
    assert forbidden_at([[12, 14], [-1, 5]], voice=1, step=1) == set()
    # chords and drums are not lines: nothing forbidden there
    mask = parallel_candidates(rolls_of([[12, 14], [0, 5]]), [True, False])
    assert not mask.any()


def test_the_motion_out_of_a_step_counts_too() -> None:
    # soprano D4 -> E4 (14 -> 16), the bass at step 1 is E3 (4): at step 0 a D would make octaves into it
    assert forbidden_at([[14, 16], [5, 4]], voice=1, step=0) == {2, 14}


@pytest.mark.parametrize("seed", range(6))
def test_a_forbidden_pitch_is_one_that_adds_parallels_to_the_check(seed: int) -> None:
    # on random three-line music: sounding p at (v, t) adds consecutive fifths/octaves to what
    # museforge.metrics.voices counts (against a rest there) exactly when the rule forbids p there
    rng = np.random.default_rng(seed)
    lines = rng.choice(np.arange(-1, P), size=(3, 10), p=[0.1] + [0.9 / P] * P)
    lines[:, 1::2] = np.where(rng.random((3, 5)) < 0.4, lines[:, ::2], lines[:, 1::2])  # some held notes
    mask = parallel_candidates(rolls_of(lines.tolist()), [True, True, True])[0].numpy()
    assert line_pitches(rolls_of(lines.tolist()))[0].tolist() == lines.tolist()
    flagged = 0
    for v in range(3):
        for t in range(10):
            rest = lines.copy()
            rest[v, t] = -1
            base = parallel_fifths_octaves(rest).count
            for p in range(P):
                sung = lines.copy()
                sung[v, t] = p
                adds = parallel_fifths_octaves(sung).count > base
                assert adds == bool(mask[v, t, p]), (v, t, p)
                flagged += adds
    assert flagged > 0  # the random music has some to find
