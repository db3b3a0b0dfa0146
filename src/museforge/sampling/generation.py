"""The one generation path: melody windows in, accompaniment notes out, for compose, evaluate and the trainer.

:class:`Generation` wraps a generator with what its card says about how to use it:

- the **common key**: a model trained on windows moved to C major / A minor (``data.common_key`` in its card)
  gets each melody window moved the same way (:func:`museforge.music.keys.common_key_shift` of the window's own
  scale) and its accompaniment moved back, so the output is in the user's key;
- the **note policy** (:class:`museforge.sampling.notes.NotePolicy`): how probabilities become notes.

``probabilities`` gives per-window probabilities in the melody's own key (compose cross-fades those of
overlapping windows before decoding); ``notes`` decodes them. Evaluate and the trainer call ``notes`` on real
melody windows, compose on the windows of the user's melody, so all three measure and play the same music.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from museforge.model_files import ModelCard
from museforge.music.form import bar_spans
from museforge.music.keys import common_key_shift, onset_histograms, scale_tonics, transpose_rolls
from museforge.sampling.groove import groove_strength, hold_groove
from museforge.sampling.notes import NotePolicy

#: Windows per generator call.
BATCH = 100


def window_shifts(melody: np.ndarray, lowest_pitch: int, fallback: np.ndarray | None = None) -> np.ndarray:
    """Semitones that move each melody window's scale to C major: ``(n, T, P)`` bool -> ``(n,)`` int in [-5, 6].

    A window with fewer than 3 melody onsets takes its scale from ``fallback`` (a ``(12,)`` onset histogram of the
    whole melody) when given.
    """
    hist = onset_histograms(melody, lowest_pitch)
    if fallback is not None:
        sparse = hist.sum(axis=1) < 3
        hist[sparse] += np.asarray(fallback, dtype=np.float64)[None]
    return common_key_shift(scale_tonics(hist))


@dataclass
class Generation:
    """A generator and how its card says to use it.

    Attributes
    ----------
    generator : torch.nn.Module
        ``forward(melody (B, T, P), noise (B, D)) -> logits (B, K, T, P)``.
    policy : NotePolicy
        How probabilities become notes.
    common_key : bool
        Move melodies to the common key and the accompaniment back.
    lowest_pitch : int
        MIDI pitch of column 0.
    is_drum : list of bool
        Per accompaniment track (drums are never transposed).
    groove : float
        How strongly the drums hold each phrase's groove (``decoding.groove``, :mod:`museforge.sampling.groove`).
    steps_per_bar : int
        The model's bar, for windows without a metric grid.
    """

    generator: torch.nn.Module
    policy: NotePolicy
    common_key: bool
    lowest_pitch: int
    is_drum: list[bool]
    groove: float = 0.0
    steps_per_bar: int = 16

    @classmethod
    def from_card(cls, generator: torch.nn.Module, card: Mapping[str, Any], threshold: float = 0.5) -> Generation:
        parsed = ModelCard.of(card)
        return cls(
            generator=generator,
            policy=NotePolicy.from_card(parsed, threshold=threshold),
            common_key=parsed.common_key,
            lowest_pitch=parsed.lowest_pitch,
            is_drum=parsed.is_drum,
            groove=groove_strength(parsed),
            steps_per_bar=int(parsed.model_config.get("steps_per_bar") or parsed.resolution * parsed.beats_per_bar),
        )

    @property
    def meter_aware(self) -> bool:
        """Whether the generator reads a metric grid next to the melody."""
        return bool(getattr(self.generator, "meter_aware", False))

    @torch.no_grad()
    def probabilities(
        self,
        melody: np.ndarray,
        noise: torch.Tensor,
        fallback: np.ndarray | None = None,
        grid: np.ndarray | None = None,
    ) -> np.ndarray:
        """Accompaniment probabilities per window, in the melody's key.

        Parameters
        ----------
        melody : np.ndarray
            ``(n, T, P)`` bool melody windows.
        noise : torch.Tensor
            ``(n, noise_dim)``.
        fallback : np.ndarray, optional
            ``(12,)`` onset histogram of the whole melody, for windows with too few notes to tell their key.
        grid : np.ndarray, optional
            ``(n, T, 2)`` the windows' metric grids (:mod:`museforge.music.meter`), for a meter-aware generator;
            None: 4/4 bars.

        Returns
        -------
        np.ndarray
            ``(n, K, T, P)`` float32.
        """
        melody = np.asarray(melody, dtype=bool)
        shifts = window_shifts(melody, self.lowest_pitch, fallback) if self.common_key else None
        inputs = transpose_rolls(melody, shifts) if shifts is not None else melody
        device = next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        out = []
        try:
            for start in range(0, len(inputs), BATCH):
                m = torch.from_numpy(inputs[start : start + BATCH].astype(np.float32)).to(device)
                z = noise[start : start + BATCH].to(device)
                extra = []
                if grid is not None and self.meter_aware:
                    extra.append(torch.from_numpy(np.asarray(grid[start : start + BATCH], np.float32)).to(device))
                out.append(torch.sigmoid(self.generator(m, z, *extra).float()).cpu().numpy())
        finally:
            self.generator.train(was_training)
        probs = np.concatenate(out) if out else np.zeros((0,), dtype=np.float32)
        if shifts is not None and len(probs):
            probs = transpose_rolls(probs, -shifts, self.is_drum)
        return probs

    def decode(
        self,
        probs: np.ndarray,
        mode: str = "threshold",
        generator: torch.Generator | None = None,
        grid: np.ndarray | None = None,
        melody: np.ndarray | None = None,
    ) -> np.ndarray:
        """Notes from probabilities ``(..., K, T, P)`` under the model's policy; ``grid`` is the metric grid
        ``(T, 2)`` of the rolls (None: they start on a bar line, in quarter-note beats); ``melody`` ``(..., T, P)``
        bool, the tune the single lines keep the part-writing rule with where the policy says so."""
        probs = np.asarray(probs, dtype=np.float32)
        return np.asarray(self.policy.decode(probs, mode=mode, generator=generator, grid=grid, melody=melody))

    def hold_groove(self, probs: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """``(K, S, P)`` probabilities whose drums hold each phrase's groove (:func:`hold_groove` at the card's
        strength), the bars ``spans``."""
        return hold_groove(probs, spans, self.is_drum, self.groove)

    def notes(self, melody: np.ndarray, noise: torch.Tensor, grid: np.ndarray | None = None) -> np.ndarray:
        """Accompaniment notes for each melody window: ``(n, T, P)`` (and its ``(n, T, 2)`` metric ``grid``) ->
        ``(n, K, T, P)`` bool. Each window is a phrase: its drums hold their groove as compose's do."""
        probs = self.hold_window_grooves(self.probabilities(melody, noise, grid=grid), grid)
        return self.decode(probs, melody=np.asarray(melody, dtype=bool))

    def hold_window_grooves(
        self, probs: np.ndarray, grid: np.ndarray | None = None, strength: float | None = None
    ) -> np.ndarray:
        """Window probabilities ``(n, K, T, P)`` whose drums hold their groove, each window a phrase whose bars are
        read from its metric grid ``(n, T, 2)`` (None: the model's bars); ``strength`` defaults to the card's.
        Returns ``probs`` itself when nothing changes."""
        strength = self.groove if strength is None else strength
        if strength <= 0.0:
            return probs
        out = np.array(probs, copy=True)
        for i in range(len(out)):
            lines = np.flatnonzero(np.asarray(grid[i])[:, 0] > 0) if grid is not None else None
            spans = bar_spans(out.shape[2], lines, self.steps_per_bar)
            out[i] = hold_groove(out[i], spans, self.is_drum, strength)
        return out


__all__ = ["BATCH", "Generation", "window_shifts"]
