"""Evaluations: a model on held-out melodies (:func:`evaluate_model`), on the built-in melodies
(:func:`evaluate_samples`), and a built dataset's own metrics (:func:`evaluate_data`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray

from museforge.datasets.cache import SPLITS, load_dataset, unpack
from museforge.errors import MuseforgeError
from museforge.evaluate.bar import shipping_bar
from museforge.evaluate.classifier import two_sample_accuracy, window_features
from museforge.evaluate.compare import compare, compare_tables, largest_gap, number, voice_leading
from museforge.evaluate.form import form_comparison
from museforge.evaluate.grid import MetricGrid
from museforge.evaluate.meter import meter_comparison
from museforge.evaluate.picture import save_evaluation_png
from museforge.metrics import (
    cell_overlap,
)
from museforge.model_files import ModelCard, live_status, read_history
from museforge.models.loading import find_model
from museforge.music.form import bar_spans
from museforge.music.inputs import melody_roll
from museforge.music.melodies import get_melody, list_melodies, melody_to_multitrack
from museforge.music.meter import multitrack_grid, window_grid
from museforge.sampling.causal import CausalAccompanist
from museforge.sampling.form import accompany, default_variation
from museforge.sampling.generation import Generation
from museforge.training.data import split_grids, split_windows

#: Splits whose melodies a model never trained on.
HELD_OUT_SPLITS: tuple[str, ...] = ("valid", "test")
#: :func:`evaluate_data` reads at most this many windows of a split, evenly spread (standard errors of the
#: means are then far below the differences that matter, and memory stays small).
DATA_MAX_WINDOWS = 2000
#: Most windows one evaluation generates (memory: real and generated windows are held together).
MAX_SAMPLES = 10_000
#: Generated probabilities at or above this sound (as in composing and in the training logs).
THRESHOLD = 0.5
_VOICE_LEADING_GENRES = ("bach",)


# ------------------------------------------------------------------------------------------------ the model
def _load_model(name: str) -> tuple[Any, ModelCard, str, list[dict[str, Any]], str]:
    """``(generator, card, kind, history, status)`` of a user model or a shipped genre model.

    A user model is evaluated when it can compose (:func:`museforge.model_files.compose_refusal`: it has a
    checkpoint and its run ended without failing): a stopped one as it was at its last checkpoint.
    """
    found = find_model(name, "compose")
    generator, card = found.load()
    if found.shipped:
        history = card["history"] if isinstance(card.get("history"), list) else []
        return generator, card, "pretrained", history, "completed"
    return generator, card, "user", read_history(found.path), live_status(found.card.to_dict())


class HeldOut(NamedTuple):
    """Real model-sized windows of a held-out split, tracks in model order (melody first)."""

    windows: NDArray[np.bool_]  # (n, 1 + K, T, P)
    songs: NDArray[np.int64]  # (n,) each window's song
    available: int  # windows the split has
    grids: NDArray[np.float32]  # (n, T, 2) each window's metric grid
    meters: NDArray[np.int64]  # (n, 2) each window's meter (a piece of a longer window may start inside a bar)


def held_out(card: ModelCard, split: str, samples: int) -> HeldOut:
    """Real model-sized windows of ``split`` for ``samples`` generated ones, tracks in model order.
    ``samples`` windows are spread evenly over the split; when the split has fewer, every window is used in turn
    (each use gets its own noise).
    """
    dataset = load_dataset(card.genre)
    manifest = dataset.manifest
    own = {"resolution": card.resolution, "lowest_pitch": card.lowest_pitch, "n_pitches": card.n_pitches}
    for key, value in own.items():
        if int(manifest[key]) != value:
            fix = f" --resolution {value}" if key == "resolution" else ""
            raise MuseforgeError(
                f"dataset {dataset.genre!r} has {key} {manifest[key]} but model {card.get('name')!r} was trained with "
                f"{value}: rebuild the dataset to match (museforge datasets build {dataset.genre}{fix}, with "
                f"--source DIR if you built it from a folder)"
            )
    melody = int(manifest.get("melody_track", 0))
    accompaniment = [int(i) for i in manifest.get("accompaniment_tracks", [])] or [
        i for i in range(len(manifest["tracks"])) if i != melody
    ]
    roles = [manifest["tracks"][i]["role"] for i in accompaniment]
    if roles != card.roles:
        raise MuseforgeError(
            f"dataset {dataset.genre!r} has tracks {roles} but the model writes {card.roles}: rebuild the dataset"
        )
    model_bars = int(card.model_config["n_bars"])
    data_bars = int(manifest["n_bars"])
    if model_bars < 1 or data_bars % model_bars:
        raise MuseforgeError(f"the model's {model_bars}-bar windows do not divide the dataset's {data_bars}-bar ones")
    pieces = data_bars // model_bars
    packed = dataset.packed(split)
    available = len(packed) * pieces
    if available == 0:
        raise MuseforgeError(f"dataset {dataset.genre!r} has no {split} windows: rebuild it with more songs")
    if samples <= available:
        picks = np.linspace(0, available - 1, num=samples).round().astype(np.int64)
    else:
        picks = np.arange(samples, dtype=np.int64) % available
    rows, where = np.unique(picks // pieces, return_inverse=True)
    windows = unpack(packed[rows])[:, [melody, *accompaniment]]
    windows = split_windows(np.ascontiguousarray(windows), pieces)
    chosen = windows[where.reshape(-1) * pieces + picks % pieces]
    songs = np.asarray(dataset.song_index(split), dtype=np.int64)[picks // pieces]
    meters = np.asarray(dataset.meters(split), dtype=np.int64)[picks // pieces]
    grids = split_grids(window_grid(dataset.meters(split)[rows], card.resolution, packed.shape[2]), pieces)
    return HeldOut(chosen, songs, available, grids[where.reshape(-1) * pieces + picks % pieces], meters)


def _header(kind: str, name: str, source: str, status: str, card: ModelCard, split: str) -> dict[str, Any]:
    """The first keys of an evaluation: what was evaluated, and against which split."""
    return {
        "kind": kind,
        "model": name,
        "source": source,
        "status": status,
        "genre": card.get("genre"),
        "architecture": card.get("architecture"),
        "split": split,
    }


def _comparison(
    grid: MetricGrid,
    card: ModelCard,
    fake: NDArray[np.bool_],
    real: NDArray[np.bool_],
    fake_grids: NDArray[Any],
    real_grids: NDArray[Any],
) -> dict[str, Any]:
    """Generated against real windows, each ``(n, 1 + K, T, P)`` with the melody first and their ``(n, T, 2)`` metric
    grids: ``tracks`` (every metric of every track and the ensemble; the drums' patterns in each window's own bars),
    ``tonal_distances`` (the melody included) and ``voice_leading`` (Bach)."""
    melody_role = str((card["data"].get("melody") or {}).get("role") or "melody")
    tonal_fake, tonal_real = grid.tonal(fake, melody_role), grid.tonal(real, melody_role)
    out: dict[str, Any] = {
        "tracks": compare_tables(
            grid.metrics(fake[:, 0], fake[:, 1:], fake_grids), grid.metrics(real[:, 0], real[:, 1:], real_grids)
        ),
        "tonal_distances": {pair: compare(tonal_fake.get(pair), value) for pair, value in tonal_real.items()},
        "voice_leading": None,
    }
    if card.get("genre") in _VOICE_LEADING_GENRES and real.shape[1] == 4:
        mine, theirs = voice_leading(fake, grid.lowest), voice_leading(real, grid.lowest)
        out["voice_leading"] = {check: compare(mine[check], value) for check, value in theirs.items()}
    return out


def _generate(
    generation: Any, melody: NDArray[np.bool_], seed: int, grid: NDArray[np.float32] | None = None
) -> NDArray[np.bool_]:
    """Accompaniment for each melody window, each with its own noise: (n, T, P) and the windows' metric grids
    (n, T, 2) -> (n, K, T, P) bool.

    The path compose and the trainer take (:class:`museforge.sampling.generation.Generation`); the noise is
    ``torch.randn`` from a generator seeded with ``seed``, as the trainer's per-epoch metrics draw it.
    """

    rng = torch.Generator().manual_seed(int(seed))
    noise = generation.generator.sample_noise(len(melody), generator=rng)
    return generation.notes(melody, noise, grid)


def _seed_overlap(
    generation: Any,
    melody: NDArray[np.bool_],
    generated: NDArray[np.bool_],
    seed: int,
    grid: NDArray[np.float32],
    windows: int = 200,
) -> float | None:
    """How much of the accompaniment another seed keeps: the mean Jaccard similarity of the sounding cells of the
    first ``windows`` windows generated with ``seed`` and with ``seed + 1`` (1.0: the noise changes nothing)."""
    n = min(windows, len(melody))
    if n == 0:
        return None
    other = _generate(generation, melody[:n], seed + 1, grid[:n])
    overlap = cell_overlap(generated[:n], other)
    return number(np.nanmean(overlap)) if np.isfinite(overlap).any() else None


def evaluate_model(
    name: str,
    *,
    samples: int = 1000,
    split: str = "valid",
    seed: int = 0,
    classifier: bool = True,
    plot: Path | None = None,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """Generate accompaniment for held-out melodies and compare it with the real accompaniment, metric by metric.

    Parameters
    ----------
    name : str
        A user model's name, or a genre with a shipped model.
    samples : int
        Windows to generate, 1 to :data:`MAX_SAMPLES`, each conditioned on the melody of one real window of
        ``split``: windows spread evenly over the split, or every window in turn when there are fewer (see
        :func:`museforge.metrics.track_metrics` for the metrics).
    split : {"valid", "test"}
        Held-out split whose melodies condition the model and whose accompaniment is the reference.
    seed : int
        Seeds the noise and the classifier's halves: the same seed gives the same numbers.
    classifier : bool
        Also train and test the real-vs-generated classifier (:func:`two_sample_accuracy`).
    plot : Path, optional
        Write a PNG there: the training losses and, per metric, real and generated bars per track.
    threshold : float
        Generated probabilities at or above it sound.

    Returns
    -------
    dict
        JSON-ready: ``kind`` ("model"), ``model``, ``source`` ("user" or "pretrained"), ``status``, ``genre``,
        ``architecture``, ``split``, ``samples``, ``seed``, ``threshold``, ``windows`` (bars, steps, windows
        available in the split, distinct melodies used), ``tracks`` ({role: {metric: {generated, real, gap}}},
        gap = :func:`museforge.metrics.relative_gap`), ``tonal_distances`` ({"a/b": {generated, real, gap}},
        the melody included), ``voice_leading`` (Bach: {check: {generated, real, gap}}, else None),
        ``classifier`` (see :func:`two_sample_accuracy`, None when not asked), ``largest_gap`` (the track metric with
        the largest gap, among real values of at least :data:`GAP_FLOOR`: {track, metric, generated, real, gap}),
        ``shipping_bar`` (see :func:`shipping_bar`), ``plot`` (path or None), ``timing`` (seconds).

    Raises
    ------
    NotFoundError
        No such model.
    MuseforgeError
        Bad arguments, a model still training or failed, its dataset not built or built differently.
    """
    started = time.perf_counter()
    if split not in HELD_OUT_SPLITS:
        raise MuseforgeError(
            f"melodies come from a held-out split: choose {' or '.join(HELD_OUT_SPLITS)}, not {split!r}"
        )
    if isinstance(samples, bool) or int(samples) != samples or not 1 <= samples <= MAX_SAMPLES:
        raise MuseforgeError(f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {samples!r}")
    if not 0.0 < threshold <= 1.0:
        raise MuseforgeError(f"threshold must be in (0, 1], got {threshold}")
    if plot is not None and not Path(plot).parent.is_dir():
        raise MuseforgeError(f"cannot write {plot}: folder {Path(plot).parent} does not exist")
    samples = int(samples)
    timing: dict[str, float] = {}

    generator, card, kind, history, status = _load_model(name)
    grid = MetricGrid(card.tracks, card.resolution, card.lowest_pitch, card.beats_per_bar)
    held = held_out(card, split, samples)
    real, songs, available, real_grids = held.windows, held.songs, held.available, held.grids
    timing["load"] = time.perf_counter() - started

    mark = time.perf_counter()
    generation = Generation.from_card(generator, card, threshold=threshold)
    generated = _generate(generation, real[:, 0], seed, real_grids)
    if generated.shape[1:] != real[:, 1:].shape[1:]:
        raise MuseforgeError(
            f"model {name!r} writes windows of shape {generated.shape[1:]} but its data has {real[:, 1:].shape[1:]}"
        )
    timing["generate"] = time.perf_counter() - mark

    mark = time.perf_counter()
    fake = np.concatenate([real[:, :1], generated], axis=1)
    result: dict[str, Any] = {
        **_header("model", name, kind, status, card, split),
        "samples": samples,
        "seed": int(seed),
        "threshold": float(threshold),
        "windows": {
            "bars": int(card.model_config["n_bars"]),
            "steps": int(real.shape[2]),
            "available": int(available),
            "melodies": int(min(samples, available)),
        },
        **_comparison(grid, card, fake, real, real_grids, real_grids),
        "seed_overlap": _seed_overlap(generation, real[:, 0], generated, seed, real_grids),
        "classifier": None,
        "classifier_second": None,
    }
    timing["metrics"] = time.perf_counter() - mark

    result["meter"] = meter_comparison(card, real, generated, held.grids, held.meters)

    mark = time.perf_counter()
    result["form"] = form_comparison(generation, card, split, seed)
    timing["form"] = time.perf_counter() - mark

    if classifier:
        mark = time.perf_counter()
        features = {
            key: window_features(
                rolls[:, 1:], real[:, 0], grid.resolution, grid.is_drum, grid.lowest, grid.beats_per_bar
            )
            for key, rolls in (("real", real), ("generated", fake))
        }
        result["classifier"] = two_sample_accuracy(features["real"], features["generated"], songs, songs, seed=seed)
        result["classifier_second"] = two_sample_accuracy(
            features["real"], features["generated"], songs, songs, seed=seed, learner="boosted_stumps"
        )
        timing["classifier"] = time.perf_counter() - mark

    result["largest_gap"] = largest_gap(result)
    result["shipping_bar"] = shipping_bar(result)
    result["plot"] = None
    if plot is not None:
        mark = time.perf_counter()
        save_evaluation_png(result, Path(plot), history=history)
        result["plot"] = str(plot)
        timing["plot"] = time.perf_counter() - mark
    timing["total"] = time.perf_counter() - started
    result["timing"] = {key: round(value, 3) for key, value in timing.items()}
    return result


# ------------------------------------------------------------------------------------------------ samples
#: Seeds each built-in melody is composed with by :func:`evaluate_samples`.
SAMPLE_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)


def evaluate_samples(
    name: str,
    *,
    seeds: Sequence[int] = SAMPLE_SEEDS,
    split: str = "test",
    real_windows: int = 1000,
    writer: str = "compose",
) -> dict[str, Any]:
    """Compose every built-in melody (:func:`museforge.music.melodies.list_melodies`) with each seed, as
    ``museforge compose`` does (or, with ``writer="jam"``, as ``museforge jam`` plays along: each bar written before
    its melody is heard), and compare the music's metrics with the real music of a held-out split.

    The compositions are cut into the model's windows (a trailing part window is left out) and measured with
    :func:`museforge.metrics.music_metrics`; the real column is the same measurement on ``real_windows`` windows
    of ``split``. No classifier: a few dozen windows are too few to train one.

    Returns
    -------
    dict
        JSON-ready, shaped like :func:`evaluate_model`'s result with ``kind`` "samples": ``melodies``, ``seeds``,
        ``tracks``, ``tonal_distances``, ``voice_leading`` (Bach), ``seed_overlap`` (cells kept between
        consecutive seeds), ``shipping_bar``.
    """
    started = time.perf_counter()
    if split not in HELD_OUT_SPLITS:
        raise MuseforgeError(f"real music comes from a held-out split: choose {' or '.join(HELD_OUT_SPLITS)}")
    if writer not in ("compose", "jam"):
        raise MuseforgeError(f"unknown writer {writer!r}: choose compose or jam")
    generator, card, kind, _history, status = _load_model(name)
    held = held_out(card, split, real_windows)  # a dataset not built is said at once, before any composing
    grid = MetricGrid(card.tracks, card.resolution, card.lowest_pitch, card.beats_per_bar)
    n_pitches, window = card.n_pitches, card.window
    assert window is not None  # every GAN card has its window
    generation = Generation.from_card(generator, card)
    variation = default_variation(card)
    melodies, outputs, names, grids = [], [], [], []
    for info in list_melodies():
        source = melody_to_multitrack(get_melody(info.name), resolution=grid.resolution)
        roll = melody_roll(source, grid.lowest, n_pitches)
        usable = (len(roll) // window) * window
        if usable == 0:
            continue
        names.append(info.name)
        spans, piece_grid = bar_spans(source.n_steps, source.downbeats), multitrack_grid(source)
        for seed in seeds:
            if writer == "jam":
                accompanist = CausalAccompanist.for_card(generation, card, int(seed), variation)
                notes = accompanist.play_through(roll, spans, piece_grid)
            else:
                rng, form_rng = torch.Generator().manual_seed(int(seed)), np.random.default_rng(int(seed))
                notes = accompany(
                    generation, roll, window, spans, rng=rng, form_rng=form_rng, variation=variation, grid=piece_grid
                )
            notes = notes[:, :usable]  # (K, usable, P), as compose writes them
            outputs.append(notes.reshape(notes.shape[0], -1, window, n_pitches).transpose(1, 0, 2, 3))
            melodies.append(roll[:usable].reshape(-1, window, n_pitches))
            grids.append(piece_grid[:usable].reshape(-1, window, piece_grid.shape[1]))
    if not outputs:
        raise MuseforgeError("no built-in melody is as long as one window of this model")
    melody = np.concatenate(melodies)
    generated = np.concatenate(outputs)
    real, available = held.windows, held.available
    fake = np.concatenate([melody[:, None], generated], axis=1)
    overlap = [cell_overlap(a[None], b[None])[0] for a, b in _seed_pairs(outputs, len(seeds))]
    result: dict[str, Any] = {
        **_header("samples", name, kind, status, card, split),
        "samples": len(generated),
        "seed": int(seeds[0]) if len(seeds) else 0,
        "seeds": [int(x) for x in seeds],
        "melodies": names,
        "windows": {
            "bars": int(card.model_config["n_bars"]),
            "steps": window,
            "available": int(available),
            "melodies": len(names),
        },
        **_comparison(grid, card, fake, real, np.concatenate(grids), held.grids),
        "seed_overlap": number(np.nanmean(overlap)) if overlap else None,
        "classifier": None,
    }
    result["largest_gap"] = largest_gap(result)
    result["shipping_bar"] = shipping_bar(result)
    result["plot"] = None
    result["timing"] = {"total": round(time.perf_counter() - started, 3)}
    return result


def _seed_pairs(outputs: list[NDArray[np.bool_]], n_seeds: int) -> list[tuple[NDArray, NDArray]]:
    """Consecutive seeds' windows of the same melody: ``outputs`` holds, per melody, one entry per seed."""
    pairs = []
    for start in range(0, len(outputs), max(n_seeds, 1)):
        group = outputs[start : start + n_seeds]
        pairs += list(itertools.pairwise(group))
    return pairs


