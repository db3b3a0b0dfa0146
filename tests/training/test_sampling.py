"""Probabilities to notes: the explicit threshold / Bernoulli step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.sampling import to_notes


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
