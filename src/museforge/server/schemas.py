"""Request bodies of the studio API, with the limits the web page shows next to each field."""

from __future__ import annotations

from typing import Any

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
            values["model"] = self.architecture
        if self.model_config_overrides is not None:
            values["model_config"] = dict(self.model_config_overrides)
        return values


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
    name: str | None = Field(None, max_length=64)


class ComposeRequest(_Body):
    """Compose: one melody (a sample's name or an uploaded/recorded melody's id) and a model."""

    melody: str | None = Field(None, description="a sample melody name, e.g. twinkle", max_length=64)
    melody_id: str | None = Field(None, description="id of an uploaded or recorded melody", max_length=32)
    model: str = Field(description="a genre (its pretrained model) or a trained model's name", max_length=64)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    wav: bool = Field(True, description="also render audio")
    png: bool = Field(True, description="also draw the piano roll as PNG")