# ------------------------------------------------------------------------------------------------ the data
def evaluate_data(genre: str, split: str = "train", *, max_windows: int = DATA_MAX_WINDOWS) -> dict[str, Any]:
    """The metrics of a built dataset's own windows: what a model of that genre should reproduce.

    Parameters
    ----------
    genre : str
        A genre whose dataset is built.
    split : {"train", "valid", "test"}
        Which windows.
    max_windows : int
        Read at most this many windows, evenly spread over the split (all of them when there are fewer).

    Returns
    -------
    dict
        JSON-ready: ``kind`` ("data"), ``genre``, ``split``, ``windows`` (bars, steps, available, used),
        ``tracks`` ({role: {metric: value}} for every track, the melody first, and ``ensemble``, as in
        :func:`museforge.metrics.music_metrics`; the melody is measured against itself, so its key fit,
        consonance and doubling are 1), ``tonal_distances``,
        ``voice_leading`` (Bach, else None), ``timing``.
    """
    started = time.perf_counter()
    if split not in SPLITS:
        raise MuseforgeError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if isinstance(max_windows, bool) or int(max_windows) != max_windows or max_windows < 1:
        raise MuseforgeError(f"max_windows must be a positive whole number, got {max_windows!r}")
    dataset = load_dataset(genre)
    manifest = dataset.manifest
    grid = MetricGrid(
        list(manifest["tracks"]),
        int(manifest["resolution"]),
        int(manifest["lowest_pitch"]),
        int(manifest.get("beats_per_bar", 4)),
    )
    packed = dataset.packed(split)
    available = len(packed)
    rows = np.arange(available)
    if available > max_windows:
        rows = np.linspace(0, len(packed) - 1, num=int(max_windows)).round().astype(np.int64)
    windows = unpack(packed[rows])
    grids = window_grid(dataset.meters(split)[rows], grid.resolution, windows.shape[2]) if windows.ndim == 4 else None
    result: dict[str, Any] = {
        "kind": "data",
        "genre": dataset.genre,
        "split": split,
        "windows": {
            "bars": int(manifest["n_bars"]),
            "steps": int(windows.shape[2]) if windows.ndim == 4 else 0,
            "available": available,
            "used": len(windows),
        },
        "tracks": grid.metrics(windows[:, 0], windows, grids),
        "tonal_distances": grid.tonal(windows, None),
        "voice_leading": None,
    }
    if dataset.genre in _VOICE_LEADING_GENRES and windows.shape[1] == 4:
        result["voice_leading"] = voice_leading(windows, grid.lowest)
    result["timing"] = {"total": round(time.perf_counter() - started, 3)}
    return result
