"""``/api/models``: trained models (list, show, delete, samples) and ``/api/composers``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from museforge.server import arrange, studio, training_service
from museforge.server.deps import StoreDep
from museforge.server.responses import (
    Composer,
    DeletedModel,
    Instrument,
    InstrumentChoice,
    ModelDetail,
    ModelRow,
    Roll,
)

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/models", response_model=list[ModelRow])
def list_models(store: StoreDep) -> list[ModelRow]:
    """User-trained models (re-read from their folders, so CLI-trained ones appear), newest first."""
    return [ModelRow.model_validate(model) for model in store.sync_models()]


@router.get("/models/{name}", response_model=ModelDetail)
def show_model(name: str, store: StoreDep) -> ModelDetail:
    """A model's card, per-epoch losses and metrics, samples and jobs."""
    return training_service.model_detail(store, name)


@router.delete("/models/{name}", response_model=DeletedModel)
def delete_model(name: str, store: StoreDep) -> DeletedModel:
    """Delete a model (refused while it trains)."""
    return training_service.delete_model(store, name)


@router.get("/models/{name}/samples/{filename}", response_class=FileResponse)
def model_sample(name: str, filename: str) -> FileResponse:
    """A sample written after an epoch (``epoch_NNN.mid`` / ``epoch_NNN.png``), or ``latest.png``."""
    path = training_service.sample_file(name, filename)
    media = "image/png" if path.suffix == ".png" else "audio/midi"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})


@router.get("/models/{name}/samples/{filename}/roll", response_model=Roll)
def model_sample_roll(name: str, filename: str) -> Roll:
    """The piano roll of an epoch's sample MIDI (``epoch_NNN.mid``) as JSON, for the page to play it."""
    return training_service.sample_roll(name, filename)


@router.get("/composers", response_model=list[Composer], response_model_exclude_unset=True)
def list_composers() -> list[Composer]:
    """Models that can compose now: the pretrained genre models and completed user models."""
    return studio.composers()


@router.get("/composers/{name}/instruments", response_model=list[InstrumentChoice])
def composer_instruments(name: str) -> list[InstrumentChoice]:
    """Per accompaniment track of a composing model: the default General MIDI program (one whose range fits what
    the model plays) and the suggested ones."""
    return arrange.instruments(name)


@router.get("/instruments", response_model=list[Instrument])
def list_instruments() -> list[Instrument]:
    """The 128 General MIDI programs and the drum kits, for choosing any instrument."""
    return arrange.gm_programs()
