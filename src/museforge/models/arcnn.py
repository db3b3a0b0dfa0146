"""The autoregressive CNN of DeepComposer's Enhance: a U-Net that tells, for every cell, whether a note belongs there.

It sees a partly known, partly corrupted multitrack roll and predicts the whole clean roll; an iterative sampler
(:mod:`museforge.sampling.gibbs`) uses it to rewrite notes a few at a time (Gibbs-style), the way Coconet and
DeepBach harmonise.

Tensors
-------
- ``melody (B, T, P)`` and ``accompaniment (B, K, T, P)``: the current roll, ``{0, 1}`` (cells that are not
  known are 0).
- ``known (B, 1 + K, T)``: per track (the melody first) and time step, 1 where the roll is given as context,
  0 where the model must say what plays (every pitch of that step).
- Output: logits ``(B, 1 + K, T, P)``, track 0 the melody; ``sigmoid(logits)`` is the probability that a note
  sounds in the cell of the clean music.

Network: ``3 (1 + K)`` input maps per cell: each track's known roll, its known mask, and its PITCH CLASSES: which
pitch classes the track sounds at that step, repeated in every octave, so that a cell sees the harmony of every
track whatever the distance in pitch (a bass note three octaves under the melody is out of reach of a few
convolutions, its pitch class is not). They pass ``depth`` levels of two 3x3 convolutions with batch norm and ReLU,
halving time and pitch between levels, then back up with nearest upsampling and skip connections. Time and pitch are
zero-padded at their ends to multiples of ``2**(depth-1)``; the output is cropped back to ``(T, P)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.models.base import GanConfig
from museforge.models.layers import check_shape, chroma, octave_padding, pad_pitch


@dataclass
class ARCNNConfig(GanConfig):
    """Hyper-parameters of an AR-CNN; rebuilt from ``ARCNNConfig(**config_to_dict(cfg))``.

    Attributes
    ----------
    n_tracks : int
        ``K``, accompaniment tracks (the model predicts the melody too: ``1 + K`` output maps).
    n_bars, steps_per_bar : int
        Window length ``T = n_bars * steps_per_bar``.
    n_pitches, lowest_pitch : int
        ``P`` pitch columns starting at MIDI ``lowest_pitch``.
    base_channels, max_channels : int
        Widths ``min(base_channels * 2**i, max_channels)`` at level ``i``.
    depth : int
        Levels of the U-Net (1 to 5).
    """

    architecture: ClassVar[str] = "arcnn"
    positive: ClassVar[tuple[str, ...]] = ("base_channels", "max_channels", "depth")
    size_limits: ClassVar[dict[str, int]] = {"depth": 5}

    n_tracks: int = 3
    n_bars: int = 4
    steps_per_bar: int = 16
    n_pitches: int = 84
    lowest_pitch: int = 24
    base_channels: int = 32
    max_channels: int = 128
    depth: int = 3


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class ARCNN(nn.Module):
    """``(melody (B, T, P), accompaniment (B, K, T, P), known (B, 1 + K, T)) -> logits (B, 1 + K, T, P)``."""

    def __init__(self, cfg: ARCNNConfig) -> None:
        super().__init__()
        self.config = cfg
        self.n_tracks, self.n_steps, self.n_pitches = cfg.n_tracks, cfg.n_steps, cfg.n_pitches
        voices = 1 + cfg.n_tracks
        multiple = 2 ** (cfg.depth - 1)
        self.padded = (-(-cfg.n_steps // multiple) * multiple, -(-cfg.n_pitches // multiple) * multiple)
        ch = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(cfg.depth)]
        self.octave = octave_padding(cfg.lowest_pitch, cfg.n_pitches)
        self.down = nn.ModuleList([_block(3 * voices if i == 0 else ch[i - 1], ch[i]) for i in range(cfg.depth)])
        self.up = nn.ModuleList([_block(ch[i + 1] + ch[i], ch[i]) for i in reversed(range(cfg.depth - 1))])
        self.out = nn.Conv2d(ch[0], voices, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if self.out.bias is not None:  # most cells are silent: start near the data's note density
            nn.init.constant_(self.out.bias, -4.0)

    def forward(self, melody: Tensor, accompaniment: Tensor, known: Tensor) -> Tensor:
        """Logits of the clean roll.

        Parameters
        ----------
        melody : Tensor
            ``(B, T, P)`` in ``{0, 1}``.
        accompaniment : Tensor
            ``(B, K, T, P)`` in ``{0, 1}``.
        known : Tensor
            ``(B, 1 + K, T)``: 1 where a track's step is given, 0 where it is to be filled in.

        Returns
        -------
        Tensor
            ``(B, 1 + K, T, P)`` logits; track 0 is the melody.
        """
        check_shape("melody", melody, (None, self.n_steps, self.n_pitches))
        check_shape("accompaniment", accompaniment, (melody.shape[0], self.n_tracks, self.n_steps, self.n_pitches))
        check_shape("known", known, (melody.shape[0], 1 + self.n_tracks, self.n_steps))
        roll = torch.cat([melody.unsqueeze(1), accompaniment], dim=1)
        mask = known.unsqueeze(-1).to(roll.dtype)
        given = roll * mask
        below, above = self.octave
        classes = chroma(pad_pitch(given, below, above)).clamp(max=1.0)  # (B, V, T, 12)
        octaves = (below + self.n_pitches + above) // 12
        spread = classes.repeat(1, 1, 1, octaves)[..., below : below + self.n_pitches]
        x = torch.cat([given, mask.expand_as(roll), spread], dim=1)
        x = F.pad(x, (0, self.padded[1] - self.n_pitches, 0, self.padded[0] - self.n_steps))
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return self.out(x)[..., : self.n_steps, : self.n_pitches].contiguous()


def build(config: ARCNNConfig) -> ARCNN:
    """Build a freshly initialised AR-CNN from a validated config."""
    return ARCNN(config)
