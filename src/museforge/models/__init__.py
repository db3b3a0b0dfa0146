"""GAN models: plain ``nn.Module``s, forward only (the trainer owns losses, the composer owns sampling).

Every generator maps ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)``; its outputs are
PROBABILITIES AFTER A SIGMOID (``Generator.probabilities``). Every critic maps
``(melody (B, T, P), accompaniment (B, K, T, P)) -> scores (B,)`` and is fed probabilities: ``sigmoid(logits)``
for fakes, ``{0, 1}`` rolls for real data. Build both with :func:`build_gan`.
"""

from __future__ import annotations

from museforge.models.base import Critic, GanConfig, Generator
from museforge.models.layers import count_parameters, probabilities
from museforge.models.musegan import MuseGANConfig, MuseGANCritic, MuseGANGenerator
from museforge.models.registry import ARCHITECTURES, build_gan, config_class, config_to_dict, make_config
from museforge.models.unet import UNetConfig, UNetCritic, UNetGenerator

__all__ = [
    "ARCHITECTURES",
    "Critic",
    "GanConfig",
    "Generator",
    "MuseGANConfig",
    "MuseGANCritic",
    "MuseGANGenerator",
    "UNetConfig",
    "UNetCritic",
    "UNetGenerator",
    "build_gan",
    "config_class",
    "config_to_dict",
    "count_parameters",
    "make_config",
    "probabilities",
]
