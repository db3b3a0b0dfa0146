"""Model names and folders, as every layer sees them on disk: the one place the store, the trainer, the pipelines
and the server read a model's name, folder, card, history and status from (no torch here: the store and the CLI
import it cheaply; loading weights is :mod:`museforge.models.loading`).

A model folder ``models_dir() / <name>/`` holds:

- ``model.json``: the model card: architecture, model config, genre, the dataset facts needed to compose
  (tracks, resolution, pitch window), hyper-parameters, status, epochs done, timestamps, the metrics of the
  training data, the last epoch's record and the id of the last checkpoint;
- ``generator.safetensors``, ``critic.safetensors``: weights; ``optimizer.safetensors``: optimizer and
  trainer state (step, epoch, RNG states), see :mod:`museforge.training.checkpoints`;
- ``metrics.jsonl``: one JSON record per epoch; ``samples/epoch_NNN.{mid,png}``: a sample per epoch.

The one status rule (:func:`compose_refusal`) says whether a model's generator may be used: compose, evaluate,
the studio's list and ``museforge models list`` all ask it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.files import read_json, write_json
from museforge.paths import models_dir

#: Every architecture (:func:`museforge.models.build_network` builds each): the GANs, then the AR-CNN (Enhance)
#: and the melody Transformer (Extend).
GAN_ARCHITECTURES: tuple[str, ...] = ("musegan", "unet")
ARCHITECTURES: tuple[str, ...] = (*GAN_ARCHITECTURES, "arcnn", "transformer")

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

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
#: How a run ended when its card could not say so (a full disk): ``{"status", "error"}``, a few hundred bytes.
LAST_WORDS_FILE = "last_words.json"
#: Room a training run keeps in its folder, given up to write how it ended when the disk fills.
RESERVE_FILE = ".reserve"
RESERVE_BYTES = 64 * 1024
#: ``format`` of a model card.
CARD_FORMAT = "museforge-model"


#: The statuses a model card records.
STATUSES: tuple[str, ...] = ("training", "completed", "failed", "stopped")


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds (sorts as text): every timestamp of cards and the store."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid model name (``[A-Za-z0-9_-]{1,64}``), else raise MuseforgeError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise MuseforgeError(
            f"invalid model name {name!r}: use 1-64 letters, digits, '_' or '-' (no spaces, dots or slashes)"
        )
    return name


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, skipping blank or half-written lines (a kill tears the last one);
    [] when the file is missing."""
    records: list[dict[str, Any]] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return records
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


def network_file(key: str) -> str:
    """The weights file of the network saved under ``key`` (``generator``, ``critic``)."""
    return f"{key}.safetensors"


def checkpoint_files(networks: Iterable[str]) -> tuple[str, ...]:
    """The files of a checkpoint of these networks: their weights, then the optimizer and trainer state."""
    return (*(network_file(key) for key in networks), OPTIMIZER_FILE)


def model_dir(name: str) -> Path:
    """The folder of model ``name`` under :func:`museforge.paths.models_dir` (the name is checked first, so a
    name never escapes that folder; the folder itself may be a link); MuseforgeError on an invalid name."""
    return models_dir() / validate_name(name)  # no dot, slash or separator can pass the name check


def existing_model_dir(name: str) -> Path:
    """The folder of an existing model; NotFoundError if there is none."""
    folder = model_dir(name)
    if not (folder / MODEL_JSON).is_file():
        raise NotFoundError(f"no model named {name!r} (see `museforge models list`)")
    return folder


#: The pitch window of cards written before ``data.lowest_pitch`` / ``data.n_pitches`` were recorded.
DEFAULT_LOWEST_PITCH = 24
DEFAULT_N_PITCHES = 84


class ModelCard(Mapping[str, Any]):
    """A model card parsed once: the fields the pipelines, evaluate and the studio need, typed, over the card's
    JSON (read-only; ``card["data"]`` and every other key read as they are in the file).

    Attributes
    ----------
    name, genre, architecture : str (genre and name may be empty on a hand-made card)
    model_config : dict, the network's config (``n_bars``, ``steps_per_bar``, ...)
    resolution : int, steps per beat
    lowest_pitch, n_pitches : int, the pitch window (MIDI pitch of column 0, columns)
    window : int | None, steps a GAN or AR-CNN sees at once (``n_bars * steps_per_bar``); None for the Transformer
    beats_per_bar : int, the beats of the model's bars
    tracks : list of dict, the accompaniment tracks (``role``, ``name``, ``program``, ``is_drum``), model order
    common_key : bool, trained on windows moved to C major / A minor
    meter_aware : bool, the network reads the melody's metric grid (bars and beats of its meter)
    meters : dict, training windows per meter the model has seen (``{"4/4": 20000, "3/4": 900}``; models trained
        before meters were counted saw 4/4 only)
    """

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = dict(raw)
        data, config = self._raw.get("data") or {}, self._raw.get("model_config") or {}
        try:
            self.name = str(self._raw.get("name") or "")
            self.genre = str(self._raw.get("genre") or data.get("genre") or "")
            self.architecture = str(self._raw.get("architecture") or "")
            self.model_config: dict[str, Any] = dict(config)
            self.resolution = int(data.get("resolution", 4))
            self.lowest_pitch = int(data.get("lowest_pitch", DEFAULT_LOWEST_PITCH))
            self.n_pitches = int(data.get("n_pitches", DEFAULT_N_PITCHES))
            self.beats_per_bar = int(data.get("beats_per_bar", 4))
            self.window: int | None = (
                int(config["n_bars"]) * int(config["steps_per_bar"]) if "n_bars" in config else None
            )
            self.tracks: list[dict[str, Any]] = [dict(t) for t in data.get("tracks") or []]
            self.common_key = bool(data.get("common_key", False))
            self.meter_aware = bool(config.get("meter_aware", False))
            seen = data.get("meters") or {f"{self.beats_per_bar}/4": int((data.get("windows") or {}).get("train", 0))}
            self.meters: dict[str, int] = {str(k): int(v) for k, v in seen.items()}
        except (TypeError, ValueError, AttributeError) as exc:
            raise MuseforgeError(f"model card of {self._raw.get('name')!r} is malformed: {exc}") from None

    @classmethod
    def of(cls, card: Mapping[str, Any]) -> ModelCard:
        """``card`` itself when it is parsed already, else parsed (a trainer's card is a plain dict)."""
        return card if isinstance(card, ModelCard) else cls(card)

    @property
    def roles(self) -> list[str]:
        """The accompaniment tracks' roles, model order."""
        return [str(t["role"]) for t in self.tracks]

    @property
    def is_drum(self) -> list[bool]:
        """Per accompaniment track: drums (never transposed, channel 10)."""
        return [bool(t["is_drum"]) for t in self.tracks]

    def to_dict(self) -> dict[str, Any]:
        """The card as its JSON (what :func:`write_card` writes): ``ModelCard(card.to_dict()) == card``."""
        return dict(self._raw)

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"ModelCard(name={self.name!r}, architecture={self.architecture!r}, genre={self.genre!r})"


