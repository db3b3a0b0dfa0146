"""``/api/compositions``: compose a melody with a model, list compositions, fetch MIDI, WAV, PNG and piano roll.

Enhance's and Extend's results (``/api/enhancements``, ``/api/extensions``) are compositions too, with their
``technique``; they are listed, shown and downloaded here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import FileResponse

from museforge.errors import MuseforgeError
from museforge.server import studio
from museforge.server.deps import ComposeSlotsDep, StoreDep
from museforge.server.schemas import ComposeRequest
from museforge.store import TECHNIQUES

router = APIRouter(prefix="/api/compositions", tags=["compositions"])
_MEDIA = {"midi": "audio/midi", "wav": "audio/wav", "png": "image/png"}
_SUFFIX = {"midi": "mid", "wav": "wav", "png": "png"}


@router.post("", status_code=status.HTTP_201_CREATED)
def create_composition(request: ComposeRequest, store: StoreDep, slots: ComposeSlotsDep) -> dict[str, Any]:
    """Write accompaniment for a melody (a sample, an uploaded/recorded melody, or a composition's melody)."""
    return studio.create_composition(store, request, slots)


@router.get("")
def list_compositions(store: StoreDep, limit: int = 50, technique: str | None = None) -> list[dict[str, Any]]:
    """Recent compositions (studio and CLI), newest first; only one technique's (compose, enhance, extend) if given."""
    if technique is not None and technique not in TECHNIQUES:
        raise MuseforgeError(f"unknown technique {technique!r}: choose {', '.join(TECHNIQUES)}")
    rows = store.list_compositions(limit=min(max(limit, 1), 500), technique=technique)
    return [studio.composition_json(row) for row in rows]


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
    made = "" if row["technique"] == "compose" else f"{studio.TECHNIQUE_PAST.get(row['technique'], 'made')}-"
    filename = f"museforge-{made}{model}-{composition_id[:8]}.{_SUFFIX[kind]}"
    return FileResponse(path, media_type=_MEDIA[kind], filename=filename)
