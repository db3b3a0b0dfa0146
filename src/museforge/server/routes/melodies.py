"""``/api/melodies``: the sample melodies, uploaded MIDI melodies and keyboard recordings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile, status

from museforge.server import studio
from museforge.server.deps import SettingsDep, StoreDep
from museforge.server.responses import SampleMelody, UserMelody
from museforge.server.schemas import RecordedMelody

router = APIRouter(prefix="/api/melodies", tags=["melodies"])
_CHUNK = 64 * 1024


@router.get("", response_model=list[SampleMelody], response_model_exclude_unset=True)
def list_samples() -> list[SampleMelody]:
    """The built-in sample melodies."""
    return studio.list_samples()


@router.post("/upload", status_code=status.HTTP_201_CREATED, response_model=UserMelody)
def upload_melody(
    file: Annotated[UploadFile, File(description="a Standard MIDI File, at most 1 MB")],
    store: StoreDep,
    settings: SettingsDep,
) -> UserMelody:
    """Upload a MIDI melody: checked (size, MIDI header, readable, meter, pitched notes) and kept for composing;
    the answer lists the file's tracks (``track_list``) and which one is the melody."""
    data = bytearray()
    while chunk := file.file.read(_CHUNK):
        data += chunk
        if len(data) > settings.max_upload_bytes:
            break
    return studio.save_upload(store, bytes(data), file.filename, settings.max_upload_bytes)


@router.post("/record", status_code=status.HTTP_201_CREATED, response_model=UserMelody)
def record_melody(recording: RecordedMelody, store: StoreDep) -> UserMelody:
    """Keep a melody played on the page's keyboard: ``{tempo, notes: [{pitch, start_beat, duration_beats}]}``."""
    return studio.save_recording(store, recording)


@router.get("/user", response_model=list[UserMelody])
def list_user_melodies(store: StoreDep) -> list[UserMelody]:
    """Uploaded and recorded melodies, newest first."""
    return [studio.user_melody_json(store, row) for row in store.list_melodies()]


@router.get("/user/{melody_id}", response_model=UserMelody)
def get_user_melody(melody_id: str, store: StoreDep) -> UserMelody:
    """One uploaded or recorded melody with its piano roll."""
    return studio.user_melody_json(store, store.get_melody(melody_id), roll=True)


@router.get("/{name}", response_model=SampleMelody)
def get_sample(name: str) -> SampleMelody:
    """One sample melody with its piano roll."""
    return studio.get_sample(name)
