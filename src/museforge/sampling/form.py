"""Accompaniment that follows the melody's form: where the tune repeats a bar (:mod:`museforge.music.form`), the
accompaniment of the repeat takes after the accompaniment of the bar it repeats, moved with the melody.

``variation`` (v) says how far, as players vary a repeated strain: each run of repeated bars (a strain: bars that
repeat consecutive bars) is played again note for note with probability ``1 - v``; otherwise its probabilities are a
blend, ``1 - v`` of the first time's and ``v`` of its own, before notes are chosen. 0 repeats every strain exactly
(moved as the melody moves; drums as they were), 1 leaves every repeat as the model wrote it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.music.form import Repeat, melody_repeats
from museforge.sampling.generation import Generation
from museforge.sampling.windows import generate_probabilities, melody_window_starts, window_noise

#: How far repeated strains may differ when a model's card does not say (``decoding.variation``: each shipped
#: model's is measured against its genre's real songs by ``scripts/measure_form.py``; docs/quality.md).
DEFAULT_VARIATION = 0.5
#: A track plays a part in a piece when it sounds in at least this share of its bars (:func:`left_out`) ...
PART_SHARE = 0.25
#: ... else it draws its own noise again up to this many times, and then the whole piece is drawn again up to
#: this many times (:func:`accompany`).
TRACK_REDRAWS = 4
PIECE_REDRAWS = 16


def check_variation(variation: float) -> None:
    """Raise :class:`MuseforgeError` unless ``variation`` is a number from 0 to 1."""
    if isinstance(variation, bool) or not isinstance(variation, int | float) or not 0.0 <= float(variation) <= 1.0:
        raise MuseforgeError(f"variation must be a number from 0 (repeat exactly) to 1 (free), got {variation!r}")


def default_variation(card: Mapping[str, Any]) -> float:
    """The variation a model plays repeats with unless the user says: its card's ``decoding.variation``, else
    :data:`DEFAULT_VARIATION`."""
    value = (card.get("decoding") or {}).get("variation", DEFAULT_VARIATION)
    return float(value) if isinstance(value, int | float) and 0.0 <= float(value) <= 1.0 else DEFAULT_VARIATION


def _moved(track: np.ndarray, shift: int) -> np.ndarray:
    """``(T, P)`` moved ``shift`` pitch columns up (what leaves the window is dropped)."""
    out = np.zeros_like(track)
    if shift > 0:
        out[:, shift:] = track[:, :-shift]
    elif shift < 0:
        out[:, :shift] = track[:, -shift:]
    else:
        out[:] = track
    return out


def moved_tracks(
    block: np.ndarray,
    shift: int,
    is_drum: Sequence[bool],
    ranges: Sequence[Sequence[int] | None] | None = None,
) -> np.ndarray:
    """``(K, T, P)`` moved ``shift`` pitch columns up (pitched tracks only; what leaves the window is dropped).

    ``ranges`` (per track, the pitch columns it plays, or None: :class:`museforge.sampling.notes.NotePolicy`'s
    ``kits``) keeps a line in its register as a player would: such a track moves by ``shift``, or by the same
    interval an octave lower or higher, whichever leaves the most of it (notes, or probability) inside its range.
    """
    if not shift:
        return block
    out = block.copy()
    for k, drum in enumerate(is_drum):
        if drum:
            continue
        allowed = ranges[k] if ranges is not None else None
        if allowed is None:
            out[k] = _moved(block[k], shift)
            continue
        columns = np.asarray(allowed, dtype=np.int64)
        options = [_moved(block[k], s) for s in (shift, shift - 12 if shift > 0 else shift + 12)]
        inside = [float(np.asarray(o[:, columns], dtype=np.float64).sum()) for o in options]
        out[k] = options[int(np.argmax(inside))]
    return out


def strains(repeats: Sequence[Repeat]) -> list[list[Repeat]]:
    """``repeats`` grouped into runs in which both the bar and the bar it repeats move on by one (a strain played
    again), in order."""
    runs: list[list[Repeat]] = []
    for repeat in sorted(repeats, key=lambda r: r.bar):
        last = runs[-1][-1] if runs else None
        if last is not None and repeat.bar == last.bar + 1 and repeat.source == last.source + 1:
            runs[-1].append(repeat)
        else:
            runs.append([repeat])
    return runs


def follow_form(
    probs: np.ndarray,
    spans: Sequence[tuple[int, int]],
    repeats: Sequence[Repeat],
    variation: float,
    is_drum: Sequence[bool],
    rng: np.random.Generator,
    ranges: Sequence[Sequence[int] | None] | None = None,
) -> tuple[np.ndarray, list[Repeat]]:
    """Accompaniment probabilities ``(K, S, P)`` in which each repeated bar takes after its source bar.

    Parameters
    ----------
    probs : np.ndarray, shape (K, S, P), float
        The model's probabilities for the whole piece.
    spans : the bars, ``[(start, end)]`` in steps (:func:`museforge.music.form.bar_spans`).
    repeats : the melody's repeats (:func:`museforge.music.form.melody_repeats`); sources are first appearances.
    variation : 0 (repeat exactly) to 1 (as the model wrote it); see the module docstring.
    is_drum : per track; drums are never moved in pitch.
    rng : draws which strains repeat exactly.
    ranges : per track, the pitch columns a line keeps to when moved (:func:`moved_tracks`), or None.

    Returns
    -------
    ``(probabilities (K, S, P), exact)``: a new array, and the repeats to play note for note again once the
    probabilities are notes (:func:`repeat_notes`).
    """
    out = np.array(probs, copy=True)
    exact: list[Repeat] = []
    if variation >= 1.0:
        return out, exact
    for strain in strains(repeats):
        again = bool(rng.random() >= variation)
        weight = 0.0 if again else float(variation)
        for repeat in strain:
            start, end = spans[repeat.bar]
            source_start, _ = spans[repeat.source]
            source = moved_tracks(probs[:, source_start : source_start + end - start], repeat.shift, is_drum, ranges)
            out[:, start:end] = (1.0 - weight) * source + weight * probs[:, start:end]
        if again:
            exact += strain
    return out, exact


def repeat_notes(
    notes: np.ndarray,
    spans: Sequence[tuple[int, int]],
    repeats: Sequence[Repeat],
    is_drum: Sequence[bool],
    ranges: Sequence[Sequence[int] | None] | None = None,
) -> np.ndarray:
    """``(K, S, P)`` bool notes in which each of ``repeats`` plays its source bar's notes again (moved as
    :func:`moved_tracks` moves them, lines kept to their ``ranges``)."""
    out = np.array(notes, copy=True)
    for repeat in sorted(repeats, key=lambda r: r.bar):
        start, end = spans[repeat.bar]
        source_start, _ = spans[repeat.source]
        out[:, start:end] = moved_tracks(
            out[:, source_start : source_start + end - start], repeat.shift, is_drum, ranges
        )
    return out


def accompany(
    generation: Generation,
    melody: np.ndarray,
    window: int,
    spans: Sequence[tuple[int, int]],
    *,
    rng: torch.Generator,
    form_rng: np.random.Generator,
    variation: float,
    mode: str = "threshold",
    noise: torch.Tensor | None = None,
    grid: np.ndarray | None = None,
    parts: Sequence[int] | None = None,
) -> np.ndarray:
    """Accompaniment notes for a whole melody that follow its form: the GANs' one path from a melody to notes.

    ``melody`` (S, P) bool on the model's grid, ``spans`` its bars; the windows' noise and the decoding draw from
    ``rng`` (:func:`museforge.sampling.windows.generate_probabilities`), which strains repeat exactly from
    ``form_rng`` (:func:`follow_form`); the drums hold each phrase's groove (:mod:`museforge.sampling.groove`)
    before the form is followed; ``grid`` (S, 2) is the melody's metric grid, for a meter-aware model
    (:func:`museforge.music.meter.piece_grid`). Returns ``(K, S, P)`` bool in the melody's key.

    Every track the model has plays a part in the piece: a track that sounds in fewer than a quarter of the bars
    (:data:`PART_SHARE`; none at all, or a stray note) draws the part of the noise that is its own again (a
    MuseGAN's private latents, ``track_noise_columns``), up to :data:`TRACK_REDRAWS` times, and takes the first
    draw in which it plays a part; the other tracks keep their noise and their notes, and the form's choices stay.
    A track that finds no part that way is left out because of what all tracks share (the melody, the shared
    latents): the whole piece is then drawn again, up to :data:`PIECE_REDRAWS` times, and the first draw with the
    fewest tracks left out is kept. Either way the piece is one of the model's own, one in which its instruments
    play. ``parts`` (track indices; None: every track) are the tracks that must play one: compose's chosen tracks;
    none for regenerate, which keeps the rest of a piece and draws only what it is asked for, once.
    """
    if noise is None:
        starts = melody_window_starts(generation, melody.shape[0], window, grid)
        noise = window_noise(generation.generator, len(starts), rng)
    form_state = form_rng.bit_generator.state

    def draw(windows_noise: torch.Tensor) -> np.ndarray:
        form_rng.bit_generator.state = form_state  # every draw repeats the same strains
        return _accompaniment(generation, melody, window, spans, windows_noise, rng, form_rng, variation, mode, grid)

    def fresh() -> torch.Tensor:
        return window_noise(generation.generator, noise.shape[0], rng)

    columns = getattr(generation.generator, "track_noise_columns", None)
    first = draw(noise)
    if columns is None or not left_out(first, spans, parts):
        return first
    best, fewest = first, None
    for piece in range(1 + PIECE_REDRAWS):
        piece_noise = noise if piece == 0 else fresh()
        notes = _parts_for_every_track(
            first if piece == 0 else draw(piece_noise), piece_noise, spans, parts, draw, fresh, columns
        )
        missing = len(left_out(notes, spans, parts))
        if fewest is None or missing < fewest:
            best, fewest = notes, missing
        if not fewest:
            break
    return best


def left_out(notes: np.ndarray, spans: Sequence[tuple[int, int]], tracks: Sequence[int] | None = None) -> list[int]:
    """The tracks of ``notes`` (K, S, P) that play no part in the piece whose bars are ``spans``: they sound in
    fewer than :data:`PART_SHARE` of the bars (at least one bar), so the piece leaves them out or gives them a
    stray note or two; only ``tracks`` are looked at (None: all). (Real parts come in and stay: in the genres' data
    a track that plays in a 4-bar window at all sounds in all four bars 44-100 % of the time, in one bar alone
    0-18 %.)"""
    needed = max(1, math.ceil(PART_SHARE * len(spans)))
    looked_at = range(notes.shape[0]) if tracks is None else tracks
    return [k for k in looked_at if sum(bool(notes[k, a:b].any()) for a, b in spans) < needed]


def _parts_for_every_track(
    notes: np.ndarray,
    noise: torch.Tensor,
    spans: Sequence[tuple[int, int]],
    parts: Sequence[int] | None,
    draw: Callable[[torch.Tensor], np.ndarray],
    fresh: Callable[[], torch.Tensor],
    columns: Callable[[int], torch.Tensor],
) -> np.ndarray:
    """``notes`` (K, S, P), drawn with the windows' ``noise`` (W, noise_dim), where each of the ``parts``
    :func:`left_out` has its own noise ``columns`` drawn again (``fresh``, up to :data:`TRACK_REDRAWS` times):
    the first ``draw`` in which it plays a part gives its notes; the other tracks keep theirs."""
    notes, noise = notes.copy(), noise.clone()
    missing = left_out(notes, spans, parts)
    for _ in range(TRACK_REDRAWS):
        if not missing:
            break
        redrawn, new = noise.clone(), fresh()
        for k in missing:
            redrawn[:, columns(k)] = new[:, columns(k)]
        again = draw(redrawn)
        for k in set(missing) - set(left_out(again, spans, parts)):
            notes[k], noise[:, columns(k)] = again[k], redrawn[:, columns(k)]
        missing = left_out(notes, spans, parts)
    return notes


def _accompaniment(
    generation: Generation,
    melody: np.ndarray,
    window: int,
    spans: Sequence[tuple[int, int]],
    noise: torch.Tensor,
    rng: torch.Generator,
    form_rng: np.random.Generator,
    variation: float,
    mode: str,
    grid: np.ndarray | None,
) -> np.ndarray:
    """One draw of :func:`accompany` with the windows' ``noise`` given: ``(K, S, P)`` bool."""
    probs = generate_probabilities(generation, melody, window, rng, noise=noise, grid=grid)
    probs = generation.hold_groove(probs, spans)
    repeats = melody_repeats(melody, list(spans))
    ranges = generation.policy.kits or None
    probs, exact = follow_form(probs, spans, repeats, variation, generation.is_drum, form_rng, ranges)
    notes = generation.decode(probs, mode=mode, generator=rng, grid=grid, melody=melody)
    return repeat_notes(notes, spans, exact, generation.is_drum, ranges)


__all__ = [
    "DEFAULT_VARIATION",
    "PART_SHARE",
    "PIECE_REDRAWS",
    "TRACK_REDRAWS",
    "accompany",
    "check_variation",
    "default_variation",
    "follow_form",
    "left_out",
    "moved_tracks",
    "repeat_notes",
    "strains",
]
