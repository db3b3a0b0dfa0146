"""MuseGAN (Dong et al., AAAI 2018), the track-conditional "hybrid" model: accompaniment for a given melody.

Generator
---------
Noise ``(B, noise_dim)`` with ``noise_dim = 2 * z_dim + 2 * K * z_dim`` is split, in this order, into a shared
latent, a shared temporal latent, ``K`` private latents and ``K`` private temporal latents. A shared temporal
network maps the shared temporal latent to one latent per bar; a private temporal network (one grouped
network for all tracks) does the same for each track. A melody encoder reads each bar of the melody with
time/pitch factorised convolutions. Each track's bar generator is fed, per bar,
``[shared z, private z, shared bar latent, private bar latent, melody encoding of that bar]`` and grows the bar
with transposed convolutions: first over time (``upsampling_factors``, e.g. 3 cells doubled 4 times for 48
steps), then over pitch (``(1, n_octaves)`` then ``(1, 12)``). The melody encoder's feature map at each
resolution is also fed to the generator layer working at that resolution, so notes line up with the melody.

All ``K`` private bar generators run as ONE batched matrix product per layer (see
:class:`~museforge.models.layers.TrackUpsample`); there is no Python loop over tracks or bars and no host sync.
Activations stay in the track-rows layout ``(K, N, H, W, C)`` (tracks first, channels last) from the first layer
to the last, which is the layout each next product reads, so no copy sits between the products; the output is
put in ``(B, K, T, P)`` order once, at the end.

Critic
------
Private per-track streams (one batched product per layer) over ``[melody, track k]`` (pitch ``(1, 12)``, then
time; the accompaniment is put in the track-rows layout once, octaves as rows, since no kernel crosses an octave),
then a shared stream over the concatenation of all tracks, plus a chroma stream over the 12 pitch classes of
melody and tracks; per-bar features meet in a convolution across bars and a linear layer gives one score.
Layer norm (per sample, per track in the private streams), never batch norm, so WGAN-GP stays valid.

The pitch axis is zero-padded to whole octaves starting on C (``octave_padding``) inside both nets; the
generator crops the padding off again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.models.base import Critic, GanConfig, Generator, batch_grid, four_four_grid
from museforge.models.layers import (
    LEAKY_SLOPE,
    TrackDownsample,
    TrackLayerNorm,
    TrackUpsample,
    chroma,
    downsampling_factors,
    octave_padding,
    pad_pitch,
    track_norm,
    upsampling_factors,
)
from museforge.music.meter import GRID_CHANNELS


@dataclass
class MuseGANConfig(GanConfig):
    """Hyper-parameters of a MuseGAN; the model is rebuilt from ``MuseGANConfig(**config_to_dict(cfg))``.

    Attributes
    ----------
    n_tracks : int
        ``K``, accompaniment tracks generated.
    n_bars, steps_per_bar : int
        Length of a sample: ``T = n_bars * steps_per_bar`` (default 4 bars of 4 beats at 12 steps per beat).
    n_pitches, lowest_pitch : int
        ``P`` pitch columns starting at MIDI ``lowest_pitch``.
    z_dim : int
        Size of each of the four latents (shared, shared temporal, private, private temporal).
    temporal_hidden : int
        Hidden width of the temporal networks.
    melody_dim : int
        Size of the per-bar melody encoding vector.
    melody_channels : int
        Channels of the melody encoder's feature maps.
    base_channels : int
        Generator width: per-track channels go ``4b, 2b, b, ...`` from coarse to fine.
    critic_base_channels : int
        Critic width ``c``: private streams ``c/2`` per track, shared stream ``4c`` to ``8c``.
    generator_batchnorm : bool
        Batch norm in the generator (else no normalisation).
    meter_aware : bool
        Read the metric grid (:mod:`museforge.music.meter`: where each bar and beat starts, ``(B, T, 2)``) next to
        the melody, in the generator's melody encoder and the critic's per-track streams, so the model plays in
        the melody's meter (3/4, 6/8, ...) instead of assuming 4/4. Off for models trained before it.
    pattern_tracks : str
        Comma-separated indices of tracks (drums) drawn as one bar pattern repeated across the bars with a learnt
        amount of variation: their logits are ``mean over bars + v * (bar - mean over bars)``, one ``v`` in
        ``(0, 1)`` per track, starting at 0.25. A groove repeats from bar to bar (bar-to-bar similarity of real
        rock drums 0.7); independent bars give random hits. Empty: every track is free.
    groove_critic : bool
        Give the critic a stream of its own over the pattern tracks' bars: each bar's hits (every step and key,
        with the bar's metric grid when meter-aware) read by one dense layer, so that where in the bar a drum
        hits (the snare on 2 and 4) is a feature the critic sees directly. Off for models trained before it.
    """

    architecture: ClassVar[str] = "musegan"
    positive: ClassVar[tuple[str, ...]] = (
        "z_dim",
        "temporal_hidden",
        "melody_dim",
        "melody_channels",
        "base_channels",
        "critic_base_channels",
    )

    n_tracks: int = 4
    n_bars: int = 4
    steps_per_bar: int = 48
    n_pitches: int = 84
    lowest_pitch: int = 24
    z_dim: int = 32
    temporal_hidden: int = 128
    melody_dim: int = 64
    melody_channels: int = 32
    base_channels: int = 64
    critic_base_channels: int = 48
    generator_batchnorm: bool = True
    pattern_tracks: str = ""
    meter_aware: bool = False
    groove_critic: bool = False

    def pattern_indices(self) -> list[int]:
        """The tracks of :attr:`pattern_tracks` as indices (checked against ``n_tracks``)."""
        try:
            indices = [int(part) for part in self.pattern_tracks.split(",") if part.strip()]
        except ValueError:
            raise MuseforgeError(
                f"musegan config: pattern_tracks must list track numbers, got {self.pattern_tracks!r}"
            ) from None
        if any(not 0 <= i < self.n_tracks for i in indices) or len(set(indices)) != len(indices):
            raise MuseforgeError(f"musegan config: pattern_tracks {self.pattern_tracks!r} for {self.n_tracks} tracks")
        return indices

    def validate(self) -> None:
        super().validate()
        patterns = self.pattern_indices()
        if self.groove_critic and not patterns:
            raise MuseforgeError("musegan config: groove_critic reads the pattern tracks, and pattern_tracks is empty")

    @property
    def grid_channels(self) -> int:
        """Channels of the metric grid the networks read (0 when not meter-aware)."""
        return GRID_CHANNELS if self.meter_aware else 0


def metric_input(melody: Tensor, grid: Tensor | None, default: Tensor, pad: tuple[int, int]) -> Tensor:
    """The melody, octave-padded, with the metric grid as extra channels (last) spread over the pitch axis:
    ``(B, T, P)`` and ``(B, T, G)`` (None: ``default``, ``(T, G)``) -> ``(B, T, 12 * n_octaves, 1 + G)``."""
    mel = pad_pitch(melody, *pad).unsqueeze(-1)
    grid = batch_grid(grid, default, melody.shape[0])
    spread = grid.to(mel.dtype).unsqueeze(2).expand(-1, -1, mel.shape[2], -1)
    return torch.cat([mel, spread], dim=-1)


class MelodyEncoder(nn.Module):
    """Encodes each bar of a melody, mirroring the bar generator (pitch first, then time).

    Returns the per-bar vector and the feature map at every resolution the bar generator works at.
    """

    def __init__(self, cfg: MuseGANConfig, n_octaves: int, factors: list[int]) -> None:
        super().__init__()
        c = cfg.melody_channels
        norm = "batch" if cfg.generator_batchnorm else "none"

        def block(c_in: int, kernel: tuple[int, int]) -> nn.Sequential:
            conv = TrackDownsample(1, c_in, c, kernel, bias=norm == "none")
            return nn.Sequential(conv, track_norm(norm, 1, c), nn.LeakyReLU(LEAKY_SLOPE))

        self.pitch = block(1 + cfg.grid_channels, (1, 12))
        self.octave = block(c, (1, n_octaves))
        # time layers run fine to coarse: the reverse of the generator's factors[1:]
        self.time = nn.ModuleList(block(c, (f, 1)) for f in reversed(factors[1:]))
        self.vector = nn.Linear(c * factors[0], cfg.melody_dim)

    def forward(self, bars: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Encode bars.

        Parameters
        ----------
        bars : Tensor
            ``(1, N, S, 12 * n_octaves, 1 + G)``, one octave-padded bar of melody per row (``N = B * n_bars``)
            in the track-rows layout (one track), with the ``G`` channels of its metric grid when the model is
            meter-aware.

        Returns
        -------
        vector : Tensor
            ``(N, melody_dim)``.
        features : list of Tensor
            Coarse to fine, channels last: ``(N, prod(factors[:i]), 1, c)`` for each generator time layer
            ``i >= 1``, then ``(N, S, 1, c)`` and ``(N, S, n_octaves, c)``.
        """
        pitch = self.pitch(bars)
        h = self.octave(pitch)
        features = [pitch[0], h[0]]
        for layer in self.time:
            h = layer(h)
            features.append(h[0])
        n, s, _, c = features[-1].shape
        return self.vector(h.view(n, s, c).transpose(1, 2).flatten(1)), features[::-1]


class MuseGANGenerator(Generator):
    """MuseGAN hybrid generator conditioned on a melody (and, meter-aware, its metric grid):
    ``(melody (B, T, P), noise[, meter (B, T, 2)]) -> logits (B, K, T, P)``."""

    #: Indices of the tracks that play one pattern with learned bar-to-bar variation (a buffer, (n_pattern,)).
    pattern_tracks: Tensor
    #: The 4/4 metric grid ``(T, 2)`` a call without one plays in (a buffer).
    default_grid: Tensor

    def __init__(self, cfg: MuseGANConfig) -> None:
        super().__init__(cfg)
        k, d, h = cfg.n_tracks, cfg.z_dim, cfg.temporal_hidden
        self.n_bars, self.steps_per_bar, self.z_dim = cfg.n_bars, cfg.steps_per_bar, d
        self.noise_dim = 2 * d + 2 * k * d
        self.pad = octave_padding(cfg.lowest_pitch, cfg.n_pitches)
        n_octaves = (sum(self.pad) + cfg.n_pitches) // 12
        factors = upsampling_factors(cfg.steps_per_bar)
        norm = "batch" if cfg.generator_batchnorm else "none"

        self.shared_temporal = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, cfg.n_bars * d))
        self.private_temporal = nn.Sequential(
            nn.Conv1d(k * d, k * h, 1, groups=k), nn.ReLU(), nn.Conv1d(k * h, k * cfg.n_bars * d, 1, groups=k)
        )
        self.melody_encoder = MelodyEncoder(cfg, n_octaves, factors)
        #: Whether the generator reads a metric grid (``forward``'s ``meter``).
        self.meter_aware = cfg.meter_aware
        self.register_buffer("default_grid", four_four_grid(cfg), persistent=False)

        b, cm = cfg.base_channels, cfg.melody_channels
        channels = [4 * b]
        for _ in factors[1:]:
            channels.append(max(b, channels[-1] // 2))
        channels.append(max(1, b // 2))
        # every layer's stride equals its kernel: the first grows the 1x1 input to factors[0] x 1 cells
        kernels = [(f, 1) for f in factors] + [(1, n_octaves), (1, 12)]
        c_in = [2 * d, *channels]
        c_out = [*channels, 1]
        c_shared = [2 * d + cfg.melody_dim] + [cm] * (len(kernels) - 1)
        # a bias only where no batch norm follows (it would cancel it): the output layer, or all without norm
        self.layers = nn.ModuleList(
            TrackUpsample(k, ci, co, kern, shared_channels=cs, bias=norm == "none" or i == len(kernels) - 1)
            for i, (ci, co, kern, cs) in enumerate(zip(c_in, c_out, kernels, c_shared, strict=True))
        )
        self.norms = nn.ModuleList(track_norm(norm, k, c) for c in channels)
        pattern = cfg.pattern_indices()
        self.register_buffer("pattern_tracks", torch.tensor(pattern, dtype=torch.long), persistent=False)
        # how much each pattern track varies from bar to bar, as a logit: sigmoid(-1.0986) = 0.25
        self.bar_variation = nn.Parameter(torch.full((len(pattern),), -1.0986)) if pattern else None

    def track_noise_columns(self, track: int) -> Tensor:
        """The columns of the noise that belong to ``track`` alone, its private and private temporal latents:
        ``(2 * z_dim,)`` long. Drawn again they change that track's music and no other's (the shared latents and
        the melody stay; in eval mode every norm is per sample)."""
        k, d = self.n_tracks, self.z_dim
        private, temporal = 2 * d + track * d, 2 * d + k * d + track * d
        return torch.cat([torch.arange(private, private + d), torch.arange(temporal, temporal + d)])

    def forward(self, melody: Tensor, noise: Tensor, meter: Tensor | None = None) -> Tensor:
        """Generate accompaniment logits.

        Parameters
        ----------
        melody : Tensor
            ``(B, T, P)`` in ``[0, 1]``.
        noise : Tensor
            ``(B, noise_dim)``, e.g. from :meth:`sample_noise`.
        meter : Tensor, optional
            ``(B, T, 2)`` metric grid (downbeats, beats; :mod:`museforge.music.meter`); None: 4/4 bars. Read only
            by a meter-aware model.

        Returns
        -------
        Tensor
            ``(B, K, T, P)`` raw logits; ``torch.sigmoid`` of them are the note probabilities.
        """
        self.check_inputs(melody, noise)
        bsz, k, d, n_bars = melody.shape[0], self.n_tracks, self.z_dim, self.n_bars
        n = bsz * n_bars
        z_shared, z_shared_t, z_private, z_private_t = noise.split([d, d, k * d, k * d], dim=1)

        bar_shared = self.shared_temporal(z_shared_t).reshape(bsz, n_bars, d)
        bar_private = self._private_temporal(z_private_t).view(k, bsz, n_bars, d)

        if self.meter_aware:
            bars = metric_input(melody, meter, self.default_grid, self.pad)  # (B, T, 12 * n_octaves, 1 + G)
        else:
            bars = pad_pitch(melody, *self.pad).unsqueeze(-1)
        melody_vector, melody_features = self.melody_encoder(bars.reshape(1, n, self.steps_per_bar, -1, bars.shape[-1]))

        shared = torch.cat(
            [z_shared.unsqueeze(1).expand(bsz, n_bars, d), bar_shared, melody_vector.reshape(bsz, n_bars, -1)],
            dim=2,
        ).reshape(n, 1, 1, -1)
        private = torch.cat(
            [z_private.view(bsz, k, 1, d).transpose(0, 1).expand(k, bsz, n_bars, d), bar_private], dim=3
        ).reshape(k, n, 1, 1, 2 * d)

        x = self.layers[0](private, shared)  # (K, N, H, W, C) from here on
        for layer, norm, cond in zip(self.layers[1:], self.norms, melody_features, strict=True):
            x = layer(torch.relu(norm(x)), cond)
        below, _ = self.pad
        x = x.view(k, bsz, n_bars, self.steps_per_bar, -1)[..., below : below + self.n_pitches]  # (K, B, bars, S, P)
        if self.bar_variation is not None:
            mean = x.mean(dim=2, keepdim=True)
            weight = torch.ones(k, device=x.device, dtype=x.dtype)
            weight = weight.index_put((self.pattern_tracks,), torch.sigmoid(self.bar_variation).to(x.dtype))
            x = mean + weight.view(k, 1, 1, 1, 1) * (x - mean)
        return x.transpose(0, 1).reshape(bsz, k, self.n_steps, self.n_pitches)

    def _private_temporal(self, z: Tensor) -> Tensor:
        """The private temporal network (``K`` grouped 1x1 convolutions, as batched products):
        ``(B, K * z_dim) -> (K, B, n_bars * z_dim)``."""
        first, _, second = self.private_temporal
        assert isinstance(first, nn.Conv1d) and isinstance(second, nn.Conv1d) and first.bias is not None
        assert second.bias is not None
        k = self.n_tracks
        z = z.view(z.shape[0], k, -1).transpose(0, 1)  # (K, B, z_dim)
        w1 = first.weight.view(k, -1, z.shape[-1]).transpose(1, 2)  # (K, z_dim, hidden)
        h = torch.relu(torch.baddbmm(first.bias.view(k, 1, -1), z, w1))
        w2 = second.weight.view(k, -1, h.shape[-1]).transpose(1, 2)  # (K, hidden, n_bars * z_dim)
        return torch.baddbmm(second.bias.view(k, 1, -1), h, w2)


class MuseGANCritic(Critic):
    """MuseGAN discriminator that also sees the melody: ``(melody, accompaniment) -> scores (B,)``."""

    #: The 4/4 metric grid ``(T, 2)`` a call without one plays in (a buffer).
    default_grid: Tensor

    def __init__(self, cfg: MuseGANConfig) -> None:
        super().__init__(cfg)
        k, c = cfg.n_tracks, cfg.critic_base_channels
        self.n_bars, self.steps_per_bar = cfg.n_bars, cfg.steps_per_bar
        self.pad = octave_padding(cfg.lowest_pitch, cfg.n_pitches)
        n_octaves = (sum(self.pad) + cfg.n_pitches) // 12
        factors = downsampling_factors(cfg.steps_per_bar) or [1]
        cp = max(1, c // 2)

        def act(channels: int, tracks: int = 1) -> nn.Sequential:
            return nn.Sequential(TrackLayerNorm(tracks, channels), nn.LeakyReLU(LEAKY_SLOPE))

        # private per-track streams over [melody, track]: pitch within octaves, then the finest time factor
        self.meter_aware = cfg.meter_aware
        self.register_buffer("default_grid", four_four_grid(cfg), persistent=False)
        self.private_pitch = TrackDownsample(k, 1, cp, (1, 12), shared_channels=1 + cfg.grid_channels)
        self.private_pitch_act = act(cp, k)
        self.private_time = nn.Sequential(TrackDownsample(k, cp, cp, (factors[0], 1)), act(cp, k))
        # shared stream over all tracks: across octaves, then the remaining time factors down to one per bar
        shared: list[nn.Module] = [TrackDownsample(1, k * cp, 4 * c, (1, n_octaves)), act(4 * c)]
        width = 4 * c
        for i, f in enumerate(factors[1:]):
            out = 8 * c if i == len(factors) - 2 else 4 * c
            shared += [TrackDownsample(1, width, out, (f, 1)), act(out)]
            width = out
        self.shared = nn.Sequential(*shared)
        # chroma stream over [melody, tracks] folded to 12 pitch classes, one vector per bar
        s = cfg.steps_per_bar
        self.chroma = nn.Sequential(
            TrackDownsample(1, 1 + k, c, (1, 12)), act(c), TrackDownsample(1, c, 2 * c, (s, 1)), act(2 * c)
        )
        # the pattern tracks' bars, each read whole (step x key, and the bar's grid) by one dense layer
        self.groove_tracks = cfg.pattern_indices() if cfg.groove_critic else []
        groove = 2 * c if self.groove_tracks else 0
        if self.groove_tracks:
            per_bar = s * (len(self.groove_tracks) * cfg.n_pitches + cfg.grid_channels)
            self.groove = nn.Sequential(nn.Linear(per_bar, groove), nn.LayerNorm(groove), nn.LeakyReLU(LEAKY_SLOPE))
        # across bars
        span = min(2, cfg.n_bars)
        self.bars = nn.Sequential(nn.Conv2d(width + 2 * c + groove, 8 * c, (span, 1)), act(8 * c))
        self.out = nn.Linear(8 * c * (cfg.n_bars - span + 1), 1)

    def forward(self, melody: Tensor, accompaniment: Tensor, meter: Tensor | None = None) -> Tensor:
        """Score melody/accompaniment pairs.

        Parameters
        ----------
        melody : Tensor
            ``(B, T, P)`` in ``[0, 1]``.
        accompaniment : Tensor
            ``(B, K, T, P)`` of probabilities (fake) or ``{0, 1}`` (real).
        meter : Tensor, optional
            ``(B, T, 2)`` metric grid; None: 4/4 bars. Read only by a meter-aware critic.

        Returns
        -------
        Tensor
            ``(B,)`` raw scores, higher = more real.
        """
        self.check_inputs(melody, accompaniment)
        bsz, k = accompaniment.shape[:2]
        mel = pad_pitch(melody, *self.pad)  # (B, T, 12 * n_octaves)
        acc = pad_pitch(accompaniment, *self.pad)  # (B, K, T, 12 * n_octaves)
        t, octaves = acc.shape[2], acc.shape[3] // 12
        given = metric_input(melody, meter, self.default_grid, self.pad) if self.meter_aware else mel.unsqueeze(-1)
        # private streams in the track-rows layout with each octave as its own rows (no kernel crosses an octave)
        tracks = acc.view(bsz, k, t, octaves, 12, 1).permute(1, 0, 3, 2, 4, 5)  # (K, B, n_octaves, T, 12, 1)
        shared = given.view(bsz, t, octaves, 12, -1).transpose(1, 2)  # (B, n_octaves, T, 12, 1 + G)
        if given.shape[-1] == 1:  # the melody alone: beside each track, in the one copy, for one product
            joined = torch.cat([tracks, shared.expand(k, -1, -1, -1, -1, -1)], dim=-1)
            x = self.private_pitch(joined.view(k, -1, t, 12, 2), joined=True)  # (K, B * n_octaves, T, 1, cp)
        else:  # with the grid, rows 4x as wide: the melody's product is added to the tracks' instead
            x = self.private_pitch(tracks.reshape(k, -1, t, 12, 1), shared.reshape(-1, t, 12, given.shape[-1]))
        cp = x.shape[-1]
        x = self.private_pitch_act(x.view(k, bsz, -1, 1, cp)).view(k, -1, t, 1, cp)  # normalised per track, sample
        conv, act = self.private_time
        x = act(conv(x).view(k, bsz, -1, 1, cp))  # (K, B, n_octaves * T', 1, cp)
        # the shared stream reads every track and octave of a time step: (1, B, T', n_octaves, K * cp)
        x = x.view(k, bsz, octaves, -1, cp).permute(1, 3, 2, 0, 4).reshape(1, bsz, -1, octaves, k * cp)
        x = self.shared(x)  # (1, B, n_bars, 1, 8c)
        classes = torch.cat([chroma(mel).unsqueeze(-1), chroma(acc).permute(0, 2, 3, 1)], dim=-1)  # (B, T, 12, 1 + K)
        c = self.chroma(classes.unsqueeze(0))  # (1, B, n_bars, 1, 2c)
        streams = [x.view(bsz, self.n_bars, -1), c.view(bsz, self.n_bars, -1)]
        if self.groove_tracks:  # the grid as the streams read it (the 4/4 one when none was given)
            streams.append(self._groove(accompaniment, given[:, :, 0, 1:]))
        return self._across_bars(torch.cat(streams, dim=-1))

    def _groove(self, accompaniment: Tensor, grid: Tensor) -> Tensor:
        """The pattern tracks' bars ``(B, K, T, P)`` and the metric grid ``(B, T, G)`` (``G = 0`` for a critic
        that does not read one) -> ``(B, n_bars, 2c)``."""
        bsz = accompaniment.shape[0]
        drums = accompaniment[:, self.groove_tracks].transpose(1, 2).reshape(bsz, self.n_bars, -1)  # bar by bar
        return self.groove(torch.cat([drums, grid.to(drums.dtype).reshape(bsz, self.n_bars, -1)], dim=-1))

    def _across_bars(self, x: Tensor) -> Tensor:
        """The convolution across bars (an ``nn.Conv2d`` over ``span`` bars, as one product over the windows),
        its norm and the score: ``(B, n_bars, C) -> (B,)``."""
        conv, act = self.bars
        assert isinstance(conv, nn.Conv2d)
        bsz, span = x.shape[0], conv.kernel_size[0]
        windows = x.unfold(1, span, 1)  # (B, n_bars - span + 1, C, span): the conv weight's (C, span) order
        y = F.linear(windows.reshape(-1, windows.shape[2] * span), conv.weight.flatten(1), conv.bias)
        y = act(y.view(1, bsz, -1, 1, y.shape[-1]))  # (1, B, n_bars - span + 1, 1, 8c)
        return self.out(y.view(bsz, -1, y.shape[-1]).transpose(1, 2).flatten(1)).squeeze(1)


def build(config: MuseGANConfig) -> tuple[MuseGANGenerator, MuseGANCritic]:
    """Build a generator and a critic from a validated config."""
    return MuseGANGenerator(config), MuseGANCritic(config)
