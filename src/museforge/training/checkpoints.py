"""Crash-safe checkpoints: safetensors files (never pickles) committed all at once.

A checkpoint is several files in the model folder (``generator.safetensors``, ``critic.safetensors``,
``optimizer.safetensors``), each stamped with the checkpoint's id in its safetensors metadata. Writing one:

1. every file goes to ``<file>.tmp``, flushed to disk (``fsync``);
2. the caller's ``commit(id)`` records the new id (the trainer rewrites ``model.json`` atomically): this
   is the moment the new checkpoint exists;
3. each ``<file>.tmp`` is renamed over ``<file>``.

A kill before step 2 leaves the old files and the old id (the stray ``.tmp`` files are deleted on the next
load); a kill during step 3 leaves some renames undone, which :func:`recover` finishes (each ``.tmp``
carries the committed id). So the files on disk always form one whole checkpoint: the last committed one.
Single files (JSON) are written by :func:`museforge.files.atomic_write_bytes`: temp file, fsync, rename.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.files import atomic_write_bytes, fsync_dir, json_bytes, json_line, read_json, write_json
from museforge.models.weights import (
    error_reason,
    read_metadata,
    tensors_bytes,
)

#: JSON files are written and read by :mod:`museforge.files`; re-exported for the checkpoint's callers.
__all__ = ["atomic_write_bytes", "json_bytes", "json_line", "read_json", "write_json"]


# ------------------------------------------------------------------------------------------- single files
def _write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (created or truncated) and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def optimizer_tensors(optimizer: torch.optim.Optimizer, prefix: str) -> dict[str, Tensor]:
    """The per-parameter state of an optimizer (e.g. Adam's moments) as ``{prefix.i.key: tensor}``."""
    out: dict[str, Tensor] = {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            tensor = value if isinstance(value, Tensor) else torch.tensor(value)
            out[f"{prefix}.{index}.{key}"] = tensor
    return out


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: Mapping[str, Tensor], prefix: str) -> None:
    """Restore the per-parameter state written by :func:`optimizer_tensors` (hyper-parameters stay as built)."""
    current = optimizer.state_dict()
    n_params = sum(len(group["params"]) for group in current["param_groups"])
    state: dict[int, dict[str, Tensor]] = {}
    for name, tensor in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        index, key = name[len(prefix) + 1 :].split(".", 1)
        if not index.isdigit() or int(index) >= n_params:
            raise MuseforgeError(f"optimizer state does not fit this model ({name})")
        state.setdefault(int(index), {})[key] = tensor
    try:
        optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise MuseforgeError(f"optimizer state does not fit this model: {error_reason(exc)}") from exc


# ----------------------------------------------------------------------------------------- checkpoints
def new_checkpoint_id() -> str:
    """A fresh unique checkpoint id."""
    return uuid.uuid4().hex


def save_checkpoint(
    folder: Path,
    files: Mapping[str, tuple[Mapping[str, Tensor], Mapping[str, str]]],
    commit: Callable[[str], None],
) -> str:
    """Write a multi-file checkpoint crash-safely (see the module docstring).

    Parameters
    ----------
    folder : Path
        The model folder.
    files : mapping
        ``{file name: (tensors, metadata)}``.
    commit : callable
        Called with the new checkpoint id once every file is on disk; it must record the id atomically
        (if it raises, the checkpoint is abandoned and the previous one stays).

    Returns
    -------
    str
        The new checkpoint id.

    Raises
    ------
    MuseforgeError
        When a file cannot be written (full disk, unwritable folder); the previous checkpoint is kept.
    """
    folder = Path(folder)
    checkpoint_id = new_checkpoint_id()
    temps = [folder / f"{name}.tmp" for name in files]
    try:
        for (_name, (tensors, metadata)), tmp in zip(files.items(), temps, strict=True):
            _write_synced(tmp, tensors_bytes(tensors, {**metadata, "checkpoint": checkpoint_id}))
    except OSError as exc:
        _remove(temps)
        raise MuseforgeError(f"cannot write checkpoint in {folder}: {exc.strerror or exc}") from exc
    except BaseException:
        _remove(temps)
        raise
    try:
        commit(checkpoint_id)
    except BaseException:
        _remove(temps)
        raise
    _finish(folder, files, checkpoint_id)
    return checkpoint_id


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _finish(folder: Path, names: Iterable[str], checkpoint_id: str) -> None:
    """Rename every ``.tmp`` of the committed checkpoint into place (idempotent)."""
    try:
        for name in names:
            tmp = folder / f"{name}.tmp"
            if tmp.exists():
                os.replace(tmp, folder / name)
        fsync_dir(folder)
    except OSError as exc:
        raise MuseforgeError(f"cannot finish checkpoint {checkpoint_id[:8]} in {folder}: {exc}") from exc


def recover(folder: Path, names: Iterable[str], checkpoint_id: str, expected: Mapping[str, str] | None = None) -> None:
    """Bring the files of ``folder`` to the committed checkpoint ``checkpoint_id``.

    Finishes renames a kill interrupted, deletes temp files of checkpoints never committed, then checks
    that every file has the ``expected`` metadata (e.g. ``{"architecture": "unet"}``) and carries
    ``checkpoint_id``.

    Raises
    ------
    MuseforgeError
        When a file is missing, corrupted, from another architecture or from another checkpoint.
    """
    folder = Path(folder)
    names = list(names)
    for name in names:
        tmp = folder / f"{name}.tmp"
        if not tmp.exists():
            continue
        try:
            tmp_id = read_metadata(tmp).get("checkpoint")
        except MuseforgeError:
            tmp_id = None
        if tmp_id == checkpoint_id:
            _finish(folder, [name], checkpoint_id)
        else:
            _remove([tmp])
    for name in names:
        metadata = read_metadata(folder / name)
        for key, value in (expected or {}).items():
            if metadata.get(key) != value:
                raise MuseforgeError(
                    f"checkpoint file {folder / name} has {key} {metadata.get(key)!r}, expected {value!r}"
                )
        if metadata.get("checkpoint") != checkpoint_id:
            raise MuseforgeError(
                f"checkpoint file {folder / name} does not belong to the last checkpoint (corrupted model folder)"
            )
