"""What the studio's model and training routes do: the training form's options, model cards, samples (and their
piano rolls), deletion."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from museforge.datasets.cache import dataset_status
from museforge.datasets.sources import GENRES, get_genre
from museforge.errors import MuseforgeError, NotFoundError
from museforge.jobs.manager import JobManager
from museforge.music.midi import read_midi
from museforge.server import schemas
from museforge.server.responses import (
    Choice,
    DeletedModel,
    GenreChoice,
    Job,
    Limits,
    ModelDetail,
    QueuedJob,
    Roll,
    TrainingEstimate,
    TrainingOptions,
)
from museforge.server.schemas import TrainRequest
from museforge.server.studio import RESOLUTION, multitrack_json
from museforge.store import ACTIVE_STATES, ConflictError, Store, check_model_name, model_folder
from museforge.training.config import ARCHITECTURES, LOSSES, SIZES, TrainConfig, default_size
from museforge.training.estimate import describe_estimate, estimate_run
from museforge.training.registry import MODEL_JSON, read_history, show_model
from museforge.training.registry import delete_model as delete_folder

_SAMPLE_FILE = re.compile(r"epoch_\d{1,6}\.(mid|png)")
ARCHITECTURE_LABELS = {
    "musegan": "MuseGAN",
    "unet": "U-Net",
    "arcnn": "AR-CNN (Enhance)",
    "transformer": "Transformer (Extend)",
}
LOSS_LABELS = {
    "wgan-gp": "Wasserstein (WGAN-GP)",
    "hinge": "Hinge",
    "nonsaturating": "Non-saturating (binary cross-entropy)",
    "lsgan": "Least squares (LSGAN)",
}


def _dataset_built(genre: str) -> bool | None:
    """Whether the genre's training windows are built (False when its cache cannot be read)."""
    try:
        return dataset_status(genre) is not None
    except MuseforgeError:
        return False


def _limits(default: Any, bounds: tuple[Any, Any]) -> Limits:
    return Limits(default=default, min=bounds[0], max=bounds[1])


def training_options() -> TrainingOptions:
    """The training form: choices, defaults and allowed ranges of every field."""

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    return TrainingOptions(
        architectures=[Choice(value=a, label=ARCHITECTURE_LABELS.get(a, a)) for a in ARCHITECTURES],
        genres=[
            GenreChoice(value=g, architecture=get_genre(g).architecture, dataset_built=_dataset_built(g))
            for g in GENRES
        ],
        losses=[Choice(value=loss, label=LOSS_LABELS.get(loss, loss)) for loss in LOSSES],
        fields={
            "epochs": _limits(defaults["epochs"], schemas.EPOCHS_RANGE),
            "learning_rate": _limits(defaults["learning_rate"], schemas.LEARNING_RATE_RANGE),
            "update_ratio": _limits(defaults["update_ratio"], schemas.UPDATE_RATIO_RANGE),
            "loss": Limits(default=defaults["loss"]),
            "size": Limits(default=default_size("cpu"), choices=list(SIZES)),
            "batch_size": _limits(defaults["batch_size"], schemas.BATCH_SIZE_RANGE),
        },
    )


