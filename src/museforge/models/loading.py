"""The one model loader: a model's name (a user's trained model, or a shipped genre or technique model) in, its
network and its :class:`~museforge.model_files.ModelCard` out, for every pipeline, evaluate, the bench and the
scripts alike.

Each technique uses its own kind of network: ``compose`` (and regenerate and evaluate) a GAN's generator (MuseGAN
or U-Net), ``enhance`` an AR-CNN, ``extend`` the melody Transformer. A user model is found by name first; it may be
used when :func:`museforge.model_files.compose_refusal` allows it (a checkpoint, a run that ended without failing).
Otherwise the name is a shipped model's: a genre (case-insensitive) for compose, a technique model's name for the
others. :func:`load_generator` reads the files themselves: a model folder or a shipped
``<stem>.{safetensors,json}`` pair.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from museforge.errors import MuseforgeError, NotFoundError
from museforge.files import read_json
from museforge.model_files import (
    CARD_FORMAT,
    GAN_ARCHITECTURES,
    GENERATOR_FILE,
    MODEL_JSON,
    ModelCard,
    compose_refusal,
    existing_model_dir,
    list_models,
    model_dir,
    read_card,
)
from museforge.models.registry import build_network
from museforge.models.weights import load_module, read_tensors
from museforge.pretrained import list_pretrained, list_technique_models, pretrained_card_path, technique_card_path

#: The architectures each technique's models have.
TECHNIQUE_ARCHITECTURES: dict[str, tuple[str, ...]] = {
    "compose": GAN_ARCHITECTURES,
    "enhance": ("arcnn",),
    "extend": ("transformer",),
}
#: What each architecture that is not a GAN is for, for errors that send the user the right way.
TECHNIQUE_COMMANDS: dict[str, str] = {"arcnn": "museforge enhance", "transformer": "museforge extend"}


@dataclass(frozen=True)
class FoundModel:
    """Where a model's files are: ``path`` (a model folder, or a shipped card), its card, and ``shipped``."""

    path: Path
    card: ModelCard
    shipped: bool

    def load(self, device: str = "cpu") -> tuple[nn.Module, ModelCard]:
        """The network of this model with the card already read, in eval mode."""
        return _build(self.card, _locate(self.path)[1], device)


def find_model(name: str, technique: str = "compose") -> FoundModel:
    """The model ``name`` as ``technique`` (``compose``, ``enhance`` or ``extend``) may use it.

    Raises :class:`NotFoundError` when no model has that name, :class:`MuseforgeError` when the user model of that
    name is of another technique or may not be used yet (it never finished a checkpoint, or its run failed).
    """
    if technique not in TECHNIQUE_ARCHITECTURES:
        raise MuseforgeError(f"no technique {technique!r} (one of {', '.join(TECHNIQUE_ARCHITECTURES)})")
    user = model_dir(name)  # validates the name: it never becomes a path unchecked
    if (user / MODEL_JSON).is_file():
        card = ModelCard(read_card(user))
        refuse_other_techniques(name, card, technique)
        refusal = compose_refusal(name, user, card.to_dict())
        if refusal is not None:
            raise MuseforgeError(refusal)
        return FoundModel(user, card, shipped=False)
    if technique == "compose":
        path = pretrained_card_path(name) or pretrained_card_path(name.lower())
        if path is None:
            genres = ", ".join(c["genre"] for c in list_pretrained()) or "none shipped"
            raise NotFoundError(f"no model named {name!r}: see `museforge models list` (genres: {genres})")
    else:
        path = technique_card_path(technique, name)
        if path is None:
            shipped = ", ".join(c["name"] for c in list_technique_models(technique)) or "none"
            raise NotFoundError(f"no {technique} model named {name!r} (shipped: {shipped}; or train one)")
    return FoundModel(path, _read_card(path), shipped=True)


