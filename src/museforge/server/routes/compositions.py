"""``/api/compositions``: compose a melody with a model, list compositions, fetch MIDI, WAV, PNG and piano roll."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import FileResponse

from museforge.server import studio
from museforge.server.deps import ComposeSlotsDep, StoreDep
from museforge.server.schemas import ComposeRequest

router = APIRouter(prefix="/api/compositions", tags=["compositions"])
_MEDIA = {"midi": "audio/midi", "wav": "audio/wav", "png": "image/png"}
_SUFFIX = {"midi": "mid", "wav": "wav", "png": "png"}


@router.post("", status_code=status.HTTP_201_CREATED)
def create_composition(request: ComposeRequest, store: StoreDep, slots: ComposeSlotsDep) -> dict[str, Any]:
    """Write accompaniment for a melody (a sample name or an uploaded/recorded melody id) with a model."""
    return studio.create_composition(store, request, slots)


@router.get("")
def list_compositions(store: StoreDep, limit: int = 50) -> list[dict[str, Any]]:
    """Recent compositions (studio and CLI), newest first."""
    return [studio.composition_json(row) for row in store.list_compositions(limit=min(max(limit, 1), 500))]


@router.get("/{composition_id}")
def get_composition(composition_id: str, store: StoreDep) -> dict[str, Any]:
    """One composition: its melody, model, seed, summary and file URLs."""
    return studio.composition_json(store.get_composition(composition_id))


@router.get("/{composition_id}/roll")
def composition_roll(composition_id: str, store: StoreDep) -> dict[str, Any]:
    """The composition's piano roll as JSON (tracks of notes in steps)."""
    return studio.composition_roll(store, store.get_composition(composition_id))


@router.get("/{composition_id}/{kind}", response_class=FileResponse)
def composition_file(composition_id: str, kind: str, store: StoreDep) -> FileResponse:
    """The composition's ``midi``, ``wav`` or ``png`` file."""
    row = store.get_composition(composition_id)
    path = studio.composition_file(row, kind)
    model = re.sub(r"[^A-Za-z0-9_-]", "_", str(row["model"]))[:64]
    filename = f"museforge-{model}-{composition_id[:8]}.{_SUFFIX[kind]}"
    return FileResponse(path, media_type=_MEDIA[kind], filename=filename)
