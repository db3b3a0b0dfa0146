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
from museforge.sampling.changes import change_costs, change_grids
from museforge.sampling.paths import keep_under, lowest_line, roll_line, viterbi_cells, viterbi_line
from museforge.sampling.voice_rules import forbids_parallels

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
    change_cost : tuple
        Per track: what a change costs on each position in the beat (log-odds, ``(resolution,)``, on top of the
        hold: ``decoding.change_cost``, :func:`change_costs`), or None; empty: none.
    resolution : int
        Steps per beat of the model's grid.
    parallels : bool
        Whether the single lines keep the part-writing rules: no consecutive fifths or octaves with the melody or
        among themselves, none above the melody (:func:`to_notes`' ``rule_lines``; :func:`forbids_parallels`).
    """

    monophonic: tuple[bool, ...]
    hold: tuple[float, ...]
    threshold: float = 0.5
    kits: tuple[tuple[int, ...] | None, ...] = ()
    line_bias: tuple[float, ...] = ()
    change_grid: tuple[tuple[int, ...] | None, ...] = ()
    change_cost: tuple[tuple[float, ...] | None, ...] = ()
    resolution: int = 4
    parallels: bool = False

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
        costs = change_costs(parsed)
        return cls(
            monophonic=monophonic,
            hold=tuple(holds),
            threshold=threshold,
            kits=kits if any(k is not None for k in kits) else (),
            line_bias=biases if any(biases) else (),
            change_grid=grids if any(g is not None for g in grids) else (),
            change_cost=costs if any(c is not None for c in costs) else (),
            resolution=parsed.resolution,
            parallels=forbids_parallels(parsed, None),
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
            change_cost=own(self.change_cost),
            resolution=self.resolution,
            parallels=self.parallels,
        )

    def still(self, n_steps: int, grid: np.ndarray | None = None) -> list[np.ndarray | None] | None:
        """Per track, what a change costs at each of ``n_steps`` steps on top of its hold, ``(T,)`` float (``inf``
        off its change grid: it keeps what it plays there; its change costs by position in the beat), or None;
        None when no track has either. ``grid`` is the roll's metric grid ``(T, 2)`` (None: it starts on a bar
        line and its beats are quarter notes). The first step is free."""
        if not self.change_grid and not self.change_cost:
            return None
        positions = beat_positions(n_steps, self.resolution, grid)
        out: list[np.ndarray | None] = []
        for k in range(len(self.monophonic)):
            allowed = self.change_grid[k] if self.change_grid else None
            costs = self.change_cost[k] if self.change_cost else None
            if allowed is None and costs is None:
                out.append(None)
                continue
            step = np.zeros(n_steps, dtype=np.float32)
            if costs is not None:
                step += np.asarray(costs, dtype=np.float32)[positions]
            if allowed is not None:
                step[still_steps(positions, allowed)] = np.inf
            step[:1] = 0.0
            out.append(step)
        return out

    def decode(
        self,
        probs: Tensor | np.ndarray,
        mode: str = "threshold",
        generator: torch.Generator | None = None,
        grid: np.ndarray | None = None,
        melody: np.ndarray | None = None,
    ):
        """:func:`to_notes` under this policy: ``(..., K, T, P)`` probabilities -> bool of the same shape; ``grid``
        the metric grid ``(T, 2)`` of the rolls (see :meth:`still`); ``melody`` ``(..., T, P)`` bool, the melody
        the single lines keep the part-writing rule with (where :attr:`parallels`; None: only among themselves)."""
        rule_lines = None
        if self.parallels:
            shape = np.shape(probs)
            rule_lines = (
                roll_line(melody)[..., None, :] if melody is not None else np.zeros((*shape[:-3], 0, shape[-2]), int)
            )
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
            rule_lines=rule_lines,
        )


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
    rule_lines: np.ndarray | None = None,
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
        stops or moves: off its data's change grid), or ``(T,)`` float, what a change costs at each step on top of
        the hold (``inf``: none; :meth:`NotePolicy.still`), or None.
    rule_lines : np.ndarray, optional
        ``(..., F, T)`` int pitch columns (-1: rest) of lines written already (the melody) with which no single-line
        track may move in consecutive fifths or octaves; given, the single lines keep that rule among themselves
        too, decoded one after another, the lowest (by its probabilities) first, and none sounds above the given
        lines (the tune stays on top, as in the chorales: their alto crosses above it in 0.2 % of the steps;
        :mod:`museforge.sampling.paths`).

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
        return _finish(viterbi_cells(evidence, float(holds[0])) if holds[0] > 0 else evidence >= 0, is_numpy, device)
    notes = np.empty(evidence.shape, dtype=bool)
    fixed = None if rule_lines is None else np.asarray(rule_lines, dtype=np.int64)
    tune = None if fixed is None else lowest_line(fixed)
    for k in _line_order(p, flags, fixed is not None) + [k for k in range(n_tracks) if not flags[k]]:
        e = evidence[..., k, :, :]
        if flags[k]:
            line = e + np.float32(biases[k])
            if fixed is not None:
                line = keep_under(line, tune)
            notes[..., k, :, :] = viterbi_line(line, float(holds[k]), stills[k], fixed)
            if fixed is not None:
                fixed = np.concatenate([fixed, roll_line(notes[..., k, :, :])[..., None, :]], axis=-2)
        elif holds[k] > 0 or stills[k] is not None:
            notes[..., k, :, :] = viterbi_cells(e, float(holds[k]), stills[k])
        else:
            notes[..., k, :, :] = e >= 0
    return _finish(notes, is_numpy, device)


def _line_order(probs: np.ndarray, flags: Sequence[bool], by_pitch: bool) -> list[int]:
    """The single-line tracks of ``probs`` ``(..., K, T, P)`` in the order they are decoded: the lowest first (by
    the mean pitch column of their probabilities) where they keep the part-writing rule among themselves, as a
    harmoniser sets the bass before the inner voices; else in track order."""
    lines = [k for k, flag in enumerate(flags) if flag]
    if not by_pitch:
        return lines
    columns = np.arange(probs.shape[-1], dtype=np.float64)

    def mean_pitch(k: int) -> float:
        weight = np.asarray(probs[..., k, :, :], dtype=np.float64).reshape(-1, probs.shape[-1]).sum(axis=0)
        return float((weight * columns).sum() / max(float(weight.sum()), 1e-9))

    return sorted(lines, key=mean_pitch)


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
    """Per accompaniment track: the MIDI pitches its data play (``data.line_range``: every pitch from its low to
    its high, :mod:`museforge.music.ranges`) for a single line where the card's ``decoding.line_range`` is true
    (chosen by measurement, ``scripts/measure_lines.py``), and for every pitched track, chords too, where its
    ``decoding.track_range`` is (docs/quality.md); None for other tracks or cards."""
    parsed = ModelCard.of(card)
    decoding = parsed.get("decoding") or {}
    every = decoding.get("track_range") is True
    if decoding.get("line_range") is not True and not every:
        return [None] * len(parsed.tracks)
    spans = (parsed.get("data") or {}).get("line_range") or {}
    if not isinstance(spans, Mapping):
        raise MuseforgeError(f"model card of {parsed.name!r} is malformed: data.line_range")
    out: list[list[int] | None] = []
    lines = decoding.get("line_range") is True
    for role, line, track in zip(unique_roles(parsed.roles), monophonic, parsed.tracks, strict=True):
        kept = (line and lines) or (every and not track["is_drum"])
        span = spans.get(role) if kept else None
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