def refuse_other_techniques(name: str, card: ModelCard, technique: str = "compose") -> None:
    """Raise :class:`MuseforgeError` unless ``card``'s architecture is one that ``technique`` uses."""
    if card.architecture in TECHNIQUE_ARCHITECTURES[technique]:
        return
    if technique == "compose" and card.architecture in TECHNIQUE_COMMANDS:
        raise MuseforgeError(
            f"model {name!r} is an {card.architecture} model, not a GAN: use it with "
            f"`{TECHNIQUE_COMMANDS[card.architecture]} --model {name}`"
        )
    needed = " or ".join(TECHNIQUE_ARCHITECTURES[technique])
    raise MuseforgeError(f"model {name!r} is a {card.architecture} model; {technique} needs an {needed} model")


def load_model(name: str, technique: str = "compose", device: str = "cpu") -> tuple[nn.Module, ModelCard]:
    """The network and card of the model ``name`` for ``technique`` (see :func:`find_model`), in eval mode."""
    return find_model(name, technique).load(device)


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


def load_generator(source: str | os.PathLike[str], device: str = "cpu") -> tuple[nn.Module, ModelCard]:
    """Load the network that makes a model's music, in eval mode, from its files (no status check).

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
        A GAN's generator ``(melody (B, T, P), noise (B, noise_dim)) -> logits (B, K, T, P)``, or the AR-CNN or the
        melody Transformer (:func:`museforge.models.build_network`).
    card : ModelCard
        ``architecture``, ``model_config``, ``genre``, ``data`` (tracks, resolution, pitch window, ...),
        ``hyperparameters``, metrics.

    Raises
    ------
    MuseforgeError
        When the files are missing, corrupted, or the weights are from another architecture or config.
    """
    card_path, weights_path = _locate(source)
    return _build(_read_card(card_path), weights_path, device)


def _read_card(card_path: Path) -> ModelCard:
    """The card at ``card_path``; NotFoundError when missing, MuseforgeError when it is not a model card."""
    if not card_path.is_file():
        raise NotFoundError(f"no model card at {card_path}")
    raw = read_json(card_path, "model card")
    if raw.get("format") != CARD_FORMAT:
        raise MuseforgeError(f"{card_path} is not a museforge model card")
    return ModelCard(raw)


def _build(card: ModelCard, weights_path: Path, device: str) -> tuple[nn.Module, ModelCard]:
    """The network ``card`` describes with the weights of ``weights_path``, checked against the card."""
    if not weights_path.is_file():
        raise MuseforgeError(f"model {card.get('name')!r} has no generator weights yet ({weights_path})")
    tensors, metadata = read_tensors(weights_path)
    if metadata.get("network") != "generator":
        raise MuseforgeError(f"{weights_path} holds {metadata.get('network', 'unknown')} weights, not a generator")
    if metadata.get("architecture") != card.architecture:
        raise MuseforgeError(
            f"{weights_path} holds a {metadata.get('architecture')} generator but the card says {card.architecture}"
        )
    generator, _cfg = build_network(card.architecture, card.get("model_config"))
    load_module(generator, tensors, f"generator weights {weights_path}")
    return generator.to(device).eval(), card


def list_composers() -> list[dict[str, Any]]:
    """Models that can compose: the shipped genre models (with the meters they learnt) and every user GAN whose run
    ended, completed or stopped, with a checkpoint (:func:`museforge.model_files.compose_refusal`)."""
    models = [
        {"name": c["genre"], "kind": "pretrained", **c, "meters": list(ModelCard(c).meters)} for c in list_pretrained()
    ]
    models += [
        {"kind": "user", **m}
        for m in list_models()
        if m.get("can_compose") and m.get("architecture") not in TECHNIQUE_COMMANDS
    ]
    return models


__all__ = [
    "TECHNIQUE_ARCHITECTURES",
    "TECHNIQUE_COMMANDS",
    "FoundModel",
    "find_model",
    "list_composers",
    "load_generator",
    "load_model",
    "refuse_other_techniques",
]
