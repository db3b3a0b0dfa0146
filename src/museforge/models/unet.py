"""The U-Net GAN of AWS DeepComposer's Bach lab: a pix2pix-style generator that harmonises a melody.

Generator
---------
The melody ``(B, T, P)`` is one input channel. An encoder of ``depth`` convolutions (kernel 4, stride 2,
LeakyReLU 0.2; channels ``base_channels * 2**i`` capped at ``max_channels``: 64-128-256-512 by default) shrinks
it to a bottleneck. NOISE IS INJECTED AT THE BOTTLENECK: ``noise (B, noise_dim)`` goes through a linear layer to
``noise_channels`` feature maps of the bottleneck's size, concatenated to it. A decoder of transposed
convolutions (kernel 4, stride 2) with skip connections from the encoder grows it back and outputs ``K``
channels of logits (DeepComposer used tanh; here ``sigmoid(logits)`` are the note probabilities).

METER: a meter-aware U-Net (``meter_aware``) also reads the melody's metric grid (:mod:`museforge.music.meter`:
where each bar and beat starts, ``(B, T, G)``), each of its ``G`` channels spread over the pitch axis as another
input channel beside the melody, so a waltz's bar lines and beats are where the network sees them (without a grid:
4/4 bars).

PADDING: time and pitch are zero-padded at the end (later steps, higher pitches) to multiples of
``2**depth`` so every stride-2 layer halves them exactly (T=32, P=84 -> 32 x 96 at depth 4); the generator
crops its output back to ``(T, P)``.

Critic
------
Convolutions (kernel 4, stride 2) over ``1 + G + K`` channels (melody, metric grid when meter-aware, then the
voices), layer norm after all but the first, LeakyReLU, then a linear layer to one raw score per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.models.base import Critic, GanConfig, Generator, batch_grid, four_four_grid
from museforge.models.layers import LEAKY_SLOPE, norm2d
from museforge.music.meter import GRID_CHANNELS


@dataclass
class UNetConfig(GanConfig):
    """Hyper-parameters of a U-Net GAN; the model is rebuilt from ``UNetConfig(**config_to_dict(cfg))``.

    Attributes
    ----------
    n_tracks : int
        ``K``, voices generated (alto, tenor, bass under a soprano melody by default).
    n_bars, steps_per_bar : int
        Length of a sample: ``T = n_bars * steps_per_bar`` (default 2 bars at 4 steps per beat: T = 32).
    n_pitches, lowest_pitch : int
        ``P`` pitch columns starting at MIDI ``lowest_pitch``.
    noise_dim : int
        Length of the noise vector.
    noise_channels : int
        Feature maps the noise becomes at the bottleneck.
    base_channels, max_channels : int
        Generator encoder widths: ``min(base_channels * 2**i, max_channels)`` at level ``i``.
    depth : int
        Number of stride-2 levels of the generator (1 to 6).
    critic_base_channels, critic_depth : int
        The same for the critic (its widths are capped at ``8 * critic_base_channels``).
    generator_batchnorm : bool
        Batch norm in the generator (else no normalisation).
    meter_aware : bool
        The generator and the critic read the metric grid next to the melody (``forward``'s ``meter``) and play
        in the melody's meter instead of assuming 4/4. Off for models trained before it.
    """

    architecture: ClassVar[str] = "unet"
    positive: ClassVar[tuple[str, ...]] = (
        "noise_dim",
        "noise_channels",
        "base_channels",
        "max_channels",
        "depth",
        "critic_base_channels",
        "critic_depth",
    )

    n_tracks: int = 3
    n_bars: int = 2
    steps_per_bar: int = 16
    n_pitches: int = 84
    lowest_pitch: int = 24
    noise_dim: int = 64
    noise_channels: int = 16
    base_channels: int = 64
    max_channels: int = 512
    depth: int = 4
    critic_base_channels: int = 32
    critic_depth: int = 4
    generator_batchnorm: bool = True
    meter_aware: bool = False

    @property
    def grid_channels(self) -> int:
        """Channels of the metric grid the networks read (0 when not meter-aware)."""
        return GRID_CHANNELS if self.meter_aware else 0

    def validate(self) -> None:
        """Raise :class:`MuseforgeError` on a value out of range."""
        super().validate()
        for name in ("depth", "critic_depth"):
            if getattr(self, name) > 6:
                raise MuseforgeError(f"unet config: {name} must be <= 6, got {getattr(self, name)}")


def _padded(size: int, depth: int) -> int:
    """``size`` rounded up to a multiple of ``2**depth``."""
    m = 2**depth
    return -(-size // m) * m


def init_weights(module: nn.Module) -> None:
    """He initialisation over each layer's true fan-in, zero biases (apply with ``model.apply``).

    PyTorch's default for transposed convolutions uses the wrong fan (output channels), which shrinks the
    signal, and with it the effect of the noise, through the decoder.
    """
    if isinstance(module, nn.ConvTranspose2d):
        # each output cell of a kernel-4, stride-2 transposed conv sees in_channels * (4 / 2)**2 inputs
        fan_in = module.in_channels // module.groups * (module.kernel_size[0] // module.stride[0]) ** 2
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_in))
    elif isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.kaiming_normal_(module.weight, a=LEAKY_SLOPE, nonlinearity="leaky_relu")
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def _pad(x: Tensor, t: int, p: int) -> Tensor:
    """Zero-pad the last two axes of ``x`` at their ends to ``(t, p)``."""
    return nn.functional.pad(x, (0, p - x.shape[-1], 0, t - x.shape[-2]))


class _MeterReader(nn.Module):
    """What the generator and the critic share: the melody as a channel, with the metric grid beside it when
    meter-aware."""

    #: The 4/4 metric grid ``(T, G)`` a call without one plays in (a buffer).
    default_grid: Tensor

    def read_meter(self, cfg: UNetConfig) -> None:
        """Set up what :meth:`given` reads (call in ``__init__``)."""
        #: Whether the network reads a metric grid (``forward``'s ``meter``).
        self.meter_aware = cfg.meter_aware
        self.register_buffer("default_grid", four_four_grid(cfg), persistent=False)

    def given(self, melody: Tensor, meter: Tensor | None) -> Tensor:
        """``(B, T, P)`` melody and ``(B, T, G)`` grid (None: 4/4) -> ``(B, 1 + G, T, P)`` input channels (just the
        melody when not meter-aware)."""
        x = melody.unsqueeze(1)
        if not self.meter_aware:
            return x
        grid = batch_grid(meter, self.default_grid, melody.shape[0]).to(melody.dtype)
        return torch.cat([x, grid.permute(0, 2, 1).unsqueeze(-1).expand(-1, -1, -1, melody.shape[-1])], dim=1)


class UNetGenerator(Generator, _MeterReader):
    """U-Net generator: ``(melody (B, T, P), noise (B, noise_dim)[, meter (B, T, G)]) -> logits (B, K, T, P)``."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__(cfg)
        self.read_meter(cfg)
        self.noise_dim = cfg.noise_dim
        d = cfg.depth
        self.padded = (_padded(cfg.n_steps, d), _padded(cfg.n_pitches, d))
        self.bottleneck = (self.padded[0] >> d, self.padded[1] >> d)
        self.noise_channels = cfg.noise_channels
        norm = "batch" if cfg.generator_batchnorm else "none"
        ch = [min(cfg.base_channels * 2**i, cfg.max_channels) for i in range(d)]

        self.encoder = nn.ModuleList()
        for i in range(d):
            self.encoder.append(
                nn.Sequential(
                    nn.Conv2d(
                        1 + cfg.grid_channels if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=i == 0 or norm == "none"
                    ),
                    norm2d("none" if i == 0 else norm, ch[i]),
                    nn.LeakyReLU(LEAKY_SLOPE),
                )
            )
        self.noise = nn.Sequential(
            nn.Linear(cfg.noise_dim, cfg.noise_channels * self.bottleneck[0] * self.bottleneck[1]), nn.ReLU()
        )
        self.decoder = nn.ModuleList()
        for i in reversed(range(d)):
            c_in = ch[i] + cfg.noise_channels if i == d - 1 else 2 * ch[i]
            if i == 0:
                self.decoder.append(nn.ConvTranspose2d(c_in, cfg.n_tracks, 4, 2, 1))
            else:
                self.decoder.append(
                    nn.Sequential(
                        nn.ConvTranspose2d(c_in, ch[i - 1], 4, 2, 1, bias=norm == "none"),
                        norm2d(norm, ch[i - 1]),
                        nn.ReLU(),
                    )
                )
        self.apply(init_weights)

    def forward(self, melody: Tensor, noise: Tensor, meter: Tensor | None = None) -> Tensor:
        """Generate voice logits.

        Parameters
        ----------
        melody : Tensor
            ``(B, T, P)`` in ``[0, 1]``.
        noise : Tensor
            ``(B, noise_dim)``.
        meter : Tensor, optional
            ``(B, T, G)`` metric grid (downbeats, beats; :mod:`museforge.music.meter`); None: 4/4 bars. Read only
            by a meter-aware model.

        Returns
        -------
        Tensor
            ``(B, K, T, P)`` raw logits; ``torch.sigmoid`` of them are the note probabilities.
        """
        self.check_inputs(melody, noise)
        x = _pad(self.given(melody, meter), *self.padded)
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        z = self.noise(noise).reshape(noise.shape[0], self.noise_channels, *self.bottleneck)
        x = torch.cat([skips.pop(), z], dim=1)
        for i, layer in enumerate(self.decoder):
            if i > 0:
                x = torch.cat([x, skips.pop()], dim=1)
            x = layer(x)
        return x[..., : self.n_steps, : self.n_pitches].contiguous()


class UNetCritic(Critic, _MeterReader):
    """Convolutional critic over melody (+ metric grid) and voices: ``(melody, accompaniment[, meter]) -> (B,)``."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__(cfg)
        self.read_meter(cfg)
        d, c = cfg.critic_depth, cfg.critic_base_channels
        self.padded = (_padded(cfg.n_steps, d), _padded(cfg.n_pitches, d))
        ch = [min(c * 2**i, 8 * c) for i in range(d)]
        layers: list[nn.Module] = []
        for i in range(d):
            layers += [
                nn.Conv2d(1 + cfg.grid_channels + cfg.n_tracks if i == 0 else ch[i - 1], ch[i], 4, 2, 1),
                norm2d("none" if i == 0 else "layer", ch[i]),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(ch[-1] * (self.padded[0] >> d) * (self.padded[1] >> d), 1)
        self.apply(init_weights)

    def forward(self, melody: Tensor, accompaniment: Tensor, meter: Tensor | None = None) -> Tensor:
        """Score melody/voices pairs.

        Parameters
        ----------
        melody : Tensor
            ``(B, T, P)`` in ``[0, 1]``.
        accompaniment : Tensor
            ``(B, K, T, P)`` of probabilities (fake) or ``{0, 1}`` (real).
        meter : Tensor, optional
            ``(B, T, G)`` metric grid; None: 4/4 bars. Read only by a meter-aware critic.

        Returns
        -------
        Tensor
            ``(B,)`` raw scores, higher = more real.
        """
        self.check_inputs(melody, accompaniment)
        x = _pad(torch.cat([self.given(melody, meter), accompaniment], dim=1), *self.padded)
        return self.out(self.features(x).flatten(1)).squeeze(1)


def build(config: UNetConfig) -> tuple[UNetGenerator, UNetCritic]:
    """Build a generator and a critic from a validated config."""
    return UNetGenerator(config), UNetCritic(config)
