"""How good is a model? Generated music against real music of a held-out split, metric by metric, plus a
real-vs-generated classifier that sees what no single metric shows.

- :func:`evaluate_model` generates accompaniment for held-out melodies (the ``valid`` or ``test`` split of the
  model's genre), computes :func:`museforge.metrics.track_metrics` per accompaniment track for the generated and
  for the real music of the very same windows, the relative gap between them, the tonal distances between every
  pair of pitched tracks, the voice-leading checks for four-voice Bach, and the accuracy of a classifier trained to
  tell real windows from generated ones (:func:`two_sample_accuracy`; 0.5 means indistinguishable).
- :func:`evaluate_data` gives a built dataset's own metrics: the reference row.
- :func:`shipping_bar` says whether a model's main metrics are within 25 % of the real music's (the bar a
  pretrained model must pass to ship); :func:`format_evaluation` is the text table ``museforge evaluate`` prints;
  :func:`save_evaluation_png` draws the bars and the training losses.

Results are plain JSON-ready dicts: a metric that has no value (NaN in :mod:`museforge.metrics`, e.g. the in-scale
rate of a silent track) is ``None``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from museforge.errors import MuseforgeError, NotFoundError
from museforge.metrics import (
    cell_overlap,
    music_metrics,
    parallel_fifths_octaves,
    relative_gap,
    tonal_distances,
    voice_crossings,
    voice_range_violations,
    voices_from_rolls,
)

__all__ = [
    "ABSOLUTE_FLOOR",
    "DATA_MAX_WINDOWS",
    "GAP_FLOOR",
    "HELD_OUT_SPLITS",
    "MAX_SAMPLES",
    "RELATIVE_TOLERANCE",
    "SHIPPING_METRICS",
    "evaluate_data",
    "evaluate_model",
    "format_evaluation",
    "format_shipping_bar",
    "save_evaluation_png",
    "shipping_bar",
    "two_sample_accuracy",
    "voice_leading",
    "window_features",
]

#: Splits whose melodies a model never trained on.
HELD_OUT_SPLITS: tuple[str, ...] = ("valid", "test")
#: :func:`evaluate_data` reads at most this many windows of a split, evenly spread (standard errors of the
#: means are then far below the differences that matter, and memory stays small).
DATA_MAX_WINDOWS = 2000
#: Most windows one evaluation generates (memory: real and generated windows are held together).
MAX_SAMPLES = 10_000
#: Windows generated per forward pass.
BATCH = 100
#: Generated probabilities at or above this sound (as in composing and in the training logs).
THRESHOLD = 0.5

#: The metrics of the shipping bar, per pitched accompaniment track (and the melody's fit among them).
SHIPPING_METRICS: tuple[str, ...] = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "one_step_note_rate",
    "key_fit",
    "melody_in_scale_rate",
    "consonance",
    "melody_doubling",
    "polyphonic_rate",
    "semitone_cluster_rate",
)
#: ... per drum track.
SHIPPING_DRUM_METRICS: tuple[str, ...] = ("empty_bar_rate", "drum_pattern_rate", "drum_repetition", "backbeat_rate")
#: ... for the ensemble.
SHIPPING_ENSEMBLE_METRICS: tuple[str, ...] = ("crowded_window_rate",)
#: A generated metric passes when it is within this fraction of the real value on the same windows ...
RELATIVE_TOLERANCE = 0.15
#: ... or within this absolute distance of it, whichever is larger. Without a floor a real value near 0 would
#: allow no difference at all (Bach's empty-bar rate is exactly 0; jazz has no one-step notes). Rates in [0, 1]
#: get 0.03 (3 windows, notes or steps in 100); pitch classes per bar, counts, get a quarter of a pitch class;
#: tonal distances, about 0 to 2.5, get 0.05; parallel fifths and octaves per window a quarter of one.
ABSOLUTE_FLOOR: dict[str, float] = {
    "used_pitch_classes": 0.25,
    "tonal_distance": 0.05,
    "parallels_per_window": 0.25,
}
#: The floor of every rate not named in :data:`ABSOLUTE_FLOOR`.
RATE_FLOOR = 0.03
#: Notes outside the instrument's (or voice's) range: at most this share, whatever the real music does.
MAX_OUT_OF_RANGE = 0.02
#: The real-vs-generated classifier may tell at most this share of held-out windows apart (the goal is 0.70).
MAX_CLASSIFIER_ACCURACY = 0.80

#: Classifier: weight of the L2 penalty on the (standardised) feature weights.
CLASSIFIER_L2 = 0.01
#: Classifier: standardised features are clipped to +-CLIP.
CLIP = 5.0
#: The largest gap of a result ignores metrics whose real value is below this.
GAP_FLOOR = 0.05
_VOICE_LEADING_GENRES = ("bach",)


# ------------------------------------------------------------------------------------------------ results
def _number(value: Any) -> float | None:
    """A finite float, or None for NaN, infinity and missing values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _clean(metrics: dict[str, float]) -> dict[str, float | None]:
    return {key: _number(value) for key, value in metrics.items()}


def _compare(generated: float | None, real: float | None) -> dict[str, float | None]:
    """``{generated, real, gap}``; gap is :func:`museforge.metrics.relative_gap`, None where undefined."""
    gap = None
    if generated is not None and real is not None:
        gap = _number(relative_gap(generated, real))
    return {"generated": generated, "real": real, "gap": gap}


