"""Regenerate part of a composition: some accompaniment tracks, some bars, or both; everything else is kept.

A musician who likes a composition but not its drums, or not bars 5-6, asks for those again::

    new = regenerate("twinkle_jazz.mid", "jazz", tracks=["drums"], previous_seed=7, seed=8, out_midi=Path("b.mid"))

Every note of ``previous`` outside the chosen tracks and bars is kept as it was (a note that runs into a
regenerated stretch is cut at its edge); the chosen tracks are generated anew over the chosen bars, against the
composition's own melody, and the result is exactly as long as before.

With a MuseGAN and the seed the previous composition was made with (``previous_seed``), the noise it was made from
is rebuilt and only part of it is drawn again: MuseGAN's noise is ``[shared, shared temporal, K private, K private
temporal]`` (:mod:`museforge.models.musegan`), so a chosen track gets new private latents while the shared ones,
which carry the ensemble's common idea, stay; chosen bars get new noise for the windows that cover them. Without
``previous_seed`` (or with a U-Net, whose noise has no per-track part) the new notes come from fresh noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.music.form import Repeat, bar_spans, melody_repeats
from museforge.music.inputs import load_music, melody_roll, select_melody_track
from museforge.music.meter import multitrack_grid
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.common import (
    DEFAULT_THRESHOLD,
    Note,
    PipelineResult,
    accompaniment_track,
    gan_summary,
    generated_notes,
)
from museforge.pipelines.controls import check_seed, resolve_seed
from museforge.pipelines.gan import load_gan
from museforge.render.outputs import check_output_paths, write_outputs
from museforge.sampling.form import accompany
from museforge.sampling.generation import Generation
from museforge.sampling.windows import melody_window_starts, window_noise


def bar_steps(music: Multitrack, bars: tuple[int, int] | None) -> np.ndarray:
    """``(S,)`` bool: the steps of ``bars`` (0-based, inclusive), or every step for None.

    Raises :class:`MuseforgeError` for bars outside the music (the message counts bars from 1, as people do).
    """
    steps = np.zeros(music.n_steps, dtype=bool)
    if bars is None:
        steps[:] = True
        return steps
    try:
        first, last = (int(b) for b in bars)
    except (TypeError, ValueError):
        raise MuseforgeError(f"bars must be a (first, last) pair of bar numbers, got {bars!r}") from None
    downbeats = [int(d) for d in np.asarray(music.downbeats)]
    n_bars = music.n_bars
    if not 0 <= first <= last < n_bars:
        raise MuseforgeError(
            f"bars {first + 1}-{last + 1} (counting from 1) are outside the composition's {n_bars} bars"
        )
    end = downbeats[last + 1] if last + 1 < len(downbeats) else music.n_steps
    steps[downbeats[first] : end] = True
    return steps


def private_columns(n_tracks: int, z_dim: int, tracks: Sequence[int]) -> np.ndarray:
    """Noise columns of MuseGAN's private and private temporal latents of ``tracks``: an int array.

    The noise is ``[shared (z), shared temporal (z), K private (K*z), K private temporal (K*z)]``.
    """
    columns: list[int] = []
    for k in tracks:
        private = 2 * z_dim + k * z_dim
        temporal = 2 * z_dim + n_tracks * z_dim + k * z_dim
        columns += [*range(private, private + z_dim), *range(temporal, temporal + z_dim)]
    return np.asarray(columns, dtype=np.int64)


def regeneration_noise(
    generator: torch.nn.Module,
    card: ModelCard,
    starts: list[int],
    window: int,
    steps: np.ndarray,
    tracks: Sequence[int] | None,
    previous_seed: int | None,
    rng: torch.Generator,
) -> tuple[torch.Tensor, bool]:
    """Noise for every window: ``((W, noise_dim), kept)``.

    With a MuseGAN and ``previous_seed``, the previous composition's noise with new values only in the windows
    that touch ``steps``: all of their noise when ``steps`` are some bars, only the private latents of ``tracks``
    (indices) when the whole piece is redone for some tracks;
    ``kept`` is then True. Otherwise fresh noise from ``rng`` and ``kept`` False.
    """
    fresh = window_noise(generator, len(starts), rng)
    if previous_seed is None or card.architecture != "musegan":
        return fresh, False
    noise = window_noise(generator, len(starts), torch.Generator().manual_seed(int(previous_seed)))
    touched = [w for w, start in enumerate(starts) if steps[max(start, 0) : start + window].any()]
    rows = torch.as_tensor(touched, dtype=torch.long)
    if tracks is None or not steps.all():
        # chosen bars get whole new windows (a track's private latents alone barely move a few bars); only the
        # chosen tracks' notes are taken from them, so the other tracks stay as they were
        noise[rows] = fresh[rows]
    else:
        config = card.model_config
        columns = torch.as_tensor(private_columns(int(config["n_tracks"]), int(config["z_dim"]), tracks))
        noise[rows.unsqueeze(1), columns.unsqueeze(0)] = fresh[rows.unsqueeze(1), columns.unsqueeze(0)]
    return noise, True


def merge_notes(kept: list[Note], new: list[Note], steps: np.ndarray) -> list[Note]:
    """``kept`` notes outside ``steps`` (cut at its edges) plus the ``new`` notes inside them, sorted."""
    notes: list[Note] = []
    for pitch, start, end, velocity in kept:
        outside = ~steps[start:end]
        edges = np.flatnonzero(np.diff(np.concatenate([[False], outside, [False]]).astype(np.int8)))
        notes += [
            (pitch, start + int(a), start + int(b), velocity) for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]
    for pitch, start, end, velocity in new:
        inside = steps[start:end]
        edges = np.flatnonzero(np.diff(np.concatenate([[False], inside, [False]]).astype(np.int8)))
        notes += [
            (pitch, start + int(a), start + int(b), velocity) for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]
    return sorted(notes, key=lambda n: (n[1], n[0]))


def _previous_tracks(music: Multitrack, melody_index: int, roles: list[str]) -> list[int | None]:
    """For each model role, the index of the previous composition's track of that role (None: it has none)."""
    used = {melody_index}
    mapping: list[int | None] = []
    for role in roles:
        match = next((i for i in range(music.n_tracks) if i not in used and music.roles[i] == role), None)
        if match is not None:
            used.add(match)
        mapping.append(match)
    return mapping


