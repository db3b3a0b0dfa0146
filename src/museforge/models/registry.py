"""Build a model from ``(architecture, config dict)``: the one way the trainer, pipelines and checkpoints do it.

A checkpoint stores ``architecture``, ``config_to_dict(config)`` and the state dicts; ``build_gan`` (the two GANs)
or ``build_network`` (any architecture's generating network) with the first two rebuilds the exact same modules.

Architectures: the GANs ``musegan`` and ``unet`` (Compose), ``arcnn`` (Enhance: an iterative note rewriter) and
``transformer`` (Extend: a melody continuation model).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from museforge.errors import MuseforgeError
from museforge.model_files import ARCHITECTURES, GAN_ARCHITECTURES
from museforge.models import arcnn, musegan, transformer, unet
from museforge.models.base import Critic, GanConfig, Generator, config_from_dict

_CONFIGS: dict[str, Any] = {
    "musegan": musegan.MuseGANConfig,
    "unet": unet.UNetConfig,
    "arcnn": arcnn.ARCNNConfig,
    "transformer": transformer.TransformerConfig,
}


def config_class(architecture: str) -> Any:
    """The config dataclass of ``architecture``; :class:`MuseforgeError` if unknown."""
    try:
        return _CONFIGS[architecture]
    except (KeyError, TypeError):
        raise MuseforgeError(
            f"unknown architecture {architecture!r} (choose from {', '.join(ARCHITECTURES)})"
        ) from None


def make_config(architecture: str, config: dict[str, Any] | Any | None = None) -> Any:
    """Validated config of ``architecture``: defaults overridden by ``config`` (a dict or a config object).

    Raises
    ------
    MuseforgeError
        On an unknown architecture, unknown keys, wrong types or out-of-range values.
    """
    cls = config_class(architecture)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        if not isinstance(config, cls):
            raise MuseforgeError(f"a {type(config).__name__} is not a config for architecture {architecture!r}")
        config = config_to_dict(config)
    elif config is not None and not isinstance(config, dict):
        raise MuseforgeError(f"a {architecture} config must be a dict, got {type(config).__name__}")
    return config_from_dict(cls, config)  # type: ignore[type-var]


def config_to_dict(config: Any) -> dict[str, Any]:
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
    if architecture not in GAN_ARCHITECTURES:
        config_class(architecture)  # an unknown name gets the list
        raise MuseforgeError(f"{architecture} is not a GAN (GANs: {', '.join(GAN_ARCHITECTURES)})")
    cfg = make_config(architecture, config)
    if isinstance(cfg, musegan.MuseGANConfig):
        generator, critic = musegan.build(cfg)
        return generator, critic, cfg
    assert isinstance(cfg, unet.UNetConfig)
    u_generator, u_critic = unet.build(cfg)
    return u_generator, u_critic, cfg


def build_network(architecture: str, config: dict[str, Any] | Any | None = None) -> tuple[nn.Module, Any]:
    """Build the network that makes the music of any architecture: a GAN's generator, the AR-CNN, the Transformer.

    Returns
    -------
    network : nn.Module
        ``musegan``/``unet``: ``(melody (B, T, P), noise (B, D)) -> logits (B, K, T, P)``; ``arcnn``:
        ``(melody, accompaniment, known (B, 1 + K, T)) -> logits (B, 1 + K, T, P)``; ``transformer``:
        ``tokens (B, L) -> logits (B, L, vocab)``.
    config : dataclass
        The full validated config.
    """
    cfg = make_config(architecture, config)
    if isinstance(cfg, musegan.MuseGANConfig):
        return musegan.MuseGANGenerator(cfg), cfg  # the generator alone: composing never needs the critic
    if isinstance(cfg, unet.UNetConfig):
        return unet.UNetGenerator(cfg), cfg
    if isinstance(cfg, arcnn.ARCNNConfig):
        return arcnn.build(cfg), cfg
    return transformer.build(cfg), cfg
