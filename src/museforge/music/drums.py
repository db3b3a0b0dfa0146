"""Drum kits: the General MIDI percussion map, the Groove MIDI Dataset's Roland kit in it, and a genre's own kit.

A drum track's pitch is not a pitch but a kit piece: key 42 is the closed hi-hat, 38 the snare. A General MIDI
player sounds keys 35-81 (:data:`GM_PERCUSSION`); keys outside it are silent or another instrument, and octave
folding (as pitched tracks get) would turn a hi-hat into a bell.

The Groove MIDI Dataset was played on a Roland TD-11 kit, whose MIDI map gives every zone of a pad a key. Most
zones already sit on the General MIDI key of the same instrument (rims on the neighbouring snare and toms, the
ride's bell on Ride Bell), but the hi-hat's edge zones are keys 22 and 26 (outside General MIDI: under a
General MIDI player they are no hi-hat), the third tom's rim is 58 (Vibraslap in General MIDI) and the crash
cymbals' edges are 52 and 55 (Chinese and Splash cymbals). :data:`ROLAND_TD11_TO_GM` moves these onto their own
instrument's key, the grouping Magenta's own Groove models use (closed hi-hat 42 with 22, open 46 with 26, tom
43 with 58, the crashes 49 and 57 with their edges).

:func:`kit_pitches` gives the kit a genre's data plays: the General MIDI keys that make up
:data:`KIT_COVERAGE` of its drum hits, most used first. Decoding keeps a model's drum track on that kit
(:mod:`museforge.sampling.notes`).
"""

from __future__ import annotations

import numpy as np

from museforge.music.pianoroll import Multitrack

#: The keys of the General MIDI percussion map (Acoustic Bass Drum 35 to Open Triangle 81).
GM_PERCUSSION: range = range(35, 82)
#: Roland TD-11 keys (Groove MIDI Dataset) that General MIDI plays as another instrument -> the key of their own.
ROLAND_TD11_TO_GM: dict[int, int] = {
    22: 42,  # hi-hat closed, edge -> Closed Hi-Hat
    26: 46,  # hi-hat open, edge -> Open Hi-Hat
    58: 43,  # tom 3, rim -> High Floor Tom (tom 3's head)
    55: 49,  # crash 1, edge -> Crash Cymbal 1
    52: 57,  # crash 2, edge -> Crash Cymbal 2
}
#: Share of a genre's drum hits its kit covers: the rest are one-off sounds (a cuica in one song).
KIT_COVERAGE = 0.99


def roland_to_general_midi(multitrack: Multitrack) -> Multitrack:
    """The multitrack with its drum tracks' Roland TD-11 keys moved to General MIDI (:data:`ROLAND_TD11_TO_GM`).

    A hit on a moved key joins any hit of its new key at the same step (the louder velocity sounds). Pitched
    tracks are unchanged. Returns a new multitrack (the input is not modified).
    """
    rolls, onsets = multitrack.rolls.copy(), multitrack.onsets.copy()
    for track, is_drum in enumerate(multitrack.is_drum):
        if not is_drum:
            continue
        for source, target in ROLAND_TD11_TO_GM.items():
            rolls[track, :, target] = np.maximum(rolls[track, :, target], rolls[track, :, source])
            onsets[track, :, target] |= onsets[track, :, source]
            rolls[track, :, source] = 0
            onsets[track, :, source] = False
    return multitrack.with_rolls(rolls, onsets)


def kit_pitches(counts: np.ndarray, lowest_pitch: int, coverage: float = KIT_COVERAGE) -> list[int]:
    """The kit a drum track's data plays: General MIDI keys, most hit first, until they hold ``coverage`` of the
    hits (the keys tied at the cut all stay).

    Parameters
    ----------
    counts : np.ndarray
        ``(P,)`` hits per column (:func:`museforge.music.keys.onset_counts`: a drum roll's notes are one-step
        onsets, or held ones the same as one hit); column 0 is MIDI ``lowest_pitch``.
    lowest_pitch : int
        MIDI key of column 0.
    coverage : float
        Share of the General MIDI hits in ``(0, 1]`` the kit keeps.

    Returns
    -------
    list of int
        MIDI keys, ascending; empty when the data have no hit on a General MIDI key.
    """
    counts = np.asarray(counts, dtype=np.int64).copy()
    keys = np.arange(len(counts)) + int(lowest_pitch)
    counts[(keys < GM_PERCUSSION.start) | (keys >= GM_PERCUSSION.stop)] = 0
    total = int(counts.sum())
    if total == 0:
        return []
    order = np.argsort(-counts, kind="stable")
    held = np.cumsum(counts[order]) / total
    n = int(np.searchsorted(held, min(max(float(coverage), 0.0), 1.0) - 1e-12)) + 1
    floor = counts[order[n - 1]]
    kept = (counts >= floor) & (counts > 0)
    return sorted(int(k) for k in keys[kept])


__all__ = ["GM_PERCUSSION", "KIT_COVERAGE", "ROLAND_TD11_TO_GM", "kit_pitches", "roland_to_general_midi"]
