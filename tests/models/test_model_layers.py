"""The shared building blocks: octave padding, time factorisation and the grouped per-track layers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from museforge.models.layers import (
    TrackDownsample,
    TrackUpsample,
    chroma,
    downsampling_factors,
    octave_padding,
    pad_pitch,
    prime_factors,
    upsampling_factors,
)


@pytest.mark.parametrize(
    ("lowest", "n_pitches", "expected"),
    [(24, 84, (0, 0)), (21, 88, (9, 11)), (0, 128, (0, 4)), (60, 1, (0, 11)), (59, 13, (11, 0))],
)
def test_octave_padding(lowest: int, n_pitches: int, expected: tuple[int, int]) -> None:
    below, above = octave_padding(lowest, n_pitches)
    assert (below, above) == expected
    assert (below + n_pitches + above) % 12 == 0
    assert (lowest - below) % 12 == 0  # padded column 0 is a C


def test_chroma_folds_octaves_onto_pitch_classes() -> None:
    roll = torch.zeros(1, 4, 84)  # column 0 = C1 (MIDI 24)
    roll[0, 0, 60 - 24] = 1  # C4
    roll[0, 0, 48 - 24] = 1  # C3
    roll[0, 1, 67 - 24] = 1  # G4
    roll[0, 2, 25 - 24] = 0.5  # C#1
    folded = chroma(roll)
    assert folded.shape == (1, 4, 12)
    assert folded[0, 0, 0] == 2 and folded[0, 0].sum() == 2
    assert folded[0, 1, 7] == 1
    assert folded[0, 2, 1] == 0.5
    assert folded[0, 3].sum() == 0


def test_pad_pitch_keeps_the_roll_in_place() -> None:
    roll = torch.rand(2, 5, 13)
    padded = pad_pitch(roll, 11, 0)
    assert padded.shape == (2, 5, 24)
    assert torch.equal(padded[..., 11:], roll) and padded[..., :11].abs().sum() == 0


@pytest.mark.parametrize("steps", [1, 7, 12, 16, 24, 48, 96, 45])
def test_time_factors_multiply_to_the_bar(steps: int) -> None:
    assert math.prod(prime_factors(steps)) == steps
    up = upsampling_factors(steps)
    assert math.prod(up) == steps and up == sorted(up, reverse=True)
    down = downsampling_factors(steps)
    assert math.prod(down) == steps and all(f <= 4 or f == down[-1] for f in down)
    assert upsampling_factors(48) == [3, 2, 2, 2, 2] and downsampling_factors(48) == [4, 4, 3]


@pytest.mark.parametrize(("kernel", "size"), [((2, 1), (5, 1)), ((1, 7), (6, 1)), ((1, 12), (4, 7)), ((3, 2), (2, 3))])
def test_track_upsample_is_a_grouped_transposed_convolution(kernel: tuple[int, int], size: tuple[int, int]) -> None:
    k, c_in, c_out, c_shared = 3, 4, 5, 2
    layer = TrackUpsample(k, c_in, c_out, kernel, shared_channels=c_shared)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, k * c_in, *size)
    shared = torch.randn(2, c_shared, *size)
    expected = F.conv_transpose2d(x, layer.weight, layer.bias, stride=kernel, groups=k) + F.conv_transpose2d(
        shared, layer.shared_weight, stride=kernel
    )
    torch.testing.assert_close(layer(x, shared), expected, rtol=1e-5, atol=1e-5)


def test_track_upsample_keeps_tracks_apart() -> None:
    k, c = 3, 4
    layer = TrackUpsample(k, c, 2, (2, 3), bias=False)
    assert layer.bias is None
    x = torch.randn(1, k * c, 2, 2)
    y = layer(x)
    x2 = x.clone()
    x2[:, c : 2 * c] += 1.0  # change track 1 only
    diff = (layer(x2) - y).abs().sum(dim=(0, 2, 3)).view(k, 2).sum(1)
    assert diff[1] > 0 and diff[0] == 0 and diff[2] == 0


@pytest.mark.parametrize(("kernel", "size"), [((1, 12), (3, 24)), ((4, 1), (8, 7)), ((2, 3), (4, 6)), ((5, 1), (5, 1))])
def test_track_downsample_is_a_grouped_convolution(kernel: tuple[int, int], size: tuple[int, int]) -> None:
    k, c_in, c_out, c_shared = 3, 2, 4, 1
    layer = TrackDownsample(k, c_in, c_out, kernel, shared_channels=c_shared)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, k * c_in, *size)
    shared = torch.randn(2, c_shared, *size)
    expected = F.conv2d(x, layer.weight, layer.bias, stride=kernel, groups=k) + F.conv2d(
        shared, layer.shared_weight, stride=kernel
    )
    torch.testing.assert_close(layer(x, shared), expected, rtol=1e-5, atol=1e-5)


def test_track_downsample_equals_per_track_convolutions_on_track_plus_shared() -> None:
    k, c_in, c_out = 3, 2, 4
    layer = TrackDownsample(k, c_in, c_out, (1, 12), shared_channels=1)
    x = torch.rand(2, k * c_in, 8, 24)
    shared = torch.rand(2, 1, 8, 24)
    y = layer(x, shared)
    w_private = layer.weight.view(k, c_out, c_in, 1, 12)
    w_shared = layer.shared_weight.view(k, c_out, 1, 1, 12)
    bias = layer.bias.view(k, c_out)
    for t in range(k):
        # track t alone: its own channels concatenated with the shared input, one ordinary convolution
        weight = torch.cat([w_private[t], w_shared[t]], dim=1)
        inputs = torch.cat([x[:, t * c_in : (t + 1) * c_in], shared], dim=1)
        expected = F.conv2d(inputs, weight, bias[t], stride=(1, 12))
        torch.testing.assert_close(y[:, t * c_out : (t + 1) * c_out], expected, rtol=1e-5, atol=1e-5)


def test_shared_input_is_required_when_declared() -> None:
    with pytest.raises(ValueError, match="shared input"):
        TrackUpsample(2, 1, 1, (1, 2), shared_channels=1)(torch.zeros(1, 2, 1, 1))
    with pytest.raises(ValueError, match="shared input"):
        TrackDownsample(2, 1, 1, (1, 1), shared_channels=1)(torch.zeros(1, 2, 1, 1))
