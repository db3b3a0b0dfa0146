"""A musician's controls over a composition: which tracks, which instruments, tempo, key, which melody track.

:func:`museforge.compose.compose` and :func:`museforge.regenerate.regenerate` check their arguments here, so the
CLI, the REST API and Python callers get the same one-line errors. :func:`melody_track_choices` lists the tracks of
a multi-track file (what a user picks ``melody_track`` from); :func:`instrument_choices` gives, per accompaniment
track of a model, its default General MIDI program and the programs whose range fits what the model really plays
(measured by composing the built-in melodies, so it holds for trained models as well as shipped ones).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from museforge.errors import MuseforgeError
from museforge.music.instruments import DRUM_KITS, NOT_SUGGESTED, playable_range, program_name
from museforge.music.pianoroll import Multitrack

#: Output tempo limits in quarter notes per minute.
TEMPO_RANGE = (20.0, 300.0)
#: Most semitones a melody may be moved either way.
MAX_TRANSPOSE = 12
#: Largest composition seed (the REST API's limit too).
SEED_MAX = 2**32 - 1
#: Share of a track's generated notes an instrument must be able to play to be suggested for it.
FIT_SHARE = 0.95
#: Share of the notes the card's program must be able to play to stay the default.
DEFAULT_SHARE = 0.9


def check_seed(seed: int | None) -> None:
    """Raise :class:`MuseforgeError` unless ``seed`` is None or a whole number 0..SEED_MAX."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= SEED_MAX:
        raise MuseforgeError(f"seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}")


def accompaniment_roles(card: Mapping[str, Any]) -> list[str]:
    """The roles of a model's accompaniment tracks, in the model's order."""
    return [str(t["role"]) for t in card["data"]["tracks"]]


def check_tracks(card: Mapping[str, Any], tracks: Sequence[str] | None) -> list[int]:
    """Indices (model order) of the accompaniment tracks to generate; all of them when ``tracks`` is None.

    Raises :class:`MuseforgeError` for a role the model does not play, a repeated role or an empty choice.
    """
    roles = accompaniment_roles(card)
    if tracks is None:
        return list(range(len(roles)))
    if isinstance(tracks, str):
        tracks = [t for t in tracks.split(",")]
    wanted = [str(t).strip().lower() for t in tracks]
    if not wanted or any(not t for t in wanted):
        raise MuseforgeError(f"choose at least one track to generate (this model plays {', '.join(roles)})")
    for role in wanted:
        if role not in roles:
            raise MuseforgeError(f"this model has no track {role!r} (its tracks: {', '.join(roles)})")
    if len(set(wanted)) != len(wanted):
        raise MuseforgeError(f"a track is named twice in {', '.join(wanted)}")
    return [i for i, role in enumerate(roles) if role in wanted]


def check_programs(card: Mapping[str, Any], programs: Mapping[str, int] | None) -> dict[str, int]:
    """``role -> program`` after checking every role is the model's and every program is 0..127."""
    if not programs:
        return {}
    roles = accompaniment_roles(card)
    out: dict[str, int] = {}
    for role, program in programs.items():
        key = str(role).strip().lower()
        if key not in roles:
            raise MuseforgeError(f"a program for {role!r}, but this model has no such track ({', '.join(roles)})")
        if isinstance(program, bool) or not isinstance(program, int | np.integer) or not 0 <= int(program) <= 127:
            raise MuseforgeError(f"the program for {key} must be a General MIDI program 0-127, got {program!r}")
        out[key] = int(program)
    return out


def check_tempo(tempo: float | None) -> None:
    """Raise :class:`MuseforgeError` unless ``tempo`` is None or within :data:`TEMPO_RANGE` bpm."""
    if tempo is None:
        return
    low, high = TEMPO_RANGE
    if isinstance(tempo, bool) or not isinstance(tempo, int | float) or not low <= float(tempo) <= high:
        raise MuseforgeError(f"tempo must be {low:g} to {high:g} bpm, got {tempo!r}")


