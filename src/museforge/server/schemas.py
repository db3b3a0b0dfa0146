"""Request bodies of the studio API, with the limits the web page shows next to each field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Limits of the training form: ``(minimum, maximum)``; the defaults come from TrainConfig.
EPOCHS_RANGE = (1, 500)
LEARNING_RATE_RANGE = (0.00001, 0.1)
UPDATE_RATIO_RANGE = (1, 10)
BATCH_SIZE_RANGE = (1, 256)
MAX_STEPS_RANGE = (1, 10_000_000)
#: Longest keyboard recording in bars, most notes in it.
MAX_RECORDED_BARS = 64
MAX_RECORDED_NOTES = 2000
#: Largest seed of a composition.
SEED_MAX = 2**32 - 1

#: The Enhance and Extend controls: defaults and limits, the same as :mod:`museforge.pipelines.enhance` and
#: :mod:`museforge.pipelines.extend` check (kept here so the API's schema needs no torch; a test holds them equal).
DEFAULT_ENHANCE_MODEL = "bach"
DEFAULT_EXTEND_MODEL = "melody"
ENHANCE_DEFAULTS: dict[str, Any] = {"iterations": 32, "max_add": 4.0, "max_remove": 0.5, "temperature": 1.0}
EXTEND_DEFAULTS: dict[str, Any] = {"bars": 8, "temperature": 0.9, "top_k": 20}
ENHANCE_ITERATIONS_RANGE = (1, 1000)
MAX_ADD_RANGE = (0.0, 100.0)
MAX_REMOVE_RANGE = (0.0, 1.0)
#: Temperature is above the first bound and at most the second.
TEMPERATURE_RANGE = (0.0, 10.0)
EXTEND_BARS_RANGE = (1, 64)
TOP_K_RANGE = (0, 256)
#: Highest bar number an Enhance bar range may name (the pipelines' 512 bars, in the shortest meter).
MAX_BAR_NUMBER = 4096


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainRequest(_Body):
    """A new training job: the DeepComposer fields plus a few for small or reproducible runs."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(description="model name: 1-64 letters, digits, '_' or '-'", max_length=64)
    genre: str = Field(description="dataset to train on (bach, pop, rock, jazz, symphony)", max_length=32)
    architecture: str | None = Field(
        None, description="musegan or unet; default: the genre's own architecture", max_length=32
    )
    epochs: int | None = Field(None, ge=EPOCHS_RANGE[0], le=EPOCHS_RANGE[1])
    learning_rate: float | None = Field(None, ge=LEARNING_RATE_RANGE[0], le=LEARNING_RATE_RANGE[1])
    update_ratio: int | None = Field(
        None, ge=UPDATE_RATIO_RANGE[0], le=UPDATE_RATIO_RANGE[1], description="critic updates per generator update"
    )
    loss: str | None = Field(None, description="wgan-gp, hinge, nonsaturating or lsgan", max_length=32)
    batch_size: int | None = Field(None, ge=BATCH_SIZE_RANGE[0], le=BATCH_SIZE_RANGE[1])
    voice_leading: float | None = Field(
        None, ge=0.0, le=100.0, description="four-voice GANs (bach): weight of a loss term against parallel fifths"
    )
    clusters: float | None = Field(
        None, ge=0.0, le=100.0, description="GANs: weight of a loss term against semitone clusters (0: none)"
    )
    drum_profile: float | None = Field(
        None, ge=0.0, le=100.0, description="GANs with drums: weight of a loss term matching the real drums' map"
    )
    ema: float | None = Field(
        None, ge=0.0, lt=1.0, description="GANs: decay of a moving average of the generator's weights (0: none)"
    )
    critic_sees: Literal["probabilities", "notes"] | None = Field(
        None, description="GANs: what the critic is shown of the generator's output (default probabilities)"
    )
    size: str | None = Field(
        None,
        description="small (the shipped recipe: minutes on a CPU), medium, or large (the reference size, for a GPU); "
        "default small on a CPU",
        max_length=16,
    )
    max_steps: int | None = Field(None, ge=MAX_STEPS_RANGE[0], le=MAX_STEPS_RANGE[1])
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    model_config_overrides: dict[str, int | float | bool | str] | None = Field(
        None,
        alias="model_config",
        description='architecture settings, e.g. {"base_channels": 4} for a tiny model',
        max_length=16,
    )
    samples_per_epoch: int | None = Field(None, ge=0, le=8)
    metrics_samples: int | None = Field(None, ge=1, le=512)
    checkpoint_every: int | None = Field(None, ge=1, le=1_000_000)

    def config_fields(self) -> dict[str, Any]:
        """The TrainConfig keyword arguments this request sets (unset fields keep TrainConfig's defaults)."""
        values = self.model_dump(exclude_none=True, exclude={"architecture", "model_config_overrides"})
        if self.architecture is not None:
            values["architecture"] = self.architecture
        if self.model_config_overrides is not None:
            values["model_config"] = dict(self.model_config_overrides)
        return values


