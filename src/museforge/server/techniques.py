"""Enhance and Extend in the studio: the AR-CNN and the melody Transformer over samples, stored melodies and
compositions, beside :mod:`museforge.server.studio`'s compose.

Their results are stored exactly as compositions (``<data>/compositions/<id>/``, a ``compositions`` row whose
``technique`` is ``enhance`` or ``extend``), so the same routes list, show, play and download them, and one
technique's result is the next one's input (``composition_id``): Generate then Enhance rewrites what the GAN
wrote, Extend then Generate accompanies the longer melody.
"""

from __future__ import annotations

import threading
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.pipelines.common import PipelineResult
from museforge.pretrained import list_technique_models, technique_card_path
from museforge.server import schemas
from museforge.server.responses import Composer, Composition, Limits, Technique
from museforge.server.schemas import EnhanceRequest, ExtendRequest
from museforge.server.studio import COMPOSE_ARCHITECTURES, Outputs, composers, produce, resolve_melody
from museforge.store import Store, check_model_name
from museforge.training.registry import MODEL_JSON, list_models, model_dir

#: Each technique's title, the architectures of its models and what it does, for the page and the API.
TECHNIQUES: dict[str, dict[str, Any]] = {
    "compose": {
        "title": "Compose",
        "architectures": list(COMPOSE_ARCHITECTURES),
        "about": "a GAN writes accompaniment tracks for the melody, which stays unchanged",
        "endpoint": "/api/compositions",
    },
    "enhance": {
        "title": "Enhance",
        "architectures": ["arcnn"],
        "about": (
            "the AR-CNN rewrites the music note by note: a bare melody gets the model's voices written under it, "
            "a composition gets its accompaniment revised"
        ),
        "endpoint": "/api/enhancements",
    },
    "extend": {
        "title": "Extend",
        "architectures": ["transformer"],
        "about": "the Transformer continues the melody for some bars, in its meter and key (the melody line only)",
        "endpoint": "/api/extensions",
    },
}


# ------------------------------------------------------------------------------------------ models
def technique_models(technique: str) -> list[Composer]:
    """The models of ``enhance`` or ``extend``: the shipped ones, then the user models of its architecture that
    :func:`museforge.training.registry.compose_refusal` lets generate (a checkpoint, a run that ended)."""

    architecture = TECHNIQUES[technique]["architectures"][0]
    models = []
    for card in list_technique_models(technique):
        data = card["data"] if isinstance(card.get("data"), dict) else {}
        tracks = [t.get("role") for t in data.get("tracks", []) if isinstance(t, dict)]
        models.append(
            Composer(
                name=card["name"],
                kind="pretrained",
                architecture=card.get("architecture", architecture),
                genre=card.get("genre"),
                tracks=["melody", *tracks] if technique == "enhance" else ["melody"],
            )
        )
    for model in list_models():
        if model.get("architecture") == architecture and model.get("can_compose"):
            keep = ("name", "architecture", "genre", "status", "epochs_done")
            models.append(Composer.model_validate({"kind": "user", **{k: model.get(k) for k in keep}}))
    return models


def check_technique_model(technique: str, model: str) -> None:
    """Raise NotFoundError unless ``model`` is a shipped model of ``technique`` or a user model's name.

    A user model of the wrong architecture, or one without a checkpoint, is refused by the pipeline itself with a
    message that says why.
    """

    check_model_name(model)
    if technique_card_path(technique, model) is not None or (model_dir(model) / MODEL_JSON).is_file():
        return
    available = ", ".join(m.name for m in technique_models(technique)) or "none yet"
    raise NotFoundError(f"no {technique} model named {model!r}; available: {available}")


def _range(default: Any, bounds: tuple[Any, Any], *, above: bool = False) -> Limits:
    if above:
        return Limits(default=default, min=bounds[0], max=bounds[1], exclusive_min=True)
    return Limits(default=default, min=bounds[0], max=bounds[1])


def list_techniques() -> list[Technique]:
    """Every technique with its models, its default model and its controls' defaults and limits (API units)."""
    enhance, extend = schemas.ENHANCE_DEFAULTS, schemas.EXTEND_DEFAULTS
    fields: dict[str, dict[str, Limits]] = {
        "compose": {},
        "enhance": {
            "iterations": _range(enhance["iterations"], schemas.ENHANCE_ITERATIONS_RANGE),
            "max_add": _range(enhance["max_add"], schemas.MAX_ADD_RANGE),
            "max_remove": _range(enhance["max_remove"], schemas.MAX_REMOVE_RANGE),
            "temperature": _range(enhance["temperature"], schemas.TEMPERATURE_RANGE, above=True),
        },
        "extend": {
            "bars": _range(extend["bars"], schemas.EXTEND_BARS_RANGE),
            "temperature": _range(extend["temperature"], schemas.TEMPERATURE_RANGE, above=True),
            "top_k": _range(extend["top_k"], schemas.TOP_K_RANGE),
        },
    }
    defaults = {"compose": None, "enhance": schemas.DEFAULT_ENHANCE_MODEL, "extend": schemas.DEFAULT_EXTEND_MODEL}
    out = []
    for name, info in TECHNIQUES.items():
        models = composers() if name == "compose" else technique_models(name)
        out.append(Technique(name=name, **info, default_model=defaults[name], models=models, fields=fields[name]))
    return out


# ------------------------------------------------------------------------------------------ the techniques
def create_enhancement(store: Store, request: EnhanceRequest, slots: threading.Semaphore) -> Composition:
    """Enhance a melody or a composition with the AR-CNN; stored as a composition (technique ``enhance``)."""
    from museforge.pipelines.enhance import check_controls, enhance

    check_controls(request.iterations, request.max_add, request.max_remove, request.temperature)
    source, label = resolve_melody(store, request)
    check_technique_model("enhance", request.model)
    bars = tuple(request.bars) if request.bars is not None else None
    if bars is not None and bars[0] > bars[1]:
        raise MuseforgeError(f"bars {bars[0]}-{bars[1]}: the first bar comes after the last")

    def run(out: Outputs) -> PipelineResult:
        return enhance(
            source,
            request.model,
            out_midi=out.midi,
            wav=out.wav,
            png=out.png,
            seed=request.seed,
            iterations=request.iterations,
            max_add=request.max_add,
            max_remove=request.max_remove,
            temperature=request.temperature,
            tracks=list(request.tracks) if request.tracks is not None else None,
            bars=bars,  # type: ignore[arg-type]
            parallels=request.parallels,
        )

    return produce(store, request, slots, technique="enhance", label=label, run=run)


def create_extension(store: Store, request: ExtendRequest, slots: threading.Semaphore) -> Composition:
    """Continue a melody (a composition's melody track) with the Transformer; stored as a composition
    (technique ``extend``) holding the longer melody alone."""
    from museforge.pipelines.extend import check_controls, extend

    check_controls(request.bars, request.temperature, request.top_k)
    source, label = resolve_melody(store, request)
    check_technique_model("extend", request.model)

    def run(out: Outputs) -> PipelineResult:
        return extend(
            source,
            request.model,
            out_midi=out.midi,
            bars=request.bars,
            wav=out.wav,
            png=out.png,
            seed=request.seed,
            temperature=request.temperature,
            top_k=request.top_k,
        )

    return produce(store, request, slots, technique="extend", label=label, run=run)
