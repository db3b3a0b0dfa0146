"""Accompaniment written one bar ahead of the melody, as a band plays along: the causal composer of jam mode.

A :class:`CausalAccompanist` never sees a bar of melody before the player has played it. Before bar ``b`` begins
it has heard bars ``0 .. b-1`` and writes bar ``b``:

1. **Guess the coming bar** (``guess``): ``"form"`` reads the tune as a musician reads a lead sheet: when the bar
   just played repeats an earlier bar ``m`` (exactly or moved, :mod:`museforge.music.form`), bar ``b`` will likely
   play bar ``m + 1`` again, moved the same way; otherwise it guesses the last bar again (``"last"``). ``"rest"``
   guesses silence.
2. **Generate** one model window that ends with bar ``b``: the melody heard so far and the guess, silence before
   the piece's start (the window starts on a bar line for a meter-aware model, with the grid of the bars known
   ahead: a jam's meter is set, not played), the window's key from what was heard (a common-key model's key
   settles as the tune goes on), and noise that drifts from bar to bar as compose's drifts from window to window.
   Bar ``b``'s slice of the window's probabilities is the bar's accompaniment.
3. **Hold the groove**: the drums of a phrase's bars but its last (4-bar phrases from bar 0, or from bar 1 after
   a pickup) hold the groove of the phrase's bars so far, as compose's hold theirs
   (:mod:`museforge.sampling.groove`); the last is the fill.
4. **Follow the form**: where the guess is a repeat of bar ``m + 1``, the accompaniment follows what was played
   there as compose's does (:mod:`museforge.sampling.form`): each strain again note for note with probability
   ``1 - variation``, else blended.
5. **Decode** the bar's notes under the model's note policy.

Nothing drawn at random depends on the melody (the noise, one form draw per bar, the decoding's draws), so changing
the melody after bar ``n`` leaves bars ``0 .. n+1`` unchanged. Bar 0 is written before anything is heard: its
pitched tracks rest (no key is known), its drums play.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.models.base import Generator
from museforge.music.form import Repeat, bar_signature
from museforge.music.keys import onset_histograms
from museforge.music.meter import bar_steps
from museforge.sampling.form import moved_tracks
from museforge.sampling.generation import Generation
from museforge.sampling.groove import PHRASE_BARS, held_bars
from museforge.sampling.windows import slerp

#: How the coming bar's melody is guessed (see the module docstring).
GUESSES: tuple[str, ...] = ("form", "last", "rest")
#: Windows of melody between two random noise anchors in compose (:func:`museforge.sampling.windows.window_noise`).
ANCHOR_WINDOWS = 4


def _shift_pitches(roll: np.ndarray, shift: int) -> np.ndarray:
    """A melody bar ``(L, P)`` moved ``shift`` columns up (what leaves the range is dropped)."""
    return moved_tracks(roll[None], shift, [False])[0]


@dataclass
class _Heard:
    """What the accompanist knows, bar by bar: its melody ``(L, P)``, metric grid ``(L, 2)``, accompaniment
    probabilities as played and as the model first wrote them (``drafts``) and notes ``(K, L, P)``, and which
    earlier bar it repeats."""

    melody: list[np.ndarray] = field(default_factory=list)
    grid: list[np.ndarray] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    drafts: list[np.ndarray] = field(default_factory=list)
    notes: list[np.ndarray] = field(default_factory=list)
    repeats: list[Repeat | None] = field(default_factory=list)
    first_seen: dict[tuple[int, bytes], tuple[int, int]] = field(default_factory=dict)


class CausalAccompanist:
    """Writes a GAN's accompaniment one bar ahead of a melody it hears bar by bar.

    Call :meth:`write` with the next bar's metric grid to get its accompaniment, then :meth:`hear` with the melody
    the player played in that bar, and so on; :meth:`write` always writes the bar after the last one heard.

    Parameters
    ----------
    generation : the model and how its card says to use it.
    window : T, the model's window in steps.
    bar_steps : steps of a 4-beat bar on the model's grid (the noise drifts at compose's pace in bars).
    n_pitches : P, the model's pitch columns.
    rng : draws the noise and the decoding's randomness; ``form_rng`` which strains repeat exactly.
    variation : 0 (repeat exactly) to 1 (free), as compose's.
    mode : decoding mode (:func:`museforge.sampling.notes.to_notes`).
    guess : how the coming bar's melody is guessed: one of :data:`GUESSES`.
    """

    def __init__(
        self,
        generation: Generation,
        window: int,
        bar_steps: int,
        n_pitches: int,
        *,
        rng: torch.Generator,
        form_rng: np.random.Generator,
        variation: float,
        mode: str = "threshold",
        guess: str = "form",
    ) -> None:
        if guess not in GUESSES:
            raise MuseforgeError(f"unknown guess {guess!r}: choose {', '.join(GUESSES)}")
        self.generation = generation
        self._ranges = generation.policy.kits or None  # a moved repeat keeps each line in its range
        self.window = int(window)
        self.rng = rng
        self.form_rng = form_rng
        self.variation = float(variation)
        self.mode = mode
        self.guess = guess
        bars_per_window = max(1, self.window // max(1, int(bar_steps)))
        self.anchor_bars = ANCHOR_WINDOWS * max(1, bars_per_window // 2)
        self._anchors: list[torch.Tensor] = []
        self._heard = _Heard()
        self._histogram = np.zeros(12, dtype=np.float64)
        self._strain: tuple[Repeat, bool] | None = None  # the repeat followed in the last bar, and if exactly
        self.n_pitches = int(n_pitches)

    @classmethod
    def for_card(
        cls, generation: Generation, card: ModelCard, seed: int, variation: float, guess: str = "form"
    ) -> CausalAccompanist:
        """The accompanist of a GAN's ``card``, drawing its noise, form and decoding from ``seed``."""
        assert card.window is not None  # every GAN card has its window
        return cls(
            generation,
            card.window,
            bar_steps(card.beats_per_bar, 4, card.resolution),
            card.n_pitches,
            rng=torch.Generator().manual_seed(int(seed)),
            form_rng=np.random.default_rng(int(seed)),
            variation=variation,
            guess=guess,
        )

    def play_through(self, melody: np.ndarray, spans: Sequence[tuple[int, int]], grid: np.ndarray) -> np.ndarray:
        """A whole melody ``(S, P)`` played bar by bar (``spans``; metric grid ``(S, 2)``): each bar written before
        its melody is heard. Returns the accompaniment ``(K, S, P)`` bool."""
        bars = []
        for start, end in spans:
            bars.append(self.write(grid[start:end]))
            self.hear(melody[start:end])
        return np.concatenate(bars, axis=1)

    @property
    def bars_heard(self) -> int:
        return len(self._heard.melody)

    @property
    def bars_written(self) -> int:
        return len(self._heard.notes)

    def hear(self, melody: np.ndarray) -> None:
        """The melody ``(L, P)`` bool the player played in the last bar written (its length that bar's)."""
        heard = self._heard
        if self.bars_heard >= self.bars_written:
            raise MuseforgeError("a bar must be written before its melody is heard")
        melody = np.asarray(melody, dtype=bool)
        expected = heard.notes[self.bars_heard].shape[1:]
        if melody.shape != expected:
            raise MuseforgeError(f"the bar's melody has shape {melody.shape}, expected {expected}")
        index = self.bars_heard
        heard.melody.append(melody)
        found = bar_signature(melody, transposed=True)
        repeat = None
        if found is not None:
            key, low = found
            if key in heard.first_seen:
                source, source_low = heard.first_seen[key]
                repeat = Repeat(index, source, low - source_low)
            else:
                heard.first_seen[key] = (index, low)
        heard.repeats.append(repeat)
        self._histogram += onset_histograms(melody[None], self.generation.lowest_pitch)[0]

    def write(self, grid: np.ndarray) -> np.ndarray:
        """The accompaniment ``(K, L, P)`` bool of the next bar, whose metric grid is ``grid`` ``(L, 2)`` (a
        downbeat on its first step)."""
        heard = self._heard
        if self.bars_written > self.bars_heard:
            raise MuseforgeError("the melody of the bar written last has not been heard yet")
        grid = np.asarray(grid, dtype=np.float32)
        length = grid.shape[0]
        bar = self.bars_written
        noise = self._noise(bar)
        draw = float(self.form_rng.random())  # one draw per bar, whatever the melody
        guess, repeat = self._guess(length)
        draft = self._probabilities(guess, grid, noise)
        probs = self._hold_groove(draft)
        exact = False
        if repeat is not None:
            same_strain = self._strain is not None and self._strain[0].source + 1 == repeat.source
            exact = self._strain[1] if same_strain and self._strain is not None else draw >= self.variation
            source = moved_tracks(heard.probs[repeat.source], repeat.shift, self.generation.is_drum, self._ranges)
            weight = 0.0 if exact else self.variation
            probs = (1.0 - weight) * source + weight * probs
        self._strain = (repeat, exact) if repeat is not None else None
        # a chorale's voices keep their part-writing rules against the tune as it is guessed (the bar is not heard yet)
        notes = self.generation.decode(probs[None], mode=self.mode, generator=self.rng, grid=grid, melody=guess[None])
        notes = notes[0].astype(bool)
        if repeat is not None and exact:
            moved = moved_tracks(heard.notes[repeat.source], repeat.shift, self.generation.is_drum, self._ranges)
            notes = moved.astype(bool)
        if bar == 0:  # nothing heard: no key to play pitched notes in
            notes = notes.copy()
            notes[[not drum for drum in self.generation.is_drum]] = False
        heard.grid.append(grid)
        heard.probs.append(probs.astype(np.float32))
        heard.drafts.append(draft.astype(np.float32))
        heard.notes.append(notes)
        return notes

    # -------------------------------------------------------------------------------------------- the steps
    def _noise(self, bar: int) -> torch.Tensor:
        """Bar ``bar``'s noise ``(noise_dim,)``: random anchors every :attr:`anchor_bars` bars, drawn in order,
        spherical interpolation between them."""
        anchor, offset = divmod(bar, self.anchor_bars)
        generator = cast(Generator, self.generation.generator)
        while len(self._anchors) < anchor + 2:
            self._anchors.append(generator.sample_noise(1, generator=self.rng)[0])
        return slerp(self._anchors[anchor], self._anchors[anchor + 1], offset / self.anchor_bars)

    def _hold_groove(self, draft: np.ndarray) -> np.ndarray:
        """The coming bar's probabilities ``(K, L, P)`` with its drums holding the groove of its phrase's bars so
        far (of its length), unless it ends the phrase (:func:`museforge.sampling.groove.held_bars`)."""
        bar = self.bars_written
        grids = self._heard.grid
        # a pickup (a first bar shorter than the next) is a phrase of its own, as compose reads it
        pickup = int(bar >= 1 and len(grids[0]) < (len(grids[1]) if bar >= 2 else draft.shape[1]))
        place = (bar - pickup) % PHRASE_BARS
        if self.generation.groove <= 0.0 or bar < pickup or place == PHRASE_BARS - 1:
            return draft
        earlier = [d for d in self._heard.drafts[bar - place : bar] if d.shape == draft.shape]
        return held_bars([*earlier, draft], self.generation.is_drum, self.generation.groove)[-1]

    def _guess(self, length: int) -> tuple[np.ndarray, Repeat | None]:
        """The coming bar's guessed melody ``(length, P)`` and, for a form guess, the repeat it makes."""
        heard = self._heard
        silent = np.zeros((length, self.n_pitches), dtype=bool)
        if self.guess == "rest" or not heard.melody:
            return silent, None
        last = heard.repeats[-1]
        if self.guess == "form" and last is not None and last.source + 1 < len(heard.melody):
            after = heard.melody[last.source + 1]
            if after.shape[0] == length:
                return _shift_pitches(after, last.shift), Repeat(self.bars_written, last.source + 1, last.shift)
        previous = heard.melody[-1]
        return (previous if previous.shape[0] == length else silent), None

    def _probabilities(self, guess: np.ndarray, grid: np.ndarray, noise: torch.Tensor) -> np.ndarray:
        """Probabilities ``(K, L, P)`` of the coming bar from one window that ends with it (or with the bar line
        after it, for a meter-aware model). Outside what is known the window's melody is silent and its grid
        goes on in the meter: before step 0 at the first bar's, after the coming bar at its own."""
        heard = self._heard
        length = guess.shape[0]
        melody = np.concatenate([*heard.melody, guess])
        grids = np.concatenate([*heard.grid, grid])
        end = melody.shape[0]
        start = self._window_start(end, length)
        window = self.window
        inputs = np.zeros((window, melody.shape[1]), dtype=bool)
        lo = max(0, start)
        inputs[lo - start : end - start] = melody[lo:end]
        first = heard.grid[0] if heard.grid else grid
        before = np.tile(first, (-(-max(0, -start) // len(first)) or 1, 1))
        after = np.tile(grid, (-(-max(0, start + window - end) // length) or 1, 1))
        padded = np.concatenate([before, grids, after])  # step 0 at len(before)
        offset = len(before) + start
        window_grid = padded[offset : offset + window]
        fallback = self._histogram if self._histogram.sum() else None
        with torch.inference_mode():
            probs = self.generation.probabilities(inputs[None], noise[None], fallback=fallback, grid=window_grid[None])
        return probs[0][:, end - length - start : end - start]

    def _window_start(self, end: int, length: int) -> int:
        """The first step of the window for the bar of ``length`` steps ending at step ``end``: ``end - window``,
        moved on to the next bar line for a meter-aware model (bar lines before step 0 at the first bar's
        length)."""
        start = end - self.window
        if not self.generation.meter_aware:
            return start
        lines = np.cumsum([0, *(len(g) for g in self._heard.grid)])  # bars 0 .. the coming one
        first = len(self._heard.grid[0]) if self._heard.grid else length
        candidates = [int(line) for line in lines if line >= start]
        if start < 0:
            candidates.append(-first * (-start // first))
        return min(candidates)


__all__ = ["GUESSES", "CausalAccompanist"]