def check_transpose(transpose: int) -> None:
    """Raise :class:`MuseforgeError` unless ``transpose`` is a whole number of semitones within +-12."""
    if isinstance(transpose, bool) or not isinstance(transpose, int | np.integer):
        raise MuseforgeError(f"transpose must be a whole number of semitones, got {transpose!r}")
    if abs(int(transpose)) > MAX_TRANSPOSE:
        raise MuseforgeError(f"transpose must be -{MAX_TRANSPOSE} to {MAX_TRANSPOSE} semitones, got {transpose}")


def retempo(tempos: list[tuple[int, float]], tempo: float | None) -> list[tuple[int, float]]:
    """The tempo map scaled so that it opens at ``tempo`` (changes keep their proportions); unchanged for None."""
    if tempo is None or not tempos:
        return list(tempos)
    ratio = float(tempo) / float(tempos[0][1])
    return [(step, bpm * ratio) for step, bpm in tempos]


def transpose_melody(melody: Multitrack, semitones: int) -> Multitrack:
    """A one-track melody moved by ``semitones``; :class:`MuseforgeError` if a note would leave MIDI's 0..127."""
    if not semitones:
        return melody
    pitches = np.flatnonzero(melody.rolls[0].any(axis=0))
    if len(pitches) and not (pitches.min() + semitones >= 0 and pitches.max() + semitones <= 127):
        raise MuseforgeError(f"moving the melody {semitones:+d} semitones takes notes outside MIDI's range")
    rolls = np.roll(melody.rolls, semitones, axis=2)
    onsets = np.roll(melody.onsets, semitones, axis=2)
    return Multitrack(
        rolls=rolls,
        onsets=onsets,
        names=list(melody.names),
        roles=list(melody.roles),
        programs=list(melody.programs),
        is_drum=list(melody.is_drum),
        resolution=melody.resolution,
        tempos=list(melody.tempos),
        time_signatures=list(melody.time_signatures),
        downbeats=melody.downbeats,
    )


# ------------------------------------------------------------------------------------------- the melody track
def select_melody_track(multitrack: Multitrack, melody_track: str | int | None) -> int:
    """Index of the melody in ``multitrack``: the one named or numbered by ``melody_track``, else the guess.

    ``melody_track`` is a track name (case does not matter) or a 0-based index into the tracks as
    :func:`melody_track_choices` lists them; a string of digits is an index. Drum tracks and empty tracks cannot be
    the melody. Without it, the track :func:`museforge.compose.pick_melody_track` picks.
    """
    from museforge.compose import pick_melody_track

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
    from museforge.compose import load_music, pick_melody_track

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
                "instrument": program_name(music.programs[i], music.is_drum[i]),
                "is_drum": bool(music.is_drum[i]),
                "notes": len(music.notes(i)),
                "pitch_range": [int(pitches.min()), int(pitches.max())] if len(pitches) else None,
                "melody": i == guess,
            }
        )
    return out


# ------------------------------------------------------------------------------------------- instruments
def played_pitches(model: str, seeds: int = 2) -> list[np.ndarray]:
    """MIDI pitches of every note ``model`` writes per accompaniment track over the built-in melodies.

    ``seeds`` compositions of each built-in melody; a list with one int array per track (model order).
    """
    from museforge.compose import compose
    from museforge.music.melodies import melody_names

    collected: list[list[int]] | None = None
    for name in melody_names():
        for seed in range(seeds):
            result = compose(name, model, seed=seed)
            if collected is None:
                collected = [[] for _ in range(result.multitrack.n_tracks - 1)]
            for k in range(1, result.multitrack.n_tracks):
                collected[k - 1] += [note[0] for note in result.multitrack.notes(k)]
    return [np.asarray(p, dtype=np.int64) for p in collected or []]


@functools.lru_cache(maxsize=32)
def _measured(model: str, stamp: float) -> tuple[tuple[int, ...], ...]:
    del stamp  # part of the cache key only: a retrained model is measured again
    return tuple(tuple(int(p) for p in pitches) for pitches in played_pitches(model))


