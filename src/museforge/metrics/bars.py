"""Each window's own bars: where its first bar line falls and how many steps its bars have, from its metric grid.

A drum pattern repeats bar by bar, and a backbeat falls on beats 2 and 4 of a bar: cut at the model's 4/4 bar, a
waltz's 12-step bars are measured in 16-step pieces and a tune with a pickup across its bar lines, so a 3/4 groove
that repeats every bar reads as one that never repeats (rock under the built-in waltzes: 0.05-0.19 in 16-step pieces,
0.23-0.38 in their bars). :func:`window_bars` reads a window's first bar line and bar length from its metric grid
(:mod:`museforge.music.meter`, the grid meter-aware models read), and :func:`bar_groups` gathers the windows that
share both, so these metrics are measured in the bars the music has, real and generated alike. A window whose meter
changes inside it is cut at its first bar's length.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def window_bars(grids: ArrayLike, steps_per_bar: int) -> NDArray[np.int64]:
    """Each window's ``(first bar line, steps per bar)`` from its metric grid.

    Parameters
    ----------
    grids : array, shape (n, T, 2)
        The windows' metric grids: column 0 is nonzero on the steps where a bar starts.
    steps_per_bar : int
        The bar length of a window with fewer than two bar lines (from its first one, or from step 0 without any).

    Returns
    -------
    np.ndarray
        ``(n, 2)`` int64.
    """
    g = np.asarray(grids)
    if g.ndim != 3 or g.shape[2] < 1:
        raise ValueError(f"grids must have shape (n, T, 2), got {g.shape}")
    if int(steps_per_bar) != steps_per_bar or steps_per_bar < 1:
        raise ValueError(f"steps_per_bar must be a positive integer, got {steps_per_bar!r}")
    out = np.zeros((g.shape[0], 2), dtype=np.int64)
    out[:, 1] = int(steps_per_bar)
    for i, row in enumerate(g[:, :, 0] > 0):
        lines = np.flatnonzero(row)
        if len(lines):
            out[i, 0] = lines[0]
        if len(lines) > 1:
            out[i, 1] = lines[1] - lines[0]
    return out


def bar_groups(bars: ArrayLike) -> list[tuple[NDArray[np.int64], int, int]]:
    """The windows that share their bars: ``(rows, first bar line, steps per bar)`` for each distinct row of
    :func:`window_bars`' ``(n, 2)`` result, rows in window order."""
    b = np.asarray(bars, dtype=np.int64).reshape(-1, 2)
    if not len(b):
        return []
    keys, inverse = np.unique(b, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(np.flatnonzero(inverse == j), int(key[0]), int(key[1])) for j, key in enumerate(keys)]


__all__ = ["bar_groups", "window_bars"]
