"""The Enhance pipeline: the AR-CNN rewrites music note by note (DeepComposer's Enhance, and inpainting).

::

    result = enhance("twinkle", "bach", out_midi=Path("twinkle_bach.mid"), iterations=64, seed=1)
    result = enhance("song_jazz.mid", "bach", tracks=["alto"], bars=(3, 4), out_midi=...)

The input is a sample melody, a MIDI file or a :class:`Multitrack`: a bare melody gets the model's voices written
afresh under it; a composition (any file whose tracks carry the model's roles, such as ``compose`` writes) keeps
what the user does not ask to change, and the chosen tracks (``tracks``, default every accompaniment track) over
the chosen bars (``bars``, default all) are rewritten. With ``"melody"`` among ``tracks`` the model may add and
remove notes of the melody too.

How: the music is cut into model windows that overlap by half and are rewritten in order, each seeing the one before
as settled context (the "autoregressive" of AR-CNN), by blocked Gibbs sampling (:mod:`museforge.sampling.gibbs`) in
the model's common key. DeepComposer's controls: ``iterations``; ``max_add``, the most notes added, as a multiple of
the input's notes; ``max_remove``, the largest share of the input's notes (in the part that may change) that may be
removed; ``temperature``, the creative risk. Over a budget, the added notes the model is least sure of are
dropped and the removed notes it is least sure of are restored. In chorales the sampler keeps the part-writing
rule against consecutive fifths and octaves (``parallels``; :mod:`museforge.sampling.voice_rules`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.models.loading import load_model
from museforge.music.dynamics import Dynamics, shaped
from museforge.music.inputs import check_melody, load_music, melody_roll
from museforge.music.instruments import program_name
from museforge.music.meter import multitrack_grid
from museforge.music.pianoroll import Multitrack, TrackNotes, fold_pitches, roll_to_notes
from museforge.music.tracks import melody_track_name
from museforge.pipelines.common import Note, PipelineResult, accompaniment_track, kept_track, made_by
from museforge.pipelines.controls import check_iterations, check_temperature, resolve_seed
from museforge.pipelines.work import check_rewrite_work
from museforge.render.outputs import check_output_paths, tracks_and_files, write_outputs
from museforge.sampling.gibbs import REWRITE_START_RATIO, rewrite_piece, windows_to_rewrite
from museforge.sampling.voice_rules import forbids_parallels

#: Defaults of the controls (see the module docstring). 32 iterations: on validation chorales, 8 to 64 iterations
#: give the same key fit and consonance; more give fewer rests and fewer pitch classes; 32 is half the time of 64
#: (docs/quality.md).
DEFAULT_ITERATIONS = 32
DEFAULT_MAX_ADD = 4.0
DEFAULT_MAX_REMOVE = 0.5
DEFAULT_TEMPERATURE = 1.0
#: Velocity of the melody notes Enhance adds to a melody that has no notes of its own to match.
MELODY_VELOCITY = 90


def check_controls(iterations: int, max_add: float, max_remove: float, temperature: float) -> None:
    """Raise :class:`MuseforgeError` on a control out of range."""
    check_iterations("iterations", iterations)
    for name, value, high in (("max_add", max_add, 100.0), ("max_remove", max_remove, 1.0)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= high:
            raise MuseforgeError(f"{name} must be a number from 0 to {high:g}, got {value!r}")
    check_temperature(temperature)


# ------------------------------------------------------------------------------------------------- budgets
def _note_keys(roll: np.ndarray) -> dict[tuple[int, int], tuple[int, int, int]]:
    """``{(pitch, start): (pitch, start, end)}`` of a ``(S, P)`` bool roll's notes."""
    return {(p, s): (p, s, e) for p, s, e, _ in roll_to_notes(roll)}


