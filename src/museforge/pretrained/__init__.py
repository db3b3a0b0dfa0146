"""The genre models shipped with museforge: ``<genre>.safetensors`` (generator weights) + ``<genre>.json`` (card).

Each was trained by museforge's own ``museforge train`` on the data in ``../shared/datasets`` and exported with
``museforge models export``; its card records the data, hyperparameters, training time and hardware, and metrics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from museforge.files import write_json

PRETRAINED_DIR = Path(__file__).resolve().parent
#: The other techniques' shipped models live in sub-folders: ``enhance/bach.*`` (AR-CNN), ``extend/melody.*``
#: (Transformer).
TECHNIQUES: tuple[str, ...] = ("enhance", "extend")


def pretrained_card_path(genre: str) -> Path | None:
    """The card of the shipped model for ``genre``, or None if none is shipped."""
    path = PRETRAINED_DIR / f"{genre}.json"
    return path if path.is_file() and path.with_suffix(".safetensors").is_file() else None


def record_decoding(genre: str, entries: Mapping[str, Any], technique: str | None = None) -> Path:
    """Write ``entries`` into the ``decoding`` of the shipped model card of ``genre`` (of its ``technique``'s model,
    ``enhance``, when given: what the measuring scripts under ``scripts/`` choose for it); returns the card's path."""
    path = PRETRAINED_DIR / technique / f"{genre}.json" if technique else PRETRAINED_DIR / f"{genre}.json"
    card = json.loads(path.read_text())
    card.setdefault("decoding", {}).update(entries)
    write_json(path, card)
    return path


def technique_card_path(technique: str, name: str) -> Path | None:
    """The card of the model shipped for ``technique`` (``enhance``, ``extend``) under ``name``, or None."""
    if technique not in TECHNIQUES or not name.replace("-", "").replace("_", "").isalnum():
        return None
    path = PRETRAINED_DIR / technique / f"{name}.json"
    return path if path.is_file() and path.with_suffix(".safetensors").is_file() else None


def list_technique_models(technique: str) -> list[dict[str, Any]]:
    """The cards of the models shipped for ``technique``, each with ``name`` (its file stem) and ``card_path``."""
    folder = PRETRAINED_DIR / technique
    cards = []
    for path in sorted(folder.glob("*.json")) if technique in TECHNIQUES else []:
        if path.with_suffix(".safetensors").is_file():
            cards.append({**json.loads(path.read_text()), "name": path.stem, "card_path": str(path)})
    return cards


def list_pretrained() -> list[dict[str, Any]]:
    """The cards of every shipped model, sorted by genre."""
    cards = []
    for path in sorted(PRETRAINED_DIR.glob("*.json")):
        if path.with_suffix(".safetensors").is_file():
            card = json.loads(path.read_text())
            cards.append({"genre": card.get("genre", path.stem), **card, "card_path": str(path)})
    return cards
