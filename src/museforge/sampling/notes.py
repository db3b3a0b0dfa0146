"""From generator probabilities to notes: the one step between a GAN's output and a piano roll.

A generator outputs logits; ``torch.sigmoid(logits)`` are note probabilities in ``[0, 1]`` (what the critic
sees during training). A piano roll needs a yes/no per cell. Every pipeline (compose, evaluate, the trainer's
per-epoch metrics) decodes with :func:`to_notes` under the model's :class:`NotePolicy`, so the numbers a user sees
in the logs, the studio and ``museforge evaluate`` describe the music ``compose`` writes.

Decoding is a most-likely path, not a cell-by-cell cut. Each cell's evidence is its log-odds against the
threshold, ``logit(p) - logit(threshold)``; a pitch that starts or stops sounding pays ``hold`` (in log-odds), so a
note is only cut short, or a one-step blip only played, where the generator is sure of it (hysteresis: notes last
as long as the model keeps them likely, not while they flicker about 0.5). The best path is found exactly by the
Viterbi algorithm, per cell for chordal tracks and over ``rest + pitches`` for single-line tracks (chorale voices,
bass lines: at most one pitch per step). ``hold = 0`` is the plain threshold (and, for single lines, the most
probable pitch where it passes). A single line sounds its most likely path against the line's own rest: a model
writes each cell as if alone, so where it spreads a voice over several neighbouring pitches none of them may pass
the threshold although the voice plainly goes on; a card's ``decoding.line_bias`` (log-odds per single-line
track, chosen so the line sounds as often as its training data: ``scripts/measure_lines.py``) moves that rest, and a
single line may be kept in its data's range (``data.line_range``, :mod:`museforge.music.ranges`: a chorale tenor
stays a tenor; where the card's ``decoding.line_range`` says so). Drum hits are onsets: drum tracks are never
smoothed, and a drum track whose card names its data's kit (``data.drum_kit``, :mod:`museforge.music.drums`) only
plays that kit's keys: a key the data never (or almost never) hit, or one General MIDI does not play, gets no
evidence at all. A pitched track may keep to its data's rhythmic grid (``data.change_grid``,
:mod:`museforge.music.rhythm`, where the card's ``decoding.change_grid`` says so): its notes start, stop and move
only on the positions in the beat where its data's do (a Real Book bass on the beat, its piano on eighths); between
them the path keeps what it plays.

Modes:

- ``"threshold"``: the evidence as it is (deterministic: what composing, evaluation and training logs use).
- ``"bernoulli"``: logistic noise is added to each cell's log-odds first, which with ``hold = 0`` is exactly an
  independent Bernoulli draw per cell with its own probability (varied output; pass a seeded
  :class:`torch.Generator` for a repeatable draw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.music.rhythm import beat_positions, still_steps
from museforge.music.tracks import unique_roles

#: The ways :func:`to_notes` knows.
MODES: tuple[str, ...] = ("threshold", "bernoulli")
#: Log-odds a pitched note pays to start or stop (see the module docstring): a one-step note then needs a
#: probability of at least ``sigmoid(2 * HOLD)`` (0.95) and a one-step gap in a held note at most 0.05. Chosen in
#: docs/quality.md: 1.5 brings the one-step note rate of the chorale voices to the real music's (0.03-0.05 against
#: 0.01-0.05); 1.0 leaves them at 0.05-0.09 and rock's tracks at twice the real rate.
DEFAULT_HOLD = 1.5
#: Sampling temperatures below this draw greedily, the limit of a falling temperature (dividing by them would
#: overflow the logits): Enhance's rewriting and Extend's tokens.
GREEDY_BELOW = 1e-3
#: A pitched track whose training data has at most this polyphonic rate is decoded as a single line.
MONOPHONIC_MAX_POLYPHONY = 0.05
_CLIP = 30.0
_EPS = 1e-7


@dataclass(frozen=True)
class NotePolicy:
    """How one model's probabilities become notes: per accompaniment track, single line or not, and hold.

    Attributes
    ----------
    monophonic : tuple of bool
        Per track: at most one pitch per step.
    hold : tuple of float
        Per track: the log-odds cost of a pitch starting or stopping (0 for drums).
    threshold : float
        Probability at which a cell's evidence is neutral.
    kits : tuple
        Per track: the pitch columns it may play (a drum track's kit, a single line's range, both from its data),
        or None (every column); empty: no track is limited.
    line_bias : tuple of float
        Per track: log-odds added to a single line's pitches against its rest (``decoding.line_bias``); empty: 0.
    change_grid : tuple
        Per track: the positions in the beat where its notes may change (``data.change_grid`` where
        ``decoding.change_grid``), or None (anywhere); empty: no track is held to a grid.
    resolution : int
        Steps per beat of the model's grid.
    """

    monophonic: tuple[bool, ...]
    hold: tuple[float, ...]
    threshold: float = 0.5
    kits: tuple[tuple[int, ...] | None, ...] = ()
    line_bias: tuple[float, ...] = ()
    change_grid: tuple[tuple[int, ...] | None, ...] = ()
    resolution: int = 4

    @classmethod
    def from_card(cls, card: Mapping[str, Any], threshold: float = 0.5) -> NotePolicy:
        """The policy of a model card, from what its training data say: single lines where the data play one
        pitch at a time, and a hold per track that shrinks with the share of one-step notes in the data
        (:func:`track_hold`), or the hold measured for the track (``decoding.track_hold``, by role:
        ``scripts/measure_holds.py``)."""
        decoding = card.get("decoding") or {}
        hold = float(decoding.get("hold", DEFAULT_HOLD))
        facts = card.get("train_data_metrics") or {}
        holds = []
        parsed = ModelCard.of(card)
        measured = measured_holds(parsed)
        for role, track in zip(unique_roles(parsed.roles), parsed.tracks, strict=True):
            rate = (facts.get(track["role"]) or {}).get("one_step_note_rate")
            holds.append(0.0 if track["is_drum"] else measured.get(role, track_hold(hold, rate)))
        monophonic = tuple(monophonic_tracks(card))
        allowed = [
            kit if kit is not None else span
            for kit, span in zip(drum_kits(parsed), line_ranges(parsed, monophonic), strict=True)
        ]
        kits = tuple(
            None
            if keys is None
            else tuple(k - parsed.lowest_pitch for k in keys if 0 <= k - parsed.lowest_pitch < parsed.n_pitches)
            for keys in allowed
        )
        biases = line_biases(parsed, monophonic)
        grids = change_grids(parsed)
        return cls(
            monophonic=monophonic,
            hold=tuple(holds),
            threshold=threshold,
            kits=kits if any(k is not None for k in kits) else (),
            line_bias=biases if any(biases) else (),
            change_grid=grids if any(g is not None for g in grids) else (),
            resolution=parsed.resolution,
        )

    def track(self, k: int, hold: float | None = None, line_bias: float | None = None) -> NotePolicy:
        """The policy of track ``k`` alone, for its probabilities ``(..., 1, T, P)``; ``hold`` and ``line_bias``
        give that track another value of the setting (the measuring scripts try a grid of them)."""

        def own(values: tuple[Any, ...]) -> tuple[Any, ...]:
            return (values[k],) if values else ()

        return NotePolicy(
            monophonic=(self.monophonic[k],),
            hold=(self.hold[k] if hold is None else float(hold),),
            threshold=self.threshold,
            kits=own(self.kits),
            line_bias=own(self.line_bias) if line_bias is None else (float(line_bias),),
            change_grid=own(self.change_grid),
            resolution=self.resolution,
        )

    def still(self, n_steps: int, grid: np.ndarray | None = None) -> list[np.ndarray | None] | None:
        """Per track, the ``(T,)`` steps at which it keeps what it plays (off its change grid), or None; None when
        no track has a grid. ``grid`` is the roll's metric grid ``(T, 2)`` (None: it starts on a bar line and its
        beats are quarter notes)."""
        if not self.change_grid:
            return None
        positions = beat_positions(n_steps, self.resolution, grid)
        return [None if allowed is None else still_steps(positions, allowed) for allowed in self.change_grid]

    def decode(
        self,
        probs: Tensor | np.ndarray,
        mode: str = "threshold",
        generator: torch.Generator | None = None,
        grid: np.ndarray | None = None,
    ):
        """:func:`to_notes` under this policy: ``(..., K, T, P)`` probabilities -> bool of the same shape; ``grid``
        the metric grid ``(T, 2)`` of the rolls (see :meth:`still`)."""
        return to_notes(
            probs,
            mode=mode,
            threshold=self.threshold,
            generator=generator,
            monophonic=self.monophonic,
            hold=self.hold,
            kits=self.kits or None,
            line_bias=self.line_bias or None,
            still=self.still(np.shape(probs)[-2], grid),
        )


def _viterbi_cells(evidence: np.ndarray, hold: float, still: np.ndarray | None = None) -> np.ndarray:
    """Best on/off path of every cell of ``(..., T, P)`` log-odds; each switch costs ``hold``, and none happens
    on the ``still`` steps ``(T,)``."""
    steps = evidence.shape[-2]
    barred = np.zeros(steps, dtype=bool) if still is None else np.asarray(still, dtype=bool)
    off = np.zeros(evidence.shape[:-2] + evidence.shape[-1:], dtype=np.float32)
    on = np.full_like(off, -np.inf)
    from_on_off = np.zeros(evidence.shape, dtype=bool)  # came to "off" from "on"
    from_off_on = np.zeros(evidence.shape, dtype=bool)  # came to "on" from "off"
    for t in range(steps):
        stay_off, switch_off = off, on - hold
        stay_on, switch_on = on, off - hold
        if barred[t]:
            switch_off = switch_on = np.full_like(off, -np.inf)
        from_on_off[..., t, :] = switch_off > stay_off
        from_off_on[..., t, :] = switch_on > stay_on
        off = np.maximum(stay_off, switch_off)
        on = np.maximum(stay_on, switch_on) + evidence[..., t, :]
    state = on > off
    out = np.zeros(evidence.shape, dtype=bool)
    for t in range(steps - 1, -1, -1):
        out[..., t, :] = state
        state = np.where(state, ~from_off_on[..., t, :], from_on_off[..., t, :])
    return out


def _viterbi_line(evidence: np.ndarray, hold: float, still: np.ndarray | None = None) -> np.ndarray:
    """Best single line of ``(..., T, P)`` log-odds: at most one pitch per step, each change costs ``hold``, and
    none happens on the ``still`` steps ``(T,)``."""
    if evidence.ndim == 2:
        return _viterbi_line(evidence[None], hold, still)[0]
    *lead, steps, pitches = evidence.shape
    score = np.zeros((*lead, pitches + 1), dtype=np.float32)  # state 0 = rest
    score[..., 1:] = -np.inf
    back = np.zeros((steps, *lead, pitches + 1), dtype=np.int16)
    states = np.arange(pitches + 1, dtype=np.int16)
    barred = np.zeros(steps, dtype=bool) if still is None else np.asarray(still, dtype=bool)
    for t in range(steps):
        best = np.argmax(score, axis=-1)
        switch = np.take_along_axis(score, best[..., None], axis=-1) - (np.inf if barred[t] else hold)
        stay = score > switch
        back[t] = np.where(stay, states, best[..., None].astype(np.int16))
        score = np.maximum(score, switch)
        score[..., 1:] += evidence[..., t, :]
    state = np.argmax(score, axis=-1)
    out = np.zeros(evidence.shape, dtype=bool)
    for t in range(steps - 1, -1, -1):
        sounding = state > 0
        if sounding.any():
            idx = np.nonzero(sounding)
            out[(*idx, t, state[idx] - 1)] = True
        state = np.take_along_axis(back[t], state[..., None], axis=-1)[..., 0]
    return out


def to_notes(
    probs: Tensor | np.ndarray,
    mode: str = "threshold",
    threshold: float = 0.5,
    generator: torch.Generator | None = None,
    monophonic: Sequence[bool] | None = None,
    hold: float | Sequence[float] = 0.0,
    kits: Sequence[Sequence[int] | None] | None = None,
    line_bias: Sequence[float] | None = None,
    still: Sequence[np.ndarray | None] | None = None,
) -> Tensor | np.ndarray:
    """Turn note probabilities into a boolean piano roll.

    Parameters
    ----------
    probs : Tensor or np.ndarray
        Probabilities in ``[0, 1]``, shape ``(..., T, P)``; with per-track options ``(..., K, T, P)``, e.g.
        ``(B, K, T, P)`` from ``sigmoid(generator(...))``.
    mode : {"threshold", "bernoulli"}
        See the module docstring.
    threshold : float
        Probability of neutral evidence, in ``(0, 1]`` (``hold = 0``: a cell sounds where ``p >= threshold``).
    generator : torch.Generator, optional
        Source of randomness for ``"bernoulli"`` (on the device of ``probs``, or the CPU for NumPy input).
    monophonic : sequence of bool, optional
        One flag per track (axis ``-3``): a flagged track plays at most one pitch per step (see
        :func:`monophonic_tracks`).
    hold : float or sequence of float
        Log-odds cost of a pitch starting or stopping, one value or one per track (axis ``-3``); 0 decodes cell by
        cell.
    kits : sequence, optional
        Per track (axis ``-3``): the pitch columns it may play, or None for all of them (a drum track's kit).
    line_bias : sequence of float, optional
        Per track (axis ``-3``): log-odds added to a single-line track's pitches against its rest (ignored for
        other tracks).
    still : sequence, optional
        Per track (axis ``-3``): ``(T,)`` bool, the steps at which the track keeps what it plays (no note starts,
        stops or moves: off its data's change grid), or None.

    Returns
    -------
    Tensor or np.ndarray
        Bool array of the same shape, of the same kind (tensor in, tensor out, on the same device).

    Raises
    ------
    MuseforgeError
        On an unknown mode, a threshold outside ``(0, 1]``, or per-track options that do not fit axis ``-3``.
    """
    if mode not in MODES:
        raise MuseforgeError(f"unknown sampling mode {mode!r} (choose from {', '.join(MODES)})")
    if not 0.0 < threshold <= 1.0:
        raise MuseforgeError(f"threshold must be in (0, 1], got {threshold}")
    is_numpy = isinstance(probs, np.ndarray)
    device = probs.device if isinstance(probs, Tensor) else None
    p = probs.detach().float().cpu().numpy() if isinstance(probs, Tensor) else np.asarray(probs, dtype=np.float32)
    p = np.clip(p, _EPS, 1.0 - _EPS)
    cut = min(max(float(threshold), _EPS), 1.0 - _EPS)
    evidence = np.log(p) - np.log1p(-p) - np.float32(np.log(cut) - np.log1p(-cut))
    if mode == "bernoulli":
        draw_on = generator.device if generator is not None else torch.device("cpu")
        uniform = torch.rand(p.shape, generator=generator, device=draw_on).cpu().numpy().astype(np.float32)
        uniform = np.clip(uniform, 1e-7, 1.0 - 1e-7)
        evidence += np.log(uniform) - np.log1p(-uniform)
    evidence = np.clip(evidence, -_CLIP, _CLIP).astype(np.float32)
    n_tracks = p.shape[-3] if p.ndim >= 3 else 1
    holds = np.asarray(hold, dtype=np.float32).reshape(-1)
    if np.ndim(hold) == 0:
        holds = np.full(n_tracks, holds[0], dtype=np.float32)
    elif len(holds) != n_tracks:
        raise MuseforgeError(f"hold has {len(holds)} values for {n_tracks} tracks")
    flags = [bool(f) for f in monophonic] if monophonic is not None else [False] * n_tracks
    if monophonic is not None and (p.ndim < 3 or len(flags) != n_tracks):
        raise MuseforgeError(f"monophonic has {len(flags)} flags for {n_tracks} tracks")
    if kits is not None:
        if p.ndim < 3 or len(kits) != n_tracks:
            raise MuseforgeError(f"kits has {len(kits)} entries for {n_tracks} tracks")
        for k, kit in enumerate(kits):
            if kit is not None:
                outside = np.ones(evidence.shape[-1], dtype=bool)
                outside[np.asarray(kit, dtype=np.int64)] = False
                evidence[..., k, :, outside] = -_CLIP
    biases = [float(b) for b in line_bias] if line_bias is not None else [0.0] * n_tracks
    if line_bias is not None and (p.ndim < 3 or len(biases) != n_tracks):
        raise MuseforgeError(f"line_bias has {len(biases)} values for {n_tracks} tracks")
    stills = list(still) if still is not None else [None] * n_tracks
    if still is not None and (p.ndim < 3 or len(stills) != n_tracks):
        raise MuseforgeError(f"still has {len(stills)} entries for {n_tracks} tracks")
    if p.ndim < 3:  # one track: (..., T, P)
        return _finish(_viterbi_cells(evidence, float(holds[0])) if holds[0] > 0 else evidence >= 0, is_numpy, device)
    notes = np.empty(evidence.shape, dtype=bool)
    for k in range(n_tracks):
        e = evidence[..., k, :, :]
        if flags[k]:
            notes[..., k, :, :] = _viterbi_line(e + np.float32(biases[k]), float(holds[k]), stills[k])
        elif holds[k] > 0 or stills[k] is not None:
            notes[..., k, :, :] = _viterbi_cells(e, float(holds[k]), stills[k])
        else:
            notes[..., k, :, :] = e >= 0
    return _finish(notes, is_numpy, device)


def _finish(notes: np.ndarray, is_numpy: bool, device: torch.device | None) -> Tensor | np.ndarray:
    """Notes in the kind they came as: an array, or a tensor on the input's device."""
    return notes if is_numpy else torch.from_numpy(notes).to(device)


def drum_kits(card: Mapping[str, Any]) -> list[list[int] | None]:
    """Per accompaniment track of a model card: the General MIDI keys a drum track's training data play
    (``data.drum_kit``, :mod:`museforge.music.drums`), None for a pitched track or a card without a kit."""
    parsed = ModelCard.of(card)
    kits = (parsed.get("data") or {}).get("drum_kit") or {}
    if not isinstance(kits, Mapping):
        return [None] * len(parsed.tracks)
    try:
        return [
            sorted({int(key) for key in kits[role] if 0 <= int(key) < 128})
            if track.get("is_drum") and kits.get(role)
            else None
            for role, track in zip(unique_roles(parsed.roles), parsed.tracks, strict=True)
        ]
    except (TypeError, ValueError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.drum_kit") from None


def line_ranges(card: Mapping[str, Any], monophonic: Sequence[bool]) -> list[list[int] | None]:
    """Per accompaniment track: the MIDI pitches a single line's data play (``data.line_range``: every pitch from
    its low to its high, :mod:`museforge.music.ranges`) where the card's ``decoding.line_range`` is true (chosen by
    measurement, ``scripts/measure_lines.py``), None for other tracks or cards."""
    parsed = ModelCard.of(card)
    if (parsed.get("decoding") or {}).get("line_range") is not True:
        return [None] * len(parsed.tracks)
    spans = (parsed.get("data") or {}).get("line_range") or {}
    if not isinstance(spans, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.line_range")
    out: list[list[int] | None] = []
    for role, line in zip(unique_roles(parsed.roles), monophonic, strict=True):
        span = spans.get(role) if line else None
        if span is None:
            out.append(None)
            continue
        try:
            low, high = (int(v) for v in span)
        except (TypeError, ValueError):
            raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.line_range") from None
        out.append(list(range(max(low, 0), min(high, 127) + 1)) or None)
    return out


def line_biases(card: Mapping[str, Any], monophonic: Sequence[bool]) -> tuple[float, ...]:
    """Per accompaniment track: the card's ``decoding.line_bias`` for a single-line track (by role), else 0."""
    parsed = ModelCard.of(card)
    recorded = (parsed.get("decoding") or {}).get("line_bias") or {}
    if not isinstance(recorded, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: decoding.line_bias")
    try:
        return tuple(
            float(recorded.get(role, 0.0)) if line else 0.0
            for role, line in zip(unique_roles(parsed.roles), monophonic, strict=True)
        )
    except (TypeError, ValueError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: decoding.line_bias") from None


def change_grids(card: Mapping[str, Any]) -> tuple[tuple[int, ...] | None, ...]:
    """Per accompaniment track: the positions in the beat its notes may change on (``data.change_grid``, by role)
    where the card's ``decoding.change_grid`` is true and the grid leaves some position out, else None."""
    parsed = ModelCard.of(card)
    if (parsed.get("decoding") or {}).get("change_grid") is not True:
        return (None,) * len(parsed.tracks)
    recorded = (parsed.get("data") or {}).get("change_grid") or {}
    if not isinstance(recorded, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.change_grid")
    out: list[tuple[int, ...] | None] = []
    try:
        for role, track in zip(unique_roles(parsed.roles), parsed.tracks, strict=True):
            allowed = recorded.get(role)
            positions = tuple(sorted({int(v) for v in allowed})) if allowed and not track["is_drum"] else None
            full = positions is not None and set(positions) >= set(range(parsed.resolution))
            out.append(None if full else positions)
    except (TypeError, ValueError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.change_grid") from None
    return tuple(out)


def measured_holds(card: Mapping[str, Any]) -> dict[str, float]:
    """The card's ``decoding.track_hold``: a pitched track's hold by role, measured so that its notes are as
    often one step long as its data's (``scripts/measure_holds.py``); empty when the card has none."""
    parsed = ModelCard.of(card)
    recorded = (parsed.get("decoding") or {}).get("track_hold") or {}
    try:
        if not isinstance(recorded, Mapping):
            raise TypeError
        out = {str(role): float(value) for role, value in recorded.items()}
        if not all(np.isfinite(v) and v >= 0 for v in out.values()):
            raise ValueError
    except (TypeError, ValueError):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: decoding.track_hold") from None
    return out


def track_hold(hold: float, one_step_rate: float | None) -> float:
    """The hold of a track whose training data have ``one_step_rate`` of one-step notes: ``hold * (1 - rate)**2``.

    A track of sustained lines (chorale voices, walking bass: almost no one-step notes) keeps the whole hold; one
    whose real music plays many 16th notes (a rock bass, a quarter of its notes) gets about half of it, so that its
    short notes are not held back. Measured in docs/quality.md. Without the data's rate: ``hold``.
    """
    if one_step_rate is None:
        return hold
    return hold * (1.0 - min(max(float(one_step_rate), 0.0), 1.0)) ** 2


def monophonic_tracks(card: Mapping[str, Any], max_polyphony: float | None = None) -> list[bool]:
    """Per accompaniment track of a model card: whether the training data plays it as a single line.

    A pitched track whose training windows have a polyphonic rate (steps with two or more pitches among sounding
    steps) of at most ``max_polyphony`` (default :data:`MONOPHONIC_MAX_POLYPHONY`) is monophonic; drums never are.
    """
    if max_polyphony is None:
        max_polyphony = MONOPHONIC_MAX_POLYPHONY
    facts = card.get("train_data_metrics") or {}
    flags = []
    for track in ModelCard.of(card).tracks:
        rate = (facts.get(track["role"]) or {}).get("polyphonic_rate")
        flags.append(not track["is_drum"] and rate is not None and rate <= max_polyphony)
    return flags