def read_card(folder: Path) -> dict[str, Any]:
    """The model card of a folder; MuseforgeError if missing or corrupted."""
    card = read_json(Path(folder) / MODEL_JSON, f"model card of {Path(folder).name!r}")
    if card.get("format") != CARD_FORMAT:
        raise MuseforgeError(f"{Path(folder) / MODEL_JSON} is not a museforge model card")
    last_words = Path(folder) / LAST_WORDS_FILE
    if card.get("status") == "training" and last_words.is_file():  # the run ended but could not write its card
        with contextlib.suppress(MuseforgeError):
            ending = read_json(last_words, "how the run ended")
            card.update(status=str(ending.get("status", "failed")), error=ending.get("error"))
    return card


def write_card(folder: Path, card: Mapping[str, Any]) -> None:
    """Write the model card (a dict or a :class:`ModelCard`) atomically."""
    write_json(Path(folder) / MODEL_JSON, dict(card))


def read_history(folder: Path) -> list[dict[str, Any]]:
    """The per-epoch records of ``metrics.jsonl`` (a torn last line, from a kill, is skipped)."""
    return read_jsonl(Path(folder) / METRICS_FILE)


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


def sweep_killed_creations(name: str = "*") -> list[Path]:
    """Remove the hidden staging folders (``.<name>.creating.<pid>``) of model creations whose process is gone
    (killed mid-creation) under ``models_dir()``; ``name`` narrows it to one model. Returns what was removed."""
    root = models_dir()
    removed = []
    for staging in root.glob(f".{name}.creating.*") if root.is_dir() else []:
        pid = staging.name.rsplit(".", 1)[-1]
        if not pid.isdigit() or not pid_exists(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


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


def compose_refusal(name: str, folder: Path, card: dict[str, Any]) -> str | None:
    """The one rule for whether a trained model's generator can be used (compose, evaluate, the studio's list).

    A model composes when it has a checkpoint (its generator weights) and its run has ended without failing: a
    completed model, or a stopped one (stop saves and stops; a run whose process died reads as stopped). One that
    a live process is still training waits (its weights change under us). Returns None when it can, else the
    one-line reason it cannot.
    """
    status = live_status(card)
    if status == "training":
        return (
            f"model {name!r} is still training: it can compose once it has finished or been stopped "
            f"(`museforge models stop {name}` saves and stops it)"
        )
    if status == "failed":
        reason = card.get("error") or "unknown error"
        return f"model {name!r} failed ({reason}): it cannot compose; train it again"
    if not (folder / GENERATOR_FILE).is_file():
        return f"model {name!r} is {status} and has no checkpoint yet: it can compose once its first epoch is saved"
    return None


# ---------------------------------------------------------------------------------------------- listing
def summary(card: dict[str, Any]) -> dict[str, Any]:
    """The facts ``museforge models list`` shows about one model: the losses of its last epoch, or of the steps of
    the epoch it stopped inside when that came later (``partial_epoch``)."""
    last = card.get("last_epoch") or {}
    partial = card.get("partial_epoch") or {}
    losses = partial if int(partial.get("epoch") or 0) > int(last.get("epoch") or 0) else last
    folder = models_dir() / str(card.get("name"))
    return {
        "name": card.get("name"),
        "architecture": card.get("architecture"),
        "genre": card.get("genre"),
        "status": live_status(card),
        "epochs_done": card.get("epochs_done", 0),
        "epochs": card.get("hyperparameters", {}).get("epochs"),
        "step": card.get("step", 0),
        "steps_per_epoch": card.get("steps_per_epoch"),
        "total_steps": card.get("total_steps"),
        "hyperparameters": card.get("hyperparameters", {}),
        "generator_loss": losses.get("generator_loss"),
        "discriminator_loss": losses.get("discriminator_loss"),
        "wasserstein_estimate": losses.get("wasserstein_estimate"),
        "loss": losses.get("loss"),
        "validation_loss": losses.get("validation_loss"),
        "metrics": last.get("metrics"),
        "created_at": card.get("created_at"),
        "updated_at": card.get("updated_at"),
        "error": card.get("error"),
        "can_compose": compose_refusal(str(card.get("name")), folder, card) is None,
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
