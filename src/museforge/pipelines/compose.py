"""The compose pipeline: a melody in, a multi-track composition out (MIDI, and optionally WAV and PNG).

One call does it all, for the CLI, the server and tests alike::

    result = compose("twinkle", "jazz", seed=1, out_midi=Path("twinkle_jazz.mid"), wav=..., png=...)

Steps: resolve the melody (a sample name, a MIDI file, or a :class:`Multitrack`) and pick its melody track
(:mod:`museforge.music.inputs`); put it on the model's grid; generate the accompaniment window by window
(:mod:`museforge.sampling.windows`); turn probabilities into notes; join the melody, unchanged, with the
accompaniment tracks (their General MIDI programs, drums on channel 10), exactly as long as the melody; write the
files. A model trained in the common key (``data.common_key`` in its card) gets each window of the melody moved to
C major / A minor and its accompaniment moved back (:mod:`museforge.sampling.generation`).

Any length: windows overlap by half. Each window's noise moves smoothly from the previous one's (spherical
interpolation between random anchors), and the overlapping halves are cross-faded in probability space before
notes are chosen, so the music carries across window edges instead of restarting every few bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.models.loading import load_model
from museforge.music.dynamics import Dynamics
from museforge.music.form import bar_spans, melody_repeats
from museforge.music.inputs import check_melody, load_music, melody_roll, transpose_melody
from museforge.music.meter import multitrack_grid
from museforge.music.pianoroll import Multitrack
from museforge.pipelines.common import (
    DEFAULT_THRESHOLD,
    PipelineResult,
    gan_summary,
    kept_tracks,
    made_by,
    melody_track_notes,
    other_tracks,
)
from museforge.pipelines.controls import (
    check_iterations,
    check_tempo,
    check_transpose,
    resolve_seed,
    retempo,
)
from museforge.pipelines.gan import load_gan
from museforge.pipelines.work import check_rewrite_work
from museforge.pretrained import technique_card_path
from museforge.render.outputs import check_output_paths, write_outputs
from museforge.sampling.form import accompany
from museforge.sampling.generation import Generation
from museforge.sampling.gibbs import revise_piece, windows_to_rewrite
from museforge.sampling.voice_rules import forbids_parallels


def compose(
    melody: str | Path | Multitrack,
    model: str,
    *,
    out_midi: Path | None = None,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    sampling: str = "threshold",
    rewrite: int = 0,
    variation: float | None = None,
    tracks: Sequence[str] | None = None,
    programs: Mapping[str, int] | None = None,
    tempo: float | None = None,
    transpose: int = 0,
    melody_track: str | int | None = None,
    keep_tracks: bool = False,
    parallels: str | None = None,
) -> PipelineResult:
    """Write accompaniment for ``melody`` with ``model`` (a genre's pretrained model or a trained model's name).

    The output has the melody track unchanged (moved by ``transpose`` semitones, -12..12) plus one track per
    accompaniment role in ``tracks`` (default: all the model's), exactly as long as the melody, at the melody's
    tempo or ``tempo`` (20..300 bpm; tempo changes keep their proportions). ``programs`` maps roles to General MIDI
    programs 0..127 (default the model card's; drums stay on channel 10, their program picks the kit).
    ``melody_track`` (a track name or 0-based index) picks the melody of a multi-track file. Probabilities become
    notes by ``sampling`` (see :func:`museforge.sampling.notes.to_notes`). ``seed`` (0..2**32-1) makes the result
    reproducible; without it each call differs. Where the melody repeats a bar or a strain, the accompaniment
    repeats too: ``variation`` 0 plays it again note for note, 1 lets the model write it afresh, and between the two
    some strains come back exactly and the others take after the first time (:mod:`museforge.sampling.form`; default
    the model card's, measured against its genre's real songs). ``rewrite`` > 0 revises the accompaniment with the
    Enhance model of the same genre and tracks in that many iterations
    (:func:`museforge.sampling.gibbs.revise_piece`). The model reads the melody alone: the other tracks of a
    multi-track file (chords, a bass...) are left out, or with ``keep_tracks`` kept in the output as they are (moved
    with the melody by ``transpose``); the summary names them (``other_tracks``). ``parallels`` ``"forbid"`` keeps
    the part-writing rules as the notes are chosen (no consecutive fifths or octaves between the single lines, the
    chorale voices, and the melody; no voice above the melody) and in a rewrite; ``"allow"`` does not; None: the
    model's default, forbidden in chorales (:func:`museforge.sampling.voice_rules.forbids_parallels`,
    :mod:`museforge.sampling.paths`). Files are written only where a path is given (``out_midi`` None:
    ``summary["midi"]`` is None). Raises :class:`MuseforgeError` on bad input before anything is written.
    """
    check_output_paths(out_midi, wav, png)
    seed = resolve_seed(seed)
    check_tempo(tempo)
    check_transpose(transpose)
    gan = load_gan(model, tracks, programs, variation)
    card = gan.card
    forbid = forbids_parallels(card, parallels)
    reviser = _reviser(card, rewrite) if rewrite else None

    music = load_music(melody, card.resolution)
    melody_index = check_melody(music, melody_track)
    source = transpose_melody(music.select([melody_index]), int(transpose))
    others = other_tracks(music, melody_index)
    kept = kept_tracks(music, others, int(transpose)) if keep_tracks else []

    if reviser is not None:
        assert reviser[1].window is not None  # an AR-CNN card has its window
        check_rewrite_work(windows_to_rewrite(np.ones((1, source.n_steps), dtype=bool), reviser[1].window), rewrite)
    rng = torch.Generator().manual_seed(seed)
    generation = Generation.from_card(gan.generator, card, threshold=threshold)
    generation.policy = replace(generation.policy, parallels=forbid)
    melody_view = melody_roll(source, card.lowest_pitch, card.n_pitches)
    spans = bar_spans(source.n_steps, source.downbeats)
    form_rng = np.random.default_rng(seed)
    grid = multitrack_grid(source)
    sounding = accompany(
        generation,
        melody_view,
        gan.window,
        spans,
        rng=rng,
        form_rng=form_rng,
        variation=gan.variation,
        mode=sampling,
        grid=grid,
        parts=gan.tracks,
    )
    if reviser is not None:
        sounding = revise_piece(*reviser, melody_view, sounding, rewrite, rng, forbid_parallels=forbid)

    out_tracks = [melody_track_notes(source), *gan.accompaniment(sounding, Dynamics.of(grid, source.resolution))]
    result = source.with_tracks([*out_tracks, *kept], tempos=retempo(list(source.tempos), tempo))
    result.metadata = made_by(
        "compose",
        model,
        seed,
        genre=card.get("genre"),
        tracks=[str(card.tracks[k]["role"]) for k in gan.tracks],
        variation=gan.variation,
        sampling=sampling,
        threshold=threshold,
        rewrite=rewrite,
        tempo=tempo,
        transpose=int(transpose),
        keep_tracks=keep_tracks or None,
    )
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"{card.get('genre', model)}: {source.names[0]}")
    facts = {
        "rewrite": rewrite,
        "transpose": int(transpose),
        "variation": gan.variation,
        "repeated_bars": len(melody_repeats(melody_view, spans)),
        "other_tracks": {"names": [music.names[i] for i in others], "kept": bool(keep_tracks)},
        "parallels": "forbid" if forbid else "allow",
    }
    summary = gan_summary(model, card, seed, facts, music, melody_index, result, (out_midi, wav_path, png_path))
    return PipelineResult(result, Path(out_midi) if out_midi is not None else None, wav_path, png_path, summary)


def _reviser(card: ModelCard, iterations: int) -> tuple[nn.Module, ModelCard]:
    """The shipped Enhance model that can revise this model's accompaniment (same genre, same tracks)."""
    check_iterations("rewrite", iterations)
    genre = str(card.get("genre"))
    if technique_card_path("enhance", genre) is None:
        raise MuseforgeError(f"no Enhance model ships for {genre!r} to rewrite with (only for bach)")
    network, enhance_card = load_model(genre, "enhance")
    if enhance_card.roles != card.roles or enhance_card.resolution != card.resolution:
        raise MuseforgeError(f"the {genre} Enhance model writes other tracks than this model ({', '.join(card.roles)})")
    return network, enhance_card


__all__ = ["compose"]
