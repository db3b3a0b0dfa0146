"""The model registry: trained and shipped models, by name, folder or file; showing, stopping, deleting, exporting
(loading a model's network is :mod:`museforge.models.loading`).

Names, folders, cards, the per-epoch history and the one status rule (:func:`compose_refusal`) are
:mod:`museforge.model_files` (torch-free, so the store and the CLI read them cheaply) and re-exported here; the
shipped files are found by :mod:`museforge.pretrained`. What this module adds touches weights or processes.

A *shipped* model is the same pair of files under another name: ``<stem>.safetensors`` (the generator) and
``<stem>.json`` (the card), e.g. ``src/museforge/pretrained/bach.{safetensors,json}``; :func:`export_model`
writes such a pair and :func:`museforge.models.loading.load_generator` reads both layouts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.files import read_json, write_json
from museforge.model_files import (
    CARD_FORMAT,
    CHECKPOINT_FILES,
    CRITIC_FILE,
    GENERATOR_FILE,
    METRICS_FILE,
    MODEL_JSON,
    OPTIMIZER_FILE,
    SAMPLES_DIR,
    STATUSES,
    STOP_FILE,
    checkpoint_files,
    claim,
    compose_refusal,
    existing_model_dir,
    is_training,
    list_models,
    live_status,
    model_dir,
    network_file,
    now,
    pid_exists,
    process_alive,
    process_identity,
    read_card,
    read_history,
    summary,
    validate_name,
    write_card,
)
from museforge.pretrained import (
    PRETRAINED_DIR,
    TECHNIQUES,
    list_pretrained,
    list_technique_models,
    pretrained_card_path,
    technique_card_path,
)

#: The model folder's names, cards and status rule live in :mod:`museforge.model_files`; re-exported here so that
#: the trainer and the pipelines find the whole model registry in one place.
__all__ = [
    "CARD_FORMAT",
    "CHECKPOINT_FILES",
    "CRITIC_FILE",
    "GENERATOR_FILE",
    "METRICS_FILE",
    "MODEL_JSON",
    "OPTIMIZER_FILE",
    "PRETRAINED_DIR",
    "SAMPLES_DIR",
    "STATUSES",
    "STOP_FILE",
    "checkpoint_files",
    "claim",
    "compose_refusal",
    "delete_model",
    "existing_model_dir",
    "export_model",
    "is_training",
    "list_models",
    "list_shipped",
    "live_status",
    "model_dir",
    "network_file",
    "now",
    "pid_exists",
    "pretrained_path",
    "process_alive",
    "process_identity",
    "read_card",
    "read_history",
    "request_stop",
    "show_model",
    "summary",
    "validate_name",
    "write_card",
]


def show_model(name: str) -> dict[str, Any]:
    """Everything about one model: its :func:`summary`, its full card and the loss history per epoch.

    The result carries at least ``architecture``, ``genre``, ``status``, ``hyperparameters``,
    ``epochs_done`` and the last epoch's ``generator_loss`` and ``discriminator_loss``.
    """
    technique, _, bare = name.partition("/")
    if bare and technique in TECHNIQUES:  # "enhance/bach", as `models list` names a shipped Enhance model
        return _show_shipped(bare, technique)
    folder = model_dir(name)
    if not (folder / MODEL_JSON).is_file():
        return _show_shipped(name)
    card = read_card(folder)
    history = [
        {
            k: r.get(k)
            for k in (
                "epoch",
                "step",
                "generator_loss",
                "discriminator_loss",
                "wasserstein_estimate",
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


def _show_shipped(name: str, only: str | None = None) -> dict[str, Any]:
    """:func:`show_model` of a shipped model: a genre's GAN, else an Enhance or Extend model of that name (only
    ``only``'s, a technique, when given)."""
    paths = [(pretrained_card_path(name), None), *((technique_card_path(t, name), t) for t in TECHNIQUES)]
    if only is not None:
        paths = [(technique_card_path(only, validate_name(name)), only)]
    card_path, technique = next(((p, t) for p, t in paths if p is not None), (None, None))
    if card_path is None:
        shown = f"{only}/{name}" if only else name
        raise NotFoundError(f"no model named {shown!r} (see `museforge models list`)")
    card = read_json(card_path, "model card")
    history = card.get("history") if isinstance(card.get("history"), list) else []
    return {
        **card,
        **summary({**card, "name": name}),
        "name": f"{technique}/{name}" if technique else name,
        "status": f"shipped ({technique})" if technique else "shipped",
        "can_compose": technique is None,
        "path": str(card_path),
        "history": history,
        "samples": [],
    }


def request_stop(name: str) -> None:
    """Ask the process training ``name`` (maybe another process) to save a checkpoint and stop.

    Raises :class:`MuseforgeError` (and leaves no stop request behind) when no process is training it.
    """
    folder = existing_model_dir(name)
    card = read_card(folder)
    if not is_training(card):
        raise MuseforgeError(f"model {name!r} is not training (it is {live_status(card)}): there is nothing to stop")
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


def pretrained_path(genre: str) -> Path:
    """The card of the generator shipped for ``genre`` (pass it to :func:`museforge.models.loading.load_generator`);
    NotFoundError if none (:func:`museforge.pretrained.pretrained_card_path` is the lookup, None when none ships)."""
    path = pretrained_card_path(validate_name(genre))
    if path is None:
        raise NotFoundError(f"no pretrained model ships for genre {genre!r}: train one with `museforge train`")
    return path


def list_shipped() -> list[dict[str, Any]]:
    """The models that ship with museforge, as ``museforge models list`` shows them: each genre's GAN (status
    ``shipped``), then the Enhance and Extend models (status ``shipped (<technique>)``, with ``technique``), named
    ``<technique>/<name>`` (``enhance/bach``) so that none shares a genre model's name."""
    shipped = [
        {
            "name": c["genre"],
            "architecture": c.get("architecture"),
            "genre": c.get("genre"),
            "status": "shipped",
            "epochs_done": c.get("epochs_done"),
        }
        for c in list_pretrained()
    ]
    shipped += [
        {
            "name": f"{technique}/{c['name']}",
            "architecture": c.get("architecture"),
            "genre": c.get("genre"),
            "status": f"shipped ({technique})",
            "epochs_done": c.get("epochs_done"),
            "technique": technique,
        }
        for technique in TECHNIQUES
        for c in list_technique_models(technique)
    ]
    return shipped


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
