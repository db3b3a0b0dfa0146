"""The training run's settings: one dataclass, checked up front so that a bad value fails before any work.

Defaults follow the references (MuseGAN, DeepComposer's U-Net GAN): WGAN-GP with a gradient penalty of 10,
5 critic updates per generator update, Adam with learning rate 1e-3 and betas (0.5, 0.9), batches of 64.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from museforge.datasets.sources import GENRES
from museforge.errors import MuseforgeError
from museforge.model_files import ARCHITECTURES, GAN_ARCHITECTURES, validate_name

#: GAN loss functions, see :mod:`museforge.training.losses`.
LOSSES: tuple[str, ...] = ("wgan-gp", "hinge", "nonsaturating", "lsgan")
#: The one loss of each model that is not a GAN: the AR-CNN's binary cross-entropy over cells (which notes belong
#: in the clean roll), the Transformer's cross-entropy over next tokens.
SUPERVISED_LOSSES: dict[str, str] = {"arcnn": "bce", "transformer": "cross-entropy"}
#: The GAN settings whose defaults the other models replace by their own.
GAN_DEFAULTS: dict[str, Any] = {"update_ratio": 5, "loss": "wgan-gp"}
#: Devices a run may ask for; ``auto`` is CUDA when available, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: Gradient penalty weight used by ``wgan-gp`` unless set (Gulrajani et al. 2017, MuseGAN).
DEFAULT_GRADIENT_PENALTY = 10.0

#: Model sizes per architecture: ``model_config`` keys applied under any the run gives explicitly. ``small`` is
#: the shipped models' recipe (``scripts/train_pretrained.py``: minutes on a laptop CPU), ``large`` the
#: architecture's own defaults (the references' sizes: hours on a CPU, meant for a GPU), ``medium`` between.
SIZE_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "small": {
        "musegan": {"base_channels": 32, "critic_base_channels": 24, "temporal_hidden": 64},
        "unet": {"base_channels": 16, "max_channels": 128, "critic_base_channels": 16},
        "arcnn": {"base_channels": 32, "max_channels": 128, "depth": 3},
        "transformer": {"n_layer": 4, "n_head": 4, "n_embd": 128},
    },
    "medium": {
        "musegan": {"base_channels": 48, "critic_base_channels": 32, "temporal_hidden": 96},
        "unet": {"base_channels": 32, "max_channels": 256, "critic_base_channels": 24},
        "arcnn": {"base_channels": 48, "max_channels": 192, "depth": 4},
        "transformer": {"n_layer": 6, "n_head": 8, "n_embd": 256},
    },
    "large": {
        "musegan": {},
        "unet": {},
        "arcnn": {"base_channels": 64, "max_channels": 256, "depth": 4},
        "transformer": {"n_layer": 8, "n_head": 8, "n_embd": 384},
    },
}
SIZES: tuple[str, ...] = tuple(SIZE_PRESETS)


def default_size(device: str) -> str:
    """The size a run gets when it names none: ``small`` on a CPU, ``medium`` on a GPU."""
    if device == "cpu":
        return "small"
    if device == "cuda":
        return "medium"
    import torch

    return "medium" if torch.cuda.is_available() else "small"


#: Fields a resumed run must share with the stored run (they decide the weights).
LOCKED_ON_RESUME: tuple[str, ...] = (
    "size",
    "architecture",
    "genre",
    "betas",
    "update_ratio",
    "loss",
    "gradient_penalty",
    "batch_size",
    "seed",
    "augment",
    "common_key",
    "model_config",
    "ema",
)


#: Settings stored under another name by earlier versions: ``{old: new}``.
RENAMED: dict[str, str] = {"model": "architecture"}


def upgrade_hyperparameters(data: dict[str, Any]) -> dict[str, Any]:
    """Stored settings (a card's ``hyperparameters``, a job's config) under today's names."""
    upgraded = dict(data)
    for old, new in RENAMED.items():
        if old in upgraded:
            upgraded.setdefault(new, upgraded.pop(old))
    return upgraded


