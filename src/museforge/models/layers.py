"""Building blocks both GANs share: pitch padding, time factorisation, per-track grouped layers and their norms.

At the networks' edges a melody is ``(B, T, P)`` and an accompaniment ``(B, K, T, P)``, where
``T = n_bars * steps_per_bar`` time steps, ``P`` pitches (column 0 is ``lowest_pitch``) and ``K`` tracks. Inside
the MuseGAN, activations are in the **track-rows layout** ``(K, N, H, W, C)``: tracks first, channels last. Each
per-track layer (:class:`TrackDownsample`, :class:`TrackUpsample`) is then one batched matrix product over the
tracks whose input rows and output are views of that layout, and its norm (:class:`TrackBatchNorm`,
:class:`TrackLayerNorm`) works on it in place of PyTorch's ``(N, K * C, H, W)`` ones, with the same parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.errors import MuseforgeError

#: Negative slope of every LeakyReLU in the critics and encoders.
LEAKY_SLOPE = 0.2
#: A per-track product with fewer output channels than this, not a multiple of 4, runs with zero columns up to the
#: next multiple of 4, cut off after: MKL's batched products with 11 output columns (the tutorial-shape critic's
#: private streams) ran 1.7-2.1x slower, forward and backward, than with 12 (docs/performance.md).
NARROW_OUTPUT = 16


def probabilities(logits: Tensor) -> Tensor:
    """Turn generator logits into note probabilities in ``[0, 1]`` (the sigmoid).

    Parameters
    ----------
    logits : Tensor
        Any shape, e.g. ``(B, K, T, P)`` from a generator.

    Returns
    -------
    Tensor
        Same shape; this is what the critic is fed for fake samples.
    """
    return torch.sigmoid(logits)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def octave_padding(lowest_pitch: int, n_pitches: int) -> tuple[int, int]:
    """Zero columns to add below and above a roll so that it splits into whole octaves starting on C.

    Parameters
    ----------
    lowest_pitch : int
        MIDI pitch of column 0.
    n_pitches : int
        Number of pitch columns ``P``.

    Returns
    -------
    tuple of int
        ``(below, above)``; ``below + P + above`` is a multiple of 12 and column ``below`` of the padded roll
        is ``lowest_pitch``, so padded column ``j`` has pitch class ``j % 12``.
    """
    below = lowest_pitch % 12
    total = -(-(below + n_pitches) // 12) * 12
    return below, total - below - n_pitches


def pad_pitch(x: Tensor, below: int, above: int) -> Tensor:
    """Zero-pad the last (pitch) axis of ``x`` by ``below`` columns in front and ``above`` behind."""
    if below == 0 and above == 0:
        return x
    return F.pad(x, (below, above))


def chroma(x: Tensor) -> Tensor:
    """Fold an octave-aligned roll (see :func:`octave_padding`) onto 12 pitch classes by summing octaves.

    Parameters
    ----------
    x : Tensor
        ``(..., 12 * n_octaves)``, column ``j`` of pitch class ``j % 12``.

    Returns
    -------
    Tensor
        ``(..., 12)``.
    """
    return x.unflatten(-1, (-1, 12)).sum(-2)


def prime_factors(n: int) -> list[int]:
    """Prime factors of ``n`` in ascending order (``[]`` for 1)."""
    factors: list[int] = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def upsampling_factors(steps: int) -> list[int]:
    """Time factors a generator grows a bar by, coarse to fine: the largest prime first, then the rest.

    ``48 -> [3, 2, 2, 2, 2]`` (a bar of 3 cells doubled four times), ``16 -> [2, 2, 2, 2]``, ``1 -> [1]``.
    Their product is ``steps``.
    """
    factors = sorted(prime_factors(steps), reverse=True)
    return factors or [1]


def downsampling_factors(steps: int) -> list[int]:
    """Time factors a critic shrinks a bar by, fine to coarse, at most 4 where possible.

    ``48 -> [4, 4, 3]``, ``16 -> [4, 4]``, ``24 -> [4, 2, 3]``, ``1 -> []``. Their product is ``steps``.
    """
    factors: list[int] = []
    while steps % 4 == 0:
        factors.append(4)
        steps //= 4
    if steps % 2 == 0:
        factors.append(2)
        steps //= 2
    return factors + prime_factors(steps)


def track_blocks(x: Tensor, kernel_size: tuple[int, int]) -> Tensor:
    """Each non-overlapping ``kh x kw`` block of a track-rows map as one row.

    Parameters
    ----------
    x : Tensor
        ``(G, N, H, W, C)``: ``G`` groups (tracks) of ``N`` maps, channels last; ``H`` and ``W`` multiples of
        ``(kh, kw)``.
    kernel_size : tuple of int
        ``(kh, kw)``.

    Returns
    -------
    Tensor
        ``(G, N * H/kh * W/kw, kh * kw * C)``, rows in ``(N, H/kh, W/kw)`` order, each row in ``(kh, kw, C)``
        order. A view (no copy) when ``kh == 1`` or ``W == kw``, as in every MuseGAN layer.
    """
    g, n, h, w, c = x.shape
    kh, kw = kernel_size
    return x.reshape(g, n, h // kh, kh, w // kw, kw * c).transpose(3, 4).reshape(g, -1, kh * kw * c)


class TrackDownsample(nn.Module):
    """``K`` per-track convolutions with ``kernel_size == stride`` (non-overlapping), as one batched product.

    Mathematically this is ``nn.Conv2d(K * in_channels, K * out_channels, kernel, stride=kernel, groups=K)``
    (same weight and bias layout, so the parameters are interchangeable) plus, for an optional input shared by
    all tracks (e.g. the melody), ``nn.Conv2d(shared_channels, K * out_channels, kernel, stride=kernel,
    bias=False)``: the same linear map as concatenating the shared input to every track's input, without copying
    it ``K`` times. Because the kernels do not overlap, every output cell is a linear map of its own ``kh x kw``
    input block, so the layer is ONE batched matrix product over the tracks (plus one product of the shared
    input, which also adds the bias), on activations kept in the track-rows layout ``(K, N, H, W, C)``: each
    block is a row of that layout without any copy when ``kh == 1`` or the block spans the whole width, and the
    output is already in the layout the next layer reads. ``n_tracks=1`` gives a plain non-overlapping
    convolution.

    Parameters
    ----------
    n_tracks : int
        ``K``, the number of groups.
    in_channels, out_channels : int
        Channels per track.
    kernel_size : tuple of int
        ``(kh, kw)``; also the stride. Input height and width must be multiples of it.
    shared_channels : int
        Channels of the shared input; 0 for none.
    bias : bool
        Learn a bias per output channel.
    """

    def __init__(
        self,
        n_tracks: int,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        *,
        shared_channels: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.n_tracks, self.in_channels, self.out_channels = n_tracks, in_channels, out_channels
        self.kernel_size = kernel_size
        kh, kw = kernel_size
        # He-uniform for a LeakyReLU that follows, over the true fan-in (own and shared inputs together)
        bound = math.sqrt(6.0 / ((1 + LEAKY_SLOPE**2) * (in_channels + shared_channels) * kh * kw))
        self.weight = nn.Parameter(torch.empty(n_tracks * out_channels, in_channels, kh, kw).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(n_tracks * out_channels)) if bias else None
        self.shared_weight = (
            nn.Parameter(torch.empty(n_tracks * out_channels, shared_channels, kh, kw).uniform_(-bound, bound))
            if shared_channels
            else None
        )

    def forward(self, x: Tensor, shared: Tensor | None = None, *, joined: bool = False) -> Tensor:
        """Apply the convolution.

        Parameters
        ----------
        x : Tensor
            ``(K, N, H, W, in_channels)``, track-rows layout; with ``joined``, ``(K, N, H, W, in_channels +
            shared_channels)``: each track's channels followed by the shared input's.
        shared : Tensor, optional
            ``(N, H, W, shared_channels)``; required when the layer has a shared input and ``x`` is not joined.
        joined : bool
            ``x`` already holds the shared input beside each track's (the caller wrote both in the one copy that
            makes its track-rows layout): one product with each track's weights stacked on the shared ones,
            instead of a product of the shared input added to the tracks' product.

        Returns
        -------
        Tensor
            ``(K, N, H / kh, W / kw, out_channels)``.
        """
        k, n, h, w, _ = x.shape
        c_out = self.out_channels
        kh, kw = self.kernel_size
        weight = self.weight.view(k, c_out, -1, kh, kw)
        if self.shared_weight is not None and joined:
            weight = torch.cat([weight, self.shared_weight.view(k, c_out, -1, kh, kw)], dim=2)
        # (K, C_out, C_in, kh, kw) -> (K, kh * kw * C_in, C_out): rows in the blocks' (kh, kw, C) order
        weight = weight.permute(0, 3, 4, 2, 1).reshape(k, -1, c_out)
        base = None if self.bias is None else self.bias.view(k, 1, c_out)
        extra = (-c_out) % 4 if c_out < NARROW_OUTPUT else 0  # zero columns (see NARROW_OUTPUT)
        if self.shared_weight is not None and not joined:
            if shared is None:
                raise ValueError("TrackDownsample built with shared_channels needs a shared input")
            shared_weight = self.shared_weight.permute(2, 3, 1, 0).reshape(-1, k * c_out)
            rows = track_blocks(shared.unsqueeze(0), self.kernel_size)[0]
            shared_out = rows @ shared_weight if self.bias is None else torch.addmm(self.bias, rows, shared_weight)
            base = shared_out.view(-1, k, c_out).transpose(0, 1)  # (K, N * Ho * Wo, C_out), bias included
        if extra:
            weight = F.pad(weight, (0, extra))
            base = None if base is None else F.pad(base, (0, extra))
        cols = track_blocks(x, self.kernel_size)
        y = torch.bmm(cols, weight) if base is None else torch.baddbmm(base, cols, weight)
        return y[..., :c_out].reshape(k, n, h // kh, w // kw, c_out)


class TrackUpsample(nn.Module):
    """``K`` per-track transposed convolutions with ``kernel_size == stride`` (non-overlapping), as one op.

    Mathematically this is ``nn.ConvTranspose2d(K * in_channels, K * out_channels, kernel, stride=kernel,
    groups=K)`` (same weight and bias layout, so the parameters are interchangeable) plus, for an optional
    input shared by all tracks, ``nn.ConvTranspose2d(shared_channels, K * out_channels, kernel, stride=kernel,
    bias=False)``. Because the kernels do not overlap, each input cell maps linearly to its own ``kh x kw``
    output block, so the layer is one batched matrix product over the tracks (plus one product of the shared
    input, which also adds the bias) in the track-rows layout ``(K, N, H, W, C)``; the output blocks are written
    in ``(kh, kw, C)`` order, which is already the next layer's layout (no copy) when ``kh == 1`` or ``W == 1``.

    Parameters
    ----------
    n_tracks : int
        ``K``.
    in_channels, out_channels : int
        Channels per track.
    kernel_size : tuple of int
        ``(kh, kw)``; also the stride.
    shared_channels : int
        Channels of the shared input; 0 for none.
    bias : bool
        Learn a bias per output channel (pointless before batch norm).
    """

    def __init__(
        self,
        n_tracks: int,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        *,
        shared_channels: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.n_tracks, self.in_channels, self.out_channels = n_tracks, in_channels, out_channels
        self.kernel_size = kernel_size
        kh, kw = kernel_size
        # He-uniform over the true fan-in (each output cell sees in_channels + shared_channels inputs), so the
        # signal keeps its scale through a stack of these layers and ReLUs even without batch norm.
        bound = math.sqrt(6.0 / (in_channels + shared_channels))
        self.weight = nn.Parameter(torch.empty(n_tracks * in_channels, out_channels, kh, kw).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(n_tracks * out_channels)) if bias else None
        self.shared_weight = (
            nn.Parameter(torch.empty(shared_channels, n_tracks * out_channels, kh, kw).uniform_(-bound, bound))
            if shared_channels
            else None
        )

    def forward(self, x: Tensor, shared: Tensor | None = None) -> Tensor:
        """Upsample.

        Parameters
        ----------
        x : Tensor
            ``(K, N, H, W, in_channels)``, track-rows layout.
        shared : Tensor, optional
            ``(N, H, W, shared_channels)``; required when the layer has a shared input.

        Returns
        -------
        Tensor
            ``(K, N, H * kh, W * kw, out_channels)``.
        """
        k, n, h, w, c_in = x.shape
        c_out = self.out_channels
        kh, kw = self.kernel_size
        blocks = kh * kw
        # (K * C_in, C_out, kh, kw) -> (K, C_in, kh * kw * C_out): each input cell's output block in (kh, kw, C)
        weight = self.weight.view(k, c_in, c_out, blocks).transpose(2, 3).reshape(k, c_in, -1)
        bias = None if self.bias is None else self.bias.view(k, 1, c_out).expand(k, blocks, c_out)
        base = None if bias is None else bias.reshape(k, 1, -1)
        if self.shared_weight is not None:
            if shared is None:
                raise ValueError("TrackUpsample built with shared_channels needs a shared input")
            cs = self.shared_weight.shape[0]
            shared_weight = self.shared_weight.view(cs, k, c_out, blocks).transpose(2, 3).reshape(cs, -1)
            rows = shared.reshape(-1, cs)
            shared_out = rows @ shared_weight if bias is None else torch.addmm(bias.reshape(-1), rows, shared_weight)
            base = shared_out.view(-1, k, blocks * c_out).transpose(0, 1)  # (K, N * H * W, d), bias included
        rows = x.reshape(k, -1, c_in)
        y = torch.bmm(rows, weight) if base is None else torch.baddbmm(base, rows, weight)
        y = y.view(k, n, h, w, kh, kw, c_out).transpose(3, 4)
        return y.reshape(k, n, h * kh, w * kw, c_out)


def spread(values: Tensor, n_tracks: int, x: Tensor) -> Tensor:
    """Per-channel values ``(K * C,)`` repeated over one map of ``x`` ``(K, N, H, W, C)``: ``(K, 1, H * W * C)``."""
    c = x.shape[-1]
    cells = x.shape[2] * x.shape[3]
    return values.view(n_tracks, 1, 1, c).expand(-1, -1, cells, -1).reshape(n_tracks, 1, cells * c)


class TrackBatchNorm(nn.BatchNorm2d):
    """Batch norm of each track's channels on the track-rows layout ``(K, N, H, W, C)``.

    The parameters and buffers are those of ``nn.BatchNorm2d(K * C)`` over track-major channels (checkpoints are
    interchangeable), and so is the maths: per channel, statistics over ``(N, H, W)`` in training (the running
    ones updated with the unbiased variance), the running ones in evaluation. One track runs PyTorch's own batch
    norm on the ``(N * H * W, C)`` rows; several normalise with one ``var_mean`` and one ``addcmul`` (the
    per-channel scale and shift spread over a whole map, see :func:`spread`).
    """

    def __init__(self, n_tracks: int, channels: int) -> None:
        super().__init__(n_tracks * channels)
        self.n_tracks = n_tracks

    def forward(self, x: Tensor) -> Tensor:
        """``(K, N, H, W, C) -> (K, N, H, W, C)``."""
        k, c = self.n_tracks, x.shape[-1]
        running_mean, running_var, batches = self.running_mean, self.running_var, self.num_batches_tracked
        assert running_mean is not None and running_var is not None and batches is not None  # tracked, as built
        momentum = self.momentum
        if self.training:
            batches.add_(1)
            momentum = 1.0 / float(batches) if momentum is None else momentum  # None: a cumulative average
        factor = momentum or 0.0
        rows = x.reshape(k, -1, c)
        if k == 1:
            y = F.batch_norm(
                rows[0], running_mean, running_var, self.weight, self.bias, self.training, factor, self.eps
            )
            return y.view(x.shape)
        if self.training:
            var, mean = torch.var_mean(rows, dim=1, keepdim=True, correction=0)  # (K, 1, C)
            n = rows.shape[1]
            with torch.no_grad():
                running_mean.lerp_(mean.view(-1).to(running_mean.dtype), factor)
                running_var.lerp_(var.view(-1).to(running_var.dtype) * (n / max(n - 1, 1)), factor)
        else:
            mean, var = running_mean.view(k, 1, c), running_var.view(k, 1, c)
        scale = self.weight.view(k, 1, c) * torch.rsqrt(var + self.eps)
        shift = self.bias.view(k, 1, c) - mean * scale
        y = torch.addcmul(spread(shift.view(-1), k, x), x.reshape(k, x.shape[1], -1), spread(scale.view(-1), k, x))
        return y.view(x.shape)


class TrackLayerNorm(nn.GroupNorm):
    """Layer norm of each track of each sample on the track-rows layout ``(K, N, H, W, C)``, with a per-channel
    affine: the parameters and maths of ``nn.GroupNorm(K, K * C)`` over track-major channels (statistics of each
    track of each sample over ``(H, W, C)``), as one ``layer_norm`` without affine over the ``K * N`` contiguous
    maps and one ``addcmul`` with the affine spread over a whole map (a per-channel broadcast over an innermost
    axis of a few channels is several times slower). ``layer_norm`` rather than ``group_norm``: its double
    backward (the gradient penalty's) is 1.4-2.6x faster on the CPU."""

    def __init__(self, n_tracks: int, channels: int) -> None:
        super().__init__(n_tracks, n_tracks * channels)

    def forward(self, x: Tensor) -> Tensor:
        """``(K, N, H, W, C) -> (K, N, H, W, C)``."""
        k, n = self.num_groups, x.shape[1]
        size = (x[0, 0].numel(),)
        if k == 1:  # one affine for all rows: layer_norm applies it itself
            return F.layer_norm(
                x.reshape(n, -1), size, spread(self.weight, 1, x)[0, 0], spread(self.bias, 1, x)[0, 0], self.eps
            ).view(x.shape)
        y = F.layer_norm(x.reshape(k, n, -1), size, eps=self.eps)
        return torch.addcmul(spread(self.bias, k, x), y, spread(self.weight, k, x)).view(x.shape)


def track_norm(kind: str, n_tracks: int, channels: int) -> nn.Module:
    """A normalisation of ``(K, N, H, W, C)`` track-rows maps: ``"batch"`` (:class:`TrackBatchNorm`, generators
    only), ``"layer"`` (:class:`TrackLayerNorm`, per sample and track, safe for WGAN-GP critics) or ``"none"``."""
    if kind == "batch":
        return TrackBatchNorm(n_tracks, channels)
    if kind == "layer":
        return TrackLayerNorm(n_tracks, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def norm2d(kind: str, channels: int) -> nn.Module:
    """A normalisation layer for ``(N, channels, H, W)`` maps (the U-Net's).

    Parameters
    ----------
    kind : str
        ``"batch"`` (batch norm: generators only), ``"layer"`` (per-sample layer norm over all channels with a
        per-channel affine, safe for WGAN-GP critics) or ``"none"``.
    channels : int
        Number of channels.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def check_shape(name: str, x: Tensor, expected: Sequence[int | None]) -> None:
    """Raise a one-line :class:`MuseforgeError` unless ``x.shape`` matches ``expected`` (``None``: any size)."""
    shape = tuple(x.shape)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected, strict=False)):
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise MuseforgeError(f"{name} must have shape {want}, got {shape}")
