"""The real-vs-generated classifier: per-window features and a two-sample test (pure NumPy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from museforge.music.keys import onsets

#: Classifier: weight of the L2 penalty on the (standardised) feature weights.
CLASSIFIER_L2 = 0.01
#: Classifier: standardised features are clipped to +-CLIP.
CLIP = 5.0
#: The learners a two-sample test may use: the shipping bar's, and a second of another kind reported beside it.
LEARNERS: tuple[str, ...] = ("logistic", "boosted_stumps")
#: Boosted stumps: rounds of boosting.
BOOSTING_ROUNDS = 200
_METHODS = {
    "logistic": "L2 logistic regression on per-window features; train and test halves split by song",
    "boosted_stumps": (
        f"AdaBoost over {BOOSTING_ROUNDS} decision stumps (one feature, one threshold each: steps a linear model "
        "cannot draw) on per-window features; train and test halves split by song"
    ),
}


# ------------------------------------------------------------------------------------------------ classifier
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
    starts = onsets(x, axis=1)
    n_onsets = starts.sum(axis=(1, 2))
    out: list[NDArray[np.float64]] = [
        np.log1p(counts.mean(axis=1)),
        sounding.mean(axis=1),
        np.stack([(counts == k).mean(axis=1) for k in (1, 2, 3)] + [(counts >= 4).mean(axis=1)], axis=1),
        (~bars.any(axis=(2, 3))).mean(axis=1),
        np.log1p(n_onsets / n_bars),
        _positions(starts, resolution, steps_per_bar),
    ]
    if is_drum:  # which drums, coarsely: onsets per group of 7 columns
        per_column = starts.sum(axis=1, dtype=np.int64).astype(np.float64)
        groups = np.add.reduceat(per_column, np.arange(0, pitches, 7), axis=1)
        out += [_share(groups, n_onsets[:, None]), (per_column > 0).sum(axis=1) / 12.0]
        return out
    used = np.any(x, axis=1)  # (n, pitch)
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


def _fit_stumps(x: NDArray[np.float64], y: NDArray[np.float64], rounds: int) -> list[tuple[int, float, float, float]]:
    """AdaBoost over decision stumps (discrete, deterministic): ``x`` (n, f), ``y`` (n,) in {0, 1} -> ``[(feature,
    threshold, sign, weight)]``; a stump says ``sign`` (+1: first set) where ``x[:, feature] > threshold``."""
    n, f = x.shape
    target = np.where(y > 0.5, 1.0, -1.0)
    weights = np.full(n, 1.0 / n)
    order = np.argsort(x, axis=0, kind="stable")  # (n, f)
    ordered = np.take_along_axis(x, order, axis=0)
    stumps: list[tuple[int, float, float, float]] = []
    for _ in range(rounds):
        signed = (weights * target)[order]  # (n, f): each feature's items in its order
        above = signed.sum(axis=0) - np.cumsum(signed, axis=0)  # weighted sum of targets above each cut
        below = np.cumsum(signed, axis=0)
        edge = above - below  # for sign +1: the weighted agreement of "above: first set"
        valid = np.vstack([ordered[1:] > ordered[:-1], np.zeros((1, f), dtype=bool)])  # cut between distinct values
        edge = np.where(valid, edge, 0.0)
        row, column = np.unravel_index(int(np.argmax(np.abs(edge))), edge.shape)
        best = float(edge[row, column])
        if abs(best) < 1e-12:
            break
        sign = 1.0 if best > 0 else -1.0
        threshold = float((ordered[row, column] + ordered[row + 1, column]) / 2) if row + 1 < n else np.inf
        predicted = np.where(x[:, column] > threshold, sign, -sign)
        error = float(np.clip(weights[predicted != target].sum(), 1e-10, 1 - 1e-10))
        alpha = 0.5 * math.log((1 - error) / error)
        stumps.append((int(column), threshold, sign, alpha))
        weights = weights * np.exp(-alpha * target * predicted)
        weights /= weights.sum()
    return stumps


def _stumps_say(x: NDArray[np.float64], stumps: list[tuple[int, float, float, float]]) -> NDArray[np.bool_]:
    """Where the boosted stumps say "first set" for each row of ``x``."""
    score = np.zeros(len(x))
    for column, threshold, sign, alpha in stumps:
        score += alpha * np.where(x[:, column] > threshold, sign, -sign)
    return score > 0


def two_sample_accuracy(
    first: NDArray[np.float64],
    second: NDArray[np.float64],
    groups_first: NDArray[np.int64] | None = None,
    groups_second: NDArray[np.int64] | None = None,
    seed: int = 0,
    l2: float = CLASSIFIER_L2,
    learner: str = "logistic",
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
        Penalty weight (logistic regression).
    learner : str
        ``"logistic"`` (the shipping bar's) or ``"boosted_stumps"`` (AdaBoost over decision stumps: another kind of
        learner, reported beside it).

    Returns
    -------
    dict
        ``accuracy`` on the held-out half (None if a half lacks one of the sets), ``stderr`` (its binomial
        standard error), ``n_train``, ``n_test``, ``features``, ``method``.
    """
    if learner not in LEARNERS:
        raise ValueError(f"unknown learner {learner!r}: choose {', '.join(LEARNERS)}")
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
        "method": _METHODS[learner],
    }
    if len(set(y[train])) < 2 or len(set(y[~train])) < 2:
        return result
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std < 1e-12] = 1.0
    z = np.clip((x - mean) / std, -CLIP, CLIP)  # a value rare in the training half cannot swamp the rest
    if learner == "boosted_stumps":
        predicted = _stumps_say(z[~train], _fit_stumps(z[train], y[train], BOOSTING_ROUNDS))
    else:
        w = _fit_logistic(z[train], y[train], l2)
        predicted = (np.hstack([z[~train], np.ones(((~train).sum(), 1))]) @ w) > 0
    accuracy = float((predicted == (y[~train] > 0.5)).mean())
    result["accuracy"] = accuracy
    result["stderr"] = math.sqrt(accuracy * (1 - accuracy) / result["n_test"])
    return result
