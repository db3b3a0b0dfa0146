"""The plain reference point of the benchmarks: museforge's networks with PyTorch's own convolution layers.

museforge runs its per-track convolutions (:class:`~museforge.models.layers.TrackDownsample`,
:class:`~museforge.models.layers.TrackUpsample`) as batched matrix products. Their parameters have exactly the
layout of ``nn.Conv2d`` / ``nn.ConvTranspose2d`` with ``groups = K``, so :func:`plainify` swaps each for the
PyTorch convolution the public MuseGAN implementations use, sharing the same parameter tensors: the same
model, computed the plain way.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from museforge.models.layers import TrackDownsample, TrackUpsample


class ConvDownsample(nn.Module):
    """``F.conv2d(groups=K)`` (plus a dense convolution of the shared input) with a TrackDownsample's weights."""

    def __init__(self, layer: TrackDownsample) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, shared: Tensor | None = None) -> Tensor:
        """``(N, K * C_in, H, W)`` (and shared ``(N, C_s, H, W)``) -> ``(N, K * C_out, H / kh, W / kw)``."""
        layer = self.layer
        y = F.conv2d(x, layer.weight, layer.bias, stride=layer.kernel_size, groups=layer.n_tracks)
        if layer.shared_weight is not None:
            y = y + F.conv2d(shared, layer.shared_weight, stride=layer.kernel_size)
        return y


class ConvUpsample(nn.Module):
    """``F.conv_transpose2d(groups=K)`` (plus the shared input's) with a TrackUpsample's weights."""

    def __init__(self, layer: TrackUpsample) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor, shared: Tensor | None = None) -> Tensor:
        """``(N, K * C_in, H, W)`` (and shared ``(N, C_s, H, W)``) -> ``(N, K * C_out, H * kh, W * kw)``."""
        layer = self.layer
        y = F.conv_transpose2d(x, layer.weight, layer.bias, stride=layer.kernel_size, groups=layer.n_tracks)
        if layer.shared_weight is not None:
            y = y + F.conv_transpose2d(shared, layer.shared_weight, stride=layer.kernel_size)
        return y


def plainify(module: nn.Module) -> nn.Module:
    """Swap, in place, every per-track layer of ``module`` for its PyTorch convolution; returns ``module``."""
    for name, child in module.named_children():
        if isinstance(child, TrackDownsample):
            setattr(module, name, ConvDownsample(child))
        elif isinstance(child, TrackUpsample):
            setattr(module, name, ConvUpsample(child))
        else:
            plainify(child)
    return module
