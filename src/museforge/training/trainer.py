"""One trainer for every museforge model: the GANs, the AR-CNN and the Transformer; logs, samples, checkpoints, resume.

What is trained and how one update goes is the run's *task* (:mod:`museforge.training.tasks`); for a GAN:

A *step* is one generator update together with the ``update_ratio`` critic updates before it; each critic
update takes its own batch, the generator update reuses the melodies of the last one with fresh noise.
An epoch is ``(training windows // batch_size) // update_ratio`` steps, in a batch order fixed by
``(seed, epoch)``.

The step (:mod:`museforge.training.step`) is free of host syncs: losses are summed on the device and read
once per progress refresh, checkpoint and epoch end, where non-finite values stop the run (status "failed",
last good checkpoint kept). On the CPU, deterministic algorithms and explicit random generators make a run with a
fixed seed repeatable, including across a kill and ``resume``.

With ``distributed`` (under ``torchrun``, see :mod:`museforge.training.distributed` and docs/distributed.md)
every process runs this trainer on its own slice of each epoch's order, with its own random generator
(``seed + rank``) and DDP averaging the gradients; an epoch is ``training windows // (batch_size *
update_ratio * world_size)`` steps. Only process 0 claims the name and writes the model folder; the others
get a resumed run's state from it. Stop requests and non-finite losses are agreed on by all processes at the
same step (every step on the CPU, every :data:`DIST_SYNC_STEPS_CUDA` steps on CUDA).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.model_files import now
from museforge.training import registry
from museforge.training.arcnn_task import ArcnnTask
from museforge.training.config import TrainConfig
from museforge.training.data import epoch_permutation
from museforge.training.distributed import (
    SINGLE,
    Context,
    launched_without_flag,
    process_group,
    rank_seed,
    shard,
)
from museforge.training.epoch_log import EpochLog
from museforge.training.run_folder import Diverged, RunFolder
from museforge.training.tasks import GanTask, Task
from museforge.training.transformer_task import TransformerTask

#: Seconds between reads of the losses from the device (one host sync each): progress bar and NaN check.
REFRESH_SECONDS = 1.0
#: Seconds between progress lines when stderr is not a terminal (piped or logged: lines, no carriage returns).
PLAIN_PROGRESS_SECONDS = 10.0
#: Steps between the distributed processes' agreements on stop requests and non-finite losses on CUDA (one
#: small all-reduce and host sync each); on the CPU they agree after every step.
DIST_SYNC_STEPS_CUDA = 10


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA if available, else CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise MuseforgeError("--device cuda was asked for but no CUDA GPU is available (use --device cpu)")
    return torch.device(name)


def resume_config(name: str, **changes: Any) -> TrainConfig:
    """The stored settings of model ``name`` with ``changes`` applied and ``resume=True``.

    For the CLI and the server: ``train(resume_config("mybach", epochs=20))`` continues a run to 20 epochs.
    ``distributed`` is not taken from the card (it depends on how this process was started): pass it. A
    distributed process other than 0 on a machine without the model folder gets a stand-in config: in
    :func:`train` every process takes process 0's settings.
    """
    changes.setdefault("distributed", False)
    folder = registry.model_dir(name)
    if changes["distributed"] and os.environ.get("RANK", "0") != "0" and not (folder / registry.MODEL_JSON).is_file():
        return TrainConfig(name=name, genre=changes.pop("genre", "bach"), resume=True, **changes)
    card = registry.read_card(registry.existing_model_dir(name))
    return TrainConfig.from_hyperparameters(name, card.get("hyperparameters", {}), resume=True, **changes)


@contextlib.contextmanager
def stop_signals(stop_event: threading.Event | None = None) -> Iterator[threading.Event]:
    """Turn SIGINT and SIGTERM into a stop request for :func:`train` (main thread only).

    The first signal sets the event (the trainer saves a checkpoint and stops); a second SIGINT raises
    KeyboardInterrupt as usual.
    """
    event = stop_event or threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _deterministic(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]  # costly, not needed
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill  # type: ignore[attr-defined]


def train(
    config: TrainConfig,
    *,
    progress: bool = True,
    stop_event: threading.Event | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or, with ``config.resume``, continue) a model; return its final summary.

    Parameters
    ----------
    config : TrainConfig
        Every setting; validated first.
    progress : bool
        Show a progress bar with the current losses on stderr.
    stop_event : threading.Event, optional
        Set it (from another thread, or a signal handler: see :func:`stop_signals`) to save a checkpoint
        and stop with status "stopped". Creating ``STOP`` in the model folder does the same.
    on_epoch : callable, optional
        Called with each epoch's record (the line written to ``metrics.jsonl``).
    on_progress : callable, optional
        Called at each progress refresh (about once a second, after a step) and before each epoch's
        evaluation with ``{epoch, step, total_steps, steps_per_epoch, step_in_epoch, samples_per_s, eta_s,
        phase, losses}``; ``phase`` is ``"training"`` or ``"evaluating"`` (the metrics and sample after an epoch),
        ``losses`` the mean losses of the epoch's updates so far while it trains (else None).

    Returns
    -------
    dict
        :func:`museforge.training.registry.summary` of the model plus ``path`` and ``stopped``.

    Raises
    ------
    MuseforgeError
        On a bad setting, a missing dataset, an existing name without resume, a corrupted checkpoint,
        diverging (NaN) losses or a write error; the last good checkpoint is always kept. With
        ``config.distributed``, also when the process was not started by torchrun, and on every process
        when one of them fails.

    Notes
    -----
    With ``config.distributed`` this joins the process group torchrun prepared (and always leaves it);
    every process trains with process 0's config (the others' decides only the device). Only process 0
    shows progress, calls ``on_epoch`` and writes files; every process returns process 0's summary.
    """
    config.validate()
    if not config.distributed:
        world = launched_without_flag()
        if world > 1:
            raise MuseforgeError(
                f"this process is one of {world} started by torchrun: pass --distributed (distributed=True), or "
                "the processes would all train the same model on their own"
            )
        with registry.claim(config.name):
            trainer = Trainer(config, progress=progress, stop_event=stop_event, on_epoch=on_epoch)
            trainer.on_progress = on_progress
            return trainer.run()
    with process_group(config.device) as ctx:
        config = ctx.broadcast_object(config)  # process 0's settings rule (the others may lack the model card)
        claim = registry.claim(config.name) if ctx.is_main else contextlib.nullcontext()
        with claim:
            trainer = Trainer(
                config, progress=progress and ctx.is_main, stop_event=stop_event, on_epoch=on_epoch, ctx=ctx
            )
            trainer.on_progress = on_progress if ctx.is_main else None
            try:
                result = trainer.run()
            finally:
                # the DDP wrappers (and their reducers' threads) go before the process group they use: a group
                # destroyed under a live wrapper can abort the process at exit ("terminate called ...")
                trainer.release()
                del trainer
                gc.collect()
            ctx.barrier()  # every process has finished with the group before any leaves it
            return result


