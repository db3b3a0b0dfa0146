"""The tiny model configs every test trains or builds: one place, so a change of a model's settings is one edit.

The widths are tiny so a training step takes milliseconds on a CPU; the data still decide tracks, grid and pitches.
"""

from __future__ import annotations

from typing import Any

#: A U-Net GAN small enough to train a few steps in seconds on two CPU cores.
TINY_UNET: dict[str, Any] = {
    "noise_dim": 8,
    "noise_channels": 4,
    "base_channels": 4,
    "max_channels": 16,
    "critic_base_channels": 4,
}
#: A MuseGAN of the same scale.
TINY_MUSEGAN: dict[str, Any] = {
    "base_channels": 4,
    "critic_base_channels": 4,
    "z_dim": 8,
    "temporal_hidden": 16,
    "melody_dim": 8,
    "melody_channels": 4,
}
#: Enhance's AR-CNN and Extend's melody Transformer, as tiny.
TINY_ARCNN: dict[str, Any] = {"base_channels": 4, "max_channels": 8, "depth": 2}
TINY_TRANSFORMER: dict[str, Any] = {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 32, "dropout": 0.0}

#: ``model_config`` of a tiny run of each architecture.
TINY_MODELS: dict[str, dict[str, Any]] = {
    "musegan": TINY_MUSEGAN,
    "unet": TINY_UNET,
    "arcnn": TINY_ARCNN,
    "transformer": TINY_TRANSFORMER,
}

#: The tiny trained U-Net model (on 8 Bach chorales) that the server and browser fixtures make.
TINY_MODEL = "tiny-bach"
