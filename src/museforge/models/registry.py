"""Build a GAN from ``(architecture, config dict)``: the one way the trainer, composer and checkpoints do it.

A checkpoint stores ``architecture``, ``config_to_dict(config)`` and the two state dicts; ``build_gan`` with the
first two rebuilds the exact same modules.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from museforge.errors import MuseforgeError
from museforge.models import musegan, unet
from museforge.models.base import Critic, GanConfig, Generator, config_from_dict

#: Architectures ``build_gan`` knows.
ARCHITECTURES: tuple[str, ...] = ("musegan", "unet")

_CONFIGS: dict[str, type[GanConfig]] = {"musegan": musegan.MuseGANConfig, "unet": unet.UNetConfig}


def config_class(architecture: str) -> type[GanConfig]:
    """The config dataclass of ``architecture``; :class:`MuseforgeError` if unknown."""
    try:
        return _CONFIGS[architecture]
    except (KeyError, TypeError):
        raise MuseforgeError(
            f"unknown architecture {architecture!r} (choose from {', '.join(ARCHITECTURES)})"
        ) from None


def make_config(architecture: str, config: dict[str, Any] | GanConfig | None = None) -> GanConfig:
    """Validated config of ``architecture``: defaults overridden by ``config`` (a dict or a config object).

    Raises
    ------
    MuseforgeError
        On an unknown architecture, unknown keys, wrong types or out-of-range values.
    """
    cls = config_class(architecture)
    if isinstance(config, GanConfig):
        if not isinstance(config, cls):
            raise MuseforgeError(f"a {type(config).__name__} is not a config for architecture {architecture!r}")
        config = config_to_dict(config)
    elif config is not None and not isinstance(config, dict):
        raise MuseforgeError(f"a {architecture} config must be a dict, got {type(config).__name__}")
    return config_from_dict(cls, config)  # type: ignore[type-var]


def config_to_dict(config: GanConfig) -> dict[str, Any]:
    """A plain, JSON-ready dict of every field of ``config`` (the inverse of :func:`make_config`)."""
    return dataclasses.asdict(config)  # type: ignore[call-overload]


def build_gan(
    architecture: str, config: dict[str, Any] | GanConfig | None = None
) -> tuple[Generator, Critic, GanConfig]:
    """Build a freshly initialised generator and critic.

    Parameters
    ----------
    architecture : str
        One of :data:`ARCHITECTURES`.
    config : dict or config dataclass, optional
        Overrides of the architecture's defaults (e.g. ``config_to_dict`` of a saved model).

    Returns
    -------
    generator : Generator
        ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)``.
    critic : Critic
        ``(melody (B, T, P), accompaniment (B, K, T, P)) -> scores (B,)``.
    config : GanConfig
        The full validated config (:class:`~museforge.models.musegan.MuseGANConfig` or
        :class:`~museforge.models.unet.UNetConfig`).
    """
    cfg = make_config(architecture, config)
    if isinstance(cfg, musegan.MuseGANConfig):
        generator, critic = musegan.build(cfg)
        return generator, critic, cfg
    assert isinstance(cfg, unet.UNetConfig)
    u_generator, u_critic = unet.build(cfg)
    return u_generator, u_critic, cfg
