"""What the metrics need to know about a model's (or a dataset's) windows, and the metrics of windows through it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from museforge.evaluate.compare import clean
from museforge.metrics import music_metrics, tonal_distances
from museforge.music.tracks import unique_roles


class MetricGrid:
    """What the metrics need to know about a model's (or dataset's) windows."""

    def __init__(self, tracks: list[dict[str, Any]], resolution: int, lowest: int, beats_per_bar: int) -> None:
        self.tracks = tracks
        self.roles = unique_roles([str(t["role"]) for t in tracks])
        self.is_drum = [bool(t.get("is_drum", False)) for t in tracks]
        self.drum_roles = [r for r, d in zip(self.roles, self.is_drum, strict=True) if d]
        self.resolution = resolution
        self.lowest = lowest
        self.beats_per_bar = beats_per_bar

    def metrics(
        self,
        melody: NDArray[np.bool_],
        accompaniment: NDArray[np.bool_],
        grids: NDArray[Any] | None = None,
    ) -> dict[str, dict[str, float | None]]:
        """:func:`museforge.metrics.music_metrics` of windows, JSON-ready (None for no value); ``grids`` ``(n, T, 2)``
        the windows' metric grids, so that the drums' patterns are measured in the bars each window has."""
        table = music_metrics(
            melody, accompaniment, self.tracks, self.roles, self.resolution, self.lowest, self.beats_per_bar, grids
        )
        return {role: clean(row) for role, row in table.items()}

    def tonal(self, rolls: NDArray[np.bool_], melody_role: str | None) -> dict[str, float | None]:
        if melody_role is None:
            roles, drums = self.roles, self.drum_roles
        else:
            roles = unique_roles([melody_role, *(str(t["role"]) for t in self.tracks)])
            drums = [roles[1 + i] for i, d in enumerate(self.is_drum) if d]
        return clean(tonal_distances(rolls, roles, self.resolution, self.lowest, drum_roles=drums))


__all__ = ["MetricGrid"]
