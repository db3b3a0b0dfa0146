"""When a track's notes may change, from its model card: the positions in the beat its data change on
(:func:`change_grids`, ``data.change_grid`` from :mod:`museforge.music.rhythm`) and what a change costs on each
position (:func:`change_costs`, ``decoding.change_cost``). :class:`museforge.sampling.notes.NotePolicy` turns both
into per-step costs for the decoding's paths (:mod:`museforge.sampling.paths`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.music.tracks import unique_roles


def change_grids(card: Mapping[str, Any]) -> tuple[tuple[int, ...] | None, ...]:
    """Per accompaniment track: the positions in the beat its notes may change on (``data.change_grid``, by role)
    where the card's ``decoding.change_grid`` is true and the grid leaves some position out, else None."""
    parsed = ModelCard.of(card)
    if (parsed.get("decoding") or {}).get("change_grid") is not True:
        return (None,) * len(parsed.tracks)
    recorded = (parsed.get("data") or {}).get("change_grid") or {}
    if not isinstance(recorded, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.change_grid")
    out: list[tuple[int, ...] | None] = []
    try:
        for role, track in zip(unique_roles(parsed.roles), parsed.tracks, strict=True):
            allowed = recorded.get(role)
            positions = tuple(sorted({int(v) for v in allowed})) if allowed and not track["is_drum"] else None
            full = positions is not None and set(positions) >= set(range(parsed.resolution))
            out.append(None if full else positions)
    except (TypeError, ValueError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.change_grid") from None
    return tuple(out)


def change_costs(card: Mapping[str, Any]) -> tuple[tuple[float, ...] | None, ...]:
    """Per accompaniment track: what a change costs on each position in the beat (``(resolution,)`` log-odds), from
    the card's ``decoding.change_cost`` (``{role: {position: cost}}``, measured so that a track changes on each
    position as often as its data's: ``scripts/measure_changes.py``), or None."""
    parsed = ModelCard.of(card)
    recorded = (parsed.get("decoding") or {}).get("change_cost") or {}
    if not isinstance(recorded, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: decoding.change_cost")
    out: list[tuple[float, ...] | None] = []
    try:
        for role in unique_roles(parsed.roles):
            given = recorded.get(role)
            costs = [0.0] * parsed.resolution
            for position, cost in (given or {}).items():
                costs[int(position)] = float(cost)
            out.append(tuple(costs) if given and all(c >= 0.0 and math.isfinite(c) for c in costs) else None)
    except (TypeError, ValueError, IndexError, AttributeError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: decoding.change_cost") from None
    return tuple(out)


__all__ = ["change_costs", "change_grids"]
