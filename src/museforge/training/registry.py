"""Trained models on disk: the model folder, its card (``model.json``), listing, showing and loading.

A model folder ``models_dir() / <name>/`` holds:

- ``model.json``: the model card: architecture, model config, genre, the dataset facts needed to compose
  (tracks, resolution, pitch window), hyper-parameters, status, epochs done, timestamps, the metrics of the
  training data, the last epoch's record and the id of the last checkpoint;
- ``generator.safetensors``, ``critic.safetensors``: weights; ``optimizer.safetensors``: optimizer and
  trainer state (step, epoch, RNG states), see :mod:`museforge.training.checkpoints`;
- ``metrics.jsonl``: one JSON record per epoch; ``samples/epoch_NNN.{mid,png}``: a sample per epoch.

A *shipped* model is the same pair of files under another name: ``<stem>.safetensors`` (the generator) and
``<stem>.json`` (the card), e.g. ``src/museforge/pretrained/bach.{safetensors,json}``; :func:`export_model`
writes such a pair and :func:`load_generator` reads both layouts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.paths import models_dir
from museforge.training.checkpoints import read_json, read_tensors, write_json
from museforge.training.config import validate_name

MODEL_JSON = "model.json"
GENERATOR_FILE = "generator.safetensors"
CRITIC_FILE = "critic.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
#: The files of a GAN's checkpoint (other models have no critic: see :func:`checkpoint_files`).
CHECKPOINT_FILES: tuple[str, ...] = (GENERATOR_FILE, CRITIC_FILE, OPTIMIZER_FILE)
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
#: Creating this file in a model folder asks the process training it to save and stop.
STOP_FILE = "STOP"
#: ``format`` of a model card.
CARD_FORMAT = "museforge-model"
STATUSES: tuple[str, ...] = ("training", "completed", "failed", "stopped")


def network_file(key: str) -> str:
    """The weights file of the network saved under ``key`` (``generator``, ``critic``)."""
    return f"{key}.safetensors"


def checkpoint_files(networks: Iterable[str]) -> tuple[str, ...]:
    """The files of a checkpoint of these networks: their weights, then the optimizer and trainer state."""
    return (*(network_file(key) for key in networks), OPTIMIZER_FILE)


def model_dir(name: str) -> Path:
    """The folder of model ``name`` (validated, so a name never escapes ``models_dir()``)."""
    return models_dir() / validate_name(name)


def existing_model_dir(name: str) -> Path:
    """The folder of an existing model; NotFoundError if there is none."""
    folder = model_dir(name)
    if not (folder / MODEL_JSON).is_file():
        raise NotFoundError(f"no model named {name!r} (see `museforge models list`)")
    return folder


def read_card(folder: Path) -> dict[str, Any]:
    """The model card of a folder; MuseforgeError if missing or corrupted."""
    card = read_json(Path(folder) / MODEL_JSON, f"model card of {Path(folder).name!r}")
    if card.get("format") != CARD_FORMAT:
        raise MuseforgeError(f"{Path(folder) / MODEL_JSON} is not a museforge model card")
    return card


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """Write the model card atomically."""
    write_json(Path(folder) / MODEL_JSON, card)


def read_history(folder: Path) -> list[dict[str, Any]]:
    """The per-epoch records of ``metrics.jsonl`` (a torn last line, from a kill, is skipped)."""
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


# ------------------------------------------------------------------------------------------ process check
def process_identity() -> dict[str, Any]:
    """Who is training: pid, host and (on Linux) the process start time, to tell a reused pid apart."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid())}


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(identity: dict[str, Any] | None) -> bool:
    """Whether the process described by :func:`process_identity` still runs (unknown host: assume yes)."""
    if not identity or not isinstance(identity.get("pid"), int):
        return False
    if identity.get("host") != socket.gethostname():
        return True
    pid = identity["pid"]
    start = _start_time(pid)
    if start is not None or Path("/proc/self/stat").exists():
        return start is not None and start == identity.get("start")
    return pid_exists(pid)


