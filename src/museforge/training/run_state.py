"""The state of a training run that the trainer's parts share: the loop (:mod:`museforge.training.trainer`), the
model folder (:mod:`museforge.training.run_folder`) and the reports (:mod:`museforge.training.epoch_log`).

:class:`RunState` only declares what :class:`~museforge.training.trainer.Trainer` sets and defines, so that each
part reads as a class of its own and a type checker can follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from museforge.training.config import TrainConfig
from museforge.training.distributed import Context
from museforge.training.tasks import Task


class RunState:
    """Declarations of a run's settings, parts and counters (set by the trainer)."""

    config: TrainConfig
    ctx: Context
    task: Task
    data: Any
    model_config: dict[str, Any]
    folder: Path
    device: torch.device
    rng: torch.Generator
    on_epoch: Callable[[dict[str, Any]], None] | None
    on_progress: Callable[[dict[str, Any]], None] | None
    #: Run state saved in every checkpoint: optimizer steps done, epochs done, updates into the current epoch, the
    #: device sums of the task's ``sum_keys`` over this epoch (K,), training seconds of this epoch.
    step: int
    epoch: int
    update_in_epoch: int
    sums: Tensor
    epoch_train_time: float
    saved_step: int
    steps_per_epoch: int
    total_steps: int
    card: dict[str, Any]
    _segment_start: float
    _last_record: dict[str, Any] | None

    def _read_sums(self, check: bool = True) -> list[float]:
        """The epoch's sums on the host (the trainer's)."""
        raise NotImplementedError

    def _agree_sums(self) -> list[float]:
        """The epoch's sums, averaged over the processes (the trainer's)."""
        raise NotImplementedError

    def _weights_finite(self) -> bool:
        """Whether every weight is finite (the trainer's)."""
        raise NotImplementedError
