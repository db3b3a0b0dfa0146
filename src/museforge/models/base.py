"""The interface every GAN in museforge offers the trainer and the composer, and config checking.

Contract
--------
- ``Generator.forward(melody, noise) -> logits``: melody ``(B, T, P)`` in ``[0, 1]``, noise
  ``(B, noise_dim)``, logits ``(B, K, T, P)``. Generator OUTPUTS ARE PROBABILITIES AFTER A SIGMOID:
  ``Generator.probabilities(logits) == torch.sigmoid(logits)``.
- ``Critic.forward(melody, accompaniment) -> scores``: melody ``(B, T, P)``, accompaniment ``(B, K, T, P)``
  of probabilities (``sigmoid(logits)`` for fakes, ``{0, 1}`` rolls for real data); scores ``(B,)`` are raw,
  with no sigmoid (the losses decide what to do with them).
- ``T = n_bars * steps_per_bar``; pitch column 0 is MIDI pitch ``lowest_pitch``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.models.layers import check_shape, probabilities
from museforge.music.meter import window_grid

#: The largest value each size setting of a network's config accepts (any architecture that has it). Past these a
#: network has hundreds of millions of parameters or more (a U-Net of 2,048 channels: half a billion), more than a
#: run here could train; the ``large`` presets stay far below (512 channels, depth 4, 8 layers of 384).
SIZE_LIMITS: dict[str, int] = {
    **dict.fromkeys(("base_channels", "max_channels", "critic_base_channels", "melody_channels"), 1024),
    **dict.fromkeys(("noise_channels", "temporal_hidden", "melody_dim", "z_dim", "noise_dim"), 1024),
    **dict.fromkeys(("depth", "critic_depth"), 8),
    "n_layer": 32,
    "n_head": 32,
    "n_embd": 2048,
    "block_size": 8192,
}


def check_size_limits(config: object, architecture: str) -> None:
    """Raise :class:`MuseforgeError` where a size setting of ``config`` passes :data:`SIZE_LIMITS` (or the
    stricter bound of its own ``size_limits``)."""
    for name, limit in {**SIZE_LIMITS, **getattr(config, "size_limits", {})}.items():
        value = getattr(config, name, None)
        if isinstance(value, int) and value > limit:
            raise MuseforgeError(f"{architecture} config: {name} must be <= {limit:,}, got {value:,}")


class GanConfig:
    """Mixin for the per-architecture config dataclasses: the fields every GAN shares, and checks.

    Subclasses are dataclasses that declare at least ``n_tracks``, ``n_bars``, ``steps_per_bar``,
    ``n_pitches`` and ``lowest_pitch``, and list the fields that must be positive in ``positive``.
    """

    architecture: ClassVar[str] = ""
    positive: ClassVar[tuple[str, ...]] = ()
    #: Bounds stricter than :data:`SIZE_LIMITS` for this architecture.
    size_limits: ClassVar[dict[str, int]] = {}
    n_tracks: int
    n_bars: int
    steps_per_bar: int
    n_pitches: int
    lowest_pitch: int

    @property
    def n_steps(self) -> int:
        """``T``, time steps of a whole sample."""
        return self.n_bars * self.steps_per_bar

    def validate(self) -> None:
        """Raise :class:`MuseforgeError` on a value out of range."""
        for name in ("n_tracks", "n_bars", "steps_per_bar", "n_pitches", *self.positive):
            if getattr(self, name) < 1:
                raise MuseforgeError(f"{self.architecture} config: {name} must be >= 1, got {getattr(self, name)}")
        check_size_limits(self, self.architecture)
        if self.lowest_pitch < 0 or self.lowest_pitch + self.n_pitches > 128:
            raise MuseforgeError(
                f"{self.architecture} config: pitches {self.lowest_pitch}..{self.lowest_pitch + self.n_pitches - 1}"
                " fall outside MIDI 0..127"
            )


_C = typing.TypeVar("_C", bound=GanConfig)


def four_four_grid(cfg: GanConfig) -> Tensor:
    """The metric grid ``(T, G)`` of a window of 4/4 bars of ``cfg.steps_per_bar`` steps (what a meter-aware network
    called without a grid plays in)."""
    resolution = max(1, cfg.steps_per_bar // 4)
    return torch.from_numpy(window_grid(np.asarray([[4, 4]]), resolution, cfg.n_steps)[0])


def batch_grid(grid: Tensor | None, default: Tensor, batch: int) -> Tensor:
    """The metric grids ``(B, T, G)`` a meter-aware network reads: ``grid`` checked, or ``default`` ``(T, G)`` (the
    4/4 grid) for every sample when it is None."""
    if grid is None:
        return default.unsqueeze(0).expand(batch, -1, -1)
    check_shape("meter", grid, (batch, default.shape[0], default.shape[1]))
    return grid


def _coerce(cls_name: str, name: str, kind: Any, value: Any) -> Any:
    """Check (and where lossless, convert) one config value against its declared type."""
    if isinstance(kind, types.UnionType):  # e.g. ``int | None``
        if value is None and type(None) in kind.__args__:
            return None
        kind = next(k for k in kind.__args__ if k is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - only scalar fields are declared
        return value
    raise MuseforgeError(f"{cls_name}: {name} must be {kind.__name__}, got {value!r}")


def config_from_dict(cls: type[_C], data: dict[str, Any] | None) -> _C:
    """Build and validate a config dataclass from a plain dict (e.g. read back from JSON).

    Raises
    ------
    MuseforgeError
        On unknown keys, values of the wrong type or out of range.
    """
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - fields)
    if unknown:
        raise MuseforgeError(
            f"unknown {cls.architecture} config key(s): {', '.join(unknown)} (valid: {', '.join(sorted(fields))})"
        )
    values = {k: _coerce(cls.architecture, k, hints[k], v) for k, v in data.items()}
    cfg = cls(**values)
    cfg.validate()
    return cfg


class Generator(nn.Module):
    """Base of all generators: ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)``.

    Attributes
    ----------
    config : GanConfig
        The config the model was built from.
    noise_dim : int
        Length of one noise vector.
    """

    noise_dim: int

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        self.n_tracks = config.n_tracks
        self.n_steps = config.n_steps
        self.n_pitches = config.n_pitches

    @staticmethod
    def probabilities(logits: Tensor) -> Tensor:
        """Note probabilities ``sigmoid(logits)`` in ``[0, 1]``, shape unchanged; what the critic is fed."""
        return probabilities(logits)

    def sample_noise(
        self,
        batch: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """Draw standard normal noise ``(batch, noise_dim)``.

        Parameters
        ----------
        batch : int
            Number of noise vectors.
        generator : torch.Generator, optional
            Source of randomness; the noise is drawn on its device, then moved, so a seed gives the same
            noise on every device.
        device : torch.device or str, optional
            Where the noise lives; defaults to the device of the model's parameters.
        """
        if device is None:
            device = next(self.parameters()).device
        draw_on = generator.device if generator is not None else device
        z = torch.randn((batch, self.noise_dim), generator=generator, device=draw_on)
        return z.to(device)

    def check_inputs(self, melody: Tensor, noise: Tensor) -> None:
        """Raise :class:`MuseforgeError` unless melody is ``(B, T, P)`` and noise ``(B, noise_dim)``."""
        check_shape("melody", melody, (None, self.n_steps, self.n_pitches))
        check_shape("noise", noise, (melody.shape[0], self.noise_dim))

    def forward(self, melody: Tensor, noise: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Critic(nn.Module):
    """Base of all critics: ``(melody (B, T, P), accompaniment (B, K, T, P)) -> scores (B,)``, no sigmoid."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        self.n_tracks = config.n_tracks
        self.n_steps = config.n_steps
        self.n_pitches = config.n_pitches

    def check_inputs(self, melody: Tensor, accompaniment: Tensor) -> None:
        """Raise :class:`MuseforgeError` unless melody is ``(B, T, P)`` and accompaniment ``(B, K, T, P)``."""
        check_shape("melody", melody, (None, self.n_steps, self.n_pitches))
        check_shape("accompaniment", accompaniment, (melody.shape[0], self.n_tracks, self.n_steps, self.n_pitches))

    def forward(self, melody: Tensor, accompaniment: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
