"""Reading a user's music: a melody or a piece from a built-in sample name, a MIDI file or a multitrack, the track
that is its melody, the model's view of that melody, and the length every pipeline accepts.

Compose, regenerate, enhance, extend, evaluate and the studio all read what a user brings through here, so they
agree on which track is the melody and on the one-line errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.music.file_kinds import not_midi_message, read_head
from museforge.music.keys import transposed_keys
from museforge.music.melodies import MAX_BARS, get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack, fold_pitches
from museforge.music.sections import performed_instrument


def load_music(melody: str | Path | Multitrack, resolution: int) -> Multitrack:
    """Every track of ``melody`` (a sample name, a MIDI file or a multitrack) on a grid of ``resolution``."""
    if isinstance(melody, Multitrack):
        if melody.resolution != resolution:
            raise MuseforgeError(f"melody is at {melody.resolution} steps per beat; the model needs {resolution}")
        return melody
    path = Path(melody)
    looks_like_a_file = isinstance(melody, Path) or "/" in str(melody) or path.suffix != ""
    if looks_like_a_file and path.is_file():
        head = read_head(path)
        if not head.startswith(b"MThd"):  # a WAV, an MP3, a score: say what it is instead of a parser's reason
            raise MuseforgeError(not_midi_message(path.name, head))
    if looks_like_a_file or str(melody).lower().endswith((".mid", ".midi")):
        return read_midi(path, resolution=resolution)
    return melody_to_multitrack(get_melody(str(melody)), resolution=resolution)


def load_melody(melody: str | Path | Multitrack, resolution: int, melody_track: str | int | None = None) -> Multitrack:
    """The user's melody as a one-track multitrack on a grid of ``resolution`` steps per beat.

    ``melody`` is a built-in sample name (``museforge melodies list``), a path to a MIDI file, or a multitrack.
    From a file with several tracks, the melody is: the track whose name or program makes it the melody (role
    ``melody``); else, among pitched tracks, the one with the highest mean pitch that plays mostly one note at a
    time (the tune a listener would sing). Drum-only input is an error. ``melody_track`` (a track name or
    0-based index) chooses the melody instead (:func:`select_melody_track`).
    """
    multitrack = load_music(melody, resolution)
    return multitrack.select([select_melody_track(multitrack, melody_track)])


def pick_melody_track(multitrack: Multitrack) -> int:
    """Index of the track a user would call the melody (see :func:`load_melody`)."""
    pitched = [i for i in range(multitrack.n_tracks) if not multitrack.is_drum[i] and multitrack.rolls[i].any()]
    if not pitched:
        raise MuseforgeError("the melody has no pitched notes (only drums or silence)")
    named = [i for i in pitched if multitrack.roles[i] == "melody"]
    if named:
        return named[0]
    if len(pitched) == 1:
        return pitched[0]

    def score(i: int) -> tuple[bool, float]:
        sounding = multitrack.rolls[i] > 0
        steps = sounding.any(axis=1)
        mostly_monophonic = float((sounding.sum(axis=1)[steps] <= 1).mean()) >= 0.8
        mean_pitch = float(np.nonzero(sounding)[1].mean())
        return mostly_monophonic, mean_pitch

    return max(pitched, key=score)


def select_melody_track(multitrack: Multitrack, melody_track: str | int | None) -> int:
    """Index of the melody in ``multitrack``: the one named or numbered by ``melody_track``, else the guess.

    ``melody_track`` is a track name (case does not matter) or a 0-based index into the tracks as
    :func:`melody_track_choices` lists them; a string of digits is an index. Drum tracks and empty tracks cannot be
    the melody. Without it, the track :func:`pick_melody_track` picks.
    """
    if melody_track is None:
        return pick_melody_track(multitrack)
    listing = ", ".join(f"{i}: {name}" for i, name in enumerate(multitrack.names))
    if isinstance(melody_track, int | np.integer) and not isinstance(melody_track, bool):
        index = int(melody_track)
    elif isinstance(melody_track, str) and melody_track.strip().isdigit():
        index = int(melody_track.strip())
    elif isinstance(melody_track, str):
        wanted = melody_track.strip().lower()
        matches = [i for i, name in enumerate(multitrack.names) if name.strip().lower() == wanted]
        if not matches:
            raise MuseforgeError(f"no track named {melody_track!r} in the melody (its tracks: {listing})")
        index = matches[0]
    else:
        raise MuseforgeError(f"the melody track is a track name or number, got {melody_track!r}")
    if not 0 <= index < multitrack.n_tracks:
        raise MuseforgeError(f"no track {index} in the melody (its tracks: {listing})")
    if multitrack.is_drum[index] or not multitrack.rolls[index].any():
        what = "a drum track" if multitrack.is_drum[index] else "empty"
        raise MuseforgeError(f"track {index} ({multitrack.names[index]}) is {what}: it cannot be the melody")
    return index


def melody_track_choices(melody: str | Path | Multitrack, resolution: int = 4) -> list[dict[str, Any]]:
    """The tracks of a melody file (or sample, or multitrack), for a user to pick the melody from.

    Each entry: ``index`` (what ``melody_track`` takes), ``name``, ``role``, ``program``, ``instrument`` (its
    General MIDI name), ``is_drum``, ``notes``, ``pitch_range`` ([low, high] or None) and ``melody`` (True for the
    one picked when none is chosen).
    """
    music = load_music(melody, resolution)
    guess = pick_melody_track(music)
    out = []
    for i in range(music.n_tracks):
        pitches = np.flatnonzero(music.rolls[i].any(axis=0))
        out.append(
            {
                "index": i,
                "name": music.names[i],
                "role": music.roles[i],
                "program": int(music.programs[i]),
                "instrument": performed_instrument(music.programs[i], music.roles[i], music.is_drum[i]),
                "is_drum": bool(music.is_drum[i]),
                "notes": music.count_notes(i),
                "pitch_range": [int(pitches.min()), int(pitches.max())] if len(pitches) else None,
                "melody": i == guess,
            }
        )
    return out


def transpose_melody(melody: Multitrack, semitones: int) -> Multitrack:
    """A one-track melody moved by ``semitones``; :class:`MuseforgeError` if a note would leave MIDI's 0..127."""
    if not semitones:
        return melody
    pitches = np.flatnonzero(melody.rolls[0].any(axis=0))
    if len(pitches) and not (pitches.min() + semitones >= 0 and pitches.max() + semitones <= 127):
        raise MuseforgeError(f"moving the melody {semitones:+d} semitones takes notes outside MIDI's range")
    rolls = np.roll(melody.rolls, semitones, axis=2)
    onsets = np.roll(melody.onsets, semitones, axis=2)
    moved = melody.with_rolls(rolls, onsets)
    moved.key_signatures = transposed_keys(melody.key_signatures, semitones)
    return moved


