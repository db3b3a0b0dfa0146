"""The run's folder, as the trainer keeps it (process 0): the model card, its status and the checkpoints.

:class:`RunFolder` is the part of :class:`~museforge.training.trainer.Trainer` that reads and writes the model
folder: checking it against a new or resumed run, creating it with its first card and checkpoint, reading a
checkpoint back, and committing each new checkpoint with the card's changes atomically.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import museforge
from museforge.errors import MuseforgeError
from museforge.files import TEMP_SUFFIX, fsync_dir, sweep_temporary
from museforge.model_files import LAST_WORDS_FILE, RESERVE_BYTES, RESERVE_FILE, now, sweep_killed_creations
from museforge.models.weights import load_module, module_tensors, read_tensors
from museforge.training import checkpoints as ckpt
from museforge.training import registry
from museforge.training.config import EARLIER_DEFAULTS, LOCKED_ON_RESUME, upgrade_hyperparameters
from museforge.training.distributed import (
    rank_seed,
    rng_entries,
    rng_key,
)
from museforge.training.run_state import RunState


def _remove_debris(folder: Path) -> bool:
    """Remove a model folder that holds no card and nothing but temporary files (what a kill during the creation
    of older versions left); returns whether it is gone."""
    if (folder / registry.MODEL_JSON).exists() or not folder.is_dir():
        return False
    if any(not entry.name.endswith(TEMP_SUFFIX) for entry in folder.iterdir()):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


class Diverged(Exception):
    """Non-finite losses or weights."""


class RunFolder(RunState):
    """Cards, status and checkpoints of a run, for :class:`~museforge.training.trainer.Trainer` (a mixin: it uses
    the trainer's config, context, networks, optimizers and run state)."""

    # ------------------------------------------------------------------------------------ folder + card
    def _check_folder(self) -> dict[str, Any] | None:
        """Check the model folder against ``resume``; return the stored card when resuming."""
        name = self.config.name
        if not self.config.resume:
            if self.folder.exists() and not _remove_debris(self.folder):
                raise MuseforgeError(
                    f"a model named {name!r} already exists: pass --resume to continue it, or choose another name"
                )
            return None
        sweep_temporary(registry.existing_model_dir(name), registry.MODEL_JSON)  # card writes a kill cut short
        card = registry.read_card(registry.existing_model_dir(name))
        identity = card.get("process") or {}
        ours = identity.get("pid") == os.getpid()  # this process: the claim in train() rules out a second run
        if not ours and registry.is_training(card):
            raise MuseforgeError(f"model {name!r} is being trained right now (pid {identity.get('pid')})")
        if not card.get("checkpoint"):
            raise MuseforgeError(f"model {name!r} has no checkpoint to resume from")
        stored = upgrade_hyperparameters(card.get("hyperparameters", {}))
        mine = self.config.hyperparameters()
        changed = [k for k in LOCKED_ON_RESUME if stored.get(k, EARLIER_DEFAULTS.get(k)) != mine.get(k)]
        if changed:
            k = changed[0]
            raise MuseforgeError(
                f"cannot resume {name!r} with a different {k} ({mine.get(k)!r}; it was trained with "
                f"{stored.get(k)!r}): only epochs, max_steps, learning_rate, device and logging settings may change"
            )
        return card

    def _base_card(self) -> dict[str, Any]:
        return {
            "format": registry.CARD_FORMAT,
            "format_version": 1,
            "name": self.config.name,
            "architecture": self.config.architecture,
            "model_config": self.model_config,
            "genre": self.config.genre,
            "data": self.data.facts.to_dict(),
            "hyperparameters": self.config.hyperparameters(),
            "parameters": {key: sum(p.numel() for p in n.parameters()) for key, n in self.task.networks.items()},
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "device": str(self.device),
            **self._world(),
            "museforge_version": museforge.__version__,
        }

    def _world(self) -> dict[str, Any]:
        """The card's record of how many processes train, and over which backend (None: one process)."""
        return {"world_size": self.ctx.world_size, "backend": self.ctx.backend}

    def _create(self, rng_states: list[Tensor]) -> None:
        """Create the model folder, its card and the first checkpoint (process 0).

        Everything is written into a hidden staging folder that is renamed to the model's name once the card and
        the first checkpoint are on disk, so a kill at any moment leaves either no model or a whole one (never a
        name that no command can use); the staging folders of killed creations are removed here.
        """
        data_metrics = self.task.data_metrics()
        final = self.folder
        staging = final.with_name(f".{final.name}.creating.{os.getpid()}")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            sweep_killed_creations(final.name)
            staging.mkdir()
        except OSError as exc:
            raise MuseforgeError(f"cannot create the model folder {final}: {exc.strerror or exc}") from exc
        stamp = now()
        self.card = {
            **self._base_card(),
            "status": "training",
            "epochs_done": 0,
            "step": 0,
            "created_at": stamp,
            "updated_at": stamp,
            "started_at": stamp,
            "finished_at": None,
            "process": registry.process_identity(),
            "train_data_metrics": data_metrics,
            "last_epoch": None,
            "error": None,
            "checkpoint": None,
        }
        self.folder = staging
        try:
            self._write_checkpoint(rng_states, {})
            os.rename(staging, final)  # atomic; replaces only an empty folder (left by older versions)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise MuseforgeError(f"a model named {self.config.name!r} already exists") from None
            raise MuseforgeError(f"cannot create the model folder {final}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a new, empty run: nothing to keep
            raise
        finally:
            self.folder = final
        fsync_dir(final.parent)
        self._keep_room()

    def _read_checkpoint(self, card: dict[str, Any] | None) -> dict[str, dict[str, Tensor]]:
        """Check the stored run against this one and read its last checkpoint (process 0).

        Returns
        -------
        dict
            ``{network key: tensors, ..., "state": optimizer and trainer tensors}`` on the CPU.
        """
        assert card is not None
        name = self.config.name
        if card.get("architecture") != self.config.architecture:
            raise MuseforgeError(f"model {name!r} is a {card.get('architecture')} model")
        if card.get("model_config") != self.model_config:
            raise MuseforgeError(
                f"model {name!r} was built for other data (its dataset changed since): retrain it under a new name"
            )
        checkpoint = card["checkpoint"]
        files = registry.checkpoint_files(self.task.networks)
        ckpt.recover(self.folder, files, checkpoint["id"], {"architecture": self.config.architecture})
        weights = {key: read_tensors(self.folder / registry.network_file(key))[0] for key in self.task.networks}
        state, _ = read_tensors(self.folder / registry.OPTIMIZER_FILE)
        saved_world = int(state.get("trainer.world_size", torch.tensor(1)))
        in_epoch = int(state.get("trainer.update_in_epoch", torch.tensor(0)))
        if saved_world != self.ctx.world_size and in_epoch != 0:
            raise MuseforgeError(
                f"model {name!r} stopped in the middle of an epoch trained by {saved_world} process(es): resume it "
                f"with {saved_world} (the number of processes may change only between epochs)"
            )
        return {**weights, "state": state}

    def _load_checkpoint(self, payload: dict[str, dict[str, Tensor]]) -> None:
        """Load weights, optimizer state and run state read by :meth:`_read_checkpoint` (every process)."""
        name = self.config.name
        state = payload["state"]
        for key, network in self.task.networks.items():
            load_module(network, payload[key], f"the {key} checkpoint")
        for key, optimizer in self.task.optimizers.items():
            ckpt.load_optimizer(optimizer, state, key)
        try:
            self.step = int(state["trainer.step"])
            self.epoch = int(state["trainer.epoch"])
            self.update_in_epoch = int(state["trainer.update_in_epoch"])
            self.sums = state["trainer.sums"].to(self.device, torch.float32)
            self.epoch_train_time = float(state["trainer.epoch_train_time"])
            if "trainer.rng" not in state:
                raise KeyError("trainer.rng")
        except KeyError as exc:
            raise MuseforgeError(f"the optimizer checkpoint of {name!r} lacks {exc}") from exc
        if self.sums.shape != (len(self.task.sum_keys),):
            raise MuseforgeError(f"the optimizer checkpoint of {name!r} is corrupted (trainer.sums)")
        self.saved_step = self.step
        rng_state = state.get(rng_key(self.ctx.rank))
        saved_on_cuda = bool(int(state.get("trainer.rng_cuda", torch.tensor(0))))
        if rng_state is not None and saved_on_cuda == (self.device.type == "cuda"):
            self.rng.set_state(rng_state)
        else:  # another device kind draws differently, or a process new to the run: a fresh, still seeded stream
            self.rng.manual_seed(rank_seed(self.config.seed, self.ctx.rank) + self.step)

    def _resume_card(self, card: dict[str, Any]) -> None:
        """Mark the stored run as training again in this process (process 0)."""
        self._truncate_history()
        hyper = {**card.get("hyperparameters", {}), **self.config.hyperparameters()}
        facts = self.data.facts  # the kit and line ranges of the data the run goes on with
        learnt = {key: getattr(facts, key) for key in ("drum_kit", "line_range", "change_grid") if hasattr(facts, key)}
        self.card = {
            **card,
            **({"data": {**(card.get("data") or {}), **learnt}} if learnt else {}),
            "hyperparameters": hyper,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "status": "training",
            "device": str(self.device),
            **self._world(),
            "process": registry.process_identity(),
            "updated_at": now(),
            "started_at": now(),
            "finished_at": None,
            "error": None,
        }
        registry.write_card(self.folder, self.card)
        self._keep_room()

    def _truncate_history(self) -> None:
        """Drop epoch records written after the checkpoint (a kill between the log and the checkpoint)."""
        records = registry.read_history(self.folder)
        keep = [r for r in records if int(r.get("step", 0)) <= self.step]
        path = self.folder / registry.METRICS_FILE
        if len(keep) != len(records) or (path.exists() and not path.read_bytes().endswith(b"\n")):
            ckpt.atomic_write_bytes(path, b"".join(ckpt.json_line(r) for r in keep))

    def _set_status(self, status: str, error: str | None = None) -> None:
        """Record a status without a checkpoint (best effort: a full disk must not hide the first error).

        When the card cannot be written (a full disk), the run gives up the room it kept (:data:`RESERVE_FILE`)
        and tries again, then writes its last words, a few hundred bytes that the card's reader takes over a
        "training" card (:func:`museforge.model_files.read_card`).
        """
        if not self.ctx.is_main or not self.card:
            return
        stamp = now()
        card = {**self.card, "status": status, "error": error, "updated_at": stamp, "finished_at": stamp}
        for attempt in range(2):
            try:
                registry.write_card(self.folder, card)
            except MuseforgeError:
                if attempt == 0:
                    (self.folder / RESERVE_FILE).unlink(missing_ok=True)
                continue
            self.card = card
            return
        words = json.dumps({"status": status, "error": (error or "")[:300]}).encode()
        with contextlib.suppress(MuseforgeError):
            ckpt.atomic_write_bytes(self.folder / LAST_WORDS_FILE, words)

    def _keep_room(self) -> None:
        """A fresh start or resume: forget earlier last words and keep room to record how this run ends."""
        (self.folder / LAST_WORDS_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError, MuseforgeError):
            ckpt.atomic_write_bytes(self.folder / RESERVE_FILE, bytes(RESERVE_BYTES))

    # ------------------------------------------------------------------------------------- checkpoints
    def _save_checkpoint(self, **card_changes: Any) -> None:
        """Save weights, optimizer and run state; update the card in the same commit.

        Every process calls it at the same step (it holds collectives); process 0 writes.
        """
        self._agree_sums()
        self.task.settle()  # the same on every process: the same weights and windows
        if not self._weights_finite():  # the weights are the same on every process: so is the answer
            raise Diverged
        rng_states = self.ctx.gather_object(self.rng.get_state())
        with self.ctx.guarded("saving a checkpoint"):
            if self.ctx.is_main:
                self._write_checkpoint(rng_states, card_changes)
        self.saved_step = self.step

    def _write_checkpoint(self, rng_states: list[Tensor], card_changes: dict[str, Any]) -> None:
        state = {
            "trainer.step": torch.tensor(self.step, dtype=torch.int64),
            "trainer.epoch": torch.tensor(self.epoch, dtype=torch.int64),
            "trainer.update_in_epoch": torch.tensor(self.update_in_epoch, dtype=torch.int64),
            "trainer.sums": self.sums,
            "trainer.epoch_train_time": torch.tensor(self.epoch_train_time, dtype=torch.float64),
            **rng_entries(rng_states),
            "trainer.rng_cuda": torch.tensor(int(self.device.type == "cuda")),
            "trainer.world_size": torch.tensor(self.ctx.world_size, dtype=torch.int64),
        }
        for key, optimizer in self.task.optimizers.items():
            state.update(ckpt.optimizer_tensors(optimizer, key))
        arch = {"architecture": self.config.architecture}
        files = {
            registry.network_file(key): (module_tensors(network), {**arch, "network": key})
            for key, network in self.task.networks.items()
        }
        files[registry.OPTIMIZER_FILE] = (state, {**arch, "network": "optimizer"})
        card = {**self.card, "step": self.step, "updated_at": now(), **card_changes}

        def commit(checkpoint_id: str) -> None:
            card["checkpoint"] = {"id": checkpoint_id, "step": self.step, "epoch": self.epoch, "saved_at": now()}
            registry.write_card(self.folder, card)
            self.card = card

        ckpt.save_checkpoint(self.folder, files, commit)
