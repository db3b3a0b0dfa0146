"""What the benchmarks measure: the models at their default shapes and at the reference implementations' shapes.

At a reference's shape museforge's MuseGAN is sized to about the reference's parameter counts and runs the
reference's batch and update ratio. The reference itself (re-written from its published architecture in
:mod:`bench.references`) runs in the same rounds, so its samples/s, its FLOPs per sample and the ratio are
measured together, at the same load. The stored figures (issue 7: the public PyTorch implementations at their
default settings, on 2 CPU cores and on one H100) were measured elsewhere, at another load: the bench prints them
for what they are. samples/s = batch x generator updates per second, each update with its critic steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reference:
    """A public implementation's measured training speed at its own settings.

    Attributes
    ----------
    name : str
        Which implementation.
    params : str
        Its generator / critic parameter counts, as published.
    samples_per_second : dict
        Stored figures, measured elsewhere at another load (issue 7): ``{(device kind, batch): samples/s}`` with
        device kind ``"cpu"`` (2 cores) or ``"cuda"`` (one H100).
    live : str
        Key of :data:`bench.references.REFERENCE_STEPS`: the reference's step, run beside museforge's.
    """

    name: str
    params: str
    samples_per_second: dict[tuple[str, int], float]
    live: str


TUTORIAL = Reference(
    "MuseGAN authors' PyTorch tutorial (ismir2019tutorial)",
    "G 314k / D 204k",
    {("cpu", 16): 48.0, ("cuda", 16): 175.0, ("cuda", 256): 2950.0},
    "tutorial",
)
AKANAMETOV = Reference(
    "akanametov/musegan",
    "G 6.6M / D 1.4M",
    {("cpu", 64): 3.0, ("cuda", 64): 334.0, ("cuda", 256): 745.0},
    "akanametov",
)

#: Dense (no sparsity) bf16 peak of the GPUs the bench knows, TFLOP/s, from NVIDIA's data sheets; the first name
#: found in the device's name wins. Other GPUs: ``--peak-tflops``.
GPU_PEAK_TFLOPS: tuple[tuple[str, float], ...] = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0))
#: The GPU goals: museforge's fast step at the tutorial shape and batch 256, this many times the tutorial's
#: stored H100 figure (2,950 samples/s).
GPU_TARGETS: tuple[float, ...] = (10.0, 20.0)
#: Fewest timing rounds that make a figure (fewer: a smoke run, and the bench says so).
MIN_ROUNDS = 5


@dataclass(frozen=True)
class TrainCase:
    """One training-speed measurement.

    Attributes
    ----------
    name : str
        Row label.
    architecture : str
        ``musegan`` or ``unet``.
    config : dict
        Overrides of the architecture's default config.
    batch : dict
        Batch sizes per device kind (``cpu``, ``cuda``); several on CUDA give one row each.
    update_ratio : int
        Critic updates per generator update.
    reference : Reference, optional
        The public implementation at this shape, for the ratio against its figures.
    """

    name: str
    architecture: str
    config: dict[str, Any]
    batch: dict[str, tuple[int, ...]]
    update_ratio: int
    reference: Reference | None = None


#: (5 tracks, 4 bars x 16 steps, 72 pitches): the melody plus 5 generated tracks, about G 328k / D 208k.
TUTORIAL_SHAPE = {"n_tracks": 5, "n_bars": 4, "steps_per_bar": 16, "n_pitches": 72, "lowest_pitch": 24}
#: (4 tracks, 2 bars x 16 steps, 84 pitches): the melody plus 4 generated tracks, about G 6.6M / D 1.4M.
AKANAMETOV_SHAPE = {"n_tracks": 4, "n_bars": 2, "steps_per_bar": 16, "n_pitches": 84, "lowest_pitch": 24}

#: The CPU recipes the shipped pop and bach models were trained with (scripts/train_pretrained.py).
POP_RECIPE = {
    "n_tracks": 2,
    "n_bars": 4,
    "steps_per_bar": 16,
    "temporal_hidden": 64,
    "base_channels": 32,
    "critic_base_channels": 24,
}
BACH_RECIPE = {"base_channels": 16, "max_channels": 128, "critic_base_channels": 16}

# The default-size networks are GPU-sized: on a CPU they (and the U-Net at the akanametov shape) run at batch 4
# (8) so that ``make bench`` stays within minutes.
TRAIN_CASES: tuple[TrainCase, ...] = (
    TrainCase("musegan default", "musegan", {}, {"cpu": (4,), "cuda": (64, 256)}, 5),
    TrainCase("unet default", "unet", {}, {"cpu": (4,), "cuda": (64, 256)}, 5),
    TrainCase("musegan shipped pop recipe", "musegan", POP_RECIPE, {"cpu": (32,), "cuda": (32, 256)}, 2),
    TrainCase("unet shipped bach recipe", "unet", BACH_RECIPE, {"cpu": (32,), "cuda": (32, 256)}, 2),
    TrainCase(
        "musegan @ tutorial shape",
        "musegan",
        {**TUTORIAL_SHAPE, "base_channels": 16, "critic_base_channels": 23},
        {"cpu": (16,), "cuda": (16, 256)},
        1,
        TUTORIAL,
    ),
    TrainCase(
        "musegan @ akanametov shape",
        "musegan",
        {**AKANAMETOV_SHAPE, "base_channels": 218, "critic_base_channels": 61},
        {"cpu": (64,), "cuda": (64, 256)},
        5,
        AKANAMETOV,
    ),
    TrainCase("unet @ tutorial shape", "unet", dict(TUTORIAL_SHAPE), {"cpu": (16,), "cuda": (16, 256)}, 1),
    TrainCase("unet @ akanametov shape", "unet", dict(AKANAMETOV_SHAPE), {"cpu": (8,), "cuda": (64, 256)}, 5),
)

#: Shipped models composed in the latency table, and the melody (8 bars of Ode to Joy).
COMPOSE_MODELS: tuple[str, ...] = ("bach", "pop", "rock", "jazz", "symphony")
COMPOSE_MELODY = "ode_to_joy"
COMPOSE_BARS = 8
