"""Tracks that a section plays: one part for the models, two instruments for the listener.

A :class:`museforge.music.instruments.Section` (the symphony's woodwinds on a Clarinet with a Bassoon under D3)
is one track in a :class:`Multitrack`, as the model wrote it: regenerate, the metrics and the studio's menus see
one woodwinds part. What is performed (the MIDI file, the audio, the score) hands the notes below the section's
split to its low instrument: :func:`perform_sections` makes that second track, named after the part and its
instrument, and records the pair in the piece's metadata; :func:`join_sections` makes it one part again when
museforge reads its own file back.
"""

from __future__ import annotations

import numpy as np

from museforge.music.instruments import program_name, section_for
from museforge.music.keys import pitch_name
from museforge.music.pianoroll import Multitrack

#: The metadata key that lists the performed pairs: ``[part name, low track name, part program]`` each.
SECTIONS_KEY = "sections"


def performed_instrument(program: int, role: str = "", is_drum: bool = False) -> str:
    """What plays a track of ``role`` on ``program``, in words: ``"Clarinet"``, or for a section
    ``"Clarinet (Bassoon below D3)"``."""
    name = program_name(program, is_drum)
    section = section_for(program, role, is_drum)
    if section is None:
        return name
    return f"{name} ({program_name(section.low_program)} below {pitch_name(section.split)})"


def perform_sections(music: Multitrack) -> Multitrack:
    """``music`` as its instruments play it: each track a section plays, and that has notes below the section's
    split, keeps its notes from the split up and is followed by a track of its low instrument with the notes
    below (name ``"<part> (<instrument>)"``, same role). ``music`` itself is returned when no section plays
    below its split; otherwise a new multitrack whose metadata lists the pairs under :data:`SECTIONS_KEY`."""
    split_at = {
        i: section
        for i in range(music.n_tracks)
        if (section := section_for(music.programs[i], music.roles[i], music.is_drum[i])) is not None
        and music.rolls[i, :, : section.split].any()
    }
    if not split_at:
        return music
    every_pitch = np.ones(music.rolls.shape[2], dtype=bool)
    tracks: list[tuple[int, np.ndarray, int, str]] = []  # per performed track: source, pitches (128,), program, name
    pairs = []
    for i in range(music.n_tracks):
        section = split_at.get(i)
        if section is None:
            tracks.append((i, every_pitch, music.programs[i], music.names[i]))
            continue
        high = np.arange(music.rolls.shape[2]) >= section.split
        low_name = f"{music.names[i]} ({program_name(section.low_program)})"
        tracks += [(i, high, music.programs[i], music.names[i]), (i, ~high, section.low_program, low_name)]
        pairs.append([music.names[i], low_name, int(music.programs[i])])
    order = [t[0] for t in tracks]
    pitches = np.stack([t[1] for t in tracks])[:, None, :]  # (performed tracks, 1, 128)
    performed = music.with_rolls(music.rolls[order] * pitches, music.onsets[order] & pitches, order)
    performed.programs = [t[2] for t in tracks]
    performed.names = [t[3] for t in tracks]
    performed.metadata = {**(music.metadata or {}), SECTIONS_KEY: pairs}
    return performed


def join_sections(music: Multitrack) -> Multitrack:
    """The parts of a piece :func:`perform_sections` wrote: each low instrument's track (named in the metadata's
    :data:`SECTIONS_KEY`) joined to its part, which takes back its program (a part whose notes all lay below the
    split, so that its own track was empty and not written, is the low track renamed). ``music`` itself when its
    metadata names no pair; the pairs are taken out of the metadata either way."""
    pairs = (music.metadata or {}).get(SECTIONS_KEY)
    if not isinstance(pairs, list) or not pairs:
        return music
    rolls, onsets = music.rolls.copy(), music.onsets.copy()
    names, programs = list(music.names), list(music.programs)
    dropped: set[int] = set()
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 3 and isinstance(pair[2], int) and 0 <= pair[2] <= 127):
            continue
        part_name, low_name, program = str(pair[0]), str(pair[1]), pair[2]
        low = next((i for i in range(music.n_tracks) if names[i] == low_name and i not in dropped), None)
        if low is None:
            continue
        part = next((i for i in range(music.n_tracks) if names[i] == part_name and i not in dropped), None)
        if part is None:  # every note lay below the split
            names[low], programs[low] = part_name, program
            continue
        rolls[part] = np.maximum(rolls[part], rolls[low])
        onsets[part] |= onsets[low]
        dropped.add(low)
    kept = [i for i in range(music.n_tracks) if i not in dropped]
    joined = music.with_rolls(rolls[kept], onsets[kept], kept)
    joined.names = [names[i] for i in kept]
    joined.programs = [programs[i] for i in kept]
    metadata = {key: value for key, value in (music.metadata or {}).items() if key != SECTIONS_KEY}
    joined.metadata = metadata or None
    return joined


__all__ = ["SECTIONS_KEY", "join_sections", "perform_sections", "performed_instrument"]