def apply_budgets(
    before: np.ndarray, after: np.ndarray, probs: np.ndarray, max_add: float, max_remove: float, editable: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Hold the rewrite to the budgets; returns ``(notes, added, removed)``.

    Parameters
    ----------
    before, after : np.ndarray
        ``(V, S, P)`` bool: the input and the rewrite.
    probs : np.ndarray
        ``(V, S, P)`` the model's probabilities (which notes it is surest of).
    max_add : float
        Most notes added, as a multiple of the input's notes (all tracks).
    max_remove : float
        Largest share of the input's notes in the editable part that may go (or be cut short).
    editable : np.ndarray
        ``(V, S)`` bool.
    """
    out = after.copy()
    added: list[tuple[float, int, tuple[int, int, int]]] = []
    removed: list[tuple[float, int, tuple[int, int, int]]] = []
    input_notes = editable_notes = 0
    for v in range(before.shape[0]):
        old, new = _note_keys(before[v]), _note_keys(after[v])
        input_notes += len(old)
        editable_notes += sum(1 for p, s in old if editable[v, s])
        for key, (p, s, e) in new.items():
            if key not in old:
                added.append((float(probs[v, s:e, p].mean()), v, (p, s, e)))
        for p, s, e in old.values():
            if not after[v, s:e, p].all():  # gone, or cut short: the input note no longer sounds whole
                removed.append((float(probs[v, s:e, p].mean()), v, (p, s, e)))
    add_budget = math.floor(max_add * input_notes + 1e-9)
    remove_budget = math.floor(max_remove * editable_notes + 1e-9)
    added.sort(key=lambda item: item[0])  # least sure first
    for _, v, (p, s, e) in added[: max(0, len(added) - add_budget)]:
        out[v, s:e, p] = False
    removed.sort(key=lambda item: -item[0])  # the model's least sure removals are those it gives most probability
    for _, v, (p, s, e) in removed[: max(0, len(removed) - remove_budget)]:
        out[v, s:e, p] = True
    return out, min(len(added), add_budget), min(len(removed), remove_budget)


# ------------------------------------------------------------------------------------------------- the pipeline
def _piece_rolls(source: Multitrack, card: ModelCard, melody: int) -> tuple[np.ndarray, list[int | None], list[int]]:
    """The model's view of the input with track ``melody`` as the melody: ``(1 + K, S, P)`` rolls, the input track
    of each model track (None: absent), and the input tracks the model does not know (carried through unchanged)."""
    lowest, n_pitches = card.lowest_pitch, card.n_pitches
    rolls = np.zeros((1 + len(card.tracks), source.n_steps, n_pitches), dtype=bool)
    rolls[0] = melody_roll(source.select([melody]), lowest, n_pitches)
    mapping: list[int | None] = [melody]
    used = {melody}
    for k, spec in enumerate(card.tracks, start=1):
        match = next(
            (i for i in range(source.n_tracks) if i not in used and source.roles[i] == spec["role"]),
            None,
        )
        mapping.append(match)
        if match is not None:
            used.add(match)
            rolls[k] = fold_pitches(source.rolls[match] > 0, lowest, n_pitches)
    others = [i for i in range(source.n_tracks) if i not in used and source.rolls[i].any()]
    return rolls, mapping, others


def _editable(
    card: ModelCard, source: Multitrack, mapping: list[int | None], tracks: list[str] | None, bars: Any
) -> np.ndarray:
    """``(1 + K, S)`` bool: which tracks' steps may change."""
    roles = ["melody", *card.roles]
    wanted = list(tracks) if tracks else roles[1:]
    unknown = [t for t in wanted if t not in roles]
    if unknown:
        raise MuseforgeError(f"this model has no track {unknown[0]!r} (its tracks: {', '.join(roles)})")
    editable = np.zeros((len(roles), source.n_steps), dtype=bool)
    for role in wanted:
        editable[roles.index(role)] = True
    if bars is not None:
        first, last = (int(b) for b in bars)
        downbeats = [*(source.downbeats if source.downbeats is not None else [0]), source.n_steps]
        n_bars = len(downbeats) - 1
        if not 1 <= first <= last <= n_bars:
            raise MuseforgeError(f"bars {first}-{last} are outside the music's bars 1-{n_bars}")
        keep = np.ones(source.n_steps, dtype=bool)
        keep[downbeats[first - 1] : downbeats[last]] = False
        editable[:, keep] = False
    return editable


def _track_notes(
    source: Multitrack,
    index: int | None,
    roll: np.ndarray,
    editable: np.ndarray,
    lowest: int,
    voiced: Callable[[list[Note]], list[Note]],
) -> list[Note]:
    """The notes of one output track: the input's own notes on the steps that may not change (their pitches and
    velocities as they were, repeated notes kept apart; a note that runs into a rewritten stretch is cut at its
    edge), the rewritten roll's notes on the steps that may, with the velocities ``voiced`` gives them.

    ``roll`` is the track's ``(S, P)`` bool roll from :func:`apply_budgets`, ``editable`` its ``(S,)`` steps."""
    kept = source.notes(index) if index is not None else []
    if not editable.any():
        return kept
    notes = []
    for pitch, start, end, vel in kept:
        fixed = ~editable[start:end]
        edges = np.flatnonzero(np.diff(np.concatenate([[False], fixed, [False]]).astype(np.int8)))
        notes += [(pitch, start + int(a), start + int(b), vel) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    rewritten = roll & editable[:, None]
    notes += voiced([(p + lowest, s, e, v) for p, s, e, v in roll_to_notes(rewritten)])
    return sorted(notes, key=lambda n: (n[1], n[0]))


def enhance(
    melody: str | Path | Multitrack,
    model: str = "bach",
    *,
    out_midi: Path,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    max_add: float = DEFAULT_MAX_ADD,
    max_remove: float = DEFAULT_MAX_REMOVE,
    temperature: float = DEFAULT_TEMPERATURE,
    tracks: list[str] | None = None,
    bars: tuple[int, int] | None = None,
    melody_track: str | int | None = None,
    parallels: str | None = None,
) -> PipelineResult:
    """Rewrite ``melody`` (a sample name, a MIDI file or a multitrack) with the AR-CNN ``model``.

    See the module docstring for what changes. ``tracks`` are the model's track roles to rewrite (``"melody"``
    included, the melody may change too); ``bars`` a 1-based inclusive range; ``melody_track`` (a track name or
    0-based index) says which track of a multi-track file is the melody; ``parallels`` ``"forbid"`` keeps the
    sampler from writing consecutive fifths and octaves between single lines, ``"allow"`` lets the model's
    proposals stand, None is the model's default (forbidden in chorales:
    :func:`museforge.sampling.voice_rules.forbids_parallels`). Raises :class:`MuseforgeError` on bad input before
    anything is written.
    """
    check_controls(iterations, max_add, max_remove, temperature)
    seed = resolve_seed(seed)
    check_output_paths(out_midi, wav, png)
    network, card = load_model(model, "enhance")
    forbid = forbids_parallels(card, parallels)
    parallels = "forbid" if forbid else "allow"  # as the summary and the file say it
    lowest = card.lowest_pitch
    source = load_music(melody, card.resolution)
    rolls, mapping, others = _piece_rolls(source, card, check_melody(source, melody_track, "the music"))
    editable = _editable(card, source, mapping, tracks, bars)
    assert card.window is not None  # an AR-CNN card has its window
    check_rewrite_work(windows_to_rewrite(editable, card.window), iterations)
    # a track with no notes where it may change is written afresh; one with notes there is revised
    start_ratio = [REWRITE_START_RATIO if rolls[v][editable[v]].any() else 1.0 for v in range(len(rolls))]
    rng = torch.Generator().manual_seed(seed)
    rewritten, probs = rewrite_piece(
        network,
        card,
        rolls,
        editable,
        iterations=iterations,
        temperature=temperature,
        generator=rng,
        start_ratio=start_ratio,
        forbid_parallels=forbid,
    )
    notes, added, removed = apply_budgets(rolls, rewritten, probs, max_add, max_remove, editable)

    melody_index = mapping[0]
    assert melody_index is not None
    dynamics = Dynamics.of(multitrack_grid(source), source.resolution)

    def melody_voiced(added: list[Note]) -> list[Note]:  # the melody's new notes: as loud as its own
        kept = [v for *_, v in source.notes(melody_index)]
        level = int(np.median(kept)) if kept else MELODY_VELOCITY
        return [(p, s, e, level) for p, s, e, _ in added]

    out_tracks = [
        TrackNotes(
            melody_track_name(source.names[melody_index], source.programs[melody_index]),
            "melody",
            source.programs[melody_index],
            False,
            _track_notes(source, melody_index, notes[0], editable[0], lowest, melody_voiced),
        )
    ]
    for k, spec in enumerate(card.tracks, start=1):
        voiced = functools.partial(shaped, dynamics=dynamics, is_drum=bool(spec["is_drum"]))
        played = _track_notes(source, mapping[k], notes[k], editable[k], lowest, voiced)
        match = mapping[k]
        if match is None:  # a voice the input did not have: the model's own instrument
            out_tracks.append(accompaniment_track(spec, played))
        else:  # the input's track, revised: its name and instrument stay
            out_tracks.append(
                TrackNotes(source.names[match], spec["role"], source.programs[match], bool(spec["is_drum"]), played)
            )
    out_tracks += [kept_track(source, i) for i in others]
    result = source.with_tracks(out_tracks)
    rewritten_roles = [r for r, e in zip(["melody", *card.roles], np.any(editable, axis=1), strict=True) if e]
    result.metadata = made_by(
        "enhance",
        model,
        seed,
        genre=card.get("genre"),
        tracks=rewritten_roles,
        bars=list(bars) if bars else None,
        iterations=iterations,
        max_add=max_add,
        max_remove=max_remove,
        temperature=temperature,
        parallels=parallels,
    )
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"enhanced ({model}): {source.names[melody_index]}")
    summary = {
        "model": model,
        "genre": card.get("genre"),
        "architecture": "arcnn",
        "seed": seed,
        "iterations": iterations,
        "max_add": max_add,
        "max_remove": max_remove,
        "temperature": temperature,
        "parallels": parallels,
        "rewritten_tracks": rewritten_roles,
        "bars": source.n_bars,
        "meter": "/".join(map(str, source.meter)),
        "notes_in": int(sum(len(_note_keys(r)) for r in rolls)),
        "notes_added": added,
        "notes_removed": removed,
        **_what_changed(card, source, mapping, others, editable, model),
        **tracks_and_files(result, out_midi, wav_path, png_path),
    }
    return PipelineResult(result, Path(out_midi), wav_path, png_path, summary)


def _what_changed(
    card: ModelCard, source: Multitrack, mapping: list[int | None], others: list[int], editable: np.ndarray, model: str
) -> dict[str, Any]:
    """The tracks the model added (the input had no such track), the input's tracks it left alone (the model has
    no such track) and a sentence saying so for a piece with accompaniment (None when there is nothing to say)."""
    added = [
        (spec["role"], program_name(int(spec["program"]), bool(spec["is_drum"])))
        for k, spec in enumerate(card.tracks, start=1)
        if mapping[k] is None and editable[k].any()
    ]
    kept = [source.roles[i] for i in others]
    parts = []
    if added and source.n_tracks > 1:  # under a bare melody, writing the voices is what Enhance is for
        voices = ", ".join(f"{role} ({instrument})" for role, instrument in added)
        parts.append(f"added {voices}: the input had no such track")
    if kept:
        parts.append(f"kept {', '.join(kept)} as they were: the {model} model has no such track")
    return {
        "added_tracks": [role for role, _ in added],
        "kept_tracks": kept,
        "changes_note": "; ".join(parts) or None,
    }


__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_MAX_ADD",
    "DEFAULT_MAX_REMOVE",
    "DEFAULT_TEMPERATURE",
    "apply_budgets",
    "enhance",
]
