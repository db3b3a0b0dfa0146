"""What the trainer trains: one *task* per kind of model, behind one small interface.

The trainer (:mod:`museforge.training.trainer`) owns the loop, checkpoints, logs, stop and resume; a task owns the
rest: its data, its networks and optimizers, one update, and what is logged about the music after each epoch.

- :class:`GanTask`: the GANs (MuseGAN, U-Net): ``update_ratio`` critic updates then a generator update.
- :class:`~museforge.training.arcnn_task.ArcnnTask`: the AR-CNN of Enhance, taught to restore corrupted rolls.
- :class:`~museforge.training.transformer_task.TransformerTask`: the melody Transformer of Extend, next tokens.

Every network is saved as ``<key>.safetensors`` in the model folder; the one under ``generator`` makes the music
(the GAN's generator, the AR-CNN, the Transformer) and is what a shipped model holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from museforge.errors import MuseforgeError
from museforge.models.registry import build_gan, build_network, config_to_dict, make_config
from museforge.training.averaging import WeightAverage
from museforge.training.config import TrainConfig
from museforge.training.data import TrainingData
from museforge.training.distributed import Context
from museforge.training.evaluation import Evaluator, roll_metrics
from museforge.training.facts import DataFacts
from museforge.training.losses import drum_profile_gap, parallel_motion, semitone_clusters
from museforge.training.step import SUM_KEYS, AdversarialStep, make_optimizer

#: Training windows whose metrics stand for the training data in the logs.
DATA_METRIC_WINDOWS = 1024
#: Where a GAN run with a weight average (``--ema``) keeps the generator its optimizer updates; ``generator`` is
#: then the average.
RAW_GENERATOR = "generator_raw"
#: Training windows a weight average's batch-norm statistics are computed over (the same ones each time).
STATISTICS_WINDOWS = 1024


class Task:
    """The interface the trainer uses (see the module docstring).

    Attributes
    ----------
    sum_keys : tuple of str
        Names of the per-step values :meth:`step` returns, logged per epoch as their means.
    short_names : tuple of str
        Labels of the first values in the progress bar.
    data : object
        ``facts`` (a ``to_dict()`` for the card), ``n_train`` (items per epoch) and ``batch(indices, rng)``.
    networks, optimizers : dict
        Saved in every checkpoint under their keys; ``networks["generator"]`` makes the music.
    model_config : dict
        The network's full config (the card's ``model_config``).
    """

    sum_keys: tuple[str, ...]
    short_names: tuple[str, ...]
    data: Any
    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    model_config: dict[str, Any]

    def step(self, indices: Tensor, rng: torch.Generator) -> Tensor:
        """One update on the batches ``indices (update_ratio, B)``; the ``(len(sum_keys),)`` values on the device."""
        raise NotImplementedError

    def loss_log(self, losses: dict[str, float]) -> dict[str, float]:
        """What an epoch's record holds of its mean losses (``{sum_key: mean}``): the same, plus what a task
        derives from them."""
        return losses

    def data_metrics(self) -> dict[str, Any]:
        """Metrics of the training data, stored once in the card (``train_data_metrics``)."""
        raise NotImplementedError

    def settle(self) -> None:
        """Bring the network that makes the music up to date before it is measured or saved (a weight average's
        batch-norm statistics); nothing by default."""

    def epoch_log(self, card: dict[str, Any]) -> dict[str, Any]:
        """What the epoch's record holds about the music (at least ``metrics``), the networks in eval mode."""
        raise NotImplementedError

    def write_sample(self, card: dict[str, Any], folder: Path, epoch: int, title: str) -> dict[str, str]:
        """Write the epoch's sample (MIDI, PNG) to ``folder``; their names relative to the model folder."""
        raise NotImplementedError


