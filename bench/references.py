"""The public MuseGAN implementations the bench compares against, re-written from their published architectures.

Two PyTorch implementations set the reference figures (issue 7): the MuseGAN authors' ISMIR 2019 tutorial and
akanametov/musegan. Their figures were measured elsewhere, at another load; to compare like with like, the bench
also runs them here, in the same process and the same rounds as museforge's step. The networks below have the
published layer stacks (kernel sizes, strides, widths, normalisation) and hence the published parameter counts,
and each ``*_step`` does what the reference's training loop does per generator update (its critic passes, its
gradient penalty, its optimizers). Data are random rolls of the reference's shape; their speed does not depend on
what the rolls hold.

- **Tutorial**: 5 tracks x 4 bars x 16 steps x 72 pitches, batch 16, latent 128; a shared 3-D transposed
  convolution stack and per-track branches (G 314k); a per-track then shared 3-D convolution critic with layer
  norm (D 204k); one critic update (real and fake passes, penalty) and one generator update reusing the fake
  windows; Adam 1e-3, betas (0.5, 0.9).
- **akanametov**: 4 tracks x 2 bars x 16 steps x 84 pitches, batch 64, z 32 per stream; chords, style, melody and
  groove streams, a temporal network per stream and a bar generator per track, run bar by bar (G 6.6M); a 3-D
  convolution critic without normalisation (D 1.4M); five critic updates (fake, real and mixed passes) per
  generator update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ------------------------------------------------------------------------------------------------ tutorial
TUTORIAL_TRACKS, TUTORIAL_BARS, TUTORIAL_STEPS, TUTORIAL_PITCHES = 5, 4, 16, 72
TUTORIAL_LATENT = 128


class _TransposedBlock(nn.Module):
    """3-D transposed convolution, batch norm, ReLU: ``(B, C_in, D, H, W) -> (B, C_out, D', H', W')``."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose3d(c_in, c_out, kernel, stride)
        self.norm = nn.BatchNorm3d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


class _SampleNorm(nn.Module):
    """The tutorial critic's layer norm: each sample standardised by its own mean and standard deviation, then a
    per-channel affine. ``(B, C, ...) -> (B, C, ...)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.rand(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(x.shape[0], -1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        y = (x - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + 1e-5)
        affine = (1, -1) + (1,) * (x.dim() - 2)
        return self.gamma.view(affine) * y + self.beta.view(affine)


class _ConvBlock(nn.Module):
    """3-D convolution, sample norm, LeakyReLU: ``(B, C_in, D, H, W) -> (B, C_out, D', H', W')``."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride)
        self.norm = _SampleNorm(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(self.norm(self.conv(x)))


class TutorialGenerator(nn.Module):
    """``latent (B, 128) -> rolls (B, 5, 64, 72)``: shared layers, then a branch per track."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Sequential(
            _TransposedBlock(TUTORIAL_LATENT, 256, (4, 1, 1), (4, 1, 1)),
            _TransposedBlock(256, 128, (1, 4, 1), (1, 4, 1)),
            _TransposedBlock(128, 64, (1, 1, 4), (1, 1, 4)),
            _TransposedBlock(64, 32, (1, 1, 3), (1, 1, 1)),
        )
        self.time = nn.ModuleList(_TransposedBlock(32, 16, (1, 4, 1), (1, 4, 1)) for _ in range(TUTORIAL_TRACKS))
        self.pitch = nn.ModuleList(_TransposedBlock(16, 1, (1, 1, 12), (1, 1, 12)) for _ in range(TUTORIAL_TRACKS))

    def forward(self, latent: Tensor) -> Tensor:
        x = self.shared(latent.view(-1, TUTORIAL_LATENT, 1, 1, 1))
        x = torch.cat([pitch(time(x)) for time, pitch in zip(self.time, self.pitch, strict=True)], 1)
        return x.view(-1, TUTORIAL_TRACKS, TUTORIAL_BARS * TUTORIAL_STEPS, TUTORIAL_PITCHES)


class TutorialCritic(nn.Module):
    """``rolls (B, 5, 64, 72) -> scores (B, 1)``: a branch per track, then shared layers."""

    def __init__(self) -> None:
        super().__init__()
        self.pitch = nn.ModuleList(_ConvBlock(1, 16, (1, 1, 12), (1, 1, 12)) for _ in range(TUTORIAL_TRACKS))
        self.time = nn.ModuleList(_ConvBlock(16, 16, (1, 4, 1), (1, 4, 1)) for _ in range(TUTORIAL_TRACKS))
        self.shared = nn.Sequential(
            _ConvBlock(16 * TUTORIAL_TRACKS, 64, (1, 1, 3), (1, 1, 1)),
            _ConvBlock(64, 64, (1, 1, 4), (1, 1, 4)),
            _ConvBlock(64, 128, (1, 4, 1), (1, 4, 1)),
            _ConvBlock(128, 128, (2, 1, 1), (1, 1, 1)),
            _ConvBlock(128, 256, (3, 1, 1), (3, 1, 1)),
        )
        self.dense = nn.Linear(256, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = x.view(-1, TUTORIAL_TRACKS, TUTORIAL_BARS, TUTORIAL_STEPS, TUTORIAL_PITCHES)
        branches = zip(self.pitch, self.time, strict=True)
        x = torch.cat([time(pitch(x[:, [k]])) for k, (pitch, time) in enumerate(branches)], 1)
        return self.dense(self.shared(x).view(-1, 256))


def _penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """``E[(||grad D(x_hat)|| - 1)^2]`` at random points between real and fake rolls ``(B, ...)``."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores, mixed, torch.ones_like(scores), create_graph=True, retain_graph=True)
    return ((grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()


# ------------------------------------------------------------------------------------------------ akanametov
AKANAMETOV_TRACKS, AKANAMETOV_BARS, AKANAMETOV_STEPS, AKANAMETOV_PITCHES = 4, 2, 16, 84
AKANAMETOV_Z = 32


class _TemporalNetwork(nn.Module):
    """``z (B, 32) -> (B, 32, n_bars)``: a vector per bar from one noise vector."""

    def __init__(self, hidden: int = 1024) -> None:
        super().__init__()
        z, bars = AKANAMETOV_Z, AKANAMETOV_BARS
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z, hidden, (2, 1)),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.ConvTranspose2d(hidden, z, (bars - 1, 1)),
            nn.BatchNorm2d(z),
            nn.ReLU(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(-1, AKANAMETOV_Z, 1, 1)).view(-1, AKANAMETOV_Z, AKANAMETOV_BARS)


class _BarGenerator(nn.Module):
    """``(B, 4 * 32) -> one bar of one track (B, 1, 1, 16, 84)``."""

    def __init__(self, features: int = 1024, channels: int = 512) -> None:
        super().__init__()
        self.channels, self.rows = channels, features // channels
        half = channels // 2
        self.dense = nn.Sequential(nn.Linear(4 * AKANAMETOV_Z, features), nn.BatchNorm1d(features), nn.ReLU())
        layers: list[nn.Module] = []
        for c_in, c_out, kernel in (
            (channels, channels, (2, 1)),
            (channels, half, (2, 1)),
            (half, half, (2, 1)),
            (half, half, (1, 7)),
        ):
            layers += [nn.ConvTranspose2d(c_in, c_out, kernel, kernel), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(half, 1, (1, 12), (1, 12)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        x = self.dense(z).view(-1, self.channels, self.rows, 1)
        return self.net(x).view(-1, 1, 1, AKANAMETOV_STEPS, AKANAMETOV_PITCHES)


class AkanametovGenerator(nn.Module):
    """``(chords (B, 32), style (B, 32), melody (B, 4, 32), groove (B, 4, 32)) -> (B, 4, 2, 16, 84)``."""

    def __init__(self) -> None:
        super().__init__()
        self.chords = _TemporalNetwork()
        self.melody = nn.ModuleList(_TemporalNetwork() for _ in range(AKANAMETOV_TRACKS))
        self.bars = nn.ModuleList(_BarGenerator() for _ in range(AKANAMETOV_TRACKS))

    def forward(self, chords: Tensor, style: Tensor, melody: Tensor, groove: Tensor) -> Tensor:
        chord_bars = self.chords(chords)
        out = []
        for bar in range(AKANAMETOV_BARS):  # as published: each track's temporal network runs again per bar
            tracks = []
            for k in range(AKANAMETOV_TRACKS):
                melody_bar = self.melody[k](melody[:, k])[:, :, bar]
                z = torch.cat([chord_bars[:, :, bar], style, melody_bar, groove[:, k]], dim=1)
                tracks.append(self.bars[k](z))
            out.append(torch.cat(tracks, dim=1))
        return torch.cat(out, dim=2)


class AkanametovCritic(nn.Module):
    """``(B, 4, 2, 16, 84) -> scores (B, 1)``: 3-D convolutions with the tracks as channels, LeakyReLU(0.3)."""

    def __init__(self, channels: int = 128, features: int = 1024) -> None:
        super().__init__()
        c = channels
        specs = [
            (AKANAMETOV_TRACKS, c, (2, 1, 1), (1, 1, 1), 0),
            (c, c, (AKANAMETOV_BARS - 1, 1, 1), (1, 1, 1), 0),
            (c, c, (1, 1, 12), (1, 1, 12), 0),
            (c, c, (1, 1, 7), (1, 1, 7), 0),
            (c, c, (1, 2, 1), (1, 2, 1), 0),
            (c, c, (1, 2, 1), (1, 2, 1), 0),
            (c, 2 * c, (1, 4, 1), (1, 2, 1), (0, 1, 0)),
            (2 * c, 4 * c, (1, 3, 1), (1, 2, 1), (0, 1, 0)),
        ]
        layers: list[nn.Module] = []
        for c_in, c_out, kernel, stride, padding in specs:
            layers += [nn.Conv3d(c_in, c_out, kernel, stride, padding), nn.LeakyReLU(0.3)]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(4 * c, features), nn.LeakyReLU(0.3))
        self.out = nn.Linear(features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.net(x))


# ------------------------------------------------------------------------------------------------ steps
@dataclass
class ReferenceStep:
    """One reference trainer's work per generator update, ready to call.

    Attributes
    ----------
    name : str
        Which implementation.
    batch : int
        Windows per critic batch.
    update_ratio : int
        Critic updates per generator update.
    generator, critic : nn.Module
        The networks (for parameter counts).
    step : callable
        ``() -> None``: one generator update with its critic updates.
    """

    name: str
    batch: int
    update_ratio: int
    generator: nn.Module
    critic: nn.Module
    step: Callable[[], None]


def _binary_rolls(shape: tuple[int, ...], seed: int, device: torch.device) -> Tensor:
    """Random binary rolls of ``shape`` (about 5 % of cells on), float32, on ``device``."""
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.05).float().to(device)


def tutorial_step(batch: int = 16, device: torch.device | None = None) -> ReferenceStep:
    """The tutorial's ``train_one_step``: critic on real, on fake and the penalty (three backward calls, one
    Adam step), then the generator through the critic on the same fake windows."""
    device = device or torch.device("cpu")
    torch.manual_seed(0)
    generator, critic = TutorialGenerator().to(device).train(), TutorialCritic().to(device).train()
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    real = _binary_rolls((batch, TUTORIAL_TRACKS, TUTORIAL_BARS * TUTORIAL_STEPS, TUTORIAL_PITCHES), 1, device)

    def step() -> None:
        latent = torch.randn(batch, TUTORIAL_LATENT, device=device)
        d_opt.zero_grad()
        (-critic(real).mean()).backward()
        fake = generator(latent)
        critic(fake.detach()).mean().backward()
        (10.0 * _penalty(critic, real.data, fake.data)).backward()
        d_opt.step()
        g_opt.zero_grad()
        (-critic(fake).mean()).backward()
        g_opt.step()

    return ReferenceStep("MuseGAN authors' tutorial", batch, 1, generator, critic, step)


def akanametov_step(batch: int = 64, device: torch.device | None = None, update_ratio: int = 5) -> ReferenceStep:
    """akanametov/musegan's ``Trainer.train`` per real batch: ``update_ratio`` critic updates, each with a fake,
    a real and a mixed critic pass and the penalty, then one generator update."""
    device = device or torch.device("cpu")
    torch.manual_seed(0)
    generator, critic = AkanametovGenerator().to(device).train(), AkanametovCritic().to(device).train()
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    shape = (batch, AKANAMETOV_TRACKS, AKANAMETOV_BARS, AKANAMETOV_STEPS, AKANAMETOV_PITCHES)
    real = _binary_rolls(shape, 1, device)
    alpha = torch.rand(batch, 1, 1, 1, 1, device=device).requires_grad_()

    z, k = AKANAMETOV_Z, AKANAMETOV_TRACKS
    sizes = ((batch, z), (batch, z), (batch, k, z), (batch, k, z))

    def noise() -> list[Tensor]:
        """Chords, style, melody and groove noise, drawn afresh."""
        return [torch.randn(size, device=device) for size in sizes]

    def step() -> None:
        for _ in range(update_ratio):
            d_opt.zero_grad()
            with torch.no_grad():
                fake = generator(*noise())
            mixed = alpha * real + (1 - alpha) * fake
            mixed_scores = critic(mixed)
            (grad,) = torch.autograd.grad(
                mixed_scores, mixed, torch.ones_like(mixed_scores), create_graph=True, retain_graph=True
            )
            penalty = ((1 - grad.reshape(batch, -1).norm(2, dim=1)) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
            loss.backward(retain_graph=True)
            d_opt.step()
        g_opt.zero_grad()
        (-critic(generator(*noise())).mean()).backward()
        g_opt.step()

    return ReferenceStep("akanametov/musegan", batch, update_ratio, generator, critic, step)


REFERENCE_STEPS: dict[str, Callable[..., ReferenceStep]] = {"tutorial": tutorial_step, "akanametov": akanametov_step}
