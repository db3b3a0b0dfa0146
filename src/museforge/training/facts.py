"""What a model must know about its data to be trained and to compose, as its card stores it (``data``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from museforge.music.tracks import unique_roles


@dataclass(frozen=True)
class DataFacts:
    """What a model must know about its data to be trained and to compose (stored in the model card).

    Attributes
    ----------
    genre : str
        Dataset genre.
    resolution, beats_per_bar, steps_per_bar : int
        Grid: steps per beat, beats per bar, steps per bar.
    n_bars : int
        Bars per model window (``T = n_bars * steps_per_bar``).
    lowest_pitch, n_pitches : int
        Pitch window: column 0 is MIDI ``lowest_pitch``.
    melody : dict
        The melody track: ``role``, ``name``, ``program``, ``is_drum``.
    tracks : list of dict
        The accompaniment tracks the generator writes, in output order, same keys.
    augmentation : tuple of int
        Transposition range ``(lo, hi)`` in semitones used for pitched tracks.
    windows : dict
        Model windows per split.
    common_key : bool
        Training windows were moved so that their melody's scale is C major / A minor
        (:mod:`museforge.music.keys`); whoever composes moves the melody there and the accompaniment back.
    meters : dict
        Dataset windows per meter over all splits (``{"4/4": 20000, "3/4": 800}``): the meters the model has seen.
    meter_repeats : dict
        Times each meter's training windows are used per epoch (:func:`museforge.training.data.meter_repeats`;
        empty: each once).
    drum_kit : dict
        Per drum track role (as in :attr:`roles`): the General MIDI keys its training data play
        (:func:`museforge.music.drums.kit_pitches`); decoding keeps the track on them.
    line_range : dict
        Per pitched track role: ``[low, high]``, the MIDI pitches its training data play
        (:func:`museforge.music.ranges.line_range`); decoding keeps a single line in it.
    change_grid : dict
        Per pitched track role: the positions in the beat where its training data's notes change
        (:func:`museforge.music.rhythm.change_grid`); decoding may keep the track still between them.
    instrument_fit : dict
        Per pitched track role: the share of its training data's notes that the track's General MIDI program can
        play (:func:`museforge.music.instruments.playable_share`): below 1 where one program stands for a section
        (the symphony's woodwinds, flutes to bassoons, as a Clarinet).
    """

    genre: str
    resolution: int
    beats_per_bar: int
    steps_per_bar: int
    n_bars: int
    lowest_pitch: int
    n_pitches: int
    melody: dict[str, Any]
    tracks: list[dict[str, Any]]
    augmentation: tuple[int, int]
    windows: dict[str, int]
    common_key: bool = False
    meters: dict[str, int] = field(default_factory=lambda: {"4/4": 0})
    meter_repeats: dict[str, int] = field(default_factory=dict)
    drum_kit: dict[str, list[int]] = field(default_factory=dict)
    line_range: dict[str, list[int]] = field(default_factory=dict)
    change_grid: dict[str, list[int]] = field(default_factory=dict)
    instrument_fit: dict[str, float] = field(default_factory=dict)

    @property
    def roles(self) -> list[str]:
        """Unique role names of the accompaniment tracks (a repeated role gets ``_2``, ``_3``, ...)."""
        return unique_roles([t["role"] for t in self.tracks])

    @property
    def drum_roles(self) -> list[str]:
        """Roles (as in :attr:`roles`) of the drum tracks."""
        return [r for r, t in zip(self.roles, self.tracks, strict=True) if t["is_drum"]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for the model card."""
        return {
            "genre": self.genre,
            "resolution": self.resolution,
            "beats_per_bar": self.beats_per_bar,
            "steps_per_bar": self.steps_per_bar,
            "n_bars": self.n_bars,
            "lowest_pitch": self.lowest_pitch,
            "n_pitches": self.n_pitches,
            "melody": self.melody,
            "tracks": self.tracks,
            "augmentation": list(self.augmentation),
            "windows": self.windows,
            "common_key": self.common_key,
            "meters": self.meters,
            "meter_repeats": self.meter_repeats,
            "drum_kit": self.drum_kit,
            "line_range": self.line_range,
            "change_grid": self.change_grid,
            "instrument_fit": self.instrument_fit,
        }


def track_spec(info: dict[str, Any]) -> dict[str, Any]:
    """A dataset manifest's track as a card stores it: ``role``, ``name``, ``program``, ``is_drum``."""
    return {
        "role": str(info.get("role", "")),
        "name": str(info.get("name", info.get("role", ""))),
        "program": int(info.get("program", 0)),
        "is_drum": bool(info.get("is_drum", False)),
    }


__all__ = ["DataFacts", "track_spec"]
