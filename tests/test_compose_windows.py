"""The pieces of long-melody composing, each on its own: the windows' cross-fade, the drifting window noise, and
one-pitch-at-a-time decoding (``to_notes(monophonic=...)``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.models import build_network
from museforge.sampling.notes import to_notes
from museforge.sampling.windows import generate_probabilities, window_noise, window_starts
from tests.tiny_models import TINY_UNET


class ConstantWindows:
    """A stand-in for :class:`museforge.sampling.generation.Generation` whose window ``w`` predicts ``values[w]``
    in every cell, so that what the cross-fade makes of the windows can be read off exactly."""

    lowest_pitch = 24

    def __init__(self, values: list[float], tracks: int = 2, meter_aware: bool = False) -> None:
        self.values, self.tracks, self.meter_aware = values, tracks, meter_aware
        self.grids: np.ndarray | None = None

    def probabilities(
        self, inputs: np.ndarray, noise: torch.Tensor, fallback: np.ndarray, grid: np.ndarray | None = None
    ) -> np.ndarray:
        """``inputs (W, T, P)`` -> ``(W, K, T, P)``, window ``w`` filled with ``values[w]``."""
        n, steps, pitches = inputs.shape
        assert n == len(self.values) and noise.shape[0] == n
        self.grids = grid
        out = np.empty((n, self.tracks, steps, pitches), dtype=np.float32)
        for w, value in enumerate(self.values):
            out[w] = value
        return out


def test_windows_overlap_by_half_and_cover_the_melody() -> None:
    assert window_starts(16, 8) == [0, 4, 8]
    assert window_starts(17, 8) == [0, 4, 8, 12]  # the last window reaches past the end (padded)
    assert window_starts(5, 8) == [0]


def test_a_meter_aware_model_gets_windows_that_start_on_bar_lines() -> None:
    waltz = list(range(0, 96, 12))  # eight bars of 3/4
    assert window_starts(96, 64, waltz) == [0, 36]  # the bar line nearest half a window on
    pickup = [4, 20, 36, 52, 68]  # 4/4 after a one-beat pickup: the first window starts a bar before
    assert window_starts(70, 32, pickup) == [-12, 4, 20, 36, 52]
    assert window_starts(16, 8, []) == window_starts(16, 8)


def test_each_window_of_a_waltz_reads_its_own_bar_lines() -> None:
    from museforge.music.meter import piece_grid

    melody = np.zeros((96, 84), dtype=bool)
    melody[::4, 40] = True
    grid = piece_grid(96, list(range(0, 96, 12)), [(0, 3, 4)], 4)
    stand_in = ConstantWindows([0.2, 0.8], meter_aware=True)
    generate_probabilities(stand_in, melody, 64, torch.Generator(), noise=torch.zeros(2, 3), grid=grid)  # type: ignore[arg-type]
    assert stand_in.grids is not None and stand_in.grids.shape == (2, 64, 2)
    assert np.flatnonzero(stand_in.grids[0, :, 0]).tolist() == [0, 12, 24, 36, 48, 60]
    assert np.flatnonzero(stand_in.grids[1, :, 0]).tolist() == [0, 12, 24, 36, 48]  # bars 36-96, then padding
    assert np.flatnonzero(stand_in.grids[1, :, 1]).tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56]
    # a one-beat pickup: the first window starts a bar before the first bar line and knows where that bar began
    pickup = piece_grid(70, [4, 20, 36, 52, 68], [(0, 4, 4)], 4)
    stand_in = ConstantWindows([0.5] * 5, meter_aware=True)
    generate_probabilities(stand_in, melody[:70], 32, torch.Generator(), noise=torch.zeros(5, 3), grid=pickup)  # type: ignore[arg-type]
    assert stand_in.grids is not None and np.flatnonzero(stand_in.grids[0, :, 0]).tolist() == [0, 16]
    assert np.flatnonzero(stand_in.grids[0, :, 1]).tolist() == [12, 16, 20, 24, 28]  # the pickup beat, then the bar
    unaware = ConstantWindows([0.2, 0.8])
    generate_probabilities(unaware, melody, 64, torch.Generator(), noise=torch.zeros(2, 3), grid=grid)  # type: ignore[arg-type]
    assert unaware.grids is None  # a model without a metric grid gets none, and its windows start at 0 and 32


def test_the_cross_fade_blends_neighbouring_windows_smoothly() -> None:
    window, values = 8, [0.1, 0.2, 0.6]
    melody = np.zeros((16, 84), dtype=bool)
    probs = generate_probabilities(
        ConstantWindows(values),  # type: ignore[arg-type]
        melody,
        window,
        torch.Generator().manual_seed(0),
        noise=torch.zeros(3, 8),
    )
    assert probs.shape == (2, 16, 84)
    line = probs[0, :, 0]
    assert np.allclose(probs, line[None, :, None])  # every track and pitch blends the same way
    # where one window alone covers a step, the step is that window's prediction
    assert np.allclose(line[:4], 0.1) and np.allclose(line[12:], 0.6)
    # where two overlap, the blend moves steadily from the earlier window to the later one, symmetric about the
    # middle of the overlap (triangular weights that sum to one)
    for first, (a, b) in ((4, (0.1, 0.2)), (8, (0.2, 0.6))):
        part = line[first : first + 4]
        assert np.all(np.diff(part) > 0) and a < part[0] and part[-1] < b
        assert np.allclose(part + part[::-1], a + b)


def test_the_cross_fade_keeps_a_melody_shorter_than_a_window() -> None:
    probs = generate_probabilities(
        ConstantWindows([0.3]),  # type: ignore[arg-type]
        np.zeros((5, 84), dtype=bool),
        8,
        torch.Generator().manual_seed(0),
        noise=torch.zeros(1, 8),
    )
    assert probs.shape == (2, 5, 84) and np.allclose(probs, 0.3)


def test_window_noise_passes_through_anchors_and_drifts_between_them() -> None:
    torch.manual_seed(0)
    generator, _ = build_network("unet", TINY_UNET)
    noise = window_noise(generator, 9, torch.Generator().manual_seed(5), anchor_every=4)
    assert noise.shape == (9, generator.noise_dim)
    anchors = generator.sample_noise(4, generator=torch.Generator().manual_seed(5))  # 9 // 4 + 2 anchors
    # every anchor_every-th window takes an anchor as it is
    for row, anchor in ((0, 0), (4, 1), (8, 2)):
        assert torch.allclose(noise[row], anchors[anchor], atol=1e-6)
    # between anchors the noise moves a little at a time: each step is shorter than the jump between anchors
    steps = (noise[1:] - noise[:-1]).norm(dim=1)
    jump = (anchors[1] - anchors[0]).norm()
    assert torch.all(steps[:4] < jump) and torch.all(steps > 0)
    # and it stays on the sphere between the anchors (spherical interpolation keeps the noise's scale)
    low, high = anchors[:3].norm(dim=1).min(), anchors[:3].norm(dim=1).max()
    assert torch.all(noise.norm(dim=1) >= 0.7 * low) and torch.all(noise.norm(dim=1) <= 1.05 * high)
    # the same seed gives the same noise; another seed other noise
    again = window_noise(generator, 9, torch.Generator().manual_seed(5), anchor_every=4)
    other = window_noise(generator, 9, torch.Generator().manual_seed(6), anchor_every=4)
    assert torch.equal(noise, again) and not torch.allclose(noise, other)


def test_a_monophonic_track_keeps_one_pitch_per_step_and_the_others_keep_their_chords() -> None:
    probs = np.full((2, 4, 6), 0.05, dtype=np.float32)  # (tracks, steps, pitches)
    for track in (0, 1):
        probs[track, :, 1] = 0.7  # a chord of three likely pitches on both tracks
        probs[track, :, 3] = 0.9
        probs[track, :, 4] = 0.6
    notes = to_notes(probs, monophonic=[True, False])
    assert isinstance(notes, np.ndarray) and notes.shape == probs.shape
    assert notes[0].sum(axis=1).tolist() == [1, 1, 1, 1]  # one pitch a step...
    assert notes[0, :, 3].all()  # ...the most likely one
    assert notes[1].sum(axis=1).tolist() == [3, 3, 3, 3] and notes[1][:, [1, 3, 4]].all()
    # a line that moves: the monophonic track follows the most likely pitch of each step
    probs[0] = 0.05
    for step, pitch in enumerate([0, 2, 5, 2]):
        probs[0, step, pitch] = 0.8
    line = to_notes(torch.from_numpy(probs), monophonic=[True, False])
    assert isinstance(line, torch.Tensor)
    assert [int(np.flatnonzero(row)[0]) for row in line[0].numpy()] == [0, 2, 5, 2]
    # silence stays silence: no pitch is forced where none is likely
    probs[0] = 0.05
    assert not to_notes(probs, monophonic=[True, False])[0].any()


def test_monophonic_flags_must_match_the_tracks() -> None:
    with pytest.raises(MuseforgeError, match="monophonic has 3 flags for 2 tracks"):
        to_notes(np.full((2, 4, 6), 0.5, dtype=np.float32), monophonic=[True, False, True])
