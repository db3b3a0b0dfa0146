"""``/api/compositions``: compose a melody with a model, list compositions, fetch MIDI, WAV, PNG, sheet music
(MusicXML) and piano roll.

Enhance's and Extend's results (``/api/enhancements``, ``/api/extensions``) are compositions too, with their
``technique``; they are listed, shown and downloaded here.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import FileResponse

from museforge.errors import MuseforgeError
from museforge.server import arrange, studio
from museforge.server.deps import ComposeSlotsDep, StoreDep
from museforge.server.responses import Composition, Roll
from museforge.server.schemas import ComposeRequest, RegenerateRequest
from museforge.store import TECHNIQUES

router = APIRouter(prefix="/api/compositions", tags=["compositions"])
_MEDIA = {
    "midi": "audio/midi",
    "wav": "audio/wav",
    "png": "image/png",
    "musicxml": "application/vnd.recordare.musicxml+xml",
}
_SUFFIX = {"midi": "mid", "wav": "wav", "png": "png", "musicxml": "musicxml"}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Composition)
def create_composition(request: ComposeRequest, store: StoreDep, slots: ComposeSlotsDep) -> Composition:
    """Write accompaniment for a melody (a sample, an uploaded/recorded melody, or a composition's melody)."""
    return studio.create_composition(store, request, slots)


@router.get("", response_model=list[Composition])
def list_compositions(store: StoreDep, limit: int = 50, technique: str | None = None) -> list[Composition]:
    """Recent compositions (studio and CLI), newest first; only one technique's (compose, enhance, extend) if given."""
    if technique is not None and technique not in TECHNIQUES:
        raise MuseforgeError(f"unknown technique {technique!r}: choose {', '.join(TECHNIQUES)}")
    rows = store.list_compositions(limit=min(max(limit, 1), 500), technique=technique)
    return [studio.composition_json(row) for row in rows]


@router.get("/{composition_id}", response_model=Composition)
def get_composition(composition_id: str, store: StoreDep) -> Composition:
    """One composition: its melody, model, seed, summary and file URLs."""
    return studio.composition_json(store.get_composition(composition_id))


@router.get("/{composition_id}/roll", response_model=Roll)
def composition_roll(composition_id: str, store: StoreDep) -> Roll:
    """The composition's piano roll as JSON (tracks of notes in steps)."""
    return studio.composition_roll(store, store.get_composition(composition_id))


@router.post("/{composition_id}/regenerate", status_code=status.HTTP_201_CREATED, response_model=Composition)
def regenerate_composition(
    composition_id: str, request: RegenerateRequest, store: StoreDep, slots: ComposeSlotsDep
) -> Composition:
    """Generate some accompaniment tracks (over some bars) again and keep the rest note for note; with no
    ``tracks``, play the same notes on the ``programs`` given. The result is a new composition."""
    return arrange.regenerate(store, composition_id, request, slots)


@router.get("/{composition_id}/{kind}", response_class=FileResponse)
def composition_file(
    composition_id: str, kind: str, store: StoreDep, slots: ComposeSlotsDep, tracks: str | None = None
) -> FileResponse:
    """The composition's ``midi``, ``wav``, ``png`` or ``musicxml`` file, named after its melody, model and seed
    (``twinkle-jazz-seed12.mid``); ``wav?tracks=0,2`` plays only those tracks (mute and solo). ``musicxml`` is the
    sheet music of every track, made from the MIDI file on the first download (any composition has it)."""
    row = store.get_composition(composition_id)
    if kind == "musicxml":
        path = arrange.sheet_music(store, row, slots)
    elif tracks is not None and kind == "wav":
        path = arrange.mix_wav(store, row, tracks)
    else:
        path = studio.composition_file(row, kind)
    return FileResponse(path, media_type=_MEDIA[kind], filename=arrange.download_name(row, _SUFFIX[kind]))
