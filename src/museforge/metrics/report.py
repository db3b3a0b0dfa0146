"""Every metric of an accompaniment, per track and for the ensemble: the one table that training logs, the studio
chart and ``museforge evaluate`` show, for generated and for real windows alike.

:func:`music_metrics` takes the melody windows and the accompaniment windows of a model's grid and returns plain
floats (NaN where a metric has nothing to count), averaged over windows with NaN ignored.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from museforge.metrics import melody as fit
from museforge.metrics import texture
from museforge.metrics.bars import bar_groups, window_bars
from museforge.metrics.tracks import track_metrics
from museforge.music.instruments import playable_range

#: Per pitched track, in the order tables show them.
PITCHED_METRICS: tuple[str, ...] = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "one_step_note_rate",
    "in_scale_rate",
    "key_fit",
    "melody_in_scale_rate",
    "consonance",
    "melody_doubling",
    "polyphonic_rate",
    "semitone_cluster_rate",
    "pitch_range",
    "out_of_range_rate",
    "pitches_per_step",
)
#: Per drum track.
DRUM_METRICS: tuple[str, ...] = (
    "empty_bar_rate",
    "drum_pattern_rate",
    "drum_repetition",
    "backbeat_rate",
    "pitches_per_step",
)
#: For all the tracks together.
ENSEMBLE_METRICS: tuple[str, ...] = ("crowded_window_rate", "notes_per_step")


#: The metrics of a pattern that repeats bar by bar: measured in each window's own bars when its metric grid is given
#: (a waltz's groove repeats every 3 beats). The counts per bar (empty bars, pitch classes) are counted per 4 beats in
#: every meter, the same stretch of music for real and generated windows whatever their meters.
BAR_METRICS: tuple[str, ...] = ("drum_repetition", "backbeat_rate")


def _mean(values: NDArray[np.float64]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return float(np.nanmean(values)) if len(values) else float("nan")


def music_metrics(
    melody: NDArray[np.bool_],
    accompaniment: NDArray[np.bool_],
    tracks: Sequence[Mapping[str, Any]],
    roles: Sequence[str],
    resolution: int,
    lowest_pitch: int,
    beats_per_bar: int = 4,
    grids: ArrayLike | None = None,
) -> dict[str, dict[str, float]]:
    """All metrics of accompaniment windows under their melody.

    Parameters
    ----------
    melody : array, shape (n, T, P), bool
        The melody of each window.
    accompaniment : array, shape (n, K, T, P), bool
        The accompaniment tracks of each window.
    tracks : sequence of mapping, length K
        Per track: ``program`` and ``is_drum`` (and ``role``, for chorale voice ranges).
    roles : sequence of str, length K
        Unique role names (the table's keys).
    resolution, lowest_pitch, beats_per_bar : int
        Grid and pitch window.
    grids : array, shape (n, T, 2), optional
        The windows' metric grids (:mod:`museforge.music.meter`): the drums' repetition and backbeat
        (:data:`BAR_METRICS`) are then measured in each window's own bars (:mod:`museforge.metrics.bars`: a waltz in
        3/4 bars, a tune with a pickup from its first bar line), the backbeat only in bars of 4 beats; None: every
        window is in bars of ``beats_per_bar`` beats from its first step.

    Returns
    -------
    dict
        ``{role: {metric: value}}`` for every track (:data:`PITCHED_METRICS` or :data:`DRUM_METRICS`) and
        ``"ensemble": {metric: value}`` (:data:`ENSEMBLE_METRICS`: windows in which the melody and the pitched
        tracks sound more than 16 notes at once; mean sounding pitches per step).
    """
    melody = np.asarray(melody, dtype=bool)
    accompaniment = np.asarray(accompaniment, dtype=bool)
    drum_roles = [r for r, t in zip(roles, tracks, strict=True) if t["is_drum"]]
    base = track_metrics(
        accompaniment, roles, resolution, lowest_pitch=lowest_pitch, drum_roles=drum_roles, beats_per_bar=beats_per_bar
    )
    steps_per_bar = resolution * beats_per_bar
    out: dict[str, dict[str, float]] = {}
    for k, (role, spec) in enumerate(zip(roles, tracks, strict=True)):
        x = accompaniment[:, k]
        per_window: dict[str, Any] = {"pitches_per_step": x.sum(axis=2, dtype=np.float64).mean(axis=1)}
        if spec["is_drum"]:
            per_window.update(drum_bar_metrics(x, resolution, lowest_pitch, steps_per_bar, grids))
            names = DRUM_METRICS
        else:
            low, high = playable_range(int(spec.get("program", 0)), str(spec.get("role", role)), False) or (0, 127)
            per_window.update(
                one_step_note_rate=texture.one_step_note_rate(x),
                key_fit=fit.key_fit(x, melody, lowest_pitch),
                melody_in_scale_rate=fit.melody_in_scale_rate(x, melody, lowest_pitch),
                consonance=fit.consonance(x, melody),
                melody_doubling=fit.melody_doubling(x, melody),
                semitone_cluster_rate=texture.semitone_cluster_rate(x),
                out_of_range_rate=texture.out_of_range_rate(x, low, high, lowest_pitch),
            )
            names = PITCHED_METRICS
        row = {}
        for name in names:
            row[name] = _mean(np.asarray(per_window[name])) if name in per_window else base[role][name]
        out[role] = row
    pitched = [k for k, t in enumerate(tracks) if not t["is_drum"]]
    ensemble = np.concatenate([melody[:, None], accompaniment[:, pitched]], axis=1)
    out["ensemble"] = {
        "crowded_window_rate": _mean(texture.crowded(ensemble)) if len(ensemble) else float("nan"),
        "notes_per_step": _mean(texture.ensemble_notes(ensemble).mean(axis=1)) if len(ensemble) else float("nan"),
    }
    return out


def drum_bar_metrics(
    track: ArrayLike,
    resolution: int,
    lowest_pitch: int,
    steps_per_bar: int,
    grids: ArrayLike | None = None,
) -> dict[str, NDArray[np.float64]]:
    """:data:`BAR_METRICS` of each window of a drum track: ``(n, T, P)`` -> ``{metric: (n,)}``.

    With the windows' metric grids ``(n, T, 2)`` each window is measured in its own bars (windows that share their
    first bar line and bar length together, :func:`museforge.metrics.bars.bar_groups`), the backbeat only in bars
    of four quarter-note beats; without them in bars of ``steps_per_bar`` steps from the first step.
    """
    x = np.asarray(track, dtype=bool)
    if x.ndim != 3:
        raise ValueError(f"track must have shape (n, T, P), got {x.shape}")
    if grids is None:
        bars = np.tile(np.array([0, steps_per_bar], dtype=np.int64), (len(x), 1))
    else:
        bars = window_bars(grids, steps_per_bar)
        if len(bars) != len(x):
            raise ValueError(f"got {len(bars)} metric grids for {len(x)} windows")
    out = {name: np.full(len(x), np.nan) for name in BAR_METRICS}
    for rows, first, steps in bar_groups(bars):
        part = x[rows, first:]
        out["drum_repetition"][rows] = texture.drum_repetition(part, steps)
        if steps == 4 * resolution:  # bars of four quarter-note beats: the snare on 2 and 4
            out["backbeat_rate"][rows] = texture.backbeat_rate(part, resolution, lowest_pitch, 4)
    return out


__all__ = ["BAR_METRICS", "DRUM_METRICS", "ENSEMBLE_METRICS", "PITCHED_METRICS", "drum_bar_metrics", "music_metrics"]
