"""Response shapes of the studio API, so that ``/docs`` shows what each route returns.

They describe the fields clients rely on and allow the rest (``extra="allow"``): a summary or card may carry more
than is listed, and nothing the library adds is dropped on the way out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class RollTrack(_Shape):
    """One track of a piano roll."""

    name: str
    role: str
    program: int = Field(description="General MIDI program 0-127 (a drum track's picks its kit)")
    is_drum: bool
    color: str = Field(description="the colour the PNG and the page draw it in")
    notes: list[list[int]] = Field(description="[pitch, start_step, end_step, velocity] per note")


class Roll(_Shape):
    """A piano roll on a grid of ``resolution`` steps per quarter note."""

    resolution: int
    tempo: float = Field(description="quarter notes per minute")
    n_steps: int
    beats_per_bar: float
    downbeats: list[int] = Field(description="the step of each bar line")
    tracks: list[RollTrack]


class TrackSummary(_Shape):
    """A track of a result: what it plays on and how many notes."""

    name: str
    role: str
    program: int
    instrument: str | None = None
    is_drum: bool
    notes: int


class Composition(_Shape):
    """A stored composition (composed, regenerated, enhanced or extended)."""

    id: str
    melody: str = Field(description="what was accompanied: a sample name or kind:name of an uploaded melody")
    technique: str = Field(description="compose, enhance or extend")
    model: str
    genre: str | None = None
    seed: int | None = None
    source: str = Field(description="studio or cli")
    created_at: str
    summary: dict[str, Any] = Field(description="bars, meter, tempo, tracks (name, role, program, instrument, notes)")
    urls: dict[str, str] = Field(
        description="midi, wav, png, musicxml (sheet music) and roll addresses (those that exist)"
    )
    roll: Roll | None = Field(None, description="the piano roll (in the answer to a POST)")


class MelodyTrack(_Shape):
    """A track of an uploaded file, to pick the melody from."""

    index: int = Field(description="what melody_track takes")
    name: str
    role: str
    program: int
    instrument: str
    is_drum: bool
    notes: int
    pitch_range: list[int] | None
    melody: bool = Field(description="the track used as the melody unless another is picked")


class UserMelody(_Shape):
    """An uploaded or recorded melody."""

    id: str
    name: str
    kind: str = Field(description="upload or recorded")
    created_at: str
    bars: int
    tempo: float
    time_signature: list[int]
    key: str | None = Field(None, description='the key its notes suggest, e.g. "G major" (None: no pitched notes)')
    tracks: int = Field(description="tracks in the file")
    notes: int
    roll: Roll | None = None
    track_list: list[MelodyTrack] | None = None


class Instrument(_Shape):
    """A General MIDI program (or a drum kit)."""

    program: int
    name: str
    is_drum: bool


class Suggestion(_Shape):
    program: int
    name: str
    fit: float = Field(description="share of the model's notes on this track the instrument can play")


class InstrumentChoice(_Shape):
    """A composing model's accompaniment track: its default instrument and the suggested ones."""

    role: str
    is_drum: bool
    played_range: list[int] | None
    default_program: int
    default_name: str
    default_fit: float
    suggested: list[Suggestion]


class Progress(_Shape):
    """Where a training job is inside its epoch."""

    phase: str = Field(description="training, or evaluating (the metrics and sample after an epoch)")
    epoch: int
    step: int
    total_steps: int
    steps_per_epoch: int
    step_in_epoch: int
    samples_per_s: float
    eta_s: float | None = Field(description="seconds left at the current speed")
    time: float | None = None


class JobMetrics(_Shape):
    """A job's status, its new epochs and its progress (for polling)."""

    job_id: str
    status: str
    epochs: list[dict[str, Any]]
    progress: Progress | None


class DatasetBuild(_Shape):
    """A dataset build started from the studio."""

    genre: str
    status: str = Field(description="building, completed or failed")
    done: int
    total: int | None
    song: str | None
    error: str | None
    source: str | None
    started_at: float
    finished_at: float | None


class Dataset(_Shape):
    """A genre's dataset: built or not, windows per split, and the latest build started here."""

    genre: str
    architecture: str
    built: bool
    windows: dict[str, int] | None = None
    build: DatasetBuild | None = None


class Health(_Shape):
    """Liveness, version, data folder and how busy training is."""

    status: str = Field(description='"ok"')
    version: str
    data_dir: str
    store: str = Field(description="the SQLite journal mode (wal)")
    jobs: dict[str, int] = Field(description="queued and training job counts")
    max_jobs: int


