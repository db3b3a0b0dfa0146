"""The plain reference point of the benchmarks: museforge's networks with PyTorch's own layers, in its layout.

museforge's MuseGAN runs its per-track convolutions (:class:`~museforge.models.layers.TrackDownsample`,
:class:`~museforge.models.layers.TrackUpsample`) as batched matrix products on activations in the track-rows
layout ``(K, N, H, W, C)``. Their parameters have exactly the layout of ``nn.Conv2d`` / ``nn.ConvTranspose2d``
with ``groups = K``, and its norms those of ``nn.BatchNorm2d`` / ``nn.GroupNorm``, so :func:`plainify` swaps each
per-track layer for the PyTorch convolution the public MuseGAN implementations use, sharing the same parameter
tensors, and runs the networks the way they ran before the track-rows layout (:func:`plain_generator`,
:func:`plain_critic`): ``(N, K * C, H, W)`` maps, tracks folded into channels, PyTorch's batch and group norms.
The same model, computed the plain way (the tests check that both give the same outputs and gradients).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.models.layers import LEAKY_SLOPE, TrackDownsample, TrackUpsample, chroma, pad_pitch
from museforge.models.musegan import MuseGANCritic, MuseGANGenerator, metric_input


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
    """Swap, in place, every per-track layer of ``module`` for its PyTorch convolution and, for a MuseGAN network,
    its forward for the plain one; returns ``module``."""
    if isinstance(module, MuseGANGenerator):
        module.forward = partial(plain_generator, module)  # type: ignore[method-assign]
    elif isinstance(module, MuseGANCritic):
        module.forward = partial(plain_critic, module)  # type: ignore[method-assign]
    for name, child in module.named_children():
        if isinstance(child, TrackDownsample):
            setattr(module, name, ConvDownsample(child))
        elif isinstance(child, TrackUpsample):
            setattr(module, name, ConvUpsample(child))
        else:
            plainify(child)
    return module


def _norm(norm: nn.Module, x: Tensor) -> Tensor:
    """A track norm (or identity) as PyTorch's own module on ``(N, C, H, W)``, running statistics included."""
    if isinstance(norm, nn.BatchNorm2d):
        return nn.BatchNorm2d.forward(norm, x)
    if isinstance(norm, nn.GroupNorm):
        return nn.GroupNorm.forward(norm, x)
    return x


def _act(act: nn.Module, x: Tensor) -> Tensor:
    """A critic's ``Sequential(norm, LeakyReLU)`` on ``(N, C, H, W)``."""
    return F.leaky_relu(_norm(act[0], x), LEAKY_SLOPE)


def plain_generator(g: MuseGANGenerator, melody: Tensor, noise: Tensor, meter: Tensor | None = None) -> Tensor:
    """:class:`MuseGANGenerator`'s forward on ``(N, K * C, H, W)`` maps: ``(B, T, P), (B, noise_dim)[, (B, T, 2)]
    -> (B, K, T, P)``."""
    g.check_inputs(melody, noise)
    bsz, k, d, n_bars, s = melody.shape[0], g.n_tracks, g.z_dim, g.n_bars, g.steps_per_bar
    n = bsz * n_bars
    z_shared, z_shared_t, z_private, z_private_t = noise.split([d, d, k * d, k * d], dim=1)
    bar_shared = g.shared_temporal(z_shared_t).reshape(bsz, n_bars, d)
    bar_private = g.private_temporal(z_private_t.unsqueeze(-1)).reshape(bsz, k, n_bars, d)
    if g.meter_aware:
        bars = metric_input(melody, meter, g.default_grid, g.pad).permute(0, 3, 1, 2)  # (B, 1 + G, T, P')
        bars = bars.reshape(bsz, -1, n_bars, s, bars.shape[-1]).transpose(1, 2).reshape(n, -1, s, bars.shape[-1])
    else:
        bars = pad_pitch(melody, *g.pad).reshape(n, 1, s, -1)
    encoder = g.melody_encoder
    h = bars
    features = []
    for conv, norm, _ in [encoder.pitch, encoder.octave, *encoder.time]:  # Sequential(layer, norm, LeakyReLU)
        h = F.leaky_relu(_norm(norm, conv(h)), LEAKY_SLOPE)
        features.append(h)
    vector = encoder.vector(h.flatten(1))
    shared = torch.cat(
        [z_shared.unsqueeze(1).expand(bsz, n_bars, d), bar_shared, vector.reshape(bsz, n_bars, -1)], dim=2
    ).reshape(n, -1, 1, 1)
    private = torch.cat(
        [z_private.reshape(bsz, 1, k, d).expand(bsz, n_bars, k, d), bar_private.transpose(1, 2)], dim=3
    ).reshape(n, k * 2 * d, 1, 1)
    x = g.layers[0](private, shared)
    for layer, norm, cond in zip(g.layers[1:], g.norms, features[::-1], strict=True):
        x = layer(torch.relu(_norm(norm, x)), cond)
    below = g.pad[0]
    x = x[..., below : below + g.n_pitches].reshape(bsz, n_bars, k, s, g.n_pitches).transpose(1, 2)
    if g.bar_variation is not None:
        mean = x.mean(dim=2, keepdim=True)
        weight = torch.ones(k, device=x.device, dtype=x.dtype)
        weight = weight.index_put((g.pattern_tracks,), torch.sigmoid(g.bar_variation).to(x.dtype))
        x = mean + weight.view(1, k, 1, 1, 1) * (x - mean)
    return x.reshape(bsz, k, g.n_steps, g.n_pitches)


def plain_critic(c: MuseGANCritic, melody: Tensor, accompaniment: Tensor, meter: Tensor | None = None) -> Tensor:
    """:class:`MuseGANCritic`'s forward on ``(N, K * C, H, W)`` maps: ``(B, T, P), (B, K, T, P)[, (B, T, 2)]
    -> (B,)``."""
    c.check_inputs(melody, accompaniment)
    mel = pad_pitch(melody, *c.pad).unsqueeze(1)
    acc = pad_pitch(accompaniment, *c.pad)
    given = metric_input(melody, meter, c.default_grid, c.pad).permute(0, 3, 1, 2) if c.meter_aware else mel
    x = _act(c.private_pitch_act, c.private_pitch(acc, given))
    x = _act(c.private_time[1], c.private_time[0](x))
    for i in range(0, len(c.shared), 2):  # (layer, act) pairs
        x = _act(c.shared[i + 1], c.shared[i](x))
    h = chroma(torch.cat([mel, acc], dim=1))
    for i in range(0, len(c.chroma), 2):
        h = _act(c.chroma[i + 1], c.chroma[i](h))
    x = _act(c.bars[1], c.bars[0](torch.cat([x, h], dim=1)))
    return c.out(x.flatten(1)).squeeze(1)