#: What a GAN's critic may be shown of the generator's output (``TrainConfig.critic_sees``).
CRITIC_INPUTS = ("probabilities", "notes")
#: Settings added after models were first trained, with the value those earlier models were trained with: a card
#: that lacks one means this value (the dataclass default is what new runs get).
EARLIER_DEFAULTS: dict[str, Any] = {"common_key": False, "size": "large", "ema": 0.0, "critic_sees": "probabilities"}


@dataclass
class TrainConfig:
    """Every setting of a training run.

    Attributes
    ----------
    name : str
        Model name, ``[A-Za-z0-9_-]{1,64}``; the model lives in ``models_dir() / name``.
    genre : str
        Dataset to train on (``museforge datasets build GENRE`` first); the Transformer also takes several joined
        by ``+`` (``pop+jazz``), whose melodies it learns together.
    architecture : {"musegan", "unet", "arcnn", "transformer"}
        Architecture. The AR-CNN (Enhance) and the Transformer (Extend) are not GANs: their ``update_ratio`` is 1,
        their ``loss`` their own (``bce``, ``cross-entropy``), with no penalty or augmentation (the GAN defaults give
        way to these; a GAN value given on purpose is an error).
    epochs : int
        Passes over the training windows.
    learning_rate : float
        Adam learning rate of both networks.
    betas : tuple of float
        Adam betas.
    update_ratio : int
        Critic updates per generator update; each critic update takes one batch.
    loss : {"wgan-gp", "hinge", "nonsaturating", "lsgan"}
        Adversarial loss.
    gradient_penalty : float or None
        Weight of the gradient penalty on the critic; None means 10 for ``wgan-gp`` and 0 for the others.
    batch_size : int
        Windows per batch.
    max_steps : int or None
        Stop after this many generator updates in total (counting those before a resume).
    seed : int
        Seed of everything random: weights, batch order, augmentation, noise.
    device : {"auto", "cpu", "cuda"}
        Where to train.
    resume : bool
        Continue the model ``name`` from its last checkpoint instead of starting a new one.
    augment : bool
        Transpose each training window by a random number of semitones (pitched tracks only) within the
        dataset's augmentation range.
    common_key : bool
        Train on windows moved so that their melody's scale is C major / A minor, and compose by moving the
        melody there and the accompaniment back (see :mod:`museforge.music.keys`); replaces ``augment``.
    size : {"small", "medium", "large"} or None
        Model size (:data:`SIZE_PRESETS`); None: ``small`` on a CPU, ``medium`` on a GPU. Its keys go under
        ``model_config`` (an explicit key wins), so after construction ``model_config`` holds both.
    model_config : dict
        Overrides of the architecture's default config (e.g. ``{"base_channels": 4}`` for a tiny model);
        the data decide ``n_tracks``, ``steps_per_bar``, ``n_pitches`` and ``lowest_pitch``.
    checkpoint_every : int
        Save a checkpoint every this many generator updates (and always at the end of an epoch).
    samples_per_epoch : int
        Validation windows rendered (MIDI + PNG, one after the other) after each epoch; 0 for none.
    metrics_samples : int
        Generated windows whose music metrics are logged after each epoch.
    compile : bool
        Run the networks through ``torch.compile`` on CUDA (ignored on the CPU; the gradient penalty's
        double backward always runs eagerly).
    autocast : bool
        bf16 autocast where it pays: CUDA, and CPUs with native bf16 for networks of 200k parameters or more
        (``museforge.training.step.bf16_pays``); False trains in float32 everywhere.
    distributed : bool
        Train with several processes started by ``torchrun`` (DistributedDataParallel: NCCL on CUDA, Gloo
        on the CPU); ``batch_size`` is then per process. Recorded in the card but not locked: a run may be
        resumed with or without it (and, between epochs, with another number of processes).
    voice_leading : float
        Weight of a voice-leading term in the generator's loss: the expected parallel fifths and octaves per window
        between the melody and the generated voices (``museforge.training.losses.parallel_motion``), for
        four-part writing (the Bach model); 0 (the default) for none. Not locked: a run may go on with another.
    clusters : float
        GANs: weight of a term in the generator's loss against semitone clusters: the expected number of
        neighbouring keys sounding together in its pitched tracks per window
        (``museforge.training.losses.semitone_clusters``); 0 (the default) for none. Not locked.
    drum_profile : float
        GANs: weight of a term in the generator's loss that matches the batch's generated drum map (the share of
        windows whose decoded drums hit, per step and kit key) to the real one of the same windows
        (``museforge.training.losses.drum_profile_gap``); 0 (the default) for none. Not locked.
    ema : float
        GANs: the decay of an exponential moving average of the generator's weights
        (:mod:`museforge.training.averaging`), which the run then samples, logs and ships; 0 (the default) for
        none, else in (0, 1), e.g. 0.999. Locked on resume (the average's weights are part of the checkpoint).
    critic_sees : {"probabilities", "notes"}
        GANs: what the critic is shown of the generator's output: its probabilities (the default), or the notes
        they decode to (0 or 1, as real music is, with a straight-through gradient:
        :func:`museforge.training.step.shown_to_critic`). Not locked.
    """

    name: str
    genre: str
    architecture: str = "musegan"
    epochs: int = 10
    learning_rate: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    update_ratio: int = 5
    loss: str = "wgan-gp"
    gradient_penalty: float | None = None
    batch_size: int = 64
    max_steps: int | None = None
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    augment: bool = True
    common_key: bool = True
    size: str | None = None
    model_config: dict[str, Any] = field(default_factory=dict)
    checkpoint_every: int = 500
    samples_per_epoch: int = 2
    metrics_samples: int = 64
    compile: bool = False
    autocast: bool = True
    distributed: bool = False
    voice_leading: float = 0.0
    clusters: float = 0.0
    drum_profile: float = 0.0
    ema: float = 0.0
    critic_sees: str = "probabilities"

    def __post_init__(self) -> None:
        if self.size is None and isinstance(self.device, str):
            self.size = default_size(self.device)
        if isinstance(self.size, str):
            self.size = self.size.lower()
        preset = SIZE_PRESETS.get(str(self.size), {}).get(str(self.architecture), {})
        if preset and isinstance(self.model_config, dict):
            self.model_config = {**preset, **self.model_config}
        # the AR-CNN and the Transformer learn from the data directly: one update per batch, their own loss; the
        # GAN defaults give way to theirs (a GAN setting given on purpose is refused by validate)
        if self.architecture in SUPERVISED_LOSSES:
            if self.update_ratio == GAN_DEFAULTS["update_ratio"]:
                self.update_ratio = 1
            if self.loss == GAN_DEFAULTS["loss"]:
                self.loss = SUPERVISED_LOSSES[self.architecture]
            if self.gradient_penalty is None:
                self.gradient_penalty = 0.0
            self.augment = False

    @property
    def is_gan(self) -> bool:
        """Whether the architecture is a GAN (generator and critic)."""
        return self.architecture in GAN_ARCHITECTURES

    @property
    def penalty_weight(self) -> float:
        """The gradient penalty weight in force (``gradient_penalty`` or the loss's default)."""
        if self.gradient_penalty is not None:
            return float(self.gradient_penalty)
        return DEFAULT_GRADIENT_PENALTY if self.loss == "wgan-gp" else 0.0

    def validate(self) -> TrainConfig:
        """Check every value; raise :class:`MuseforgeError` naming the first bad one. Returns ``self``."""
        validate_name(self.name)

        # the Transformer may learn the melodies of several genres at once: "pop+jazz"
        parts = (
            self.genre.split("+")
            if isinstance(self.genre, str) and self.architecture == "transformer"
            else [self.genre]
        )
        for genre in parts:
            if genre not in GENRES:
                raise MuseforgeError(f"unknown genre {genre!r} (choose from {', '.join(GENRES)})")
        _choice("--model", self.architecture, ARCHITECTURES)
        _choice("--loss", self.loss, LOSSES if self.is_gan else (SUPERVISED_LOSSES[self.architecture],))
        _choice("--device", self.device, DEVICES)
        _choice("--size", self.size, SIZES)
        _integer("--epochs", self.epochs, 1)
        _integer("--update-ratio", self.update_ratio, 1)
        if not self.is_gan and self.update_ratio != 1:
            raise MuseforgeError(f"--update-ratio is for GANs: {self.architecture} makes one update per batch")
        if not self.is_gan and self.gradient_penalty:
            raise MuseforgeError(f"gradient_penalty is for GANs: {self.architecture} has no critic")
        _integer("--batch-size", self.batch_size, 1)
        _integer("--seed", self.seed, 0)
        _integer("checkpoint_every", self.checkpoint_every, 1)
        _integer("samples_per_epoch", self.samples_per_epoch, 0)
        _integer("metrics_samples", self.metrics_samples, 1)
        if self.max_steps is not None:
            _integer("--max-steps", self.max_steps, 1)
        _positive_float("--learning-rate", self.learning_rate)
        for flag, weight in (
            ("--voice-leading", self.voice_leading),
            ("--clusters", self.clusters),
            ("--drum-profile", self.drum_profile),
        ):
            _number(flag, weight)
            if weight < 0 or (weight and not self.is_gan):
                raise MuseforgeError(f"{flag} is a GAN generator's term, >= 0: got {weight}")
        _number("--ema", self.ema)
        if self.ema and (not 0.0 < self.ema < 1.0 or not self.is_gan):
            raise MuseforgeError(
                f"--ema is the decay of a GAN generator's weight average, 0 (none) or between 0 and 1: got {self.ema}"
            )
        _choice("--critic-sees", self.critic_sees, CRITIC_INPUTS)
        if self.critic_sees != "probabilities" and not self.is_gan:
            raise MuseforgeError(f"--critic-sees is for GANs: {self.architecture} has no critic")
        if self.gradient_penalty is not None:
            _number("gradient_penalty", self.gradient_penalty)
            if self.gradient_penalty < 0:
                raise MuseforgeError(f"gradient_penalty must be >= 0, got {self.gradient_penalty}")
        if not isinstance(self.betas, tuple | list) or len(self.betas) != 2:
            raise MuseforgeError(f"betas must be two numbers, got {self.betas!r}")
        for beta in self.betas:
            _number("betas", beta)
            if not 0.0 <= beta < 1.0:
                raise MuseforgeError(f"betas must lie in [0, 1), got {tuple(self.betas)}")
        if not isinstance(self.model_config, dict):
            raise MuseforgeError(f"model_config must be a dict, got {type(self.model_config).__name__}")
        for flag in ("resume", "augment", "common_key", "compile", "autocast", "distributed"):
            if not isinstance(getattr(self, flag), bool):
                raise MuseforgeError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        return self

    def hyperparameters(self) -> dict[str, Any]:
        """The settings stored with the model (all but ``name`` and ``resume``), JSON-ready."""
        data = dataclasses.asdict(self)
        for key in ("name", "resume"):
            data.pop(key)
        data["betas"] = list(self.betas)
        data["gradient_penalty"] = self.penalty_weight
        return data

    @classmethod
    def from_hyperparameters(cls, name: str, data: dict[str, Any], **changes: Any) -> TrainConfig:
        """Rebuild a config from :meth:`hyperparameters` output (e.g. a model card), with ``changes`` applied."""
        known = {f.name for f in dataclasses.fields(cls)}
        data = upgrade_hyperparameters(data)
        values = {**EARLIER_DEFAULTS, **{k: v for k, v in data.items() if k in known}}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        values.update(changes)
        return cls(name=name, **values)


def _choice(flag: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise MuseforgeError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")


def _integer(flag: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MuseforgeError(f"{flag} must be a whole number, got {value!r}")
    if value < minimum:
        raise MuseforgeError(f"{flag} must be >= {minimum}, got {value}")


def _number(flag: str, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise MuseforgeError(f"{flag} must be a finite number, got {value!r}")


def _positive_float(flag: str, value: Any) -> None:
    _number(flag, value)
    if value <= 0:
        raise MuseforgeError(f"{flag} must be > 0, got {value}")
