"""Iterative note rewriting with the AR-CNN: blocked Gibbs sampling over a multitrack window, then one clean decode.

The sampler of DeepComposer's Enhance (and of Coconet): start from the given music, and many times over pick a
share of the cells the user lets change, hide them from the model, and draw them again from what the model says
belongs there given everything else. The share hidden falls from ``start_ratio`` to ``MIN_RATIO`` over the
iterations, so the music first takes shape as a whole, then is polished a few cells at a time. A last pass asks
the model for the clean roll given the final draw, and :func:`museforge.sampling.notes.to_notes` turns it into notes
under the same note policy as every other pipeline (single lines stay single lines, notes are held, not
flickered).

Units: a cell is one track's one time step (all its pitches): the model is told which steps of which tracks are
known (:class:`museforge.models.arcnn.ARCNN`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.music.instruments import playable_range
from museforge.music.keys import transpose_rolls
from museforge.sampling.generation import window_shifts
from museforge.sampling.notes import DEFAULT_HOLD, GREEDY_BELOW, NotePolicy, to_notes
from museforge.sampling.voice_rules import parallel_candidates

#: The share of editable cells still redrawn in the last iterations.
MIN_RATIO = 0.05
#: Iterations over which the hidden share falls from its start to :data:`MIN_RATIO` (as a share of all).
ANNEAL = 0.75
#: Share of the cells to change that are drawn afresh in the first iteration when the input has notes there.
REWRITE_START_RATIO = 0.5


@dataclass(frozen=True)
class Voices:
    """How each of the ``1 + K`` tracks of a window is drawn and decoded (the melody first).

    Attributes
    ----------
    monophonic : tuple of bool
        A track plays at most one pitch per step.
    hold : tuple of float
        Log-odds cost of a pitch starting or stopping, per track (:func:`museforge.sampling.notes.to_notes`).
    ranges : tuple of (int, int), optional
        Per track, the first and last roll column it may play (its instrument's or voice's range,
        :func:`museforge.music.instruments.playable_range`); None: the whole window.
    line_bias : tuple of float
        Per track, log-odds added to a single line's pitches against its rest in the final decode (the card's
        ``decoding.line_bias``, measured so that the lines sound as often as the data's); empty: none.
    """

    monophonic: tuple[bool, ...]
    hold: tuple[float, ...]
    ranges: tuple[tuple[int, int], ...] | None = None
    line_bias: tuple[float, ...] = ()

    def outside(self, n_pitches: int) -> np.ndarray:
        """``(V, P)`` bool: the cells each track may not play."""
        mask = np.zeros((len(self.monophonic), n_pitches), dtype=bool)
        for v, (lo, hi) in enumerate(self.ranges or ()):
            mask[v, : max(0, lo)] = True
            mask[v, hi + 1 :] = True
        return mask


def _draw(logits: torch.Tensor, monophonic: tuple[bool, ...], temperature: float, rng: torch.Generator) -> torch.Tensor:
    """A roll drawn from ``(n, V, T, P)`` logits: one pitch or a rest per step on single lines, cell by cell else.

    On a single line the model's cell probabilities are the marginals of one choice per step: pitch ``p`` with
    probability ``p_p`` and a rest with ``1 - sum(p)`` (at least a little); the draw is from that choice, sharpened
    or flattened by the temperature (probabilities to the power ``1 / temperature``). Elsewhere each cell is its
    own Bernoulli draw from ``sigmoid(logit / temperature)``.
    """
    greedy = temperature < GREEDY_BELOW  # the limit of a falling temperature: the likeliest notes
    if greedy:
        out = (logits > 0).to(logits.dtype)
    else:
        out = torch.bernoulli(torch.sigmoid(logits / temperature), generator=rng)
    for v, mono in enumerate(monophonic):
        if not mono:
            continue
        p = torch.sigmoid(logits[:, v])  # (n, T, P)
        rest = torch.clamp(1.0 - p.sum(dim=-1, keepdim=True), min=1e-3)
        log_weights = torch.cat([p, rest], dim=-1).clamp_min(1e-12).log()
        if greedy:
            choice = log_weights.argmax(dim=-1)
        else:  # p ** (1 / t) in log space, so a low temperature cannot overflow or vanish
            weights = torch.softmax(log_weights / temperature, dim=-1)
            choice = torch.multinomial(weights.flatten(0, 1), 1, generator=rng).view(weights.shape[:2])
        out[:, v] = torch.nn.functional.one_hot(choice, log_weights.shape[-1])[..., :-1].to(out.dtype)
    return out


def line_evidence(probs: np.ndarray, monophonic: tuple[bool, ...]) -> np.ndarray:
    """Probabilities ``(n, V, T, P)`` as :func:`~museforge.sampling.notes.to_notes` should weigh them: on a single line,
    pitch ``p`` against a rest, ``q_p = p_p / (p_p + rest)`` with ``rest = 1 - sum(p)``, so that a step whose
    likely pitches share the probability still sounds the likeliest one (a cell's own odds would let the rest win
    whenever no single pitch passes one half)."""
    out = np.array(probs, dtype=np.float32, copy=True)
    for v, mono in enumerate(monophonic):
        if mono:
            p = out[:, v]
            rest = np.clip(1.0 - p.sum(axis=-1, keepdims=True), 1e-3, None)
            out[:, v] = p / (p + rest)
    return out


def decode_lines(probs: np.ndarray, voices: Voices) -> np.ndarray:
    """The notes of the sampler's final probabilities ``(n, V, T, P)``: ``(n, V, T, P)`` bool, each single line
    weighed pitch against rest (:func:`line_evidence`), held and biased as ``voices`` says."""
    evidence = line_evidence(probs, voices.monophonic)
    biases = list(voices.line_bias) if any(voices.line_bias) else None
    notes = to_notes(evidence, monophonic=voices.monophonic, hold=list(voices.hold), line_bias=biases)
    return np.asarray(notes, dtype=bool)


@torch.no_grad()
def rewrite(
    network: torch.nn.Module,
    rolls: np.ndarray,
    editable: np.ndarray,
    voices: Voices,
    *,
    iterations: int,
    temperature: float = 1.0,
    start_ratio: float | Sequence[float] = 1.0,
    generator: torch.Generator | None = None,
    forbid_parallels: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite the editable cells of some windows.

    Parameters
    ----------
    network : ARCNN
        ``(melody, accompaniment, known) -> logits (n, 1 + K, T, P)``.
    rolls : np.ndarray
        ``(n, 1 + K, T, P)`` bool: the music to start from (track 0 the melody).
    editable : np.ndarray
        ``(n, 1 + K, T)`` bool: the tracks' steps that may change; the others are kept as they are.
    voices : Voices
        Single lines and holds of the ``1 + K`` tracks.
    iterations : int
        Gibbs iterations (0: only the final decode).
    temperature : float
        Creative risk: logits are divided by it before each draw (1 as learnt; higher is bolder).
    start_ratio : float or sequence of float
        Share of the editable cells hidden in the first iteration, one value or one per track (1: the track's
        editable cells start empty and are drawn afresh; lower: more of the input is kept).
    generator : torch.Generator, optional
        Source of randomness (CPU).
    forbid_parallels : bool
        Keep the part-writing rule: no single line may move in consecutive fifths or octaves with another
        (:func:`museforge.sampling.voice_rules.parallel_candidates`, against the cells as they stand), in every
        draw and in the final decode, which is checked once more against its own notes (its holds and line biases
        pair notes the draws never paired). The model still proposes; the rule leaves out what breaks it.

    Returns
    -------
    notes : np.ndarray
        ``(n, 1 + K, T, P)`` bool: the rewritten windows (equal to ``rolls`` outside ``editable``).
    probabilities : np.ndarray
        ``(n, 1 + K, T, P)`` float32: the model's final clean-roll probabilities.
    """
    if iterations < 0:
        raise MuseforgeError(f"iterations must be >= 0, got {iterations}")
    if not temperature > 0:
        raise MuseforgeError(f"temperature must be > 0, got {temperature}")
    rng = generator if generator is not None else torch.Generator().manual_seed(0)
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    state = torch.from_numpy(np.asarray(rolls, dtype=np.float32)).to(device)
    free = torch.from_numpy(np.asarray(editable, dtype=bool)).to(device)
    # a voice never goes where it cannot sing (a "bass" three octaves up shares the right pitch class only)
    barred = torch.from_numpy(voices.outside(state.shape[-1])).to(device).view(1, state.shape[1], 1, -1)
    starts = torch.as_tensor(np.broadcast_to(np.asarray(start_ratio, dtype=np.float32), (state.shape[1],)).copy())
    starts = starts.to(device).view(1, -1, 1)
    afresh = free & (starts >= 1.0)  # these start empty, as the model was taught to fill hidden steps
    state = state * (~afresh).unsqueeze(-1)
    n = state.shape[0]
    try:
        for i in range(iterations):
            ratio = torch.clamp(starts - (starts - MIN_RATIO) * i / max(1.0, ANNEAL * iterations), min=MIN_RATIO)
            hidden = free & (torch.rand(free.shape, generator=rng).to(device) < ratio)
            known = ~hidden
            logits = network(state[:, 0], state[:, 1:], known.float()).float().masked_fill(barred, -30.0)
            if forbid_parallels:
                logits = logits.masked_fill(parallel_candidates(state, voices.monophonic), -30.0)
            drawn = _draw(logits, voices.monophonic, temperature, rng)
            state = torch.where(hidden.unsqueeze(-1), drawn, state)
        logits = network(state[:, 0], state[:, 1:], torch.ones_like(free, dtype=torch.float32))
        logits = logits.float().masked_fill(barred, -30.0)
        if forbid_parallels:
            logits = logits.masked_fill(parallel_candidates(state, voices.monophonic), -30.0)
        probs = torch.sigmoid(logits / temperature).cpu().numpy()
    finally:
        network.train(was_training)
    decoded = decode_lines(probs, voices)
    if n == 0:
        return decoded, probs
    keep = ~np.asarray(editable, dtype=bool)[..., None]
    notes = np.where(keep, np.asarray(rolls, dtype=bool), decoded)
    if forbid_parallels:  # the decode holds and biases notes, pairing some the draws never paired: once more
        again = parallel_candidates(torch.from_numpy(notes.astype(np.float32)), voices.monophonic).numpy()
        probs = np.where(again & ~keep, np.float32(0.0), probs)
        notes = np.where(keep, np.asarray(rolls, dtype=bool), decode_lines(probs, voices))
    return notes, probs


