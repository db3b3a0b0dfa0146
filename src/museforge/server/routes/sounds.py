"""``/api/sounds``: instrument sounds for the jam mode's band, rendered with the studio's soundfont (see
:mod:`museforge.server.sounds`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from museforge.server import sounds
from museforge.server.deps import SettingsDep

router = APIRouter(prefix="/api/sounds", tags=["jam"])
Program = Annotated[int, Path(ge=0, le=127, description="General MIDI program (or drum kit) 0-127")]
#: A bank never changes once rendered (a new layout gets a new folder): browsers may keep it for a day.
_CACHE = {"Cache-Control": "private, max-age=86400"}


@router.get("", response_model=sounds.Sounds)
def sound_layouts() -> sounds.Sounds:
    """Whether this server can render instrument sounds, and where each note lies in a bank."""
    return sounds.sounds()


@router.get("/drums/{kit}.wav", response_class=FileResponse)
def drum_bank(kit: Program, settings: SettingsDep) -> FileResponse:
    """Every General MIDI drum key on ``kit``, one after another (WAV, rendered on first use)."""
    path = sounds.bank(settings.data_dir, kit, drums=True)
    return FileResponse(path, media_type="audio/wav", headers=_CACHE)


@router.get("/{program}.wav", response_class=FileResponse)
def program_bank(program: Program, settings: SettingsDep) -> FileResponse:
    """Notes of General MIDI ``program`` every half octave, one after another (WAV, rendered on first use)."""
    path = sounds.bank(settings.data_dir, program)
    return FileResponse(path, media_type="audio/wav", headers=_CACHE)