def melody_roll(melody: Multitrack, lowest_pitch: int, n_pitches: int) -> np.ndarray:
    """The model's view of a one-track melody: its top note per step, folded into the pitch window.

    Returns a bool array of shape (time, n_pitches).
    """
    return fold_pitches(top_line(melody.rolls[0] > 0), lowest_pitch, n_pitches)


def top_line(sounding: np.ndarray) -> np.ndarray:
    """The highest sounding pitch of each step: ``(time, 128)`` bool -> ``(time, 128)`` bool, one pitch a step."""
    top = np.zeros_like(sounding, dtype=bool)
    steps = np.flatnonzero(sounding.any(axis=1))
    top[steps, 127 - np.argmax(sounding[steps, ::-1], axis=1)] = True
    return top


#: Most notes in the melody a pipeline takes (other tracks of its file may hold more): a composition holds the
#: melody and its accompaniment, and must stay under the MIDI reader's million notes to be read back.
MAX_MELODY_NOTES = 100_000


def check_melody(music: Multitrack, melody_track: str | int | None = None, what: str = "the melody") -> int:
    """The index of the melody in ``music`` (:func:`select_melody_track`) once it passes every check a pipeline
    makes of its input: pitched notes, at most :data:`MAX_BARS` four-beat bars and :data:`MAX_MELODY_NOTES` notes.

    Uploads and compose both check through here, so a file the studio keeps is a file compose takes.
    """
    index = select_melody_track(music, melody_track)
    check_length(music, what)
    notes = music.count_notes(index)
    if notes > MAX_MELODY_NOTES:
        raise MuseforgeError(f"{what} has {notes:,} notes; the limit is {MAX_MELODY_NOTES:,}")
    return index


def check_length(music: Multitrack, what: str = "the melody") -> None:
    """Raise :class:`MuseforgeError` when ``music`` is longer than :data:`MAX_BARS` four-beat bars."""
    bars = math.ceil(music.n_steps / (4 * music.resolution))  # what MAX_BARS counts
    if bars > MAX_BARS:
        raise MuseforgeError(
            f"{what} is {bars} four-beat bars long; the limit is {MAX_BARS} bars (4/4, 17 minutes at 120)"
        )


__all__ = [
    "MAX_MELODY_NOTES",
    "check_length",
    "check_melody",
    "load_melody",
    "load_music",
    "melody_roll",
    "melody_track_choices",
    "pick_melody_track",
    "select_melody_track",
    "top_line",
    "transpose_melody",
]