def voices_from_card(card: Mapping[str, Any]) -> Voices:
    """The :class:`Voices` of an AR-CNN's card: the melody a held single line anywhere in the window, the
    accompaniment as its note policy (:class:`museforge.sampling.notes.NotePolicy`) says, each track within its
    instrument's (or chorale voice's) range."""
    parsed = ModelCard.of(card)
    policy = NotePolicy.from_card(parsed)
    lowest, n_pitches = parsed.lowest_pitch, parsed.n_pitches
    ranges = [(0, n_pitches - 1)]  # the melody: the whole window
    for track in parsed.tracks:
        span = playable_range(int(track["program"]), str(track["role"]), bool(track["is_drum"]))
        ranges.append((0, n_pitches - 1) if span is None else (span[0] - lowest, span[1] - lowest))
    biases = (0.0, *policy.line_bias) if policy.line_bias else ()
    return Voices(
        monophonic=(True, *policy.monophonic),
        hold=(DEFAULT_HOLD, *policy.hold),
        ranges=tuple(ranges),
        line_bias=biases,
    )


def in_common_key(rolls: np.ndarray, shifts: np.ndarray | None, is_drum: list[bool]) -> np.ndarray:
    """``(n, V, T, P)`` windows moved by ``shifts`` semitones each (drums stay); unchanged when ``shifts`` is None."""
    return rolls if shifts is None else transpose_rolls(rolls, shifts, is_drum)


