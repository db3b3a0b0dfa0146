"""The tiny model configs every test trains or builds: one place, so a change of a model's settings is one edit.

The widths are tiny so a training step takes milliseconds on a CPU; the data still decide tracks, grid and pitches.
"""

from __future__ import annotations

from typing import Any

import torch

from museforge.models import build_gan
from museforge.training.step import AdversarialStep, make_optimizer

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


def tiny_run(architecture: str = "unet", **overrides: Any) -> dict[str, Any]:
    """The settings of a tiny training run on the bach data, for ``TrainConfig(name=..., **tiny_run(...))``.

    One epoch of at most 2 steps of batch 4 on the CPU, one critic update per step, 4 metric windows and one
    sample per epoch, with ``architecture``'s tiny ``model_config`` (a copy); ``overrides`` replace any of them.
    """
    run: dict[str, Any] = {
        "genre": "bach",
        "architecture": architecture,
        "epochs": 1,
        "max_steps": 2,
        "batch_size": 4,
        "update_ratio": 1,
        "model_config": dict(TINY_MODELS[architecture]),
        "metrics_samples": 4,
        "samples_per_epoch": 1,
        "device": "cpu",
    }
    return {**run, **overrides}


def tiny_job(architecture: str = "unet", **overrides: Any) -> dict[str, Any]:
    """:func:`tiny_run` as the body of a studio job request (``POST /api/jobs``): the same settings but the
    device, which a request does not name (the server picks it)."""
    job = tiny_run(architecture, **overrides)
    del job["device"]
    return job


def small_step(architecture: str, model_config: dict[str, Any], **options: Any) -> AdversarialStep:
    """A float32 wgan-gp training step (Adam, 1e-3) on networks of ``architecture`` built afresh from seed 0."""
    torch.manual_seed(0)
    generator, critic, _ = build_gan(architecture, model_config)
    return AdversarialStep(
        generator,
        critic,
        make_optimizer(generator, 1e-3, (0.5, 0.9)),
        make_optimizer(critic, 1e-3, (0.5, 0.9)),
        loss="wgan-gp",
        penalty_weight=10.0,
        autocast=False,
        **options,
    )
