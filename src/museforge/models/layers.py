"""Building blocks both GANs share: pitch padding, time factorisation, per-track grouped convolutions.

Tensors follow one layout throughout: a melody is ``(B, T, P)`` and an accompaniment ``(B, K, T, P)``, where
``T = n_bars * steps_per_bar`` time steps, ``P`` pitches (column 0 is ``lowest_pitch``) and ``K`` tracks.
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


class TrackDownsample(nn.Module):
    """``K`` per-track convolutions with ``kernel_size == stride`` (non-overlapping), as one op.

    Mathematically this is ``nn.Conv2d(K * in_channels, K * out_channels, kernel, stride=kernel, groups=K)``
    (same weight and bias layout) plus, for an optional input shared by all tracks (e.g. the melody),
    ``nn.Conv2d(shared_channels, K * out_channels, kernel, stride=kernel, bias=False)``: the same linear map as
    concatenating the shared input to every track's input, without copying it ``K`` times. Track ``k`` owns
    channels ``[k * C, (k + 1) * C)`` of input and output (tracks folded into channels). Because the kernels
    do not overlap, every output cell is a linear map of its own ``kh x kw`` input block, so the layer runs as
    one batched matrix product over the tracks; that is several times faster than PyTorch's grouped
    convolution on CPU, above all in the double backward of a gradient penalty. ``n_tracks=1`` gives a plain
    non-overlapping convolution.

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

    def _columns(self, x: Tensor, groups: int) -> Tensor:
        """``(N, G * C, H, W) -> (G, N * Ho * Wo, C * kh * kw)``: each output cell's input block as a row."""
        n, gc, h, w = x.shape
        kh, kw = self.kernel_size
        ho, wo = h // kh, w // kw
        x = x.reshape(n, groups, gc // groups, ho, kh, wo, kw).permute(1, 0, 3, 5, 2, 4, 6)
        return x.reshape(groups, n * ho * wo, -1)

    def forward(self, x: Tensor, shared: Tensor | None = None) -> Tensor:
        """Apply the convolution.

        Parameters
        ----------
        x : Tensor
            ``(N, K * in_channels, H, W)``, track-major channels.
        shared : Tensor, optional
            ``(N, shared_channels, H, W)``; required when the layer has a shared input.

        Returns
        -------
        Tensor
            ``(N, K * out_channels, H / kh, W / kw)``.
        """
        n, _, h, w = x.shape
        k, c_out = self.n_tracks, self.out_channels
        kh, kw = self.kernel_size
        weight = self.weight.view(k, c_out, -1).transpose(1, 2)  # (K, C_in * kh * kw, C_out)
        base = _base(k, c_out, self.bias)  # (K, 1, C_out) or None
        if self.shared_weight is not None:
            if shared is None:
                raise ValueError("TrackDownsample built with shared_channels needs a shared input")
            shared_out = self._columns(shared, 1)[0] @ self.shared_weight.view(k * c_out, -1).t()
            shared_out = shared_out.view(-1, k, c_out).transpose(0, 1)  # (K, N * Ho * Wo, C_out)
            base = shared_out if base is None else shared_out + base
        cols = self._columns(x, k)
        y = torch.bmm(cols, weight) if base is None else torch.baddbmm(base, cols, weight)
        ho, wo = h // kh, w // kw
        return y.view(k, n, ho, wo, c_out).permute(1, 0, 4, 2, 3).reshape(n, k * c_out, ho, wo)


def _base(n_tracks: int, channels: int, bias: Tensor | None, repeat: int = 1) -> Tensor | None:
    """A per-track bias ``(K * channels,)`` as ``(K, 1, channels * repeat)`` (each value ``repeat`` times)."""
    if bias is None:
        return None
    return bias.view(n_tracks, 1, channels, 1).expand(-1, -1, -1, repeat).reshape(n_tracks, 1, channels * repeat)


class TrackUpsample(nn.Module):
    """``K`` per-track transposed convolutions with ``kernel_size == stride`` (non-overlapping), as one op.

    Mathematically this is ``nn.ConvTranspose2d(K * in_channels, K * out_channels, kernel, stride=kernel,
    groups=K)`` (same weight and bias layout, so the parameters are interchangeable) plus, for an optional
    input shared by all tracks, ``nn.ConvTranspose2d(shared_channels, K * out_channels, kernel, stride=kernel,
    bias=False)``. Because the kernels do not overlap, each input cell maps linearly to its own
    ``kh x kw`` output block, so the layer runs as one batched matrix product over the tracks and a reshape,
    which is several times faster than PyTorch's transposed convolution on CPU.

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
            ``(N, K * in_channels, H, W)``, track-major channels.
        shared : Tensor, optional
            ``(N, shared_channels, H, W)``; required when the layer has a shared input.

        Returns
        -------
        Tensor
            ``(N, K * out_channels, H * kh, W * kw)``.
        """
        n, _, h, w = x.shape
        k, c_in, c_out = self.n_tracks, self.in_channels, self.out_channels
        kh, kw = self.kernel_size
        d = c_out * kh * kw  # one input cell's output block
        rows = x.reshape(n, k, c_in, h * w).permute(1, 0, 3, 2).reshape(k, n * h * w, c_in)
        base = _base(k, c_out, self.bias, kh * kw)  # (K, 1, d) or None
        if self.shared_weight is not None:
            if shared is None:
                raise ValueError("TrackUpsample built with shared_channels needs a shared input")
            shared_rows = shared.reshape(n, -1, h * w).transpose(1, 2).reshape(n * h * w, -1)
            shared_out = (shared_rows @ self.shared_weight.view(-1, k * d)).view(-1, k, d).transpose(0, 1)
            base = shared_out if base is None else shared_out + base
        weight = self.weight.view(k, c_in, d)
        y = torch.bmm(rows, weight) if base is None else torch.baddbmm(base, rows, weight)  # (K, N * H * W, d)
        y = y.view(k, n, h, w, c_out, kh, kw).permute(1, 0, 4, 2, 5, 3, 6)
        return y.reshape(n, k * c_out, h * kh, w * kw)


def norm2d(kind: str, channels: int, groups: int = 1) -> nn.Module:
    """A normalisation layer for ``(N, channels, H, W)`` maps.

    Parameters
    ----------
    kind : str
        ``"batch"`` (batch norm: generators only), ``"layer"`` (per-sample layer norm over each of ``groups``
        channel groups with a per-channel affine, safe for WGAN-GP critics) or ``"none"``.
    channels : int
        Number of channels.
    groups : int
        For ``"layer"``: normalise each group of ``channels // groups`` channels on its own (one per track).
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}")


def check_shape(name: str, x: Tensor, expected: Sequence[int | None]) -> None:
    """Raise a one-line :class:`MuseforgeError` unless ``x.shape`` matches ``expected`` (``None``: any size)."""
    shape = tuple(x.shape)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected, strict=False)):
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise MuseforgeError(f"{name} must have shape {want}, got {shape}")