def _card_stamp(model: str) -> float:
    from museforge.pretrained import pretrained_card_path
    from museforge.training.registry import MODEL_JSON, model_dir

    for path in (model_dir(model) / MODEL_JSON, pretrained_card_path(model)):
        if path is not None and Path(path).is_file():
            return Path(path).stat().st_mtime
    return 0.0


def fit_share(pitches: np.ndarray, program: int, role: str = "") -> float:
    """Share of ``pitches`` (MIDI numbers) that ``program`` can play (1.0 when there are none)."""
    span = playable_range(program, role)
    if span is None or not len(pitches):
        return 1.0
    return float(np.mean((pitches >= span[0]) & (pitches <= span[1])))


def _choose(pitches: np.ndarray, card_program: int, role: str) -> tuple[int, list[int]]:
    """``(default program, suggested programs)`` for a pitched track that plays ``pitches``."""
    shares = {p: fit_share(pitches, p, role) for p in range(128) if p not in NOT_SUGGESTED}
    if fit_share(pitches, card_program, role) >= DEFAULT_SHARE:
        default = card_program
    else:
        family = [p for p in shares if p // 8 == card_program // 8]
        best = max(family, key=lambda p: (shares[p], -p))
        default = best if shares[best] >= DEFAULT_SHARE else max(shares, key=lambda p: (shares[p], -p))

    def order(p: int) -> tuple[bool, float, int, int]:
        span = playable_range(p, role) or (0, 127)
        return p // 8 != card_program // 8, -round(shares[p], 2), span[1] - span[0], p

    suggested = sorted((p for p, share in shares.items() if share >= FIT_SHARE), key=order)
    if default in suggested:
        suggested.remove(default)
    return default, [default, *suggested]


def instrument_choices(model: str) -> list[dict[str, Any]]:
    """Per accompaniment track of ``model`` (a genre or a trained model's name), the instruments it may play.

    The notes the model writes for each track are measured by composing every built-in melody with two seeds
    (about a second, cached per model). Each entry: ``role``, ``is_drum``, ``played_range`` ([lowest, highest]
    MIDI pitch written; None for drums or a silent track), ``default_program`` (the card's program when it can
    play at least 90 % of those notes, else the best fitting one of its family, else the best fitting one),
    ``default_name``, ``default_fit`` (share of the notes the default can play) and ``suggested``:
    ``[{"program", "name", "fit"}]``, the default first, then every program that can play at least 95 % of the
    notes, the default's family first (drum kits for drums).
    """
    from museforge.compose import load_model

    _generator, card = load_model(model)
    measured = _measured(model, _card_stamp(model))
    out = []
    for spec, played in zip(card["data"]["tracks"], measured, strict=True):
        program, is_drum, role = int(spec["program"]), bool(spec["is_drum"]), str(spec["role"])
        pitches = np.asarray(played, dtype=np.int64)
        if is_drum:
            default, suggested = program, [program, *(p for p in DRUM_KITS if p != program)]
        else:
            default, suggested = _choose(pitches, program, role)
        out.append(
            {
                "role": role,
                "is_drum": is_drum,
                "played_range": [int(pitches.min()), int(pitches.max())] if len(pitches) and not is_drum else None,
                "default_program": default,
                "default_name": program_name(default, is_drum),
                "default_fit": round(fit_share(pitches, default, role), 3) if not is_drum else 1.0,
                "suggested": [
                    {
                        "program": p,
                        "name": program_name(p, is_drum),
                        "fit": 1.0 if is_drum else round(fit_share(pitches, p, role), 3),
                    }
                    for p in suggested
                ],
            }
        )
    return out


__all__ = [
    "MAX_TRANSPOSE",
    "SEED_MAX",
    "TEMPO_RANGE",
    "accompaniment_roles",
    "check_programs",
    "check_seed",
    "check_tempo",
    "check_tracks",
    "check_transpose",
    "fit_share",
    "instrument_choices",
    "melody_track_choices",
    "played_pitches",
    "retempo",
    "select_melody_track",
    "transpose_melody",
]
