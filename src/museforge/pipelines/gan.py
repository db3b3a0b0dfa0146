"""A GAN ready to compose or regenerate with: the model loaded and the controls both pipelines share checked
against it, before anything is generated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from museforge.model_files import ModelCard
from museforge.models.loading import load_model
from museforge.music.dynamics import Dynamics
from museforge.music.pianoroll import TrackNotes
from museforge.pipelines.common import accompaniment_track, generated_notes
from museforge.pipelines.controls import check_programs, check_tracks
from museforge.sampling.form import check_variation, default_variation


@dataclass
class GanModel:
    """A GAN ready to compose or regenerate with: its generator and card, and the user's controls checked
    against it (``tracks``: indices of the accompaniment tracks to write; ``programs``: role -> GM program;
    ``variation``: the user's, or the card's default)."""

    generator: nn.Module
    card: ModelCard
    window: int
    tracks: list[int]
    programs: dict[str, int]
    variation: float

    def accompaniment(self, sounding: np.ndarray, dynamics: Dynamics) -> list[TrackNotes]:
        """The chosen accompaniment tracks as notes: ``sounding`` ``(K, S, P)`` bool (every track of the model)
        with the velocities of ``dynamics``, on the chosen programs."""
        out = []
        for k in self.tracks:
            spec = self.card.tracks[k]
            notes = generated_notes(sounding[k], self.card.lowest_pitch, bool(spec["is_drum"]), dynamics)
            out.append(accompaniment_track(spec, notes, self.programs.get(spec["role"])))
        return out


def load_gan(
    model: str,
    tracks: Sequence[str] | None,
    programs: Mapping[str, int] | None,
    variation: float | None,
) -> GanModel:
    """Load ``model`` (:func:`museforge.models.loading.load_model`) and check the controls compose and regenerate
    share against it; :class:`MuseforgeError` on a bad one, before anything is generated."""
    if variation is not None:
        check_variation(variation)
    generator, card = load_model(model)
    assert card.window is not None  # every GAN card has its window
    return GanModel(
        generator=generator,
        card=card,
        window=card.window,
        tracks=check_tracks(card, tracks),
        programs=check_programs(card, programs),
        variation=default_variation(card) if variation is None else float(variation),
    )


__all__ = ["GanModel", "load_gan"]
