"""Whether a model plays in the melody's meter: the meter fit (:mod:`museforge.metrics.meter`) of its drum and bass
tracks against the real ones, on the same held-out windows, per meter."""

from __future__ import annotations

from typing import Any

import numpy as np

from museforge.evaluate.compare import compare
from museforge.metrics.meter import rhythm_tracks, windows_meter_fit
from museforge.model_files import ModelCard

#: Windows a meter needs in the split to be measured (fewer give a share no one should ship on).
MIN_METER_WINDOWS = 20


def meter_comparison(
    card: ModelCard, real: np.ndarray, generated: np.ndarray, grids: np.ndarray, meters: np.ndarray
) -> dict[str, Any]:
    """Meter fit of the generated against the real drums and bass, per meter of the windows.

    Parameters
    ----------
    card : the model's card (its tracks).
    real : np.ndarray, shape (n, 1 + K, T, P), bool — real windows, melody first.
    generated : np.ndarray, shape (n, K, T, P), bool — the model's accompaniment of the same melodies.
    grids, meters : each window's metric grid (n, T, 2) and meter (n, 2).

    Returns
    -------
    dict
        ``{"3/4": {"windows": n, "beat_onset_share": {generated, real, gap}, "downbeat_rate": {...}}}``; empty
        for a model without drums or bass.
    """
    tracks = rhythm_tracks(card.tracks)
    if not tracks:
        return {}
    resolution = card.resolution
    mine = windows_meter_fit(generated[:, tracks], grids, meters, resolution, MIN_METER_WINDOWS)
    theirs = windows_meter_fit(real[:, 1:][:, tracks], grids, meters, resolution, MIN_METER_WINDOWS)
    out: dict[str, Any] = {}
    for meter, real_fit in theirs.items():
        made = mine[meter]
        out[meter] = {"windows": real_fit["windows"]}
        for metric in ("beat_onset_share", "downbeat_rate"):
            value, reference = made[metric], real_fit[metric]
            out[meter][metric] = compare(
                None if value is None else float(value), None if reference is None else float(reference)
            )
    return out


__all__ = ["MIN_METER_WINDOWS", "meter_comparison"]
