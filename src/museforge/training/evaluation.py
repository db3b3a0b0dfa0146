"""What the trainer logs about the music: metrics of generated windows next to the training data's, and a
sample per epoch (MIDI + PNG piano roll) from fixed noise and fixed validation melodies.

Generated windows come from :class:`museforge.sampling.generation.Generation` under the card's note policy and key
handling, and are measured by :func:`museforge.metrics.music_metrics`: the same path and the same numbers as
``compose`` and ``museforge evaluate``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.metrics import music_metrics, windows_meter_fit
from museforge.metrics.meter import rhythm_tracks
from museforge.music.midi import write_midi
from museforge.music.pianoroll import Multitrack
from museforge.sampling.generation import Generation
from museforge.training.data import TrainingData
from museforge.training.facts import DataFacts

#: Tempo written into sample MIDI files (the windows carry none).
SAMPLE_TEMPO = 100.0


#: The offset from the run's seed of the noise the per-epoch metrics use: ``museforge evaluate NAME --seed
#: (seed + METRICS_SEED_OFFSET) --samples metrics_samples --melodies valid`` generates the very same windows.
METRICS_SEED_OFFSET = 1_234_567


def roll_metrics(
    melody: np.ndarray, accompaniment: np.ndarray, facts: DataFacts, grids: np.ndarray | None = None
) -> dict[str, dict[str, float | None]]:
    """Music metrics per accompaniment track and for the ensemble (:func:`museforge.metrics.music_metrics`), with
    None (JSON null) where a metric has no value, as ``museforge evaluate`` reports them.

    Parameters
    ----------
    melody : np.ndarray
        ``(n, T, P)`` bool melody windows.
    accompaniment : np.ndarray
        ``(n, K, T, P)`` bool rolls.
    facts : DataFacts
        Grid and roles.
    grids : np.ndarray, optional
        ``(n, T, 2)`` the windows' metric grids: the drums' repetition and backbeat in each window's own bars (None:
        the model's bars).
    """
    table = music_metrics(
        melody,
        accompaniment,
        facts.tracks,
        facts.roles,
        facts.resolution,
        facts.lowest_pitch,
        facts.beats_per_bar,
        grids,
    )
    return {
        role: {name: (float(v) if math.isfinite(v) else None) for name, v in row.items()} for role, row in table.items()
    }


def to_multitrack(melody: np.ndarray, accompaniment: np.ndarray, facts: DataFacts) -> Multitrack:
    """Windows laid end to end as one :class:`Multitrack` (melody first, then the accompaniment).

    Parameters
    ----------
    melody : np.ndarray
        ``(n, T, P)`` bool.
    accompaniment : np.ndarray
        ``(n, K, T, P)`` bool.
    facts : DataFacts
        Grid, pitch window and tracks.
    """
    tracks = np.concatenate([melody[:, None], accompaniment], axis=1)  # (n, 1 + K, T, P)
    n, k, steps, pitches = tracks.shape
    sounding = tracks.transpose(1, 0, 2, 3).reshape(k, n * steps, pitches)
    rolls = np.zeros((k, n * steps, 128), dtype=np.uint8)
    rolls[..., facts.lowest_pitch : facts.lowest_pitch + pitches] = sounding * np.uint8(100)
    onsets = rolls > 0
    onsets[:, 1:] &= ~(rolls[:, :-1] > 0)
    info = [facts.melody, *facts.tracks]
    return Multitrack(
        rolls=rolls,
        onsets=onsets,
        names=[t["name"] for t in info],
        roles=[t["role"] for t in info],
        programs=[t["program"] for t in info],
        is_drum=[t["is_drum"] for t in info],
        resolution=facts.resolution,
        tempos=[(0, SAMPLE_TEMPO)],
        time_signatures=[(0, facts.beats_per_bar, 4)],
    )


class Evaluator:
    """Fixed evaluation inputs and what the trainer does with them after each epoch.

    Parameters
    ----------
    data : TrainingData
        Source of the fixed validation melodies.
    noise_dim : int
        Generator noise length.
    seed : int
        Seeds the fixed noise.
    n_metrics : int
        Windows generated for the metrics.
    n_samples : int
        Windows rendered as the epoch's sample (0 for none).
    batch_size : int
        Windows per generator call.
    """

    def __init__(
        self, data: TrainingData, noise_dim: int, seed: int, n_metrics: int, n_samples: int, batch_size: int
    ) -> None:
        self.facts = data.facts
        self.batch_size = batch_size
        g = torch.Generator().manual_seed(seed + METRICS_SEED_OFFSET)
        real = data.evaluation_windows(n_metrics)
        self.metric_melody = real[:, 0]
        self.metric_grid, self.metric_meters = data.evaluation_grids(n_metrics)
        self.rhythm = rhythm_tracks(self.facts.tracks)
        #: The real drums and bass of the metric windows, ``(n, R, T, P)``.
        self.metric_rhythm = real[:, 1:][:, self.rhythm]
        self.metric_noise = torch.randn((len(self.metric_melody), noise_dim), generator=g)
        sample = data.consecutive_windows(n_samples)
        self.sample_melody = sample[:, 0]
        self.sample_grid = data.consecutive_grids(n_samples)
        self.sample_noise = torch.randn((len(self.sample_melody), noise_dim), generator=g)

    def generate(
        self, generator: torch.nn.Module, card: dict[str, Any], melody: np.ndarray, noise: Tensor, grid: np.ndarray
    ) -> np.ndarray:
        """Generated accompaniment as notes, as composing makes them: ``(n, T, P)`` melody windows and their
        ``(n, T, 2)`` metric grids -> ``(n, K, T, P)`` bool."""
        return Generation.from_card(generator, card).notes(melody, noise, grid)

    def metrics(self, generator: torch.nn.Module, card: dict[str, Any]) -> dict[str, dict[str, float | None]]:
        """Metrics of the fixed batch of generated windows (``card``: the run's card, for the note policy)."""
        return self.measure(generator, card)[0]

    def measure(self, generator: torch.nn.Module, card: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Metrics of the fixed batch of generated windows, and their meter fit per meter next to the real windows'
        (``{"3/4": {"windows", "generated": {beat_onset_share, downbeat_rate}, "real": {...}}}``; empty without
        drums or bass)."""
        accompaniment = self.generate(generator, card, self.metric_melody, self.metric_noise, self.metric_grid)
        table = roll_metrics(self.metric_melody, accompaniment, self.facts, self.metric_grid)
        meter: dict[str, Any] = {}
        if self.rhythm:
            resolution = self.facts.resolution
            mine = windows_meter_fit(accompaniment[:, self.rhythm], self.metric_grid, self.metric_meters, resolution)
            theirs = windows_meter_fit(self.metric_rhythm, self.metric_grid, self.metric_meters, resolution)
            for key, real_fit in theirs.items():
                meter[key] = {
                    "windows": real_fit["windows"],
                    "generated": {k: v for k, v in mine[key].items() if k != "windows"},
                    "real": {k: v for k, v in real_fit.items() if k != "windows"},
                }
        return table, meter

    def write_sample(
        self, generator: torch.nn.Module, card: dict[str, Any], folder: Path, epoch: int, title: str
    ) -> dict[str, str]:
        """Render the fixed sample to ``folder/epoch_NNN.mid`` and ``.png``; returns their names."""
        if len(self.sample_melody) == 0:
            return {}
        accompaniment = self.generate(generator, card, self.sample_melody, self.sample_noise, self.sample_grid)
        return write_sample_files(to_multitrack(self.sample_melody, accompaniment, self.facts), folder, epoch, title)


def write_sample_files(multitrack: Multitrack, folder: Path, epoch: int, title: str) -> dict[str, str]:
    """Write an epoch's sample as ``folder/epoch_NNN.mid`` and ``.png``; returns their names (``samples/...``)."""

    stem = f"epoch_{epoch:03d}"
    written = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_midi(multitrack, folder / f"{stem}.mid")
        written["midi"] = f"{folder.name}/{stem}.mid"
        png = _png_writer()
        if png is not None:
            png(multitrack, folder / f"{stem}.png", melody_track=0, title=title)
            written["png"] = f"{folder.name}/{stem}.png"
    except OSError as exc:
        raise MuseforgeError(f"cannot write the epoch sample in {folder}: {exc.strerror or exc}") from exc
    return written


def _png_writer() -> Any:
    """``museforge.render.plots.save_pianoroll_png`` (None if plotting is unavailable)."""
    try:
        from museforge.render.plots import save_pianoroll_png
    except ImportError:
        return None
    return save_pianoroll_png
