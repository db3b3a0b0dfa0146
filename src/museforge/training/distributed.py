"""Training on several processes with PyTorch's own engine: ``torchrun`` + DistributedDataParallel.

``torchrun --nproc_per_node N -m museforge.cli train ... --distributed`` starts N copies of the trainer; each
reads its place from the environment torchrun sets (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``) and joins one process group: NCCL on CUDA (process ``LOCAL_RANK`` drives
``cuda:LOCAL_RANK``), Gloo on the CPU. This module holds what the trainer needs from that group:

- :func:`process_group`: join the group, always leave it (also on errors);
- :class:`Context`: rank, world size and device of this process, and the few collectives the trainer uses
  (agreeing on stop / failure flags, averaging the loss sums, broadcasting the resumed state, gathering the
  random generators' states for the checkpoint, wrapping a network in DDP). A single-process run uses
  :data:`SINGLE`, whose collectives do nothing, so the trainer has one code path.

Every collective is reached by every process in the same order; a block that may fail on some processes
only (writing files on process 0, loading data) runs under :meth:`Context.guarded`, so the others learn
of the failure and stop instead of waiting in the next collective until the group's timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from museforge.errors import MuseforgeError

#: Environment variables torchrun sets for every process it starts.
LAUNCH_VARIABLES: tuple[str, ...] = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
#: Seconds a collective may wait for the other processes before failing (``MUSEFORGE_DIST_TIMEOUT`` overrides).
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Context:
    """This process's place in a run and the collectives the trainer uses.

    Attributes
    ----------
    rank : int
        Global rank, 0 to ``world_size - 1``; rank 0 writes every file.
    local_rank : int
        Rank on this machine (the CUDA device index).
    world_size : int
        Processes in the run.
    backend : str or None
        ``"nccl"`` or ``"gloo"``; None for a single process without a group.
    device : torch.device or None
        The device this process trains on (None: the trainer resolves ``--device`` itself).
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None
    device: torch.device | None = None

    @property
    def distributed(self) -> bool:
        """Whether a process group exists (even of one process)."""
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that claims the name and writes the model folder."""
        return self.rank == 0

    def _comm_device(self) -> torch.device:
        return self.device if self.backend == "nccl" and self.device is not None else torch.device("cpu")

    # ----------------------------------------------------------------------------------- collectives
    def any_of(self, flags: Tensor) -> list[bool]:
        """Which of ``flags`` (``(n,)``, any device) is set on at least one process (one host sync)."""
        if not self.distributed:
            return [bool(v) for v in flags.tolist()]

        values = flags.detach().to(self._comm_device(), torch.float32)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return [v > 0 for v in values.tolist()]

    def first_failure(self, failed: bool) -> int | None:
        """The lowest rank that reports ``failed`` (None when none does)."""
        if not self.distributed:
            return 0 if failed else None

        value = torch.tensor([self.rank if failed else self.world_size], device=self._comm_device())
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        rank = int(value.item())
        return None if rank >= self.world_size else rank

    @contextlib.contextmanager
    def guarded(self, what: str) -> Iterator[None]:
        """Run a block that may fail on some processes; afterwards all know whether it failed anywhere.

        The block must hold no collective. A process whose block raised re-raises its error; the others
        raise a one-line MuseforgeError naming the failed process, so no process waits for a dead one.
        """
        if not self.distributed:
            yield
            return
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # the group may be broken already: our own error wins
                self.first_failure(True)
            raise
        failed = self.first_failure(False)
        if failed is not None:
            raise MuseforgeError(
                f"process {failed} of {self.world_size} failed while {what} (see its error); this one stops too"
            )

    def average_(self, tensor: Tensor) -> Tensor:
        """Replace ``tensor`` in place by its mean over the processes; returns it."""
        if not self.distributed or self.world_size == 1:
            return tensor

        values = tensor.detach().to(self._comm_device())
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        tensor.copy_(values / self.world_size)
        return tensor

    def barrier(self) -> None:
        """Wait until every process gets here (nothing when single)."""
        if not self.distributed or self.world_size == 1:
            return

        dist.barrier()

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process (pickled; tensors should be on the CPU)."""
        if not self.distributed:
            return obj

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._comm_device())
        return box[0]

    def gather_object(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order, on every process (pickled; tensors on the CPU)."""
        if not self.distributed:
            return [obj]

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Copy rank 0's buffers (batch norm statistics) into every process's ``module``."""
        if not self.distributed or self.world_size == 1:
            return

        comm = self._comm_device()
        with torch.no_grad():
            for buffer in module.buffers():
                values = buffer if buffer.device == comm else buffer.to(comm)
                dist.broadcast(values, src=0)
                if values is not buffer:
                    buffer.copy_(values)

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` in DistributedDataParallel (gradients averaged over the processes); itself if single.

        The wrapper shares the module's parameters: optimizers, checkpoints and evaluation keep using the
        bare module. DDP's rules hold in the trainer's step: each forward in grad mode is followed by one
        backward that reaches every parameter; no-grad forwards and frozen bare calls need nothing.
        """
        if not self.distributed:
            return module

        if self.device is not None and self.device.type == "cuda":
            return DistributedDataParallel(module, device_ids=[self.device.index], output_device=self.device.index)
        return DistributedDataParallel(module)


#: The context of a run without a process group.
SINGLE = Context()


def launch_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The process's place as torchrun set it: ``rank``, ``local_rank``, ``world_size``, ``master``.

    Raises
    ------
    MuseforgeError
        When a variable is missing or malformed (the process was not started by torchrun).
    """
    env = os.environ if environ is None else environ
    missing = [name for name in LAUNCH_VARIABLES if not env.get(name)]
    if missing:
        raise MuseforgeError(
            f"--distributed needs the environment torchrun sets ({', '.join(missing)} missing): launch with "
            "`torchrun --standalone --nproc_per_node N -m museforge.cli train ... --distributed`"
        )
    try:
        rank, local_rank, world = (int(env[k]) for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE"))
    except ValueError:
        raise MuseforgeError("RANK, LOCAL_RANK and WORLD_SIZE must be whole numbers (set by torchrun)") from None
    if world < 1 or not 0 <= rank < world or local_rank < 0:
        raise MuseforgeError(f"bad torchrun environment: RANK {rank}, LOCAL_RANK {local_rank}, WORLD_SIZE {world}")
    return {
        "rank": rank,
        "local_rank": local_rank,
        "world_size": world,
        "master": f"{env['MASTER_ADDR']}:{env['MASTER_PORT']}",
    }


def launched_without_flag(environ: dict[str, str] | None = None) -> int:
    """The WORLD_SIZE of a multi-process torchrun launch (1 when not launched so), for a missing ``--distributed``."""
    env = os.environ if environ is None else environ
    try:
        return max(1, int(env.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def choose_backend(device: str, local_rank: int) -> tuple[str, torch.device]:
    """``(backend, device)`` for a ``--device`` setting: NCCL on ``cuda:LOCAL_RANK``, else Gloo on the CPU."""
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if not use_cuda:
        return "gloo", torch.device("cpu")
    if not torch.cuda.is_available():
        raise MuseforgeError("--device cuda was asked for but no CUDA GPU is available (use --device cpu)")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise MuseforgeError(
            f"process LOCAL_RANK {local_rank} has no GPU (this machine shows {count}): start at most "
            f"{count} processes per machine (--nproc_per_node)"
        )
    return "nccl", torch.device("cuda", local_rank)


def timeout_seconds(environ: dict[str, str] | None = None) -> float:
    """The collectives' timeout: ``MUSEFORGE_DIST_TIMEOUT`` seconds, else :data:`DEFAULT_TIMEOUT_S`."""
    env = os.environ if environ is None else environ
    text = env.get("MUSEFORGE_DIST_TIMEOUT")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise MuseforgeError(f"MUSEFORGE_DIST_TIMEOUT must be a positive number of seconds, got {text!r}")
    return value


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[Context]:
    """Join the process group torchrun prepared; leave it on the way out, whatever happens.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        The run's ``--device``: CUDA means NCCL on ``cuda:LOCAL_RANK``, the CPU Gloo.

    Yields
    ------
    Context
        This process's rank, world size, backend and device.
    """

    place = launch_environment()
    if not dist.is_available():
        raise MuseforgeError("this PyTorch build has no torch.distributed")
    if dist.is_initialized():
        raise MuseforgeError("a process group already exists in this process: one distributed run at a time")
    backend, dev = choose_backend(device, place["local_rank"])
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    try:
        dist.init_process_group(
            backend,
            init_method="env://",
            rank=place["rank"],
            world_size=place["world_size"],
            timeout=timedelta(seconds=timeout_seconds()),
        )
    except (RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MuseforgeError(f"cannot join the process group at {place['master']}: {reason}") from exc
    try:
        yield Context(place["rank"], place["local_rank"], place["world_size"], backend, dev)
    finally:
        with contextlib.suppress(Exception):  # a broken group must not hide the error that broke it
            dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """The seed of process ``rank``'s random generator (noise, augmentation): ``seed + rank``."""
    return seed + rank


def shard(order: Tensor, update: int, per_update: int, ctx: Context) -> Tensor:
    """This process's windows for one step: its own disjoint slice of the epoch's order.

    Parameters
    ----------
    order : Tensor
        ``(N,)`` the epoch's permutation, the same on every process.
    update : int
        The step's index within the epoch.
    per_update : int
        Windows one process uses per step (``batch_size * update_ratio``).
    ctx : Context
        Rank and world size.

    Returns
    -------
    Tensor
        ``(per_update,)``: process ``r`` of ``W`` takes ``order[(update * W + r) * per_update :][:per_update]``.
    """
    start = (update * ctx.world_size + ctx.rank) * per_update
    return order[start : start + per_update]


def rng_key(rank: int) -> str:
    """The checkpoint entry holding process ``rank``'s random generator state."""
    return "trainer.rng" if rank == 0 else f"trainer.rng_rank{rank}"


def rng_entries(states: Sequence[Tensor]) -> dict[str, Tensor]:
    """``{rng_key(rank): state}`` for the states of every process, in rank order."""
    return {rng_key(rank): state for rank, state in enumerate(states)}
