"""Whole stretches of a split's songs, rebuilt from its overlapping windows: what a piece-level measure (the
melody's form, a repeated strain sixteen bars later) needs and a window of four bars cannot show."""

from __future__ import annotations

import numpy as np

from museforge.datasets.cache import Dataset, unpack


def song_segments(
    dataset: Dataset, split: str, max_segments: int | None = None
) -> list[tuple[int, np.ndarray, tuple[int, int]]]:
    """The contiguous stretches of ``split``'s songs: ``[(song index, rolls (tracks, S, P) bool, meter)]``.

    Windows of a song that overlap or touch and keep one meter are joined into one stretch (a song whose bars
    were skipped somewhere, for an irregular bar, or that changes meter, gives several); each stretch starts on a
    bar line of its ``meter`` ``(numerator, denominator)``. Of the windows that start at the same step (transposed
    copies), the first is used. At most ``max_segments``, the longest first.
    """
    packed = dataset.packed(split)
    songs, starts = dataset.song_index(split), dataset.starts(split)
    meters = [(int(a), int(b)) for a, b in dataset.meters(split)]
    length = packed.shape[2]
    order = np.lexsort((starts, songs))
    stretches: list[tuple[int, int, list[int]]] = []  # (song, first step, its windows)
    end, previous = -1, (-1, -1)
    for i in order:
        song, start = int(songs[i]), int(starts[i])
        if (song, start) == previous:
            continue  # a transposed copy of the window before
        previous = (song, start)
        if stretches and stretches[-1][0] == song and start <= end and meters[stretches[-1][2][0]] == meters[i]:
            stretches[-1][2].append(int(i))
        else:
            stretches.append((song, start, [int(i)]))
        end = start + length  # windows come in order of their start and are equally long
    out = []
    for song, first, members in stretches:
        steps = int(starts[members[-1]]) - first + length
        rolls = np.zeros((packed.shape[1], steps, dataset.window_shape[2]), dtype=bool)
        for i in members:
            at = int(starts[i]) - first
            rolls[:, at : at + length] = unpack(packed[i])
        out.append((song, rolls, meters[members[0]]))
    out.sort(key=lambda item: -item[1].shape[1])
    return out[:max_segments] if max_segments is not None else out


__all__ = ["song_segments"]