class Unprocessable(HTTPException):
    """A training request that can never run as asked (422 with a one-line ``detail``), refused at submit."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=422, detail=detail)


def check_model_config(architecture: str, overrides: dict[str, Any]) -> None:
    """Refuse ``model_config`` keys the architecture does not have, and values its config rejects (422)."""
    from museforge.models.registry import config_class, make_config

    known = sorted(f.name for f in dataclasses.fields(config_class(architecture)))
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        key = "key" if len(unknown) == 1 else "keys"
        raise Unprocessable(f"unknown model_config {key} {names} for {architecture}: known keys are {', '.join(known)}")
    try:
        make_config(architecture, overrides)
    except MuseforgeError as error:
        raise Unprocessable(f"bad model_config for {architecture}: {error}") from None


def check_datasets_built(genre: str) -> None:
    """Refuse (422) a genre (or ``a+b`` genres) whose training windows are not built, naming how to build them."""
    missing = [g for g in genre.split("+") if _dataset_built(g) is False]
    if missing:
        raise Unprocessable(
            f"the {missing[0]} dataset is not built: build it on this page (or museforge datasets build {missing[0]}) "
            "before training on it"
        )


def submit_training(jobs: JobManager, request: TrainRequest) -> QueuedJob:
    """Build the TrainConfig of a request (the genre's architecture unless given), check it can run, queue it.

    Raises ``Unprocessable`` (422) for an unbuilt dataset or unknown or bad ``model_config`` keys, so the user
    hears it at once instead of from a failed job seconds later; MuseforgeError (400/409) for the rest. The answer
    carries the run's time ``estimate`` (see :func:`estimate_training`).
    """
    config = training_config(request)
    check_datasets_built(config.genre)
    return QueuedJob(**jobs.submit(config), estimate=estimate_training(request))


def estimate_training(request: TrainRequest) -> TrainingEstimate:
    """The estimated length of the run a request describes, before it starts: ``{"text", "seconds", "steps",
    "at_least", "size"}`` (seconds None when the dataset is not built or nothing was measured for the model)."""

    config = training_config(request)
    estimate = estimate_run(config) or {}
    return TrainingEstimate(
        text=describe_estimate(config),
        seconds=estimate.get("seconds"),
        steps=estimate.get("steps"),
        at_least=estimate.get("at_least"),
        size=config.size,
    )


def training_config(request: TrainRequest) -> Any:
    """The validated TrainConfig of a request; raises for bad settings (422 for ``model_config``)."""

    fields = request.config_fields()
    if request.genre in GENRES:  # else TrainConfig.validate names the valid genres
        fields.setdefault("architecture", get_genre(request.genre).architecture)
    try:
        config = TrainConfig(**fields)
    except TypeError as error:  # a field TrainConfig does not know
        raise MuseforgeError(f"bad training settings: {error}") from None
    config.validate()
    check_model_config(config.architecture, dict(config.model_config))
    return config


def model_detail(store: Store, name: str) -> ModelDetail:
    """A model's card, its per-epoch records (losses and metrics), its samples and its jobs."""

    check_model_name(name)
    detail = show_model(name)
    detail["epochs"] = read_history(model_folder(name))
    detail.pop("path", None)
    detail["jobs"] = [Job.model_validate(job) for job in store.list_jobs(model_name=name)]
    samples = detail.get("samples") or []
    pngs = [s for s in samples if s.endswith(".png")]
    detail["latest_sample"] = f"/api/models/{name}/samples/{pngs[-1]}" if pngs else None
    return ModelDetail.model_validate(detail)


def sample_file(name: str, filename: str) -> Path:
    """A model's sample file ``samples/epoch_NNN.{mid,png}``, or its latest PNG for ``latest.png``."""
    folder = model_folder(name) / "samples"
    if filename == "latest.png":
        pngs = sorted(folder.glob("epoch_*.png"))
        if not pngs:
            raise NotFoundError(f"model {name!r} has no samples yet")
        return pngs[-1]
    if not _SAMPLE_FILE.fullmatch(filename):
        raise NotFoundError(f"no sample {filename!r}: samples are named epoch_NNN.mid or epoch_NNN.png")
    path = folder / filename
    if not path.is_file():
        raise NotFoundError(f"model {name!r} has no sample {filename}")
    return path


def sample_roll(name: str, filename: str) -> Roll:
    """The piano roll of an epoch's sample MIDI ``epoch_NNN.mid``, read back from the file: what the models page
    plays when a learner listens to an epoch (the page's synth plays rolls, not MIDI files)."""
    if not filename.endswith(".mid"):
        raise NotFoundError(f"no roll for {filename!r}: a roll is read from a sample's MIDI file, epoch_NNN.mid")
    return multitrack_json(read_midi(sample_file(name, filename), resolution=RESOLUTION))


def delete_model(store: Store, name: str) -> DeletedModel:
    """Delete a model's folder and its index rows; refused while one of its jobs is queued or training."""

    check_model_name(name)
    jobs = store.list_jobs(model_name=name)
    active = [j["id"] for j in jobs if j["status"] in ACTIVE_STATES]
    if active:
        raise ConflictError(f"model {name!r} has an active job ({active[0]}): stop it first")
    has_folder = (model_folder(name) / MODEL_JSON).is_file()
    if not has_folder and not jobs:
        raise NotFoundError(f"no model named {name!r}")
    if has_folder:
        try:
            delete_folder(name)
        except NotFoundError:
            pass
        except MuseforgeError as error:
            raise ConflictError(str(error)) from None
    store.forget_model(name)
    return DeletedModel(deleted=name)