def _compare_tables(
    generated: dict[str, dict[str, float | None]], real: dict[str, dict[str, float | None]]
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per track and metric, generated against real; metrics with no value on either side are left out."""
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for role, values in real.items():
        row = {}
        for metric, value in values.items():
            mine = generated.get(role, {}).get(metric)
            if mine is not None or value is not None:
                row[metric] = _compare(mine, value)
        table[role] = row
    return table


def _largest_gap(result: dict[str, Any]) -> dict[str, Any] | None:
    """The track metric whose generated value is relatively furthest from the real one.

    Real values below :data:`GAP_FLOOR` are left out: against a real rate of 0.002 (the polyphony of a bass line)
    any difference is a gap of thousands of percent, which says little about the music.
    """
    best = None
    for role, row in result.get("tracks", {}).items():
        for metric, cell in row.items():
            gap = cell.get("gap")
            if gap is None or abs(cell["real"]) < GAP_FLOOR:
                continue
            if best is None or gap > best["gap"]:
                best = {"track": role, "metric": metric, **cell}
    return best


# ------------------------------------------------------------------------------------------------ metrics
def voice_leading(rolls: NDArray[np.bool_], lowest_pitch: int) -> dict[str, float | None]:
    """The four-part-writing checks of :mod:`museforge.metrics`, pooled over windows.

    Parameters
    ----------
    rolls : array, shape (n, 4, time, pitch), bool
        Windows of soprano (the melody), alto, tenor and bass.
    lowest_pitch : int
        MIDI pitch of column 0.

    Returns
    -------
    dict
        ``range_violations`` (fraction of sounding voice-steps outside the SATB ranges), ``crossings`` (fraction
        of steps with a voice above the next higher one), ``parallel_rate`` (consecutive fifths and octaves over
        the voice-pair motions where both voices move) and ``parallels_per_window``. Windows are joined with a
        rest between them, so no motion spans two windows.
    """
    n, voices, steps, pitches = rolls.shape
    if n == 0:
        return {"range_violations": None, "crossings": None, "parallel_rate": None, "parallels_per_window": None}
    joined = np.zeros((voices, n, steps + 1, pitches), dtype=bool)
    joined[:, :, :steps] = rolls.transpose(1, 0, 2, 3)
    line = voices_from_rolls(joined.reshape(voices, n * (steps + 1), pitches), lowest_pitch)
    parallel = parallel_fifths_octaves(line)
    return {
        "range_violations": _number(voice_range_violations(line)),
        "crossings": _number(voice_crossings(line)),
        "parallel_rate": _number(parallel.rate),
        "parallels_per_window": parallel.count / n,
    }


# ------------------------------------------------------------------------------------------------ classifier
def _onsets(x: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """First step of every note, ``x`` of shape (n, time, pitch)."""
    onsets = x.copy()
    onsets[:, 1:] &= ~x[:, :-1]
    return onsets


def _share(part: NDArray, whole: NDArray) -> NDArray[np.float64]:
    """``part / whole`` as float64, 0 where ``whole`` is 0 (a silent track has no shares)."""
    part = np.asarray(part, dtype=np.float64)
    whole = np.broadcast_to(np.asarray(whole, dtype=np.float64), part.shape)
    out = np.zeros(part.shape)
    np.divide(part, whole, out=out, where=whole > 0)
    return out


def _note_lengths(x: NDArray[np.bool_], resolution: int) -> NDArray[np.float64]:
    """Share of a track's notes per length class: up to a 16th, 8th, quarter, half, whole note, longer.

    ``x`` (n, time, pitch) -> (n, 6). A note is a maximal run of sounding steps of one pitch.
    """
    n, steps, pitches = x.shape
    edges = np.array([0.25, 0.5, 1.0, 2.0, 4.0]) * resolution  # in steps
    hist = np.zeros((n, len(edges) + 1))
    run = np.zeros((n, pitches), dtype=np.int64)
    for t in range(steps):
        run = (run + 1) * x[:, t]
        ends = x[:, t] & ~x[:, t + 1] if t + 1 < steps else x[:, t]
        windows, columns = np.nonzero(ends)
        if len(windows):
            bins = np.searchsorted(edges, run[windows, columns], side="left")  # length <= edges[b] -> bin b
            np.add.at(hist, (windows, bins), 1.0)
    return _share(hist, hist.sum(axis=1, keepdims=True))


def _positions(onsets: NDArray[np.bool_], resolution: int, steps_per_bar: int) -> NDArray[np.float64]:
    """Share of onsets on the downbeat, on a beat, on an 8th, on a 16th, elsewhere: (n, time, pitch) -> (n, 5)."""
    per_step = onsets.sum(axis=2, dtype=np.int64).astype(np.float64)  # (n, time)
    t = np.arange(per_step.shape[1])
    pos = t % resolution
    eighth = resolution // 2 if resolution % 2 == 0 else -1
    sixteenth = resolution // 4 if resolution % 4 == 0 else 0
    classes = [
        t % steps_per_bar == 0,
        (pos == 0) & (t % steps_per_bar != 0),
        pos == eighth,
        (pos != 0) & (pos != eighth) & (pos % sixteenth == 0) if sixteenth else np.zeros(len(t), dtype=bool),
    ]
    classes.append(~np.any(classes, axis=0))
    counts = np.stack([per_step @ c.astype(np.float64) for c in classes], axis=1)
    return _share(counts, per_step.sum(axis=1, keepdims=True))


def _pitch_classes(x: NDArray[np.bool_], lowest_pitch: int) -> NDArray[np.float64]:
    """Sounding pitch classes per step: (n, time, pitch) bool -> (n, time, 12) 0/1."""
    pcs = (lowest_pitch + np.arange(x.shape[2])) % 12
    fold = (pcs[:, None] == np.arange(12)[None, :]).astype(np.float32)
    return (x.astype(np.float32) @ fold > 0).astype(np.float64)


def _track_features(
    x: NDArray[np.bool_],
    melody_pcs: NDArray[np.float64],
    melody_top: NDArray[np.int64],
    resolution: int,
    steps_per_bar: int,
    lowest_pitch: int,
    is_drum: bool,
) -> list[NDArray[np.float64]]:
    """Features of one track's windows ``x`` (n, time, pitch); each entry is (n,) or (n, k)."""
    n, steps, pitches = x.shape
    counts = x.sum(axis=2)  # (n, time)
    sounding = counts > 0
    n_bars = max(steps // steps_per_bar, 1)
    bars = x[:, : n_bars * steps_per_bar].reshape(n, n_bars, -1, pitches)
    onsets = _onsets(x)
    n_onsets = onsets.sum(axis=(1, 2))
    out: list[NDArray[np.float64]] = [
        np.log1p(counts.mean(axis=1)),
        sounding.mean(axis=1),
        np.stack([(counts == k).mean(axis=1) for k in (1, 2, 3)] + [(counts >= 4).mean(axis=1)], axis=1),
        (~bars.any(axis=(2, 3))).mean(axis=1),
        np.log1p(n_onsets / n_bars),
        _positions(onsets, resolution, steps_per_bar),
    ]
    if is_drum:  # which drums, coarsely: onsets per group of 7 columns
        per_column = onsets.sum(axis=1, dtype=np.int64).astype(np.float64)
        groups = np.add.reduceat(per_column, np.arange(0, pitches, 7), axis=1)
        out += [_share(groups, n_onsets[:, None]), (per_column > 0).sum(axis=1) / 12.0]
        return out
    used = x.any(axis=1)  # (n, pitch)
    cells = x.sum(axis=1, dtype=np.int64).astype(np.float64)  # (n, pitch)
    total = cells.sum(axis=1)
    column = np.arange(pitches, dtype=np.float64)
    mean = _share(cells @ column, total)
    spread = np.sqrt(np.maximum(_share(cells @ column**2, total) - mean**2, 0.0))
    low = np.where(used.any(axis=1), np.argmax(used, axis=1), 0)
    high = np.where(used.any(axis=1), pitches - 1 - np.argmax(used[:, ::-1], axis=1), 0)
    track_pcs = _pitch_classes(x, lowest_pitch)  # (n, time, 12)
    histogram = -np.sort(-_share(track_pcs.sum(axis=1), track_pcs.sum(axis=(1, 2))[:, None]), axis=1)
    # against the melody, pitch class by pitch class, where both sound
    same = (track_pcs * melody_pcs).sum(axis=2)
    clash = sum((track_pcs * np.roll(melody_pcs, k, axis=2)).sum(axis=2) for k in (1, 2, 6, 10, 11))
    both = (track_pcs.sum(axis=2) > 0) & (melody_pcs.sum(axis=2) > 0)
    both_cells = (track_pcs.sum(axis=2) * both).sum(axis=1)
    top = np.where(sounding, pitches - 1 - np.argmax(x[:, :, ::-1], axis=2), -1)
    above = both & (top + lowest_pitch > melody_top)
    out += [
        _note_lengths(x, resolution),
        histogram,
        track_pcs.max(axis=1).sum(axis=1) / 12.0,
        np.stack([mean, spread, low, high], axis=1) / pitches,
        _share((x[:, :, 1:] & x[:, :, :-1]).any(axis=2).sum(axis=1), sounding.sum(axis=1)),
        _share((x[:, :, 2:] & x[:, :, :-2]).any(axis=2).sum(axis=1), sounding.sum(axis=1)),
        _share((same * both).sum(axis=1), both_cells),
        _share((clash * both).sum(axis=1), both_cells),
        _share(above.sum(axis=1), both.sum(axis=1)),
    ]
    return out


def window_features(
    accompaniment: NDArray[np.bool_],
    melody: NDArray[np.bool_],
    resolution: int,
    is_drum: Sequence[bool],
    lowest_pitch: int = 24,
    beats_per_bar: int = 4,
) -> NDArray[np.float64]:
    """Describe each window by numbers a classifier can weigh: what the real-vs-generated test looks at.

    Per pitched track: density and polyphony (shares of steps with 1, 2, 3, 4+ pitches), empty bars, onsets per
    bar and where they fall (downbeat, beat, 8th, 16th, elsewhere), note lengths (shares of notes up to a 16th,
    8th, quarter, half, whole note, longer), the pitch-class histogram sorted from most to least used (so the
    key does not matter), pitch classes used, register (mean, spread, lowest, highest pitch), steps with
    neighbouring semitones or whole tones sounding together, and, against the melody where both sound, the
    shares of pitch classes equal to and dissonant with (second, tritone, seventh) the melody's, and of steps
    above it. Per drum track: the rhythm features and which drums (onsets per group of 7 columns).

    Parameters
    ----------
    accompaniment : array, shape (n, tracks, time, pitch), bool
        The windows to describe.
    melody : array, shape (n, time, pitch), bool
        The melody of each window (the same for real and generated windows of a pair).
    resolution : int
        Steps per beat.
    is_drum : sequence of bool, length tracks
        Which tracks are drums.
    lowest_pitch, beats_per_bar : int
        Pitch of column 0; beats per bar.

    Returns
    -------
    ndarray of float64, shape (n, features)
    """
    accompaniment = np.asarray(accompaniment, dtype=bool)
    melody = np.asarray(melody, dtype=bool)
    if accompaniment.ndim != 4 or melody.shape != (accompaniment.shape[0], *accompaniment.shape[2:]):
        raise ValueError(
            f"need accompaniment (n, K, T, P) and melody (n, T, P), got {accompaniment.shape}, {melody.shape}"
        )
    if len(is_drum) != accompaniment.shape[1]:
        raise ValueError(f"got {len(is_drum)} drum flags for {accompaniment.shape[1]} tracks")
    pitches = melody.shape[2]
    melody_pcs = _pitch_classes(melody, lowest_pitch)
    melody_top = np.where(melody.any(axis=2), pitches - 1 - np.argmax(melody[:, :, ::-1], axis=2) + lowest_pitch, 999)
    steps_per_bar = resolution * beats_per_bar
    columns: list[NDArray[np.float64]] = []
    for k, drum in enumerate(is_drum):
        parts = _track_features(
            accompaniment[:, k], melody_pcs, melody_top, resolution, steps_per_bar, lowest_pitch, drum
        )
        columns += [p.reshape(len(p), -1) for p in parts]
    if not columns:
        return np.zeros((accompaniment.shape[0], 0))
    return np.concatenate(columns, axis=1).astype(np.float64)


def _split_by_group(groups: NDArray[np.int64], seed: int) -> NDArray[np.bool_]:
    """Training half of items: whole groups (songs) go to one half, halves of about equal size.

    With a single group, items alternate (after a seeded shuffle).
    """
    rng = np.random.default_rng(seed)
    unique, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(unique) < 2:
        train = np.zeros(len(groups), dtype=bool)
        train[rng.permutation(len(groups))[: (len(groups) + 1) // 2]] = True
        return train
    sizes = [0, 0]
    half = np.zeros(len(unique), dtype=bool)
    for g in rng.permutation(len(unique)):
        side = 0 if sizes[0] <= sizes[1] else 1
        half[g] = side == 0
        sizes[side] += int(counts[g])
    return half[inverse]


def _fit_logistic(x: NDArray[np.float64], y: NDArray[np.float64], l2: float) -> NDArray[np.float64]:
    """L2-penalised logistic regression by Newton's method (a convex problem: one answer, no randomness).

    Minimises ``mean(log loss) + l2 / 2 * |w|^2`` (the bias is not penalised). ``x`` (n, f) -> weights (f + 1,).
    """
    n, f = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(f + 1, l2)
    penalty[-1] = 1e-8
    w = np.zeros(f + 1)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        grad = design.T @ (p - y) / n + penalty * w
        hessian = (design.T * (p * (1 - p))) @ design / n + np.diag(penalty)
        step = np.linalg.solve(hessian, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def two_sample_accuracy(
    first: NDArray[np.float64],
    second: NDArray[np.float64],
    groups_first: NDArray[np.int64] | None = None,
    groups_second: NDArray[np.int64] | None = None,
    seed: int = 0,
    l2: float = CLASSIFIER_L2,
) -> dict[str, Any]:
    """Train a classifier to tell two sets of windows apart on one half, report its accuracy on the other.

    A two-sample test: if the sets come from the same distribution no classifier beats chance (0.5) on held-out
    windows, whatever it learnt. The classifier is an L2-penalised logistic regression on standardised features
    (:func:`window_features`), deterministic given ``seed`` (which only decides the halves). Windows of one
    group (a song) all go to the same half, so the classifier cannot score by recognising a song it saw; give a
    real window and the generated window made from its melody the same group to keep such pairs together.

    Parameters
    ----------
    first, second : array, shape (n1, features) and (n2, features)
        The two sets (e.g. real and generated).
    groups_first, groups_second : array of int, shape (n1,) and (n2,), optional
        Group (song) of each window; None puts every window in its own group.
    seed : int
        Seeds the choice of halves.
    l2 : float
        Penalty weight.

    Returns
    -------
    dict
        ``accuracy`` on the held-out half (None if a half lacks one of the sets), ``stderr`` (its binomial
        standard error), ``n_train``, ``n_test``, ``features``, ``method``.
    """
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    n1, n2 = len(first), len(second)
    if groups_first is None:
        groups_first = np.arange(n1)
    if groups_second is None:
        groups_second = np.arange(n1, n1 + n2)
    x = np.concatenate([first.reshape(n1, -1), second.reshape(n2, -1)])
    y = np.concatenate([np.ones(n1), np.zeros(n2)])
    train = _split_by_group(np.concatenate([groups_first, groups_second]).astype(np.int64), seed)
    result: dict[str, Any] = {
        "accuracy": None,
        "stderr": None,
        "n_train": int(train.sum()),
        "n_test": int((~train).sum()),
        "features": int(x.shape[1]),
        "method": "L2 logistic regression on per-window features; train and test halves split by song",
    }
    if len(set(y[train])) < 2 or len(set(y[~train])) < 2:
        return result
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std < 1e-12] = 1.0
    z = np.clip((x - mean) / std, -CLIP, CLIP)  # a value rare in the training half cannot swamp the rest
    w = _fit_logistic(z[train], y[train], l2)
    predicted = (np.hstack([z[~train], np.ones(((~train).sum(), 1))]) @ w) > 0
    accuracy = float((predicted == (y[~train] > 0.5)).mean())
    result["accuracy"] = accuracy
    result["stderr"] = math.sqrt(accuracy * (1 - accuracy) / result["n_test"])
    return result


# ------------------------------------------------------------------------------------------------ the model
def _load_model(name: str) -> tuple[Any, dict[str, Any], str, list[dict[str, Any]], str]:
    """``(generator, card, kind, history, status)`` of a user model or a shipped genre model.

    A user model that is being trained is refused (its weights change under us), as is a failed one; a stopped
    one is evaluated as it was at its last checkpoint.
    """
    from museforge.pretrained import list_pretrained, pretrained_card_path
    from museforge.training.registry import (
        MODEL_JSON,
        live_status,
        load_generator,
        model_dir,
        read_card,
        read_history,
    )

    folder = model_dir(name)
    if (folder / MODEL_JSON).is_file():
        card = read_card(folder)
        status = live_status(card)
        if status == "training":
            raise MuseforgeError(f"model {name!r} is still training: evaluate it once it has finished or been stopped")
        if status == "failed":
            raise MuseforgeError(f"model {name!r} failed ({card.get('error') or 'unknown error'}): nothing to evaluate")
        generator, card = load_generator(folder)
        return generator, card, "user", read_history(folder), status
    card_path = pretrained_card_path(name)
    if card_path is None:
        genres = ", ".join(c["genre"] for c in list_pretrained()) or "none shipped"
        raise NotFoundError(f"no model named {name!r}: see `museforge models list` (shipped genres: {genres})")
    generator, card = load_generator(card_path)
    history = card.get("history") if isinstance(card.get("history"), list) else []
    return generator, card, "pretrained", history, "completed"


class _Grid:
    """What the metrics need to know about a model's (or dataset's) windows."""

    def __init__(self, tracks: list[dict[str, Any]], resolution: int, lowest: int, beats_per_bar: int) -> None:
        from museforge.training.data import unique_roles

        self.tracks = tracks
        self.roles = unique_roles([str(t["role"]) for t in tracks])
        self.is_drum = [bool(t.get("is_drum", False)) for t in tracks]
        self.drum_roles = [r for r, d in zip(self.roles, self.is_drum, strict=True) if d]
        self.resolution = resolution
        self.lowest = lowest
        self.beats_per_bar = beats_per_bar

    def metrics(
        self, melody: NDArray[np.bool_], accompaniment: NDArray[np.bool_]
    ) -> dict[str, dict[str, float | None]]:
        """:func:`museforge.metrics.music_metrics` of windows, JSON-ready (None for no value)."""
        table = music_metrics(
            melody, accompaniment, self.tracks, self.roles, self.resolution, self.lowest, self.beats_per_bar
        )
        return {role: _clean(row) for role, row in table.items()}

    def tonal(self, rolls: NDArray[np.bool_], melody_role: str | None) -> dict[str, float | None]:
        from museforge.training.data import unique_roles

        if melody_role is None:
            roles, drums = self.roles, self.drum_roles
        else:
            roles = unique_roles([melody_role, *(str(t["role"]) for t in self.tracks)])
            drums = [roles[1 + i] for i, d in enumerate(self.is_drum) if d]
        return _clean(tonal_distances(rolls, roles, self.resolution, self.lowest, drum_roles=drums))


def _held_out(card: dict[str, Any], split: str, samples: int) -> tuple[NDArray[np.bool_], NDArray[np.int64], int]:
    """Real model-sized windows of ``split`` for ``samples`` generated ones, tracks in model order.

    Returns ``(windows (samples, 1 + K, T, P) bool, song of each window (samples,), windows available)``.
    ``samples`` windows are spread evenly over the split; when the split has fewer, every window is used in turn
    (each use gets its own noise).
    """
    from museforge.datasets.cache import load_dataset, unpack
    from museforge.training.data import split_windows

    data = card.get("data") or {}
    genre = card.get("genre") or data.get("genre")
    dataset = load_dataset(str(genre))
    manifest = dataset.manifest
    for key in ("resolution", "lowest_pitch", "n_pitches"):
        if int(manifest[key]) != int(data[key]):
            raise MuseforgeError(
                f"dataset {dataset.genre!r} has {key} {manifest[key]} but model {card.get('name')!r} was trained with "
                f"{data[key]}: rebuild the dataset to match (museforge datasets build {dataset.genre})"
            )
    melody = int(manifest.get("melody_track", 0))
    accompaniment = [int(i) for i in manifest.get("accompaniment_tracks", [])] or [
        i for i in range(len(manifest["tracks"])) if i != melody
    ]
    roles = [manifest["tracks"][i]["role"] for i in accompaniment]
    if roles != [t["role"] for t in data["tracks"]]:
        raise MuseforgeError(
            f"dataset {dataset.genre!r} has tracks {roles} but the model writes {[t['role'] for t in data['tracks']]}:"
            f" rebuild the dataset"
        )
    model_bars = int(card["model_config"]["n_bars"])
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
    return chosen, songs, available


def _header(kind: str, name: str, source: str, status: str, card: dict[str, Any], split: str) -> dict[str, Any]:
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


def _comparison(grid: _Grid, card: dict[str, Any], fake: NDArray[np.bool_], real: NDArray[np.bool_]) -> dict[str, Any]:
    """Generated against real windows, each ``(n, 1 + K, T, P)`` with the melody first: ``tracks`` (every metric
    of every track and the ensemble), ``tonal_distances`` (the melody included) and ``voice_leading`` (Bach)."""
    data = card["data"]
    melody_role = str((data.get("melody") or {}).get("role") or "melody")
    tonal_fake, tonal_real = grid.tonal(fake, melody_role), grid.tonal(real, melody_role)
    out: dict[str, Any] = {
        "tracks": _compare_tables(grid.metrics(fake[:, 0], fake[:, 1:]), grid.metrics(real[:, 0], real[:, 1:])),
        "tonal_distances": {pair: _compare(tonal_fake.get(pair), value) for pair, value in tonal_real.items()},
        "voice_leading": None,
    }
    if card.get("genre") in _VOICE_LEADING_GENRES and real.shape[1] == 4:
        mine, theirs = voice_leading(fake, grid.lowest), voice_leading(real, grid.lowest)
        out["voice_leading"] = {check: _compare(mine[check], value) for check, value in theirs.items()}
    return out


def _generate(generation: Any, melody: NDArray[np.bool_], seed: int) -> NDArray[np.bool_]:
    """Accompaniment for each melody window, each with its own noise: (n, T, P) -> (n, K, T, P) bool.

    The path compose and the trainer take (:class:`museforge.generation.Generation`); the noise is
    ``torch.randn`` from a generator seeded with ``seed``, as the trainer's per-epoch metrics draw it.
    """
    import torch

    rng = torch.Generator().manual_seed(int(seed))
    noise = generation.generator.sample_noise(len(melody), generator=rng)
    return generation.notes(melody, noise)


def _seed_overlap(
    generation: Any, melody: NDArray[np.bool_], generated: NDArray[np.bool_], seed: int, windows: int = 200
) -> float | None:
    """How much of the accompaniment another seed keeps: the mean Jaccard similarity of the sounding cells of the
    first ``windows`` windows generated with ``seed`` and with ``seed + 1`` (1.0: the noise changes nothing)."""
    n = min(windows, len(melody))
    if n == 0:
        return None
    other = _generate(generation, melody[:n], seed + 1)
    overlap = cell_overlap(generated[:n], other)
    return _number(np.nanmean(overlap)) if np.isfinite(overlap).any() else None


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
    data = card["data"]
    grid = _Grid(
        list(data["tracks"]), int(data["resolution"]), int(data["lowest_pitch"]), int(data.get("beats_per_bar", 4))
    )
    real, songs, available = _held_out(card, split, samples)
    timing["load"] = time.perf_counter() - started

    mark = time.perf_counter()
    from museforge.generation import Generation

    generation = Generation.from_card(generator, card, threshold=threshold)
    generated = _generate(generation, real[:, 0], seed)
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
            "bars": int(card["model_config"]["n_bars"]),
            "steps": int(real.shape[2]),
            "available": int(available),
            "melodies": int(min(samples, available)),
        },
        **_comparison(grid, card, fake, real),
        "seed_overlap": _seed_overlap(generation, real[:, 0], generated, seed),
        "classifier": None,
    }
    timing["metrics"] = time.perf_counter() - mark

    if classifier:
        mark = time.perf_counter()
        features = {
            key: window_features(
                rolls[:, 1:], real[:, 0], grid.resolution, grid.is_drum, grid.lowest, grid.beats_per_bar
            )
            for key, rolls in (("real", real), ("generated", fake))
        }
        result["classifier"] = two_sample_accuracy(features["real"], features["generated"], songs, songs, seed=seed)
        timing["classifier"] = time.perf_counter() - mark

    result["largest_gap"] = _largest_gap(result)
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
    name: str, *, seeds: Sequence[int] = SAMPLE_SEEDS, split: str = "test", real_windows: int = 1000
) -> dict[str, Any]:
    """Compose every built-in melody (:func:`museforge.music.melodies.list_melodies`) with each seed, as
    ``museforge compose`` does, and compare the music's metrics with the real music of a held-out split.

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
    import torch

    from museforge.compose import generate_probabilities, melody_roll
    from museforge.generation import Generation
    from museforge.music.melodies import get_melody, list_melodies, melody_to_multitrack

    started = time.perf_counter()
    if split not in HELD_OUT_SPLITS:
        raise MuseforgeError(f"real music comes from a held-out split: choose {' or '.join(HELD_OUT_SPLITS)}")
    generator, card, kind, _history, status = _load_model(name)
    data = card["data"]
    grid = _Grid(
        list(data["tracks"]), int(data["resolution"]), int(data["lowest_pitch"]), int(data.get("beats_per_bar", 4))
    )
    n_pitches = int(data["n_pitches"])
    window = int(card["model_config"]["n_bars"]) * int(card["model_config"]["steps_per_bar"])
    generation = Generation.from_card(generator, card)
    melodies, outputs, names = [], [], []
    for info in list_melodies():
        source = melody_to_multitrack(get_melody(info.name), resolution=grid.resolution)
        roll = melody_roll(source, grid.lowest, n_pitches)
        usable = (len(roll) // window) * window
        if usable == 0:
            continue
        names.append(info.name)
        for seed in seeds:
            probs = generate_probabilities(generation, roll, window, torch.Generator().manual_seed(int(seed)))
            notes = generation.decode(probs)[:, :usable]  # (K, usable, P)
            outputs.append(notes.reshape(notes.shape[0], -1, window, n_pitches).transpose(1, 0, 2, 3))
            melodies.append(roll[:usable].reshape(-1, window, n_pitches))
    if not outputs:
        raise MuseforgeError("no built-in melody is as long as one window of this model")
    melody = np.concatenate(melodies)
    generated = np.concatenate(outputs)
    real, _songs, available = _held_out(card, split, real_windows)
    fake = np.concatenate([melody[:, None], generated], axis=1)
    overlap = [cell_overlap(a[None], b[None])[0] for a, b in _seed_pairs(outputs, len(seeds))]
    result: dict[str, Any] = {
        **_header("samples", name, kind, status, card, split),
        "samples": len(generated),
        "seed": int(seeds[0]) if len(seeds) else 0,
        "seeds": [int(x) for x in seeds],
        "melodies": names,
        "windows": {
            "bars": int(card["model_config"]["n_bars"]),
            "steps": window,
            "available": int(available),
            "melodies": len(names),
        },
        **_comparison(grid, card, fake, real),
        "seed_overlap": _number(np.nanmean(overlap)) if overlap else None,
        "classifier": None,
    }
    result["largest_gap"] = _largest_gap(result)
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
    from museforge.datasets.cache import SPLITS, load_dataset, unpack

    started = time.perf_counter()
    if split not in SPLITS:
        raise MuseforgeError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    if isinstance(max_windows, bool) or int(max_windows) != max_windows or max_windows < 1:
        raise MuseforgeError(f"max_windows must be a positive whole number, got {max_windows!r}")
    dataset = load_dataset(genre)
    manifest = dataset.manifest
    grid = _Grid(
        list(manifest["tracks"]),
        int(manifest["resolution"]),
        int(manifest["lowest_pitch"]),
        int(manifest.get("beats_per_bar", 4)),
    )
    packed = dataset.packed(split)
    available = len(packed)
    if available > max_windows:
        packed = packed[np.linspace(0, len(packed) - 1, num=int(max_windows)).round().astype(np.int64)]
    windows = unpack(packed)
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
        "tracks": grid.metrics(windows[:, 0], windows),
        "tonal_distances": grid.tonal(windows, None),
        "voice_leading": None,
    }
    if dataset.genre in _VOICE_LEADING_GENRES and windows.shape[1] == 4:
        result["voice_leading"] = voice_leading(windows, grid.lowest)
    result["timing"] = {"total": round(time.perf_counter() - started, 3)}
    return result


# ------------------------------------------------------------------------------------------------ shipping bar
#: Metrics whose generated value is 0 where it is undefined: a track that never plays a chord has no clusters.
_ZERO_WHEN_UNDEFINED = ("semitone_cluster_rate",)


def _check(metric: str, cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """One metric against the real value: within 15 % of it or its absolute floor. None if real has no value."""
    if cell is None or cell.get("real") is None:
        return None
    real, mine = float(cell["real"]), cell.get("generated")
    if mine is None and metric in _ZERO_WHEN_UNDEFINED:
        mine = 0.0
    tolerance = max(RELATIVE_TOLERANCE * abs(real), ABSOLUTE_FLOOR.get(metric, RATE_FLOOR))
    difference = None if mine is None else float(mine) - real
    return {
        "generated": mine,
        "real": real,
        "difference": difference,
        "tolerance": tolerance,
        "passed": difference is not None and abs(difference) <= tolerance + 1e-12,
    }


def _range_check(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """Notes outside the instrument's range: at most :data:`MAX_OUT_OF_RANGE`, whatever the real value."""
    if cell is None or cell.get("generated") is None:
        return None
    mine = float(cell["generated"])
    return {
        "generated": mine,
        "real": cell.get("real"),
        "difference": None,
        "tolerance": MAX_OUT_OF_RANGE,
        "passed": mine <= MAX_OUT_OF_RANGE + 1e-12,
    }


def _section(checks: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    kept = {k: v for k, v in checks.items() if v is not None}
    return {"passed": all(c["passed"] for c in kept.values()), "metrics": kept}


def shipping_bar(result: dict[str, Any]) -> dict[str, Any]:
    """Whether a model's music is close enough to the real music on the same windows to ship the model.

    Every metric counts, not a chosen few:

    - per pitched accompaniment track, each of :data:`SHIPPING_METRICS` (empty bars, pitch classes, qualified and
      one-step notes, key fit, in-scale against the melody's key, consonance and doubling with the melody,
      polyphony, semitone clusters); per drum track :data:`SHIPPING_DRUM_METRICS` (empty bars, pattern,
      repetition, backbeat); for the ensemble :data:`SHIPPING_ENSEMBLE_METRICS`; every tonal distance; and for
      Bach every voice-leading check. Each passes when ``|generated - real| <= max(RELATIVE_TOLERANCE * |real|,
      floor)`` (15 %, floors in :data:`ABSOLUTE_FLOOR` and :data:`RATE_FLOOR`). A metric the real music does not
      define is skipped; one it defines but the generated music does not (a silent track) fails.
    - per pitched track, at most :data:`MAX_OUT_OF_RANGE` of the notes outside the instrument's range;
    - the real-vs-generated classifier at most :data:`MAX_CLASSIFIER_ACCURACY` (when it ran).

    Parameters
    ----------
    result : dict
        A result of :func:`evaluate_model` (or :func:`evaluate_samples`).

    Returns
    -------
    dict
        ``passed``, ``split``, ``relative_tolerance``, ``absolute_floor``, ``rate_floor``, ``failures`` (one line
        per failed check), ``tracks`` (``{role: {passed, metrics: {metric: {generated, real, difference,
        tolerance, passed}}}}``, ``ensemble`` among them), ``tonal_distances``, ``voice_leading`` and
        ``classifier`` (each ``{passed, metrics}``, empty where not measured).
    """
    if result.get("kind") not in ("model", "samples"):
        raise MuseforgeError("the shipping bar compares a model's music with the real music: evaluate a model")
    tracks: dict[str, Any] = {}
    for role, row in result["tracks"].items():
        if role == "ensemble":
            names: tuple[str, ...] = SHIPPING_ENSEMBLE_METRICS
        elif "drum_pattern_rate" in row:
            names = SHIPPING_DRUM_METRICS
        else:
            names = SHIPPING_METRICS
        checks = {metric: _check(metric, row.get(metric)) for metric in names}
        if "out_of_range_rate" in row:
            checks["out_of_range_rate"] = _range_check(row.get("out_of_range_rate"))
        tracks[role] = _section(checks)
    sections = {
        "tonal_distances": _section(
            {pair: _check("tonal_distance", cell) for pair, cell in (result.get("tonal_distances") or {}).items()}
        ),
        "voice_leading": _section(
            {check: _check(check, cell) for check, cell in (result.get("voice_leading") or {}).items()}
        ),
    }
    clf = result.get("classifier") or {}
    if clf.get("accuracy") is not None:
        accuracy = float(clf["accuracy"])
        sections["classifier"] = _section(
            {
                "accuracy": {
                    "generated": accuracy,
                    "real": 0.5,
                    "difference": accuracy - 0.5,
                    "tolerance": MAX_CLASSIFIER_ACCURACY,
                    "passed": accuracy <= MAX_CLASSIFIER_ACCURACY,
                }
            }
        )
    else:
        sections["classifier"] = _section({})
    failures = [
        _failure(where, metric, check)
        for where, section in [*tracks.items(), *sections.items()]
        for metric, check in section["metrics"].items()
        if not check["passed"]
    ]
    return {
        "passed": bool(tracks) and not failures,
        "split": result.get("split"),
        "relative_tolerance": RELATIVE_TOLERANCE,
        "absolute_floor": dict(ABSOLUTE_FLOOR),
        "rate_floor": RATE_FLOOR,
        "failures": failures,
        "tracks": tracks,
        **sections,
    }


def _failure(where: str, metric: str, check: dict[str, Any]) -> str:
    if metric == "out_of_range_rate":
        return f"{where} notes outside the instrument's range {_fmt(check['generated'])} (at most {MAX_OUT_OF_RANGE})"
    if where == "classifier":
        return f"classifier accuracy {_fmt(check['generated'])} (at most {MAX_CLASSIFIER_ACCURACY})"
    return f"{where} {metric} {_fmt(check['generated'])} vs {_fmt(check['real'])} (allowed ±{_fmt(check['tolerance'])})"


def format_shipping_bar(bar: dict[str, Any]) -> str:
    """One line: passed, or every check that missed."""
    head = (
        f"Shipping bar (every metric within {100 * RELATIVE_TOLERANCE:.0f} % of real, notes in range >= "
        f"{100 * (1 - MAX_OUT_OF_RANGE):.0f} %, classifier <= {MAX_CLASSIFIER_ACCURACY})"
    )
    if bar["passed"]:
        return f"{head}: passed"
    return f"{head}: FAILED {len(bar['failures'])} checks: " + "; ".join(bar["failures"])


# ------------------------------------------------------------------------------------------------ text
def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def _signed_gap(cell: dict[str, float | None]) -> str:
    """The gap as a signed percentage ((generated - real) / |real|), "-" when undefined."""
    if cell.get("gap") is None or cell.get("generated") is None or cell.get("real") is None:
        return "-"
    sign = "+" if cell["generated"] >= cell["real"] else "-"
    return f"{sign}{100 * cell['gap']:.1f} %"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_evaluation(result: dict[str, Any]) -> str:
    """The text ``museforge evaluate`` prints for a result of :func:`evaluate_model` or :func:`evaluate_data`."""
    if result.get("kind") == "data":
        return _format_data(result)
    w = result["windows"]
    lines = [
        f"Model {result['model']} ({result['source']} {result['architecture']}, genre {result['genre']}"
        + ("" if result["status"] == "completed" else f", {result['status']}")
        + (
            f"): {result['samples']} generated windows of {w['bars']} bars on the {w['melodies']} built-in melodies "
            f"(seeds {', '.join(map(str, result['seeds']))}), against the real music of the {result['split']} split"
            if result.get("kind") == "samples"
            else f"): {result['samples']} generated windows of {w['bars']} bars on {w['melodies']} melodies of the "
            f"{result['split']} split, seed {result['seed']}"
        ),
        "",
    ]
    rows = []
    for role, row in result["tracks"].items():
        for k, (metric, cell) in enumerate(row.items()):
            rows.append(
                [role if k == 0 else "", metric, _fmt(cell["generated"]), _fmt(cell["real"]), _signed_gap(cell)]
            )
    lines += _table(["track", "metric", "generated", "real", "gap"], rows)
    if result.get("tonal_distances"):
        rows = [
            ["", pair, _fmt(c["generated"]), _fmt(c["real"]), _signed_gap(c)]
            for pair, c in result["tonal_distances"].items()
        ]
        lines += ["", *_table(["tonal distance", "tracks", "generated", "real", "gap"], rows)]
    if result.get("voice_leading"):
        rows = [
            ["", check, _fmt(c["generated"]), _fmt(c["real"]), _signed_gap(c)]
            for check, c in result["voice_leading"].items()
        ]
        lines += ["", *_table(["voice leading", "check", "generated", "real", "gap"], rows)]
    lines.append("")
    clf = result.get("classifier")
    if clf is not None:
        if clf["accuracy"] is None:
            lines.append("Real-vs-generated classifier: too few windows to test")
        else:
            lines.append(
                f"Real-vs-generated classifier: accuracy {clf['accuracy']:.3f} ± {clf['stderr']:.3f} on "
                f"{clf['n_test']} held-out windows (0.5 = indistinguishable, 1.0 = always told apart)"
            )
    if result.get("seed_overlap") is not None:
        lines.append(
            f"Seed diversity: another seed keeps {100 * result['seed_overlap']:.0f} % of the sounding cells "
            "(100 % = the noise changes nothing)"
        )
    top = result.get("largest_gap")
    if top is not None:
        lines.append(
            f"Largest gap: {top['track']} {top['metric']} (generated {_fmt(top['generated'])}, real "
            f"{_fmt(top['real'])}, {_signed_gap(top)})"
        )
    if result.get("shipping_bar"):
        lines.append(format_shipping_bar(result["shipping_bar"]))
    if result.get("plot"):
        lines.append(f"Plot: {result['plot']}")
    t = result.get("timing", {})
    parts = ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total")
    lines.append(f"Took {t.get('total', 0.0):.1f} s" + (f" ({parts})" if parts else ""))
    return "\n".join(lines)


def _format_data(result: dict[str, Any]) -> str:
    w = result["windows"]
    lines = [
        f"Dataset {result['genre']}, {result['split']} split: {w['used']} windows of {w['bars']} bars"
        + ("" if w["used"] == w["available"] else f" (evenly spread over {w['available']})"),
        "",
    ]
    rows = []
    for role, row in result["tracks"].items():
        shown = [(m, v) for m, v in row.items() if v is not None]
        rows += [[role if k == 0 else "", metric, _fmt(value)] for k, (metric, value) in enumerate(shown)]
    lines += _table(["track", "metric", "value"], rows)
    if result.get("tonal_distances"):
        rows = [["", pair, _fmt(value)] for pair, value in result["tonal_distances"].items()]
        lines += ["", *_table(["tonal distance", "tracks", "value"], rows)]
    if result.get("voice_leading"):
        rows = [["", check, _fmt(value)] for check, value in result["voice_leading"].items()]
        lines += ["", *_table(["voice leading", "check", "value"], rows)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ picture
REAL_COLOR = "#9a9a9a"
GENERATED_COLOR = "#1f77b4"


def save_evaluation_png(
    result: dict[str, Any], path: Path, history: Sequence[dict[str, Any]] = (), dpi: int = 110
) -> None:
    """Draw an evaluation: the training losses per epoch on top, then one panel per metric with a real (grey) and
    a generated (blue) bar per track, then tonal distances and (Bach) voice leading.

    Parameters
    ----------
    result : dict
        A result of :func:`evaluate_model`.
    path : Path
        The ``.png`` to write (through a temporary name, so no reader sees half a picture).
    history : sequence of dict
        Per-epoch training records with ``epoch``, ``generator_loss`` and ``discriminator_loss``.
    dpi : int
        Resolution.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    panels: list[tuple[str, list[str], list[float | None], list[float | None]]] = []
    metrics = list(dict.fromkeys(m for row in result["tracks"].values() for m in row))
    for metric in metrics:
        roles = [r for r, row in result["tracks"].items() if metric in row]
        cells = [result["tracks"][r][metric] for r in roles]
        panels.append((metric.replace("_", " "), roles, [c["real"] for c in cells], [c["generated"] for c in cells]))
    for title, key in (("tonal distance", "tonal_distances"), ("voice leading", "voice_leading")):
        table = result.get(key) or {}
        if table:
            names = list(table)
            panels.append((title, names, [table[n]["real"] for n in names], [table[n]["generated"] for n in names]))
    n_cols = 3
    n_rows = 1 + math.ceil(len(panels) / n_cols)
    figure = Figure(figsize=(12.0, 3.2 + 2.7 * (n_rows - 1)), layout="constrained")
    grid = figure.add_gridspec(n_rows, n_cols, height_ratios=[1.1] + [1.0] * (n_rows - 1))
    losses = figure.add_subplot(grid[0, :])
    epochs = [float(r.get("epoch", i + 1)) for i, r in enumerate(history)]
    drawn = False
    for key, label, color in (("generator_loss", "generator", "#1f77b4"), ("discriminator_loss", "critic", "#ff7f0e")):
        values = [_number(r.get(key)) for r in history]
        if any(v is not None for v in values):
            marker = "o" if len(history) <= 30 else None
            losses.plot(
                epochs, [np.nan if v is None else v for v in values], label=label, color=color, lw=1.5, marker=marker
            )
            drawn = True
    if drawn:
        losses.legend(frameon=False, fontsize=8)
        losses.set_xlabel("epoch")
        losses.set_ylabel("loss")
        losses.grid(alpha=0.3)
        losses.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        losses.text(0.5, 0.5, "no training history recorded", ha="center", va="center", transform=losses.transAxes)
        losses.set_xticks([])
        losses.set_yticks([])
    clf = result.get("classifier") or {}
    accuracy = (
        f"; real-vs-generated classifier accuracy {clf['accuracy']:.2f}" if clf.get("accuracy") is not None else ""
    )
    losses.set_title(
        f"{result['model']} ({result['genre']}, {result['architecture']}): training losses{accuracy}",
        loc="left",
        fontsize=11,
    )
    for index, (title, names, real, generated) in enumerate(panels):
        ax = figure.add_subplot(grid[1 + index // n_cols, index % n_cols])
        x = np.arange(len(names))
        ax.bar(x - 0.2, [np.nan if v is None else v for v in real], width=0.4, color=REAL_COLOR)
        ax.bar(x + 0.2, [np.nan if v is None else v for v in generated], width=0.4, color=GENERATED_COLOR)
        crowded = len(names) > 4 or max(len(n) for n in names) * len(names) > 40
        ax.set_xticks(x, names, fontsize=7, rotation=30 if crowded else 0, ha="right" if crowded else "center")
        center, width = (len(names) - 1) / 2, max(len(names), 3)
        ax.set_xlim(center - width / 2, center + width / 2)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(axis="y", alpha=0.3)
        if index == 0:
            handles = [
                Patch(color=REAL_COLOR, label=f"real ({result['split']})"),
                Patch(color=GENERATED_COLOR, label="generated"),
            ]
            ax.legend(handles=handles, frameon=False, fontsize=7)
    path = Path(path)
    if not path.parent.is_dir():
        raise MuseforgeError(f"cannot write {path}: folder {path.parent} does not exist")
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=dpi, facecolor="white")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise MuseforgeError(f"cannot write {path}: {error.strerror or error}") from None