class DatasetBuildRequest(_Body):
    """Build a genre's training windows from a folder on the server (default: the library's source)."""

    source: str | None = Field(
        None,
        max_length=4096,
        description="a folder laid out like ../shared/datasets (or the genre's folder in it); default: music21's "
        "chorales for bach, the downloads folder for the others",
    )
    limit: int | None = Field(None, ge=1, le=100_000, description="read at most this many songs (a quick build)")


class RecordedNote(_Body):
    """One note played on the on-screen keyboard, in quarter-note beats from the first bar line."""

    pitch: int = Field(ge=0, le=127)
    start_beat: float = Field(ge=0, le=MAX_RECORDED_BARS * 8)
    duration_beats: float = Field(gt=0, le=64)


class RecordedMelody(_Body):
    """A keyboard recording: tempo, meter, length in bars and the notes played."""

    tempo: float = Field(ge=30, le=300, description="quarter notes per minute")
    notes: list[RecordedNote] = Field(min_length=1, max_length=MAX_RECORDED_NOTES)
    bars: int | None = Field(None, ge=1, le=MAX_RECORDED_BARS, description="length; default: up to the last note")
    beats_per_bar: int = Field(4, ge=2, le=7, description="quarter notes per bar (time signature N/4)")
    time_signature: tuple[Annotated[int, Field(ge=1, le=12)], Literal[2, 4, 8, 16]] | None = Field(
        None, description="the meter, e.g. [3, 4] or [6, 8]; wins over beats_per_bar"
    )
    name: str | None = Field(None, max_length=64)

    def meter(self) -> tuple[int, int]:
        """The recording's time signature ``(numerator, denominator)``."""
        return tuple(self.time_signature) if self.time_signature else (self.beats_per_bar, 4)  # type: ignore[return-value]


class MelodySource(_Body):
    """Where the music comes from: exactly one of a sample, an uploaded/recorded melody, or a stored composition."""

    melody: str | None = Field(None, description="a sample melody name, e.g. twinkle", max_length=64)
    melody_id: str | None = Field(None, description="id of an uploaded or recorded melody", max_length=32)
    composition_id: str | None = Field(
        None,
        description="id of a stored composition (composed, enhanced or extended): its MIDI file is the input",
        max_length=32,
    )
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    wav: bool = Field(True, description="also render audio")
    png: bool = Field(True, description="also draw the piano roll as PNG")


Role = Annotated[str, Field(min_length=1, max_length=32)]
Program = Annotated[int, Field(ge=0, le=127)]
#: Output tempo (quarter notes per minute) and melody transposition (semitones) limits of compose.
TEMPO_RANGE = (20.0, 300.0)
TRANSPOSE_RANGE = (-12, 12)


class ArrangeFields(BaseModel):
    """What the musician controls in an accompaniment: which tracks, their instruments."""

    programs: dict[Role, Program] | None = Field(
        None,
        description='General MIDI program (0-127) per accompaniment role, e.g. {"piano": 4, "bass": 33}; '
        "default: the model's (GET /api/composers/{model}/instruments lists defaults and suggestions)",
        max_length=16,
    )


class ComposeOptions(ArrangeFields):
    """Compose's arrangement controls: tracks, instruments, tempo, key, melody track."""

    tracks: list[Role] | None = Field(
        None, description="accompaniment roles to generate (default: all of the model's)", max_length=16
    )
    tempo: float | None = Field(
        None, ge=TEMPO_RANGE[0], le=TEMPO_RANGE[1], description="output tempo in bpm (default: the melody's)"
    )
    transpose: int = Field(
        0, ge=TRANSPOSE_RANGE[0], le=TRANSPOSE_RANGE[1], description="move the melody (and so the key) by semitones"
    )
    melody_track: Annotated[int, Field(ge=0, le=65535)] | Annotated[str, Field(max_length=64)] | None = Field(
        None, description="the track of an uploaded file that is the melody: its index or name (default: a guess)"
    )
    keep_tracks: bool = Field(
        False,
        description="keep the uploaded file's other tracks in the result as they are (the model reads the melody "
        "alone and writes its own accompaniment)",
    )


