"""What the pipelines share: the result they return, the tracks they write and the summary of a GAN's piece.

Compose and regenerate end the same way (:func:`gan_summary`), and every pipeline returns a
:class:`PipelineResult` whose files were written by :func:`museforge.render.outputs.write_outputs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard
from museforge.music.dynamics import Dynamics, shaped
from museforge.music.inputs import MAX_MELODY_NOTES
from museforge.music.pianoroll import Multitrack, TrackNotes, roll_to_notes
from museforge.music.tracks import melody_track_name
from museforge.render.outputs import tracks_and_files

#: The probability above which a generated step sounds.
DEFAULT_THRESHOLD = 0.5
#: One note: ``(pitch, start step, end step, velocity)``.
Note = tuple[int, int, int, int]


@dataclass
class PipelineResult:
    """What compose, regenerate, enhance and extend return: the music, the files written (None where none was
    asked for) and a summary (the pipeline's facts, then each track and the files)."""

    multitrack: Multitrack
    midi_path: Path | None
    wav_path: Path | None = None
    png_path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def made_by(technique: str, model: str, seed: int, **settings: Any) -> dict[str, Any]:
    """What made a piece, for its MIDI file (:attr:`Multitrack.metadata`): the technique, model and seed, and the
    ``settings`` that shaped it (those that are None are left out). Small and JSON-ready; ``regenerate`` reads
    the model and seed back (:func:`museforge.pipelines.regenerate.regenerate`)."""
    return {
        "technique": technique,
        "model": model,
        "seed": int(seed),
        **{key: value for key, value in settings.items() if value is not None},
    }


def melody_track_notes(source: Multitrack) -> TrackNotes:
    """The melody as the composition's first track; its name says it is the melody (so reading the file back
    finds it), e.g. ``"Piano (melody)"`` for a melody taken from a file's piano track."""
    name = melody_track_name(source.names[0], source.programs[0])
    return TrackNotes(name, "melody", source.programs[0], False, source.notes(0))


def kept_track(music: Multitrack, index: int) -> TrackNotes:
    """Track ``index`` of ``music`` as it is (name, role, program, notes): a track a pipeline carries through."""
    return TrackNotes(
        music.names[index], music.roles[index], music.programs[index], music.is_drum[index], music.notes(index)
    )


def other_tracks(music: Multitrack, melody_index: int) -> list[int]:
    """The tracks of ``music`` with notes besides the melody: what a multi-track file brings with its tune."""
    return [i for i in range(music.n_tracks) if i != melody_index and music.onsets[i].any()]


def kept_tracks(music: Multitrack, indices: Sequence[int], transpose: int = 0) -> list[TrackNotes]:
    """Tracks ``indices`` of ``music`` as they are, pitched ones moved by ``transpose`` semitones with the melody.

    Raises :class:`MuseforgeError` when they hold more than :data:`MAX_MELODY_NOTES` notes together (the output
    stays a file museforge reads back) or a moved note would leave MIDI's 0..127.
    """
    total = sum(music.count_notes(i) for i in indices)
    if total > MAX_MELODY_NOTES:
        raise MuseforgeError(f"the other tracks have {total:,} notes; at most {MAX_MELODY_NOTES:,} can be kept")
    out = []
    for i in indices:
        track = kept_track(music, i)
        if transpose and not track.is_drum:
            notes = [(p + transpose, s, e, v) for p, s, e, v in track.notes]
            if any(not 0 <= n[0] <= 127 for n in notes):
                raise MuseforgeError(
                    f"moving track {track.name!r} {transpose:+d} semitones takes notes outside MIDI's range"
                )
            track = TrackNotes(track.name, track.role, track.program, track.is_drum, notes)
        out.append(track)
    return out


def generated_notes(sounding: np.ndarray, lowest: int, is_drum: bool, dynamics: Dynamics) -> list[Note]:
    """Notes of one generated track: ``sounding`` (time, P) bool in the model's pitch window from ``lowest``, with
    the velocities of the piece's ``dynamics`` (:mod:`museforge.music.dynamics`)."""
    roll = np.zeros((sounding.shape[0], 128), dtype=bool)
    roll[:, lowest : lowest + sounding.shape[1]] = sounding
    return shaped(roll_to_notes(roll), dynamics, is_drum)


def accompaniment_track(spec: Mapping[str, Any], notes: list[Note], program: int | None = None) -> TrackNotes:
    """One accompaniment track of the card's ``spec`` (name, role, program, drums), on ``program`` if given."""
    name = spec.get("name") or str(spec["role"]).title()
    chosen = int(spec["program"]) if program is None else int(program)
    return TrackNotes(name, spec["role"], chosen, bool(spec["is_drum"]), notes)


def meter_note(melody: Multitrack, card: ModelCard) -> str | None:
    """A sentence for the summary when the model does not know the melody's meter (None when it does).

    A meter-aware model reads the melody's bar lines and beats; one that has seen the meter in training plays in
    it. A model without a metric grid learnt 4-beat bars: under a 3/4 or 6/8 melody its beats line up with the
    melody's (the grid is the same) and its harmony changes with the melody's notes, but its accents repeat every
    4 beats, not at the melody's bar lines.
    """
    numerator, denominator = melody.meter
    meter = f"{numerator}/{denominator}"
    if meter in card.meters or (card.beats_per_bar, 4) == (numerator, denominator):
        return None
    if card.meter_aware:
        seen = ", ".join(card.meters)
        return (
            f"the model has not seen {meter} music (it learnt {seen}): it follows this melody's bar lines and beats, "
            "but its patterns come from those meters"
        )
    return (
        f"the model plays {card.beats_per_bar}-beat bars: under this {meter} melody its beats line up with the "
        f"melody's, but its bar accents fall every {card.beats_per_bar} beats, not on the melody's bar lines"
    )


def gan_summary(
    model: str,
    card: ModelCard,
    seed: int,
    facts: Mapping[str, Any],
    music: Multitrack,
    melody_index: int,
    result: Multitrack,
    files: tuple[Path | None, Path | None, Path | None],
) -> dict[str, Any]:
    """The summary of a piece a GAN wrote (compose, regenerate): the model and seed, the pipeline's own ``facts``,
    the piece's form (bars, meter, tempo), which track of ``music`` was the melody, then each track and the
    ``(midi, wav, png)`` files written."""
    return {
        "model": model,
        "genre": card.get("genre"),
        "architecture": card.get("architecture"),
        "seed": seed,
        **facts,
        "bars": music.n_bars,
        "meter": "/".join(map(str, music.meter)),
        "meter_note": meter_note(music, card),
        "tempo": result.tempo,
        "melody_track": {"index": melody_index, "name": music.names[melody_index], "of": music.n_tracks},
        **tracks_and_files(result, *files),
    }


__all__ = [
    "DEFAULT_THRESHOLD",
    "Note",
    "PipelineResult",
    "accompaniment_track",
    "gan_summary",
    "generated_notes",
    "kept_track",
    "kept_tracks",
    "made_by",
    "melody_track_notes",
    "meter_note",
    "other_tracks",
]
