"""Drums that hold a groove through a phrase and fill at its end, as a drummer plays them.

A generator writes every bar of its window from its own noise, so its drum pattern changes from one bar to the
next (rock's repeated 0.41 of its hits bar to bar against the Beatles' 0.65-0.68). A drummer plays a pattern and
keeps it, and varies it where a phrase ends. :func:`hold_groove` does this with the model's own drums: the bars of
each phrase (4 bars) but its last share their **groove**, the one of those bars most like the others
(:func:`typical_bar`: a bar the model wrote, so the drums keep its density and kit), blended with each bar's own by
``strength``; the phrase's last bar is the model's as it wrote it (the fill). Pitched tracks are untouched, and no
hit is added that the model gave no probability to. (The mean of the bars was tried first: it dropped the hits
the model plays in one bar of three and thinned the drums; docs/quality.md.)

``strength`` (0: the model's drums as they are, 1: the groove exactly) is a model's ``decoding.groove``, measured
per genre by ``scripts/measure_groove.py`` so that its drums repeat from bar to bar as much as its genre's real
drums on the same windows (docs/quality.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError

#: Bars of a phrase: the groove holds through the first three and the fourth is the fill.
PHRASE_BARS = 4


def groove_strength(card: Mapping[str, Any]) -> float:
    """A model's ``decoding.groove`` (0 to 1), 0 when its card has none; a malformed one is a one-line error."""
    value = (card.get("decoding") or {}).get("groove", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise MuseforgeError(f"the model card's decoding.groove must be a number from 0 to 1, got {value!r}")
    return float(value)


def phrases(spans: Sequence[tuple[int, int]], bars: int = PHRASE_BARS) -> list[list[int]]:
    """The bars of a piece, ``[(start, end)]`` in steps, grouped into phrases of ``bars`` bars (indices into
    ``spans``). A pickup (a first bar shorter than the second) is a phrase of its own."""
    indices = list(range(len(spans)))
    out: list[list[int]] = []
    if len(spans) > 1 and spans[0][1] - spans[0][0] < spans[1][1] - spans[1][0]:
        out.append([0])
        indices = indices[1:]
    out += [indices[i : i + bars] for i in range(0, len(indices), bars)]
    return out


def typical_bar(bars: np.ndarray) -> int:
    """Index of the bar most like the others in ``(n, ...)`` probabilities: the highest mean soft Jaccard
    similarity (sum of the cells' minima over the sum of their maxima) to the other bars; the first of ties."""
    flat = np.asarray(bars, dtype=np.float64).reshape(len(bars), -1)
    low = np.minimum(flat[:, None], flat[None]).sum(axis=2)
    high = np.maximum(flat[:, None], flat[None]).sum(axis=2)
    similarity = np.divide(low, high, out=np.ones_like(low), where=high > 0)
    np.fill_diagonal(similarity, 0.0)
    return int(np.argmax(similarity.sum(axis=1)))


def held_bars(bars: Sequence[np.ndarray], is_drum: Sequence[bool], strength: float) -> list[np.ndarray]:
    """Bars of one length, ``(K, L, P)`` probabilities each, whose drums hold their groove: each drum track becomes
    ``strength * groove + (1 - strength) * own``, the groove being their :func:`typical_bar` (all drum tracks
    together)."""
    drums = [k for k, drum in enumerate(is_drum) if drum]
    out = [np.array(bar, copy=True) for bar in bars]
    if strength <= 0.0 or not drums or len(bars) < 2:
        return out
    stack = np.stack([np.asarray(bar)[drums] for bar in bars])  # (bars, drums, L, P)
    groove = stack[typical_bar(stack)]
    for bar, own in zip(out, stack, strict=True):
        bar[drums] = strength * groove + (1.0 - strength) * own
    return out


def hold_groove(
    probs: np.ndarray,
    spans: Sequence[tuple[int, int]],
    is_drum: Sequence[bool],
    strength: float,
    bars: int = PHRASE_BARS,
) -> np.ndarray:
    """Drum probabilities that hold each phrase's groove.

    Parameters
    ----------
    probs : np.ndarray, shape (K, S, P), float
        A piece's (or one window's) accompaniment probabilities.
    spans : the bars, ``[(start, end)]`` in steps (:func:`museforge.music.form.bar_spans`).
    is_drum : per track; only drum tracks change.
    strength : 0 (as the model wrote them) to 1 (the groove exactly), see the module docstring.
    bars : bars per phrase.

    Returns
    -------
    np.ndarray, shape (K, S, P): ``probs`` itself when nothing changes, else a new array. In each phrase the bars
    before its last, of the length most of them have, hold their groove (:func:`held_bars`).
    """
    if strength <= 0.0 or not any(is_drum):
        return probs
    out = np.array(probs, copy=True)
    for phrase in phrases(spans, bars):
        body = phrase[:-1]  # the phrase's last bar is its fill
        if len(body) < 2:
            continue
        length = Counter(spans[b][1] - spans[b][0] for b in body).most_common(1)[0][0]
        starts = [spans[b][0] for b in body if spans[b][1] - spans[b][0] == length]
        held = held_bars([probs[:, start : start + length] for start in starts], is_drum, strength)
        for start, bar in zip(starts, held, strict=True):
            out[:, start : start + length] = bar
    return out


__all__ = ["PHRASE_BARS", "groove_strength", "held_bars", "hold_groove", "phrases", "typical_bar"]
