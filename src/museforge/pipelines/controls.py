"""A musician's controls over a composition: which tracks, which instruments, tempo, key, the seed.

Every pipeline checks its arguments here, so the CLI, the REST API and Python callers get the same one-line errors.
Which track of a file is the melody is :mod:`museforge.music.inputs`; which instruments fit a model's tracks is
:mod:`museforge.pipelines.instruments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from museforge.errors import MuseforgeError
from museforge.model_files import ModelCard

#: Output tempo limits in quarter notes per minute.
TEMPO_RANGE = (20.0, 300.0)
#: Most semitones a melody may be moved either way.
MAX_TRANSPOSE = 12
#: Largest composition seed (the REST API's limit too).
SEED_MAX = 2**32 - 1
#: Most rewriting iterations (Enhance, and compose's revision pass).
MAX_ITERATIONS = 1000
#: Highest sampling temperature (Enhance and Extend).
MAX_TEMPERATURE = 10.0


def check_seed(seed: int | None) -> None:
    """Raise :class:`MuseforgeError` unless ``seed`` is None or a whole number 0..SEED_MAX."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= SEED_MAX:
        raise MuseforgeError(f"seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}")


def check_iterations(name: str, iterations: int) -> None:
    """Raise :class:`MuseforgeError` unless ``iterations`` is a whole number 0..MAX_ITERATIONS."""
    if isinstance(iterations, bool) or not isinstance(iterations, int) or not 0 <= iterations <= MAX_ITERATIONS:
        if name == "rewrite":
            raise MuseforgeError(f"rewrite must be a whole number of iterations from 0 to {MAX_ITERATIONS}")
        raise MuseforgeError(f"{name} must be a whole number from 0 to {MAX_ITERATIONS}, got {iterations!r}")


def check_temperature(temperature: float) -> None:
    """Raise :class:`MuseforgeError` unless ``temperature`` is a number above 0 and at most MAX_TEMPERATURE."""
    if (
        not isinstance(temperature, int | float)
        or isinstance(temperature, bool)
        or not 0.0 < temperature <= MAX_TEMPERATURE
    ):
        raise MuseforgeError(f"temperature must be above 0 and at most {MAX_TEMPERATURE:g}, got {temperature!r}")


def check_same_model(what: str, made_with: str, model: str) -> None:
    """Raise :class:`MuseforgeError` unless ``model`` is ``made_with``, the model that composed ``what``."""
    if model != made_with:
        raise MuseforgeError(
            f"{what} was composed by the model {made_with!r}, not {model!r}: regenerate it with {made_with!r} "
            "(or name no model to use that one)"
        )


def resolve_seed(seed: int | None) -> int:
    """``seed`` checked (:func:`check_seed`), or a fresh random seed for None: the seed a summary reports, with
    which the same call makes the same music again."""
    check_seed(seed)
    return int(seed) if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])


def check_tracks(card: ModelCard, tracks: Sequence[str] | None) -> list[int]:
    """Indices (model order) of the accompaniment tracks to generate; all of them when ``tracks`` is None.

    Raises :class:`MuseforgeError` for a role the model does not play, a repeated role or an empty choice.
    """
    roles = card.roles
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


def check_programs(card: ModelCard, programs: Mapping[str, int] | None) -> dict[str, int]:
    """``role -> program`` after checking every role is the model's and every program is 0..127."""
    if not programs:
        return {}
    roles = card.roles
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


__all__ = [
    "MAX_ITERATIONS",
    "MAX_TEMPERATURE",
    "MAX_TRANSPOSE",
    "SEED_MAX",
    "TEMPO_RANGE",
    "check_iterations",
    "check_programs",
    "check_same_model",
    "check_seed",
    "check_temperature",
    "check_tempo",
    "check_tracks",
    "check_transpose",
    "resolve_seed",
    "retempo",
]
