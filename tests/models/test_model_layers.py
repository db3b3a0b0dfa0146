"""The shared building blocks: octave padding, time factorisation, the per-track layers and norms on the track-rows
layout, each checked against the PyTorch layer it computes (same parameters) in PyTorch's own layout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from museforge.models.layers import (
    TrackBatchNorm,
    TrackDownsample,
    TrackLayerNorm,
    TrackUpsample,
    chroma,
    downsampling_factors,
    octave_padding,
    pad_pitch,
    prime_factors,
    track_blocks,
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


def rows(x: torch.Tensor, n_tracks: int) -> torch.Tensor:
    """PyTorch's ``(N, K * C, H, W)`` -> the track-rows layout ``(K, N, H, W, C)``."""
    n, kc, h, w = x.shape
    return x.view(n, n_tracks, kc // n_tracks, h, w).permute(1, 0, 3, 4, 2).contiguous()


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
    got = layer(rows(x, k), rows(shared, 1)[0])
    torch.testing.assert_close(got, rows(expected, k), rtol=1e-5, atol=1e-5)


def test_track_upsample_keeps_tracks_apart() -> None:
    k, c = 3, 4
    layer = TrackUpsample(k, c, 2, (2, 3), bias=False)
    assert layer.bias is None
    x = torch.randn(k, 1, 2, 2, c)
    y = layer(x)
    assert y.shape == (k, 1, 4, 6, 2)
    x2 = x.clone()
    x2[1] += 1.0  # change track 1 only
    diff = (layer(x2) - y).abs().flatten(1).sum(1)
    assert diff[1] > 0 and diff[0] == 0 and diff[2] == 0


@pytest.mark.parametrize("c_out", [4, 11])  # 11: computed with a zero column (NARROW_OUTPUT)
@pytest.mark.parametrize(("kernel", "size"), [((1, 12), (3, 24)), ((4, 1), (8, 7)), ((2, 3), (4, 6)), ((5, 1), (5, 1))])
def test_track_downsample_is_a_grouped_convolution(kernel: tuple[int, int], size: tuple[int, int], c_out: int) -> None:
    k, c_in, c_shared = 3, 2, 1
    layer = TrackDownsample(k, c_in, c_out, kernel, shared_channels=c_shared)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, k * c_in, *size)
    shared = torch.randn(2, c_shared, *size)
    expected = F.conv2d(x, layer.weight, layer.bias, stride=kernel, groups=k) + F.conv2d(
        shared, layer.shared_weight, stride=kernel
    )
    torch.testing.assert_close(layer(rows(x, k), rows(shared, 1)[0]), rows(expected, k), rtol=1e-5, atol=1e-5)


def test_track_downsample_equals_per_track_convolutions_on_track_plus_shared() -> None:
    k, c_in, c_out = 3, 2, 4
    layer = TrackDownsample(k, c_in, c_out, (1, 12), shared_channels=1)
    x = torch.rand(2, k * c_in, 8, 24)
    shared = torch.rand(2, 1, 8, 24)
    y = layer(rows(x, k), rows(shared, 1)[0])
    w_private = layer.weight.view(k, c_out, c_in, 1, 12)
    w_shared = layer.shared_weight.view(k, c_out, 1, 1, 12)
    bias = layer.bias.view(k, c_out)
    for t in range(k):
        # track t alone: its own channels concatenated with the shared input, one ordinary convolution
        weight = torch.cat([w_private[t], w_shared[t]], dim=1)
        inputs = torch.cat([x[:, t * c_in : (t + 1) * c_in], shared], dim=1)
        expected = F.conv2d(inputs, weight, bias[t], stride=(1, 12))
        torch.testing.assert_close(y[t], rows(expected, 1)[0], rtol=1e-5, atol=1e-5)


def test_a_joined_input_is_the_tracks_beside_the_shared_input() -> None:
    k, c_in, c_out, c_shared = 3, 2, 4, 2
    layer = TrackDownsample(k, c_in, c_out, (1, 12), shared_channels=c_shared)
    x, shared = torch.randn(k, 2, 5, 24, c_in), torch.randn(2, 5, 24, c_shared)
    joined = torch.cat([x, shared.expand(k, -1, -1, -1, -1)], dim=-1)
    torch.testing.assert_close(layer(joined, joined=True), layer(x, shared), rtol=1e-5, atol=1e-5)