class OneNetworkTask(Task):
    """A model with one network and one optimizer (the AR-CNN, the Transformer): the common set-up."""

    sum_keys = ("loss",)
    short_names = ("loss",)

    def _build_network(
        self, config: TrainConfig, device: torch.device, ctx: Context, overrides: dict[str, Any]
    ) -> None:
        """Build the network from ``config.seed`` with the data's ``overrides``; its DDP wrapper and optimizer."""

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            network, model_cfg = build_network(config.architecture, overrides)
        self.model_config = config_to_dict(model_cfg)
        self.network = network.to(device).train()
        self.forward = ctx.wrap(self.network) if ctx.distributed else self.network
        self.networks = {"generator": self.network}
        betas = (float(config.betas[0]), float(config.betas[1]))
        self.optimizers = {"generator": make_optimizer(self.network, config.learning_rate, betas)}
        self.seed = config.seed

    def _update(self, loss: Tensor, clip: float | None = None) -> Tensor:
        """Backpropagate ``loss`` and step the optimizer (gradient norm clipped at ``clip``); the loss ``(1,)``."""
        optimizer = self.optimizers["generator"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), clip)
        optimizer.step()
        return loss.detach().view(1)


class GanTask(Task):
    """A GAN: ``update_ratio`` critic updates, then one generator update (:class:`AdversarialStep`)."""

    sum_keys = SUM_KEYS
    short_names = ("g", "d")

    def __init__(self, config: TrainConfig, device: torch.device, ctx: Context) -> None:

        model_defaults = make_config(
            config.architecture, {k: v for k, v in config.model_config.items() if k == "n_bars"}
        )
        # a new GAN reads the metric grid unless told not to, as the shipped recipes do; a resumed run keeps what it
        # was built with
        meter_aware = bool(config.model_config.get("meter_aware", not config.resume))
        self.data = TrainingData(
            config.genre,
            model_defaults.n_bars,
            device,
            augment=config.augment,
            common_key=config.common_key,
            all_meters=meter_aware,
        )
        if not config.resume:
            # the networks read each window's metric grid (its meter), and a MuseGAN's drums play a bar pattern with
            # learnt variation (docs/quality.md); stored with the run, so a resume rebuilds the same networks, and
            # models trained before keep theirs
            defaults: dict[str, object] = {"meter_aware": True}
            if config.architecture == "musegan":
                defaults["pattern_tracks"] = ",".join(
                    str(k) for k, t in enumerate(self.data.facts.tracks) if t["is_drum"]
                )
            config = dataclasses.replace(config, model_config={**defaults, **config.model_config})
        self.config = config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            generator, critic, model_cfg = build_gan(
                config.architecture, self.data.model_overrides(config.model_config)
            )
        self.model_config = config_to_dict(model_cfg)
        self.generator = generator.to(device).train()
        self.critic = critic.to(device).train()
        betas = (float(config.betas[0]), float(config.betas[1]))
        self.optimizers = {
            "generator": make_optimizer(self.generator, config.learning_rate, betas),
            "critic": make_optimizer(self.critic, config.learning_rate, betas),
        }
        # with an average, it is the generator that writes the music (samples, logs, the shipped file); the
        # optimizer's own network is saved beside it as generator_raw
        self.average = WeightAverage(self.generator, config.ema, self.optimizers["generator"]) if config.ema else None
        self.music_generator = self.average.average if self.average else self.generator
        self.networks = (
            {"generator": self.music_generator, RAW_GENERATOR: self.generator, "critic": self.critic}
            if self.average
            else {"generator": self.generator, "critic": self.critic}
        )
        self.evaluator = Evaluator(
            self.data,
            self.generator.noise_dim,
            config.seed,
            config.metrics_samples,
            config.samples_per_epoch,
            config.batch_size,
        )
        self.stepper = AdversarialStep(
            self.generator,
            self.critic,
            self.optimizers["generator"],
            self.optimizers["critic"],
            loss=config.loss,
            penalty_weight=config.penalty_weight,
            autocast=config.autocast,
            compile=config.compile and device.type == "cuda",  # CPU runs stay eager (and deterministic)
            generator_forward=ctx.wrap(self.generator) if ctx.distributed else None,
            critic_forward=ctx.wrap(self.critic) if ctx.distributed else None,
            generator_term=self._generator_term(config, self.data.facts),
            critic_sees_notes=config.critic_sees == "notes",
        )

    @staticmethod
    def _generator_term(config: TrainConfig, facts: DataFacts) -> Callable[[Tensor, Tensor, Tensor], Tensor] | None:
        """The terms the generator is taught with beside the critic's judgement, weighted: ``voice_leading``
        times the expected parallel fifths and octaves per window, ``clusters`` times the expected semitone
        clusters per window in its pitched tracks, ``drum_profile`` times the gap between the batch's generated
        and real drum maps (None when every weight is 0)."""
        voice_leading, clusters = float(config.voice_leading), float(config.clusters)
        drum_profile = float(config.drum_profile)
        if not voice_leading and not clusters and not drum_profile:
            return None
        pitched = [k for k, track in enumerate(facts.tracks) if not track["is_drum"]]
        drums = [k for k, track in enumerate(facts.tracks) if track["is_drum"]]
        if drum_profile and not drums:
            raise MuseforgeError(f"--drum-profile teaches a drum track, and the {facts.genre} data have none")

        def term(melody: Tensor, probs: Tensor, real: Tensor) -> Tensor:
            total = probs.new_zeros((), dtype=torch.float32)
            if voice_leading:
                total = total + voice_leading * parallel_motion(melody, probs, facts.lowest_pitch)
            if clusters:
                total = total + clusters * semitone_clusters(probs, pitched)
            if drum_profile:
                total = total + drum_profile * drum_profile_gap(probs, real, drums)
            return total

        return term

    def step(self, indices: Tensor, rng: torch.Generator) -> Tensor:
        batches = (self.data.batch(row, rng) for row in indices)
        sums = self.stepper(batches, rng)
        if self.average:
            self.average.update()
        return sums

    def settle(self) -> None:
        if self.average:
            self.average.refresh_statistics(self._statistics_inputs())

    def _statistics_inputs(self) -> Iterator[tuple[Tensor, ...]]:
        """The generator's inputs ``(melody (B, T, P), noise (B, noise_dim)[, grid (B, T, 2)])`` over
        :data:`STATISTICS_WINDOWS` training windows: the same windows, transpositions and noise at every call
        (seeded by the run's seed), so the statistics depend on the weights alone."""
        device = self.data.device
        rng = torch.Generator(device).manual_seed(self.config.seed)
        size = self.config.batch_size
        for _ in range(max(1, STATISTICS_WINDOWS // size)):
            indices = torch.randint(0, self.data.n_train, (size,), generator=rng, device=device)
            melody, _real, grid = self.data.batch(indices, rng)
            noise = self.generator.sample_noise(size, generator=rng)
            yield (melody, noise, grid) if self.stepper.meter_aware else (melody, noise)

    def loss_log(self, losses: dict[str, float]) -> dict[str, float]:
        """The epoch's mean losses plus, for WGAN-GP, ``wasserstein_estimate``: the critic's mean score of real
        minus generated music, the distance it measures. ``discriminator_loss`` is the critic's whole loss,
        ``fake - real + penalty_weight * gradient_penalty``: it mixes that distance with 10x the penalty."""
        if self.config.loss != "wgan-gp":
            return losses
        return {**losses, "wasserstein_estimate": losses["real_score"] - losses["fake_score"]}

    def data_metrics(self) -> dict[str, Any]:
        windows = self.data.evaluation_windows(DATA_METRIC_WINDOWS, split="train")
        grids, _meters = self.data.evaluation_grids(DATA_METRIC_WINDOWS, split="train")
        return roll_metrics(windows[:, 0], windows[:, 1:], self.data.facts, grids)

    def epoch_log(self, card: dict[str, Any]) -> dict[str, Any]:
        generated, meter = self.evaluator.measure(self.music_generator, card)
        return {"metrics": {"generated": generated, "training_data": card.get("train_data_metrics")}, "meter": meter}

    def write_sample(self, card: dict[str, Any], folder: Path, epoch: int, title: str) -> dict[str, str]:
        return self.evaluator.write_sample(self.music_generator, card, folder, epoch, title)


__all__ = ["DATA_METRIC_WINDOWS", "RAW_GENERATOR", "STATISTICS_WINDOWS", "GanTask", "OneNetworkTask", "Task"]
