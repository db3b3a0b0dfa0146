"""A melody's form: which bars repeat an earlier bar, exactly or moved to another pitch, the way a musician reads a
lead sheet's strains. Compose lets the accompaniment follow it (:mod:`museforge.sampling.form`) and the metrics
measure how far the accompaniment does (:mod:`museforge.metrics.form`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Repeat:
    """Bar ``bar`` plays the melody of the earlier bar ``source`` (its first appearance in the piece), moved by
    ``shift`` semitones (0: an exact repeat)."""

    bar: int
    source: int
    shift: int


def bar_spans(
    n_steps: int, downbeats: np.ndarray | list[int] | None, steps_per_bar: int | None = None
) -> list[tuple[int, int]]:
    """``[(first step, end step)]`` of every bar of a piece of ``n_steps`` steps: from its ``downbeats`` (the
    first step of each bar), or every ``steps_per_bar`` steps when there are none. A pickup before the first
    downbeat is a bar of its own."""
    if downbeats is None or not len(downbeats):
        size = max(1, int(steps_per_bar or n_steps or 1))
        starts = list(range(0, n_steps, size))
    else:
        starts = sorted({int(d) for d in downbeats if 0 <= int(d) < n_steps})
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
    ends = [*starts[1:], n_steps]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]


def bar_signature(roll: np.ndarray, transposed: bool) -> tuple[tuple[int, bytes], int] | None:
    """What a bar ``(steps, P)`` of melody sounds like, pitch-free when ``transposed``, and its lowest pitch."""
    steps, pitches = np.nonzero(roll)
    if not len(steps):
        return None
    low = int(pitches.min()) if transposed else 0
    cells = np.stack([steps, pitches - low]).astype(np.int32)
    return (roll.shape[0], cells.tobytes()), low


def melody_repeats(melody: np.ndarray, spans: list[tuple[int, int]], *, transposed: bool = True) -> list[Repeat]:
    """The bars of ``melody`` (``(S, P)`` bool, one line) that repeat an earlier bar of the same length note for
    note, each pointing at the bar's first appearance; with ``transposed``, a bar that moves an earlier one to
    another pitch counts too (its ``shift`` says by how much). Bars without melody repeat nothing."""
    first: dict[tuple[int, bytes], tuple[int, int]] = {}
    repeats = []
    for index, (start, end) in enumerate(spans):
        found = bar_signature(melody[start:end], transposed)
        if found is None:
            continue
        key, low = found
        if key in first:
            source, source_low = first[key]
            repeats.append(Repeat(index, source, low - source_low))
        else:
            first[key] = (index, low)
    return repeats


__all__ = ["Repeat", "bar_signature", "bar_spans", "melody_repeats"]
