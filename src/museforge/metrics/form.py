"""How far the accompaniment follows the melody's form: where the melody repeats a bar note for note, how much of
the accompaniment repeats too. Pure NumPy, for generated and real music alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from museforge.music.form import melody_repeats


def repeat_pairs(
    melody: np.ndarray, accompaniment: np.ndarray, spans: Sequence[tuple[int, int]]
) -> tuple[list[float], list[bool]]:
    """Every pair of bars whose melody is the same note for note (not moved), with the accompaniment's overlap.

    Parameters
    ----------
    melody : np.ndarray, shape (S, P), bool
    accompaniment : np.ndarray, shape (K, S, P), bool
    spans : the bars ``[(start, end)]``

    Returns
    -------
    ``(overlaps, identical)``: per pair, the Jaccard index of the two bars' sounding accompaniment cells (all tracks
    together; 1 when both are silent) and whether the two bars' accompaniment is the same.
    """
    overlaps: list[float] = []
    identical: list[bool] = []
    groups: dict[int, list[int]] = {}
    for repeat in melody_repeats(melody, list(spans), transposed=False):
        groups.setdefault(repeat.source, [repeat.source]).append(repeat.bar)
    for bars in groups.values():
        for i, a in enumerate(bars):
            for b in bars[i + 1 :]:
                first = accompaniment[:, spans[a][0] : spans[a][1]]
                second = accompaniment[:, spans[b][0] : spans[b][1]]
                union = np.count_nonzero(first | second)
                overlaps.append(np.count_nonzero(first & second) / union if union else 1.0)
                identical.append(bool(np.array_equal(first, second)))
    return overlaps, identical


def repeat_fidelity(
    pieces: Sequence[tuple[np.ndarray, np.ndarray, Sequence[tuple[int, int]]]],
) -> dict[str, float | None]:
    """Over ``pieces`` of ``(melody (S, P), accompaniment (K, S, P), spans)``: ``repeat_overlap`` (the mean overlap
    of the accompaniment of bars whose melody repeats), ``repeat_identical`` (the share of those pairs whose
    accompaniment is the same) and ``repeat_pairs`` (how many pairs; the two rates are None without one)."""
    overlaps: list[float] = []
    identical: list[bool] = []
    for melody, accompaniment, spans in pieces:
        o, i = repeat_pairs(melody, accompaniment, spans)
        overlaps += o
        identical += i
    return {
        "repeat_overlap": float(np.mean(overlaps)) if overlaps else None,
        "repeat_identical": float(np.mean(identical)) if identical else None,
        "repeat_pairs": float(len(overlaps)),
    }


__all__ = ["repeat_fidelity", "repeat_pairs"]