def pid_exists(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0; one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: Models being trained by this process (a server may train several, in threads).
_active: set[str] = set()
_active_lock = threading.Lock()


@contextlib.contextmanager
def claim(name: str) -> Iterator[None]:
    """Mark ``name`` as being trained by this process for the duration; error if it already is."""
    with _active_lock:
        if name in _active:
            raise MuseforgeError(f"model {name!r} is being trained right now (in this process)")
        _active.add(name)
    try:
        yield
    finally:
        with _active_lock:
            _active.discard(name)


def is_training(card: dict[str, Any]) -> bool:
    """Whether a process is training this model right now (this one, or another that is alive)."""
    identity = card.get("process")
    if card.get("status") != "training" or not identity:
        return False
    if identity.get("pid") == os.getpid() and identity.get("host") == socket.gethostname():
        return card.get("name") in _active
    return process_alive(identity)


def live_status(card: dict[str, Any]) -> str:
    """The card's status, except that a "training" run whose process is gone reads as "stopped"."""
    status = card.get("status", "failed")
    if status == "training" and not is_training(card):
        return "stopped"
    return status


# ---------------------------------------------------------------------------------------------- listing
def summary(card: dict[str, Any]) -> dict[str, Any]:
    """The facts ``museforge models list`` shows about one model."""
    last = card.get("last_epoch") or {}
    return {
        "name": card.get("name"),
        "architecture": card.get("architecture"),
        "genre": card.get("genre"),
        "status": live_status(card),
        "epochs_done": card.get("epochs_done", 0),
        "epochs": card.get("hyperparameters", {}).get("epochs"),
        "step": card.get("step", 0),
        "hyperparameters": card.get("hyperparameters", {}),
        "generator_loss": last.get("generator_loss"),
        "discriminator_loss": last.get("discriminator_loss"),
        "loss": last.get("loss"),
        "validation_loss": last.get("validation_loss"),
        "metrics": last.get("metrics"),
        "created_at": card.get("created_at"),
        "updated_at": card.get("updated_at"),
        "error": card.get("error"),
    }


def list_models() -> list[dict[str, Any]]:
    """Every model in ``models_dir()``, sorted by name (see :func:`summary`).

    A folder whose card cannot be read is listed with status "failed" and the reason in ``error``.
    """
    root = models_dir()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not (folder / MODEL_JSON).exists():
            continue
        try:
            out.append(summary(read_card(folder)))
        except MuseforgeError as exc:
            out.append({"name": folder.name, "status": "failed", "error": str(exc)})
    return out


def show_model(name: str) -> dict[str, Any]:
    """Everything about one model: its :func:`summary`, its full card and the loss history per epoch.

    The result carries at least ``architecture``, ``genre``, ``status``, ``hyperparameters``,
    ``epochs_done`` and the last epoch's ``generator_loss`` and ``discriminator_loss``.
    """
    folder = existing_model_dir(name)
    card = read_card(folder)
    history = [
        {
            k: r.get(k)
            for k in (
                "epoch",
                "step",
                "generator_loss",
                "discriminator_loss",
                "loss",
                "validation_loss",
                "samples_per_second",
            )
            if k in r
        }
        for r in read_history(folder)
    ]
    return {
        **card,
        **summary(card),
        "path": str(folder),
        "history": history,
        "samples": sorted(p.name for p in (folder / SAMPLES_DIR).glob("epoch_*")),
    }


def request_stop(name: str) -> None:
    """Ask the process training ``name`` (maybe another process) to save a checkpoint and stop."""
    folder = existing_model_dir(name)
    try:
        (folder / STOP_FILE).touch()
    except OSError as exc:
        raise MuseforgeError(f"cannot ask {name!r} to stop: {exc.strerror or exc}") from exc


def delete_model(name: str) -> None:
    """Delete a model folder; refused while a process is training it."""
    folder = existing_model_dir(name)
    card = read_card(folder)
    if is_training(card):
        raise MuseforgeError(f"model {name!r} is being trained (pid {card['process']['pid']}): stop it first")
    shutil.rmtree(folder)


# ---------------------------------------------------------------------------------------------- loading
def _locate(source: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(card path, generator weights path)`` of a model name, model folder or shipped pair."""
    path = Path(source)
    if path.suffix in (".json", ".safetensors"):
        return path.with_suffix(".json"), path.with_suffix(".safetensors")
    if path.is_dir():
        return path / MODEL_JSON, path / GENERATOR_FILE
    if isinstance(source, str) and os.sep not in source:
        folder = existing_model_dir(source)
        return folder / MODEL_JSON, folder / GENERATOR_FILE
    raise NotFoundError(f"no model at {source}")


def load_generator(source: str | os.PathLike[str], device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load a trained generator for composing, in eval mode.

    Parameters
    ----------
    source : str or PathLike
        A model name (``models_dir() / name``), a model folder, or a shipped pair given by either of its
        files (``.../pretrained/bach.json`` or ``.../pretrained/bach.safetensors``).
    device : str
        Where to put the weights.

    Returns
    -------
    generator : torch.nn.Module
        The network that makes the music: a GAN's generator ``(melody (B, T, P), noise (B, noise_dim)) -> logits
        (B, K, T, P)``, or the AR-CNN or the melody Transformer (:func:`museforge.models.build_network`).
    card : dict
        The model card: ``architecture``, ``model_config``, ``genre``, ``data`` (tracks, resolution,
        ``lowest_pitch``, ``n_pitches``, ...), ``hyperparameters``, metrics.

    Raises
    ------
    MuseforgeError
        When the files are missing, corrupted, or the weights are from another architecture or config.
    """
    from museforge.models import build_network
    from museforge.training.checkpoints import load_module

    card_path, weights_path = _locate(source)
    if not card_path.is_file():
        raise NotFoundError(f"no model card at {card_path}")
    card = read_json(card_path, "model card")
    if card.get("format") != CARD_FORMAT:
        raise MuseforgeError(f"{card_path} is not a museforge model card")
    if not weights_path.is_file():
        raise MuseforgeError(f"model {card.get('name')!r} has no generator weights yet ({weights_path})")
    tensors, metadata = read_tensors(weights_path)
    if metadata.get("network") != "generator":
        raise MuseforgeError(f"{weights_path} holds {metadata.get('network', 'unknown')} weights, not a generator")
    if metadata.get("architecture") != card.get("architecture"):
        raise MuseforgeError(
            f"{weights_path} holds a {metadata.get('architecture')} generator but the card says "
            f"{card.get('architecture')}"
        )
    generator, _cfg = build_network(card["architecture"], card.get("model_config"))
    load_module(generator, tensors, f"generator weights {weights_path}")
    return generator.to(device).eval(), card


#: Where museforge ships pretrained generators: ``<genre>.safetensors`` + ``<genre>.json`` pairs.
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"


def pretrained_path(genre: str) -> Path:
    """The card of the generator shipped for ``genre`` (pass it to :func:`load_generator`); NotFoundError if none."""
    path = PRETRAINED_DIR / f"{validate_name(genre)}.json"
    if not path.is_file() or not path.with_suffix(".safetensors").is_file():
        raise NotFoundError(f"no pretrained model ships for genre {genre!r}: train one with `museforge train`")
    return path


def export_model(name: str, directory: str | os.PathLike[str], stem: str | None = None) -> tuple[Path, Path]:
    """Write model ``name`` as a shippable pair ``<stem>.safetensors`` + ``<stem>.json`` in ``directory``.

    The card drops what only matters on this machine (process, checkpoint id, paths); ``stem`` defaults to
    the model's genre. Returns ``(weights path, card path)``.
    """
    folder = existing_model_dir(name)
    card = read_card(folder)
    stem = validate_name(stem or card["genre"])
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        weights = out / f"{stem}.safetensors"
        shutil.copyfile(folder / GENERATOR_FILE, weights)
    except OSError as exc:
        raise MuseforgeError(f"cannot export to {out}: {exc.strerror or exc}") from exc
    shipped = {k: v for k, v in card.items() if k not in ("process", "checkpoint", "error")}
    card_path = out / f"{stem}.json"
    write_json(card_path, shipped)
    return weights, card_path
