"""The Extend pipeline: the melody Transformer continues a melody for some bars, in its meter and its key.

::

    result = extend("twinkle", bars=8, out_midi=Path("twinkle_longer.mid"), temperature=1.0, top_k=20, seed=1)

The melody (a sample name, a MIDI file: its melody track, or a multitrack) is reduced to its top line on the model's
grid, moved to the model's common key (its scale to C major / A minor) and tokenised (:mod:`museforge.music.tokens`);
the model then writes token after token under a grammar that keeps every note inside the melody's bars (its
meter), never on top of the note before, and inside the model's pitch window; sampling uses ``temperature`` and
``top_k``. The continuation is moved back to the melody's key and written after the melody, at its tempo.
The input's other tracks (a composition's accompaniment) are kept as they were: they fall silent in the new bars,
and the summary says so. Extend then Compose (or Enhance) gives a longer piece with accompaniment.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from museforge.errors import MuseforgeError
from museforge.models.loading import load_model
from museforge.music import tokens as tok
from museforge.music.inputs import check_melody, load_music
from museforge.music.keys import pitch_key_shift
from museforge.music.melodies import MAX_BARS
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.common import PipelineResult, kept_track, made_by
from museforge.pipelines.controls import check_temperature, resolve_seed
from museforge.render.outputs import check_output_paths, tracks_and_files, write_outputs
from museforge.sampling.continuation import DEFAULT_TEMPERATURE, DEFAULT_TOP_K, continue_melody

#: Defaults and limits of the controls.
DEFAULT_BARS = 8
MAX_NEW_BARS = 64


def check_controls(bars: int, temperature: float, top_k: int) -> None:
    """Raise :class:`MuseforgeError` on a control out of range."""
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_NEW_BARS:
        raise MuseforgeError(f"bars must be a whole number from 1 to {MAX_NEW_BARS}, got {bars!r}")
    check_temperature(temperature)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise MuseforgeError(f"top_k must be a whole number >= 0 (0: no limit), got {top_k!r}")


def extend(
    melody: str | Path | Multitrack,
    model: str = "melody",
    *,
    out_midi: Path,
    bars: int = DEFAULT_BARS,
    wav: Path | None = None,
    png: Path | None = None,
    seed: int | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    top_k: int = DEFAULT_TOP_K,
    melody_track: str | int | None = None,
) -> PipelineResult:
    """Continue ``melody`` for ``bars`` bars with the melody Transformer ``model`` (see the module docstring).

    ``melody_track`` (a track name or 0-based index) chooses the melody of a multi-track file.

    Raises :class:`MuseforgeError` on bad input before anything is written.
    """
    check_controls(bars, temperature, top_k)
    seed = resolve_seed(seed)
    check_output_paths(out_midi, wav, png)
    network, card = load_model(model, "extend")
    resolution = card.resolution
    music = load_music(melody, resolution)
    index = check_melody(music, melody_track)
    source = music.select([index])
    numerator, denominator = source.meter
    steps_per_bar = numerator * resolution * 4 // denominator
    if not 1 <= steps_per_bar <= tok.MAX_POSITIONS:
        raise MuseforgeError(f"a {numerator}/{denominator} bar is longer than this model can write")
    n_bars = max(1, math.ceil(source.n_steps / steps_per_bar))
    if math.ceil((n_bars + bars) * steps_per_bar / (4 * resolution)) > MAX_BARS:
        raise MuseforgeError(f"the melody and its continuation would pass {MAX_BARS} four-beat bars")
    line = [(p, s, e) for p, s, e in tok.top_line(source.rolls[0])]
    shift = pitch_key_shift(p for p, _, _ in line) if card.common_key else 0
    rng = torch.Generator().manual_seed(seed)
    prompt = [(p + shift, s, e) for p, s, e in line]
    new = continue_melody(
        network, prompt, n_bars, steps_per_bar, bars, temperature=temperature, top_k=top_k, generator=rng
    )
    added = [(p - shift, s, e, 90) for p, s, e in new if 0 <= p - shift < 128]
    total = (n_bars + bars) * steps_per_bar
    track = TrackNotes(source.names[0], "melody", source.programs[0], False, [*source.notes(0), *added])
    others = [i for i in range(music.n_tracks) if i != index and music.rolls[i].any()]
    kept = [kept_track(music, i) for i in others]
    result = source.with_tracks([track, *kept], n_steps=total)
    result.metadata = made_by("extend", model, seed, bars_added=bars, temperature=temperature, top_k=top_k)
    wav_path, png_path = write_outputs(result, out_midi, wav, png, f"extended: {source.names[0]}")
    summary = {
        "model": model,
        "architecture": "transformer",
        "seed": seed,
        "temperature": temperature,
        "top_k": top_k,
        "meter": f"{numerator}/{denominator}",
        "bars_in": n_bars,
        "bars_added": bars,
        "bars": n_bars + bars,
        "notes_in": len(line),
        "notes_added": len(added),
        "tempo": result.tempo,
        "kept_tracks": [music.roles[i] for i in others],
        "changes_note": _kept_note([music.roles[i] for i in others], n_bars),
        **tracks_and_files(result, out_midi, wav_path, png_path),
    }
    return PipelineResult(result, Path(out_midi), wav_path, png_path, summary)


def _kept_note(kept: list[str], bars_in: int) -> str | None:
    """What became of the input's other tracks (None when it was a melody alone)."""
    if not kept:
        return None
    return (
        f"kept {', '.join(kept)} as they were: they stop after bar {bars_in}; Generate or Enhance the result to "
        "accompany the new bars"
    )


__all__ = ["DEFAULT_BARS", "check_controls", "extend"]
