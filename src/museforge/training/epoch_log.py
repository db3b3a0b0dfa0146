"""What a run reports as it trains (process 0): the progress bar's text, the progress inside an epoch (speed, time
left) for ``on_progress``, and each epoch's record (losses, speed, the task's music metrics and sample) appended to
``metrics.jsonl`` and handed to ``on_epoch``.

:class:`EpochLog` is the part of :class:`~museforge.training.trainer.Trainer` that reports; the loop decides when.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from museforge.errors import MuseforgeError
from museforge.files import json_line
from museforge.model_files import METRICS_FILE, SAMPLES_DIR, now
from museforge.training.run_state import RunState


class EpochLog(RunState):
    """Progress and per-epoch records of a run, for :class:`~museforge.training.trainer.Trainer` (a mixin: it reads
    the trainer's config, context, task and run state)."""

    def _postfix(self) -> str:
        values = self._read_sums(check=not self.ctx.distributed)  # distributed: checked in _should_stop
        n = max(1, self.update_in_epoch)
        shown = " ".join(f"{label} {v / n:.3f}" for label, v in zip(self.task.short_names, values, strict=False))
        return f"epoch {self.epoch + 1} {shown}"

    def _report_progress(self, phase: str) -> None:
        """Call ``on_progress`` (if any) with where the run is, its speed in this epoch, the time left (the steps
        left at this speed plus one evaluation per epoch ahead, as long as the last one took) and, while it trains,
        the mean losses of the epoch's updates so far (``losses``, the keys of an epoch's record; None before its
        first update): the points of the loss chart inside an epoch."""
        if self.on_progress is None:
            return
        elapsed = self.epoch_train_time
        if phase == "training":
            elapsed += time.perf_counter() - self._segment_start
        steps_per_s = self.update_in_epoch / elapsed if elapsed > 0 and self.update_in_epoch else 0.0
        left = max(0, self.total_steps - self.step)
        evaluations_left = math.ceil(left / max(1, self.steps_per_epoch))  # each epoch ahead ends with one
        losses = self._running_losses() if phase == "training" else None
        self.on_progress(
            {
                "phase": phase,
                "losses": losses,
                "epoch": self.epoch + 1,
                "step": self.step,
                "total_steps": self.total_steps,
                "steps_per_epoch": self.steps_per_epoch,
                "step_in_epoch": self.update_in_epoch,
                "samples_per_s": steps_per_s * self.config.batch_size * self.ctx.world_size,
                "eta_s": left / steps_per_s + evaluations_left * self._evaluation_seconds()
                if steps_per_s > 0
                else None,
            }
        )

    def _evaluation_seconds(self) -> float:
        """Seconds the last epoch's evaluation took (metrics and sample): what each epoch ahead adds to the time
        left besides its steps, and most of it when epochs are short. 0 before the first evaluation."""
        record = self._last_record
        if not record:
            return 0.0
        return max(0.0, float(record.get("wall_time", 0.0)) - float(record.get("train_time", 0.0)))

    def _partial_epoch(self) -> dict[str, Any]:
        """The card's ``partial_epoch`` when a run stops inside an epoch: its number, the steps done and their mean
        losses (the card's losses until that epoch ends); nothing when it stops on an epoch's edge."""
        losses = self._running_losses()
        if losses is None:
            return {}
        return {"partial_epoch": {"epoch": self.epoch + 1, "steps": self.update_in_epoch, **losses}}

    def _running_losses(self) -> dict[str, float] | None:
        """The mean losses of the epoch's updates so far (as an epoch's record names them); None before its first
        update or when one is not finite."""
        if not self.update_in_epoch:
            return None
        values = self._read_sums(check=False)
        if not all(math.isfinite(v) for v in values):
            return None
        means = {key: value / self.update_in_epoch for key, value in zip(self.task.sum_keys, values, strict=True)}
        return self.task.loss_log(means)

    def _log_epoch(self, values: list[float], complete: bool) -> None:
        """Evaluate the generator, write the epoch's sample and record (process 0); the card gets the record."""
        eval_start = time.perf_counter()
        updates = max(1, self.update_in_epoch)
        losses = self.task.loss_log(
            {key: value / updates for key, value in zip(self.task.sum_keys, values, strict=True)}
        )
        networks = self.task.networks.values()
        for network in networks:
            network.eval()
        try:
            music = self.task.epoch_log(self.card)
            title = f"{self.config.name} epoch {self.epoch + 1}"
            sample = self.task.write_sample(self.card, self.folder / SAMPLES_DIR, self.epoch + 1, title)
        finally:
            for network in networks:
                network.train()
        samples = self.config.batch_size * self.update_in_epoch * self.ctx.world_size  # every process's
        record = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "complete": complete,
            **losses,
            "train_time": self.epoch_train_time,
            "wall_time": self.epoch_train_time + time.perf_counter() - eval_start,
            "samples_per_second": samples / max(self.epoch_train_time, 1e-9),
            **music,
            "sample": sample,
            "time": now(),
        }
        self._append_record(record)
        self._last_record = record
        if self.on_epoch is not None:
            self.on_epoch(record)

    def _append_record(self, record: dict[str, Any]) -> None:
        line = json_line(record)
        path = self.folder / METRICS_FILE
        try:
            with open(path, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise MuseforgeError(f"cannot write {path}: {exc.strerror or exc}") from exc