class Job(_Shape):
    """A training job: its model, state and settings (``config``: the TrainConfig fields); ``GET /api/jobs/{id}``
    adds ``epochs``, its per-epoch records."""

    id: str
    model_name: str
    status: str = Field(description="queued, training, completed, failed, stopped or interrupted")
    config: dict[str, Any]
    resume: bool
    stop_requested: bool
    error: str | None = None
    epochs_done: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str


class QueuedJob(Job):
    """A job just queued, with the estimated length of its run."""

    estimate: TrainingEstimate | None = None


class TrainingEstimate(_Shape):
    """How long a run would take on a 2-core CPU, estimated from the shipped models' measured speed."""

    text: str = Field(description='one line, e.g. "estimated time: about 6 min for 320 steps ..."')
    seconds: float | None = Field(description="None when the dataset is not built or nothing was measured")
    steps: int | None
    at_least: bool | None = Field(description="scaled up from a smaller model's speed: a lower bound")
    size: str | None


class SampleMelody(_Shape):
    """A built-in sample melody (with its piano roll when asked for one)."""

    name: str
    title: str
    composer: str
    tempo: float
    time_signature: list[int]
    key: str
    bars: int
    notes: int
    roll: Roll | None = None
    about: str = Field(description="a line about the tune")


class ModelRow(_Shape):
    """A user-trained model as the store indexes it."""

    name: str
    architecture: str | None
    genre: str | None
    status: str
    epochs_done: int


class ModelDetail(_Shape):
    """A model's card (free-form: its data, settings, sizes and metrics) with what the studio adds: the per-epoch
    records, the sample files, the jobs that trained it and the address of its latest sample picture."""

    name: str | None
    architecture: str | None
    genre: str | None
    status: str = Field(description="the model's state; shipped ones say shipped")
    epochs_done: int | None
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any] | None = Field(description="the last epoch's evaluation metrics")
    can_compose: bool
    history: list[dict[str, Any]] = Field(description="the losses per epoch")
    samples: list[str] = Field(description="the sample files (epoch_NNN.mid / epoch_NNN.png)")
    epochs: list[dict[str, Any]] = Field(description="the per-epoch records: losses and metrics")
    jobs: list[Job]
    latest_sample: str | None = Field(description="the address of the latest sample picture")


class DeletedModel(_Shape):
    """The answer to a model's deletion."""

    deleted: str = Field(description="the model's name")


class Composer(_Shape):
    """A model that can make music now: a shipped one (``kind`` pretrained) or a user-trained one (``kind`` user).

    Only the facts a model has are given (a shipped Enhance model has no ``status``, a user one no ``tracks``).
    """

    name: str
    kind: str = Field(description="pretrained or user")
    genre: str | None = None
    architecture: str | None = None
    status: str | None = None
    epochs_done: int | None = None
    tracks: list[Any] | None = Field(default=None, description="the roles of the tracks it writes")
    meters: list[str] | None = Field(default=None, description="the meters it learnt, most windows first")


class Limits(_Shape):
    """A form field's default and the values it takes (only the keys that apply are given)."""

    default: Any
    min: int | float | None = None
    max: int | float | None = None
    exclusive_min: bool | None = Field(default=None, description="true when the minimum itself is not allowed")
    choices: list[str] | None = None


class Technique(_Shape):
    """Compose, Enhance or Extend: its models, its default model and its controls' defaults and limits."""

    name: str
    title: str
    architectures: list[str]
    about: str
    endpoint: str = Field(description="the route that runs it")
    default_model: str | None
    models: list[Composer]
    fields: dict[str, Limits]


class Choice(_Shape):
    """One choice of a select: the value sent and the label shown."""

    value: str
    label: str


class GenreChoice(_Shape):
    """A genre of the training form: its architecture and whether its dataset is built."""

    value: str
    architecture: str
    dataset_built: bool | None


class TrainingOptions(_Shape):
    """The training form: architectures, genres, losses, and each field's default and allowed range."""

    architectures: list[Choice]
    genres: list[GenreChoice]
    losses: list[Choice]
    fields: dict[str, Limits]


class DatasetBuildStatus(DatasetBuild):
    """A dataset build with the genre's dataset as it is now."""

    dataset: Dataset


QueuedJob.model_rebuild()