def revise_windows(
    network: torch.nn.Module, card: Mapping[str, Any], windows: np.ndarray, **options: Any
) -> np.ndarray:
    """Rewrite the accompaniment of each window on its own, the melody kept (measurements and the trainer's logs).

    ``windows`` ``(n, 1 + K, T, P)`` bool, melody first, ``T`` the model's window, in the melody's key; ``options``
    those of :func:`rewrite_windows` (``iterations`` and ``generator`` required; ``start_ratio`` 1 writes the
    accompaniment afresh, what it holds ignored, lower revises it). Returns ``(n, K, T, P)`` bool, in the melody's key.
    """
    return rewrite_windows(network, card, windows, **options)[0][:, 1:]


def rewrite_windows(
    network: torch.nn.Module,
    card: Mapping[str, Any],
    windows: np.ndarray,
    *,
    iterations: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    start_ratio: float = 1.0,
    forbid_parallels: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite the accompaniment of each window on its own, the melody kept (:func:`rewrite`'s settings): the notes
    ``(n, 1 + K, T, P)`` bool and the final probabilities ``(n, 1 + K, T, P)`` float32 (to decode again, as the
    measuring scripts do), moved back to each window's key."""
    parsed = ModelCard.of(card)
    is_drum = [False, *parsed.is_drum]
    shifts = window_shifts(windows[:, 0], parsed.lowest_pitch) if parsed.common_key else None
    editable = np.ones(windows.shape[:3], dtype=bool)
    editable[:, 0] = False
    notes, probs = rewrite(
        network,
        in_common_key(windows, shifts, is_drum),
        editable,
        voices_from_card(parsed),
        iterations=iterations,
        temperature=temperature,
        start_ratio=start_ratio,
        generator=generator,
        forbid_parallels=forbid_parallels,
    )
    back = -shifts if shifts is not None else None
    return in_common_key(notes, back, is_drum), in_common_key(probs, back, is_drum)


def harmonize_windows(
    network: torch.nn.Module,
    card: Mapping[str, Any],
    melody: np.ndarray,
    *,
    iterations: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    forbid_parallels: bool = False,
) -> np.ndarray:
    """Accompaniment written afresh under each melody window ``(n, T, P)``: ``(n, K, T, P)`` bool."""
    n_tracks = len(ModelCard.of(card).tracks)
    windows = np.zeros((len(melody), 1 + n_tracks, *melody.shape[1:]), dtype=bool)
    windows[:, 0] = melody
    return revise_windows(
        network,
        card,
        windows,
        iterations=iterations,
        generator=generator,
        temperature=temperature,
        forbid_parallels=forbid_parallels,
    )


# ------------------------------------------------------------------------------------------------- whole pieces
def rewrite_piece(
    network: torch.nn.Module,
    card: ModelCard,
    rolls: np.ndarray,
    editable: np.ndarray,
    *,
    iterations: int,
    temperature: float,
    generator: torch.Generator,
    start_ratio: list[float],
    forbid_parallels: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a whole piece window by window (half-overlapping, in order; ``forbid_parallels`` as in :func:`rewrite`,
    the notes of the window before counting at its edge).

    Parameters
    ----------
    rolls : np.ndarray
        ``(1 + K, S, P)`` bool, the piece (track 0 the melody) in its own key.
    editable : np.ndarray
        ``(1 + K, S)`` bool: the tracks' steps that may change.
    start_ratio : list of float
        Per track, the share of its editable cells drawn afresh at first (see :func:`rewrite`).

    Returns
    -------
    notes : np.ndarray
        ``(1 + K, S, P)`` bool.
    probabilities : np.ndarray
        ``(1 + K, S, P)`` float32: the model's last word on each cell (for the budgets).
    """
    assert card.window is not None  # an AR-CNN card has its window
    window = card.window
    hop = window // 2
    voices, steps = rolls.shape[0], rolls.shape[1]
    is_drum = [False, *card.is_drum]
    shift = None
    if card.common_key:
        shift = window_shifts(rolls[0][None], card.lowest_pitch)  # one key for the whole piece
    n_windows = max(1, math.ceil(max(0, steps - window) / hop) + 1)
    padded = n_windows * hop + hop if n_windows > 1 else window
    state = np.zeros((voices, max(padded, window), rolls.shape[2]), dtype=bool)
    state[:, :steps] = rolls
    free = np.zeros(state.shape[:2], dtype=bool)
    free[:, :steps] = editable
    probs = np.zeros(state.shape, dtype=np.float32)
    settled = 0  # steps before this are decided
    for w in range(n_windows):
        start = w * hop
        part = slice(start, start + window)
        mask = free[:, part].copy()
        mask[:, : max(0, settled - start)] = False
        if not mask.any():
            settled = start + window
            continue
        inputs = in_common_key(state[None, :, part], shift, is_drum)
        notes, p = rewrite(
            network,
            inputs,
            mask[None],
            voices_from_card(card),
            iterations=iterations,
            temperature=temperature,
            start_ratio=start_ratio,
            generator=generator,
            forbid_parallels=forbid_parallels,
        )
        if shift is not None:
            notes = transpose_rolls(notes, -shift, is_drum)
            p = transpose_rolls(p, -shift, is_drum)
        state[:, part] = np.where(mask[..., None], notes[0], state[:, part])
        probs[:, part] = np.where(mask[..., None], p[0], probs[:, part])
        settled = start + window
    return state[:, :steps], probs[:, :steps]


def windows_to_rewrite(editable: np.ndarray, window: int) -> int:
    """How many of :func:`rewrite_piece`'s windows hold a step that may change (``editable`` ``(V, S)`` bool): its
    work is this many windows times the iterations."""
    steps, hop = editable.shape[1], window // 2
    changing = np.any(np.asarray(editable, dtype=bool), axis=0, keepdims=False).reshape(-1)
    n_windows = max(1, math.ceil(max(0, steps - window) / hop) + 1)
    return sum(bool(changing[w * hop : w * hop + window].any()) for w in range(n_windows))


def revise_piece(
    network: torch.nn.Module,
    card: ModelCard,
    melody: np.ndarray,
    accompaniment: np.ndarray,
    iterations: int,
    generator: torch.Generator,
    forbid_parallels: bool = False,
) -> np.ndarray:
    """A revision pass over a GAN's accompaniment, the melody kept: ``(S, P)`` melody and ``(K, S, P)`` tracks in,
    ``(K, S, P)`` bool out (half of the notes redrawn at first, then fewer and fewer; no budgets; ``forbid_parallels``
    as in :func:`rewrite`)."""
    rolls = np.concatenate([np.asarray(melody, dtype=bool)[None], np.asarray(accompaniment, dtype=bool)])
    editable = np.ones(rolls.shape[:2], dtype=bool)
    editable[0] = False
    ratios = [1.0, *([REWRITE_START_RATIO] * len(accompaniment))]
    notes, _ = rewrite_piece(
        network,
        card,
        rolls,
        editable,
        iterations=iterations,
        temperature=1.0,
        generator=generator,
        start_ratio=ratios,
        forbid_parallels=forbid_parallels,
    )
    return notes[1:]


__all__ = [
    "ANNEAL",
    "MIN_RATIO",
    "REWRITE_START_RATIO",
    "Voices",
    "decode_lines",
    "harmonize_windows",
    "in_common_key",
    "revise_piece",
    "revise_windows",
    "rewrite",
    "rewrite_piece",
    "rewrite_windows",
    "voices_from_card",
    "windows_to_rewrite",
]