def test_track_blocks_are_views_where_a_block_is_contiguous() -> None:
    x = torch.randn(2, 3, 8, 6, 5)
    for kernel in ((1, 3), (4, 6), (1, 1)):
        assert track_blocks(x, kernel).data_ptr() == x.data_ptr() and track_blocks(x, kernel).is_contiguous()
    blocks = track_blocks(x, (2, 3))  # a block spans rows of the map: copied
    assert blocks.shape == (2, 3 * 4 * 2, 2 * 3 * 5)
    torch.testing.assert_close(blocks[1, 0], x[1, 0, :2, :3].reshape(-1))


@pytest.mark.parametrize("n_tracks", [1, 3])
def test_track_batch_norm_is_batch_norm_over_track_major_channels(n_tracks: int) -> None:
    c = 4
    mine, torchs = TrackBatchNorm(n_tracks, c), torch.nn.BatchNorm2d(n_tracks * c)
    with torch.no_grad():
        for module in (mine, torchs):
            module.weight.copy_(torch.linspace(0.5, 2.0, n_tracks * c))
            module.bias.copy_(torch.linspace(-1.0, 1.0, n_tracks * c))
    for step in range(3):  # training: batch statistics, running ones updated alike
        x = torch.randn(5, n_tracks * c, 6, 2) * (step + 1) + step
        torch.testing.assert_close(mine(rows(x, n_tracks)), rows(torchs(x), n_tracks), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mine.running_mean, torchs.running_mean)
    torch.testing.assert_close(mine.running_var, torchs.running_var)
    assert mine.num_batches_tracked == torchs.num_batches_tracked == 3
    mine.eval(), torchs.eval()
    x = torch.randn(2, n_tracks * c, 3, 5)
    torch.testing.assert_close(mine(rows(x, n_tracks)), rows(torchs(x), n_tracks), rtol=1e-5, atol=1e-5)
    assert list(mine.state_dict()) == list(torchs.state_dict())


@pytest.mark.parametrize("n_tracks", [1, 3])
def test_track_layer_norm_is_group_norm_per_track(n_tracks: int) -> None:
    c = 4
    mine, torchs = TrackLayerNorm(n_tracks, c), torch.nn.GroupNorm(n_tracks, n_tracks * c)
    with torch.no_grad():
        for module in (mine, torchs):
            module.weight.copy_(torch.linspace(0.5, 2.0, n_tracks * c))
            module.bias.copy_(torch.linspace(-1.0, 1.0, n_tracks * c))
    x = (torch.randn(3, n_tracks * c, 4, 6) + 2).requires_grad_(True)
    x_rows = rows(x.detach(), n_tracks).requires_grad_(True)
    got, expected = mine(x_rows), torchs(x)
    torch.testing.assert_close(got, rows(expected, n_tracks), rtol=1e-5, atol=1e-5)
    # the gradient penalty differentiates the input gradient again: both orders agree
    (g_rows,) = torch.autograd.grad(got.square().sum(), x_rows, create_graph=True)
    (g,) = torch.autograd.grad(expected.square().sum(), x, create_graph=True)
    torch.testing.assert_close(g_rows, rows(g, n_tracks), rtol=1e-4, atol=1e-4)
    g_rows.square().sum().backward()
    g.square().sum().backward()
    assert mine.weight.grad is not None and torchs.weight.grad is not None
    torch.testing.assert_close(mine.weight.grad, torchs.weight.grad, rtol=1e-4, atol=1e-4)


def test_shared_input_is_required_when_declared() -> None:
    with pytest.raises(ValueError, match="shared input"):
        TrackUpsample(2, 1, 1, (1, 2), shared_channels=1)(torch.zeros(2, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="shared input"):
        TrackDownsample(2, 1, 1, (1, 1), shared_channels=1)(torch.zeros(2, 1, 1, 1, 1))
