"""``/api/techniques``, ``/api/enhancements`` and ``/api/extensions``: DeepComposer's other two techniques.

Enhance (the AR-CNN) and Extend (the melody Transformer) take what compose takes (a sample, an uploaded or
recorded melody) or a stored composition, and store their result as a composition: ``/api/compositions/{id}``
and its ``midi``, ``wav``, ``png``, ``musicxml`` and ``roll`` serve it.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from museforge.server import techniques
from museforge.server.deps import ComposeSlotsDep, StoreDep
from museforge.server.responses import Composition, Technique
from museforge.server.schemas import EnhanceRequest, ExtendRequest

router = APIRouter(prefix="/api", tags=["techniques"])


@router.get("/techniques", response_model=list[Technique], response_model_exclude_unset=True)
def list_techniques() -> list[Technique]:
    """Compose, Enhance and Extend: each one's models (shipped and trained), default model and controls' limits."""
    return techniques.list_techniques()


@router.post("/enhancements", status_code=status.HTTP_201_CREATED, response_model=Composition)
def create_enhancement(request: EnhanceRequest, store: StoreDep, slots: ComposeSlotsDep) -> Composition:
    """Rewrite a melody or a composition with an AR-CNN; returns the stored composition with its roll."""
    return techniques.create_enhancement(store, request, slots)


@router.post("/extensions", status_code=status.HTTP_201_CREATED, response_model=Composition)
def create_extension(request: ExtendRequest, store: StoreDep, slots: ComposeSlotsDep) -> Composition:
    """Continue a melody with a Transformer; returns the stored composition (the longer melody) with its roll."""
    return techniques.create_extension(store, request, slots)
