"""Training the AR-CNN of Enhance: restore multitrack windows that were partly hidden and partly corrupted.

Each training window (melody and accompaniment, in the common key when the run uses it) is damaged on the device:

- **hidden**: some tracks' steps are marked unknown (all their pitches zeroed), in one of three patterns drawn per
  window: random steps of every track (a share drawn in ``[0, 1)``, as in Coconet), whole tracks (each
  accompaniment track with probability 1/2, the melody with 1/4, at least one track), or a span of bars of some
  tracks (what inpainting a few bars asks);
- **corrupted**: in the known part, notes are removed (each sounding step with a probability drawn in
  ``[0, 0.1)``) and moved by one or two semitones (each step likewise): the wrong notes a rewrite should fix.

The loss is the binary cross-entropy of the model's clean roll against the real one, over the hidden steps with
weight 1 and the known ones with weight :data:`KNOWN_WEIGHT` (it must also see wrong known notes as wrong).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from museforge.models.registry import make_config
from museforge.sampling.gibbs import harmonize_windows
from museforge.training.config import TrainConfig
from museforge.training.data import TrainingData
from museforge.training.distributed import Context
from museforge.training.evaluation import METRICS_SEED_OFFSET, roll_metrics, to_multitrack, write_sample_files
from museforge.training.tasks import DATA_METRIC_WINDOWS, OneNetworkTask

#: Loss weight of the known (maybe corrupted) steps against 1 for the hidden ones.
KNOWN_WEIGHT = 0.25
#: Most notes removed, and most moved, as a share of the known sounding steps.
MAX_CORRUPTION = 0.1
#: Gibbs iterations of the per-epoch metrics and samples (a user's enhance runs more).
EVAL_ITERATIONS = 16
#: Windows whose validation loss is logged after each epoch.
VALID_WINDOWS = 256


def hide_and_corrupt(roll: Tensor, bar_steps: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Damage clean windows as the module docstring says.

    Parameters
    ----------
    roll : Tensor
        ``(B, V, T, P)`` float ``{0, 1}``, track 0 the melody.
    bar_steps : int
        Steps per bar (for the bar-span pattern).
    rng : torch.Generator, optional
        On the device of ``roll``.

    Returns
    -------
    damaged : Tensor
        ``(B, V, T, P)``: zero where hidden, corrupted where known.
    known : Tensor
        ``(B, V, T)`` float ``{0, 1}``.
    """
    b, v, t, p = roll.shape
    dev = roll.device

    def uniform(*shape: int) -> Tensor:
        return torch.rand(shape, generator=rng, device=dev)

    pattern = torch.randint(0, 3, (b, 1, 1), generator=rng, device=dev)
    random_steps = uniform(b, v, t) < uniform(b, 1, 1)
    track_odds = torch.full((1, v, 1), 0.5, device=dev)
    track_odds[:, 0] = 0.25
    whole = uniform(b, v, 1) < track_odds
    none = ~whole.any(dim=1, keepdim=True)
    first_acc = torch.zeros((1, v, 1), dtype=torch.bool, device=dev)
    first_acc[:, min(1, v - 1)] = True
    whole = (whole | (none & first_acc)).expand(b, v, t)
    bars = max(1, t // bar_steps)
    start = torch.randint(0, bars, (b, 1, 1), generator=rng, device=dev)
    length = torch.randint(1, bars + 1, (b, 1, 1), generator=rng, device=dev)
    bar_of_step = (torch.arange(t, device=dev) // bar_steps).view(1, 1, t)
    in_span = (bar_of_step >= start) & (bar_of_step < start + length)
    span_tracks = uniform(b, v, 1) < 0.5
    span_tracks[:, min(1, v - 1) :][:, :1] |= ~span_tracks.any(dim=1, keepdim=True)  # at least one
    span = in_span & span_tracks
    hidden = torch.where(pattern == 0, random_steps, torch.where(pattern == 1, whole, span))
    known = (~hidden).float()

    removed = uniform(b, v, t) < uniform(b, 1, 1) * MAX_CORRUPTION
    moved = uniform(b, v, t) < uniform(b, 1, 1) * MAX_CORRUPTION
    shift = torch.randint(-2, 2, (b, v, t), generator=rng, device=dev)
    shift = torch.where(shift >= 0, shift + 1, shift)  # -2, -1, 1, 2
    columns = torch.arange(p, device=dev).view(1, 1, 1, p) - shift.unsqueeze(-1)
    shifted = roll.gather(-1, columns.clamp(0, p - 1)) * ((columns >= 0) & (columns < p))
    damaged = torch.where(moved.unsqueeze(-1), shifted, roll) * (~removed).unsqueeze(-1)
    return damaged * known.unsqueeze(-1), known


def restore_loss(logits: Tensor, clean: Tensor, known: Tensor) -> Tensor:
    """Weighted binary cross-entropy of ``(B, V, T, P)`` logits against the clean roll (hidden steps weigh 1)."""
    weight = (1.0 - known + KNOWN_WEIGHT * known).unsqueeze(-1).expand_as(clean)
    cells = F.binary_cross_entropy_with_logits(logits, clean, reduction="none")
    return (cells * weight).sum() / weight.sum()


class ArcnnTask(OneNetworkTask):
    """The AR-CNN on a genre's windows (see the module docstring)."""

    def __init__(self, config: TrainConfig, device: torch.device, ctx: Context) -> None:

        n_bars = make_config("arcnn", {k: v for k, v in config.model_config.items() if k == "n_bars"}).n_bars
        self.data = TrainingData(config.genre, n_bars, device, augment=False, common_key=config.common_key)
        self.config = config
        self._build_network(config, device, ctx, self.data.model_overrides(config.model_config))
        self.bar_steps = self.data.facts.steps_per_bar
        self.metric_windows = self.data.evaluation_windows(config.metrics_samples)
        self.metric_grids, _meters = self.data.evaluation_grids(config.metrics_samples)
        self.valid_windows = self.data.evaluation_windows(VALID_WINDOWS)
        self.sample_windows = self.data.consecutive_windows(config.samples_per_epoch)

    def step(self, indices: Tensor, rng: torch.Generator) -> Tensor:
        melody, accompaniment, _ = self.data.batch(indices[0], rng)
        clean = torch.cat([melody.unsqueeze(1), accompaniment], dim=1)
        damaged, known = hide_and_corrupt(clean, self.bar_steps, rng)
        logits = self.forward(damaged[:, 0], damaged[:, 1:], known)
        return self._update(restore_loss(logits.float(), clean, known))

    def data_metrics(self) -> dict[str, Any]:
        windows = self.data.evaluation_windows(DATA_METRIC_WINDOWS, split="train")
        grids, _meters = self.data.evaluation_grids(DATA_METRIC_WINDOWS, split="train")
        return roll_metrics(windows[:, 0], windows[:, 1:], self.data.facts, grids)

    @torch.no_grad()
    def validation_loss(self) -> float:
        """The loss on fixed validation windows damaged the same way every epoch."""
        device = next(self.network.parameters()).device
        rng = torch.Generator(device).manual_seed(self.seed + METRICS_SEED_OFFSET)
        clean = torch.from_numpy(self.valid_windows.astype(np.float32)).to(device)
        damaged, known = hide_and_corrupt(clean, self.bar_steps, rng)
        losses = []
        for start in range(0, len(clean), 64):
            part = slice(start, start + 64)
            logits = self.network(damaged[part, 0], damaged[part, 1:], known[part])
            losses.append(float(restore_loss(logits.float(), clean[part], known[part])) * len(clean[part]))
        return sum(losses) / max(1, len(clean))

    def enhance_windows(self, windows: np.ndarray, card: dict[str, Any]) -> np.ndarray:
        """The accompaniment the sampler writes from each window's melody alone: ``(n, K, T, P)`` bool."""

        rng = torch.Generator().manual_seed(self.seed + METRICS_SEED_OFFSET)
        return harmonize_windows(self.network, card, windows[:, 0], iterations=EVAL_ITERATIONS, generator=rng)

    def epoch_log(self, card: dict[str, Any]) -> dict[str, Any]:
        accompaniment = self.enhance_windows(self.metric_windows, card)
        generated = roll_metrics(self.metric_windows[:, 0], accompaniment, self.data.facts, self.metric_grids)
        return {
            "validation_loss": self.validation_loss(),
            "metrics": {"generated": generated, "training_data": card.get("train_data_metrics")},
        }

    def write_sample(self, card: dict[str, Any], folder: Path, epoch: int, title: str) -> dict[str, str]:

        if len(self.sample_windows) == 0:
            return {}
        accompaniment = self.enhance_windows(self.sample_windows, card)
        multitrack = to_multitrack(self.sample_windows[:, 0], accompaniment, self.data.facts)
        return write_sample_files(multitrack, folder, epoch, title)