def make_task(config: TrainConfig, device: torch.device, ctx: Context) -> Task:
    """The task of ``config.architecture`` (data loaded, networks built from ``config.seed``)."""
    if config.architecture == "arcnn":
        return ArcnnTask(config, device, ctx)
    if config.architecture == "transformer":
        return TransformerTask(config, device, ctx)
    return GanTask(config, device, ctx)


class Trainer(RunFolder, EpochLog):
    """The state and loop of one training run (use :func:`train`): the loop here, the model folder in
    :class:`RunFolder`, the progress and per-epoch records in :class:`EpochLog`."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        progress: bool = True,
        stop_event: threading.Event | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
        ctx: Context = SINGLE,
    ) -> None:
        self.config = config
        self.progress = progress
        self.stop_event = stop_event
        self.on_epoch = on_epoch
        self.on_progress: Callable[[dict[str, Any]], None] | None = None
        self.ctx = ctx
        self.folder = registry.model_dir(config.name)
        with ctx.guarded("checking the model folder"):
            stored = self._check_folder() if ctx.is_main else None
        self.device = ctx.device if ctx.device is not None else resolve_device(config.device)
        self.cpu = self.device.type == "cpu"
        with ctx.guarded("loading the data and building the networks"):
            self._build()
        self._check_same_run()

        # run state, saved in every checkpoint
        self.step = 0
        self.epoch = 0  # epochs completed; the index of the current epoch
        self.update_in_epoch = 0
        self.sums = torch.zeros(len(self.task.sum_keys), device=self.device)
        self.epoch_train_time = 0.0
        self.saved_step = 0  # the step of the last checkpoint
        self._last_record: dict[str, Any] | None = None  # the epoch record process 0 logged last
        self._segment_start = time.perf_counter()
        self.card: dict[str, Any] = {}
        if config.resume:
            with ctx.guarded("reading the checkpoint"):
                payload = self._read_checkpoint(stored) if ctx.is_main else None
            payload = ctx.broadcast_object(payload)  # process 0's state, so that all start identical
            with ctx.guarded("loading the checkpoint"):
                self._load_checkpoint(payload)
        # epochs may have had other sizes before a resume with another number of processes
        remaining = self.step - self.update_in_epoch + (config.epochs - self.epoch) * self.steps_per_epoch
        self.total_steps = int(min(remaining, config.max_steps or math.inf))
        rng_states = ctx.gather_object(self.rng.get_state())  # for a new run's first checkpoint
        with ctx.guarded("writing the model card"):
            if ctx.is_main and stored is not None:
                self._resume_card(stored)
            elif ctx.is_main:
                self._create(rng_states)

    def release(self) -> None:
        """Drop the task (its networks' DDP wrappers with it); the trainer cannot train after this."""
        self.task = None  # type: ignore[assignment]

    def _check_same_run(self) -> None:
        """Distributed: every process must have the same data and networks as process 0.

        Otherwise their epochs would differ in length and one would wait for the others forever.
        """
        if not self.ctx.distributed:
            return
        mine = {"data": self.data.facts.to_dict(), "model_config": self.model_config}
        every = self.ctx.gather_object(mine)
        for rank, theirs in enumerate(every):
            differ = [key for key in mine if theirs[key] != every[0][key]]
            if differ:
                raise MuseforgeError(
                    f"process {rank} has other {differ[0].replace('_', ' ')} than process 0: build the dataset "
                    "the same way on every machine"
                )

    def _build(self) -> None:
        """Data, networks, optimizers (the task's), random generator (the same on every process)."""
        config, ctx = self.config, self.ctx
        self.task = make_task(config, self.device, ctx)
        self.config = config = getattr(self.task, "config", config)  # a GAN task may fill in model settings
        self.data = self.task.data
        self.model_config = self.task.model_config
        self.generator = self.task.networks["generator"]
        per_update = config.batch_size * config.update_ratio
        per_epoch = self.data.n_train // (per_update * ctx.world_size)
        if per_epoch < 1:
            processes = f" x {ctx.world_size} processes" if ctx.world_size > 1 else ""
            what = "windows" if config.is_gan or config.architecture == "arcnn" else "token blocks"
            ratio = f" x --update-ratio {config.update_ratio}" if config.is_gan else ""
            raise MuseforgeError(
                f"dataset {config.genre!r} has {self.data.n_train} training {what}, too few for --batch-size "
                f"{config.batch_size}{ratio}{processes} (one step needs "
                f"{per_update * ctx.world_size}): lower them or build more data"
            )
        self.steps_per_epoch = per_epoch
        self.rng = torch.Generator(self.device).manual_seed(rank_seed(config.seed, ctx.rank))

    def _pause_clock(self) -> None:
        self.epoch_train_time += time.perf_counter() - self._segment_start

    def _resume_clock(self) -> None:
        self._segment_start = time.perf_counter()

    def _read_sums(self, check: bool = True) -> list[float]:
        """The device sums (one host sync); raises Diverged if any is not finite (unless ``check`` is False)."""
        values = self.sums.tolist()
        if check and not all(math.isfinite(v) for v in values):
            raise Diverged
        return values

    def _agree_sums(self) -> list[float]:
        """Average the sums over the processes (a collective), then :meth:`_read_sums`: the same on all."""
        self.ctx.average_(self.sums)
        return self._read_sums()

    def _weights_finite(self) -> bool:
        params = [p for m in self.task.networks.values() for p in m.parameters()]
        return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())

    # ---------------------------------------------------------------------------------------- the step
    def _update(self, indices: Tensor) -> None:
        """One step of the task (for a GAN :class:`~museforge.training.step.AdversarialStep`); its sums stay on the
        device.

        Parameters
        ----------
        indices : Tensor
            ``(update_ratio, B)`` indices of training items on the device, one row per batch.
        """
        self.sums += self.task.step(indices, self.rng)

    # ---------------------------------------------------------------------------------------- the loop
    def _stop_requested(self) -> bool:
        if self.stop_event is not None and self.stop_event.is_set():
            return True
        return self.ctx.is_main and (self.folder / registry.STOP_FILE).exists()

    def _should_stop(self) -> bool:
        """Whether to stop after this step; distributed, every process gets the same answer at the same step.

        One process alone: a stop request. Several: every few steps (every step on the CPU) the processes
        agree on their stop requests and on non-finite losses (raising Diverged on all of them together).
        """
        if not self.ctx.distributed:
            return self._stop_requested()
        every = 1 if self.cpu else DIST_SYNC_STEPS_CUDA
        if self.step % every:
            return False
        stop = torch.tensor(float(self._stop_requested()), device=self.device)
        diverged = (~torch.isfinite(self.sums).all()).float()
        stop_any, diverged_any = self.ctx.any_of(torch.stack([stop, diverged]))
        if diverged_any:
            raise Diverged
        return stop_any

    def run(self) -> dict[str, Any]:
        """Run to the end (or a stop); return the summary. Marks the card failed on any error."""
        if self.ctx.is_main:
            with contextlib.suppress(OSError):
                (self.folder / registry.STOP_FILE).unlink()
        try:
            with _deterministic(self.cpu):
                stopped = self._loop()
            # batch norm statistics are per process: end with process 0's (the checkpoint's) everywhere
            for network in self.task.networks.values():
                self.ctx.broadcast_buffers(network)
        except Diverged:
            message = (
                f"training diverged: the losses or weights of {self.config.name!r} became NaN or infinite before "
                f"step {self.step}; the last good checkpoint (step {self.saved_step}) is kept "
                "(try a lower --learning-rate)"
            )
            self._set_status("failed", message)
            raise MuseforgeError(message) from None
        except KeyboardInterrupt:
            self._set_status("stopped", "interrupted; resume continues from the last checkpoint")
            raise
        except MuseforgeError as exc:
            self._set_status("failed", str(exc))
            raise
        except Exception as exc:
            self._set_status("failed", f"{type(exc).__name__}: {exc}")
            raise
        result = {**registry.summary(self.card), "path": str(self.folder), "stopped": stopped} if self.card else None
        return self.ctx.broadcast_object(result)

    def _loop(self) -> bool:
        """The epochs; returns True when stopped on request."""
        from tqdm import tqdm

        cfg = self.config
        per_update = cfg.batch_size * cfg.update_ratio
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc=cfg.name,
            unit="step",
            disable=not self.progress or not sys.stderr.isatty(),
            dynamic_ncols=True,
            file=sys.stderr,
        )
        plain = self.progress and not sys.stderr.isatty()  # piped: one line per progress update
        last_refresh = last_line = time.monotonic()
        self._resume_clock()
        try:
            while True:
                if self.update_in_epoch == self.steps_per_epoch:  # an epoch ended (maybe just before a stop)
                    self._end_epoch(complete=True)
                    continue
                if self.step >= self.total_steps:
                    break
                order = epoch_permutation(self.data.n_train, cfg.seed, self.epoch).to(self.device)
                while self.update_in_epoch < self.steps_per_epoch and self.step < self.total_steps:
                    mine = shard(order, self.update_in_epoch, per_update, self.ctx)
                    self._update(mine.view(cfg.update_ratio, cfg.batch_size))
                    self.step += 1
                    self.update_in_epoch += 1
                    bar.update(1)
                    if time.monotonic() - last_refresh >= REFRESH_SECONDS:  # also the NaN check
                        last_refresh = time.monotonic()
                        postfix = self._postfix()
                        if self.progress:
                            bar.set_postfix_str(postfix)
                        if plain and last_refresh - last_line >= PLAIN_PROGRESS_SECONDS:
                            last_line = last_refresh
                            line = f"{cfg.name}: step {self.step}/{self.total_steps} {postfix}"
                            print(line, file=sys.stderr, flush=True)
                        self._report_progress("training")
                    if self._should_stop():
                        self._pause_clock()
                        self._save_checkpoint(status="stopped", finished_at=now(), **self._partial_epoch())
                        if self.ctx.is_main:
                            with contextlib.suppress(OSError):
                                (self.folder / registry.STOP_FILE).unlink()
                        return True
                    if self.step % cfg.checkpoint_every == 0 and self.update_in_epoch < self.steps_per_epoch:
                        self._pause_clock()
                        self._save_checkpoint()
                        self._resume_clock()
                if self.update_in_epoch < self.steps_per_epoch:  # max_steps reached mid-epoch
                    self._end_epoch(complete=False)
                    break
        finally:
            bar.close()
        self._set_status("completed")
        return False

    def _end_epoch(self, complete: bool) -> None:
        """Log the epoch (losses, speed, metrics, sample) and checkpoint; ``complete`` False at max_steps."""
        self._pause_clock()
        values = self._agree_sums()
        self._report_progress("evaluating")
        self.task.settle()
        with self.ctx.guarded("logging the epoch"):
            if self.ctx.is_main:
                self._log_epoch(values, complete)
        changes: dict[str, Any] = {"last_epoch": self._last_record}
        if complete:
            self.epoch += 1
            self.update_in_epoch = 0
            self.sums.zero_()
            self.epoch_train_time = 0.0
            changes["epochs_done"] = self.epoch
        if self.step >= self.total_steps:
            changes["finished_at"] = now()
        self._save_checkpoint(**changes)
        self._resume_clock()