class RegenerateRequest(_Body, ArrangeFields):
    """Generate some tracks (or some bars of them) of a composition again; everything else is kept note for note.

    With no ``tracks``, only the ``programs`` change: the same notes on other instruments.
    """

    model: str | None = Field(
        None,
        description="the model that composed it (default: that one; another model is refused)",
        max_length=64,
    )
    tracks: list[Role] = Field(default_factory=list, description="accompaniment roles to generate again", max_length=16)
    bars: (
        tuple[Annotated[int, Field(ge=1, le=MAX_BAR_NUMBER)], Annotated[int, Field(ge=1, le=MAX_BAR_NUMBER)]] | None
    ) = Field(None, description="first and last bar to generate again (1-based, inclusive); default all")
    seed: int | None = Field(None, ge=0, le=SEED_MAX, description="the new noise (default random)")
    with_repeats: bool = Field(
        False, description="with bars: also the later bars whose melody repeats them (they follow the new bars)"
    )
    variation: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="where the melody repeats: 0 the same accompaniment, 1 new (default: the model's)",
    )
    wav: bool = Field(True, description="also render audio")
    png: bool = Field(True, description="also draw the piano roll as PNG")


class ComposeRequest(MelodySource, ComposeOptions):
    """Compose: one melody (a sample, an uploaded/recorded melody, or a composition's melody track) and a model."""

    model: str = Field(description="a genre (its pretrained model) or a trained model's name", max_length=64)
    variation: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="where the melody repeats, 0 repeats the accompaniment note for note, 1 writes it afresh "
        "(default: the model's, measured on its genre's real songs)",
    )
    rewrite: int = Field(
        0,
        ge=0,
        le=ENHANCE_ITERATIONS_RANGE[1],
        description="then revise the accompaniment with the genre's Enhance model in this many iterations (bach)",
    )
    parallels: Literal["forbid", "allow"] | None = Field(
        None,
        description="consecutive fifths and octaves between single lines and the melody: forbid or allow; default "
        "the model's (forbidden in chorales)",
    )


class EnhanceRequest(MelodySource):
    """Enhance: the AR-CNN rewrites the music (DeepComposer's controls, :func:`museforge.pipelines.enhance.enhance`).

    A bare melody gets the model's voices written under it; a composition gets ``tracks`` over ``bars`` rewritten.
    """

    model: str = Field(
        DEFAULT_ENHANCE_MODEL, description="a shipped Enhance model or a trained arcnn model", max_length=64
    )
    iterations: int = Field(
        ENHANCE_DEFAULTS["iterations"],
        ge=ENHANCE_ITERATIONS_RANGE[0],
        le=ENHANCE_ITERATIONS_RANGE[1],
        description="rounds of rewriting (more: further from the input, slower)",
    )
    max_add: float = Field(
        ENHANCE_DEFAULTS["max_add"],
        ge=MAX_ADD_RANGE[0],
        le=MAX_ADD_RANGE[1],
        description="most notes added, as a multiple of the input's notes (4 = 400 %)",
    )
    max_remove: float = Field(
        ENHANCE_DEFAULTS["max_remove"],
        ge=MAX_REMOVE_RANGE[0],
        le=MAX_REMOVE_RANGE[1],
        description="largest share of the input's notes (where it may change) removed (0.5 = 50 %)",
    )
    temperature: float = Field(
        ENHANCE_DEFAULTS["temperature"],
        gt=TEMPERATURE_RANGE[0],
        le=TEMPERATURE_RANGE[1],
        description="creative risk: above 1 bolder, below 1 safer",
    )
    tracks: list[Annotated[str, Field(max_length=32)]] | None = Field(
        None,
        description='the model\'s track roles to rewrite ("melody" allowed); default every accompaniment track',
        max_length=16,
    )
    bars: (
        tuple[Annotated[int, Field(ge=1, le=MAX_BAR_NUMBER)], Annotated[int, Field(ge=1, le=MAX_BAR_NUMBER)]] | None
    ) = Field(None, description="first and last bar to rewrite (1-based, inclusive); default all")
    parallels: Literal["forbid", "allow"] | None = Field(
        None,
        description="consecutive fifths and octaves between single lines: forbid or allow; default the model's "
        "(forbidden in chorales)",
    )


class ExtendRequest(MelodySource):
    """Extend: the melody Transformer continues the melody (see :func:`museforge.pipelines.extend.extend`)."""

    model: str = Field(
        DEFAULT_EXTEND_MODEL, description="a shipped Extend model or a trained transformer model", max_length=64
    )
    bars: int = Field(
        EXTEND_DEFAULTS["bars"], ge=EXTEND_BARS_RANGE[0], le=EXTEND_BARS_RANGE[1], description="bars to add"
    )
    temperature: float = Field(
        EXTEND_DEFAULTS["temperature"],
        gt=TEMPERATURE_RANGE[0],
        le=TEMPERATURE_RANGE[1],
        description="creative risk: above 1 bolder, below 1 safer",
    )
    top_k: int = Field(
        EXTEND_DEFAULTS["top_k"],
        ge=TOP_K_RANGE[0],
        le=TOP_K_RANGE[1],
        description="sample among the k likeliest tokens (0: no limit)",
    )
