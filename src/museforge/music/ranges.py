"""The pitch range a track's data play: where a single line (a chorale voice, a bass line, the timpani) lives.

A singer or an instrument has a range; a model that is unsure of a line's next pitch can put its most likely one
outside it (a bass above the tenor, a tenor in the alto's register). The range is read from the training data's
note onsets (:func:`museforge.music.keys.onset_counts`) the way a drum track's kit is (:mod:`museforge.music.drums`):
the span of MIDI pitches that holds :data:`LINE_COVERAGE` of them, the rarest extremes cut off evenly at both ends.
"""

from __future__ import annotations

import numpy as np

#: Share of a line's note onsets its range holds (a quarter of a percent cut at each end).
LINE_COVERAGE = 0.995


def line_range(counts: np.ndarray, lowest_pitch: int, coverage: float = LINE_COVERAGE) -> list[int] | None:
    """``[low, high]`` MIDI pitches holding ``coverage`` of the onsets ``counts`` (``(P,)``, column 0 is MIDI
    ``lowest_pitch``), ``(1 - coverage) / 2`` cut at each end; None without onsets."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    cut = (1.0 - min(max(float(coverage), 0.0), 1.0)) / 2.0 * total
    low = int(np.argmax(np.cumsum(counts) > cut))
    high = len(counts) - 1 - int(np.argmax(np.cumsum(counts[::-1]) > cut))
    return [low + int(lowest_pitch), high + int(lowest_pitch)]


__all__ = ["LINE_COVERAGE", "line_range"]
