"""Models: plain ``nn.Module``s, forward only (the trainer owns losses, the pipelines own sampling).

The GANs (MuseGAN, U-Net) compose; the AR-CNN (:mod:`museforge.models.arcnn`) enhances and the melody Transformer
(:mod:`museforge.models.transformer`) extends. Build any of them with :func:`build_network`.

Every generator maps ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)``; its outputs are
PROBABILITIES AFTER A SIGMOID (``Generator.probabilities``). Every critic maps
``(melody (B, T, P), accompaniment (B, K, T, P)) -> scores (B,)`` and is fed probabilities: ``sigmoid(logits)``
for fakes, ``{0, 1}`` rolls for real data. Build both with :func:`build_gan`.
"""

from __future__ import annotations

from museforge.models.arcnn import ARCNN, ARCNNConfig
from museforge.models.base import Critic, GanConfig, Generator
from museforge.models.layers import count_parameters, probabilities
from museforge.models.musegan import MuseGANConfig, MuseGANCritic, MuseGANGenerator
from museforge.models.registry import (
    ARCHITECTURES,
    GAN_ARCHITECTURES,
    build_gan,
    build_network,
    config_class,
    config_to_dict,
    make_config,
)
from museforge.models.transformer import MelodyTransformer, TransformerConfig
from museforge.models.unet import UNetConfig, UNetCritic, UNetGenerator

__all__ = [
    "ARCHITECTURES",
    "ARCNN",
    "GAN_ARCHITECTURES",
    "ARCNNConfig",
    "Critic",
    "GanConfig",
    "Generator",
    "MelodyTransformer",
    "MuseGANConfig",
    "MuseGANCritic",
    "MuseGANGenerator",
    "TransformerConfig",
    "UNetConfig",
    "UNetCritic",
    "UNetGenerator",
    "build_gan",
    "build_network",
    "config_class",
    "config_to_dict",
    "count_parameters",
    "make_config",
    "probabilities",
]