def regenerate(
    previous: str | Path | Multitrack,
    model: str,
    *,
    tracks: Sequence[str] | None = None,
    bars: tuple[int, int] | None = None,
    previous_seed: int | None = None,
    seed: int | None = None,
    out_midi: Path | None = None,
    wav: Path | None = None,
    png: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    sampling: str = "threshold",
    programs: Mapping[str, int] | None = None,
    melody_track: str | int | None = None,
    variation: float | None = None,
    with_repeats: bool = False,
) -> PipelineResult:
    """Generate the accompaniment ``tracks`` (roles; default all of the model's) over ``bars`` (0-based,
    inclusive; default all) of ``previous`` again with ``model``, and keep everything else note for note.

    ``previous`` is a composition made by :func:`museforge.pipelines.compose.compose` (a MIDI file or its
    multitrack): its melody track (the one whose role is ``melody``, or ``melody_track``) plus accompaniment tracks
    matched to the model's by role. A chosen track that ``previous`` lacks is added. ``previous_seed`` is the seed
    ``previous`` was composed with (MuseGAN keeps its shared latents, see the module docstring); ``seed`` draws the
    new noise.
    Regenerated tracks keep their previous program unless ``programs`` gives one. Tracks generated again over the
    whole piece follow the melody's form as compose does (``variation``, default the model card's); chosen bars
    are new, and with ``with_repeats`` so are the bars that repeat them, which then follow them at ``variation``.
    Files are written only where a path is given. Raises :class:`MuseforgeError` on bad input before anything is
    written.
    """
    check_output_paths(out_midi, wav, png)
    seed = resolve_seed(seed)
    check_seed(previous_seed)
    gan = load_gan(model, tracks, programs, variation)
    card, chosen, chosen_programs = gan.card, gan.tracks, gan.programs
    window, lowest = gan.window, card.lowest_pitch

    music = load_music(previous, card.resolution)
    if melody_track is None and "melody" in music.roles:
        melody_index = music.roles.index("melody")
    else:
        melody_index = select_melody_track(music, melody_track)
    source = music.select([melody_index])
    melody_view = melody_roll(source, lowest, card.n_pitches)
    spans = bar_spans(music.n_steps, music.downbeats)
    steps = bar_steps(music, bars)
    repeated = _repeats_of(steps, spans, melody_repeats(melody_view, spans)) if bars and with_repeats else []
    for bar in repeated:
        steps[spans[bar][0] : spans[bar][1]] = True

    rng = torch.Generator().manual_seed(seed)
    generation = Generation.from_card(gan.generator, card, threshold=threshold)
    grid = multitrack_grid(source)
    starts = melody_window_starts(generation, music.n_steps, window, grid)
    noise, kept_noise = regeneration_noise(
        gan.generator, card, starts, window, steps, chosen if tracks is not None else None, previous_seed, rng
    )
    follows = bars is None or with_repeats  # chosen bars alone are new whatever the bars they repeat
    sounding = accompany(
        generation,
        melody_view,
        window,
        spans,
        rng=rng,
        form_rng=np.random.default_rng(seed),
        variation=gan.variation if follows else 1.0,
        mode=sampling,
        noise=noise,
        grid=grid,
    )

    specs = card.tracks
    mapping = _previous_tracks(music, melody_index, card.roles)
    out_tracks = [TrackNotes(music.names[melody_index], "melody", music.programs[melody_index], False, source.notes(0))]
    for k, spec in enumerate(specs):
        before = mapping[k]
        kept = music.notes(before) if before is not None else []
        if k not in chosen:
            if before is not None:
                out_tracks.append(_same_track(music, before, spec["role"], kept))
            continue
        notes = merge_notes(kept, generated_notes(sounding[k], lowest, bool(spec["is_drum"])), steps)
        program = chosen_programs.get(spec["role"], music.programs[before] if before is not None else None)
        track = accompaniment_track(spec, notes, program)
        if before is not None:
            track = TrackNotes(music.names[before], track.role, track.program, track.is_drum, notes)
        out_tracks.append(track)
    matched = {melody_index, *(i for i in mapping if i is not None)}
    for i in range(music.n_tracks):
        if i not in matched and music.rolls[i].any():
            out_tracks.append(_same_track(music, i, music.roles[i], music.notes(i)))
    result = music.with_tracks(out_tracks)
    title = f"{card.get('genre', model)} (regenerated): {music.names[melody_index]}"
    wav_path, png_path = write_outputs(result, out_midi, wav, png, title)
    facts = {
        "previous_seed": previous_seed,
        "kept_shared_noise": kept_noise,
        "regenerated": {
            "tracks": [str(specs[k]["role"]) for k in chosen],
            "bars": list(bars) if bars else None,
            "repeats": repeated,
        },
        "variation": gan.variation if follows else None,
    }
    summary = gan_summary(model, card, seed, facts, music, melody_index, result, (out_midi, wav_path, png_path))
    return PipelineResult(result, Path(out_midi) if out_midi is not None else None, wav_path, png_path, summary)


def _repeats_of(steps: np.ndarray, spans: list[tuple[int, int]], repeats: list[Repeat]) -> list[int]:
    """The bars (0-based) outside ``steps`` that repeat a bar inside them."""
    inside = {i for i, (start, end) in enumerate(spans) if steps[start:end].all()}
    return sorted({r.bar for r in repeats if r.source in inside and r.bar not in inside})


def _same_track(music: Multitrack, index: int, role: str, notes: list[Note]) -> TrackNotes:
    return TrackNotes(music.names[index], role, music.programs[index], music.is_drum[index], notes)


__all__ = ["bar_steps", "merge_notes", "private_columns", "regenerate", "regeneration_noise"]
