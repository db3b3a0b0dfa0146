"""The pitch ranges real instruments and voices can play, for the General MIDI programs museforge writes.

A composition that gives a track a General MIDI program promises a listener that instrument: a "violin" two
octaves below the violin's lowest string is a wrong note even if it is in key. :func:`playable_range` gives the
inclusive MIDI range for a track; :mod:`museforge.metrics` counts the notes outside it.

Ranges are the usual written-to-sounding ranges of orchestration references (professional players, no extended
technique), rounded outward by a step or so; chorale voices use the extremes found in Bach's four-part chorales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: Inclusive MIDI ranges of single General MIDI programs.
PROGRAM_RANGES: dict[int, tuple[int, int]] = {
    **{p: (21, 108) for p in range(0, 8)},  # pianos: A0-C8
    **{p: (36, 96) for p in range(16, 24)},  # organs, accordion, harmonica (harmonica narrower, kept simple)
    **{p: (40, 88) for p in range(24, 32)},  # guitars: E2-E6
    **{p: (28, 67) for p in range(32, 40)},  # basses: E1-G4
    40: (55, 103),  # violin: G3-G7
    41: (48, 91),  # viola: C3-G6
    42: (36, 76),  # cello: C2-E5
    43: (28, 67),  # contrabass: E1-G4
    44: (28, 103),  # tremolo strings (section)
    45: (28, 103),  # pizzicato strings (section)
    46: (23, 103),  # harp: B0-G7
    47: (36, 60),  # timpani: C2-C4
    48: (28, 103),  # string ensemble 1: basses to violins
    49: (28, 103),  # string ensemble 2
    50: (28, 103),  # synth strings 1
    51: (28, 103),  # synth strings 2
    52: (36, 84),  # choir aahs: bass to soprano
    53: (36, 84),  # voice oohs
    54: (36, 84),  # synth voice
    56: (54, 84),  # trumpet: F#3-C6
    57: (40, 72),  # trombone: E2-C5
    58: (28, 58),  # tuba: E1-Bb3
    59: (54, 82),  # muted trumpet
    60: (34, 77),  # french horn: Bb1-F5
    61: (34, 84),  # brass section: horns, trumpets, trombones
    62: (34, 84),  # synth brass 1
    63: (34, 84),  # synth brass 2
    64: (56, 87),  # soprano sax
    65: (49, 81),  # alto sax
    66: (44, 76),  # tenor sax
    67: (36, 69),  # baritone sax
    68: (58, 91),  # oboe: Bb3-G6
    69: (52, 81),  # english horn
    70: (34, 75),  # bassoon: Bb1-Eb5
    71: (50, 94),  # clarinet: D3-Bb6
    72: (74, 108),  # piccolo
    73: (60, 96),  # flute: C4-C7
    74: (60, 86),  # recorder
    # below: programs museforge never writes by default, listed so the instrument choices can be honest
    8: (60, 108),  # celesta: C4-C8
    9: (77, 108),  # glockenspiel: F5-C8
    10: (60, 96),  # music box
    11: (53, 89),  # vibraphone: F3-F6
    12: (45, 96),  # marimba: A2-C7
    13: (65, 108),  # xylophone: F4-C8
    14: (60, 77),  # tubular bells: C4-F5
    15: (48, 96),  # dulcimer
    75: (60, 96),  # pan flute
    76: (60, 96),  # blown bottle
    77: (60, 96),  # shakuhachi
    78: (60, 96),  # whistle
    79: (60, 96),  # ocarina
    104: (48, 77),  # sitar
    105: (48, 84),  # banjo: C3-C6
    106: (48, 84),  # shamisen
    107: (48, 84),  # koto
    108: (48, 96),  # kalimba
    109: (55, 84),  # bagpipe
    110: (55, 103),  # fiddle
    111: (60, 96),  # shanai
}
#: Chorale voices (role names as the Bach data has them): Bach's own extremes.
VOICE_RANGES: dict[str, tuple[int, int]] = {
    "soprano": (59, 81),  # B3-A5
    "alto": (53, 74),  # F3-D5
    "tenor": (47, 69),  # B2-A4
    "bass": (36, 64),  # C2-E4
}
#: Where a program is not listed: the piano's keyboard.
DEFAULT_RANGE = (21, 108)


@dataclass(frozen=True)
class Section:
    """A track played by two instruments of a section, split by pitch, as an arranger hands a part's low notes on.

    A track of ``role`` on ``program`` plays its notes from ``split`` (MIDI) up on ``program`` and the notes below
    on ``low_program``: the symphony's woodwinds (flutes to bassoons in the data) on a Clarinet, whose lowest note
    is D3, with a Bassoon under it. The track stays one part for the models and the metrics; a MIDI file, the
    audio and the score play it as the two instruments (:mod:`museforge.music.sections`).
    """

    role: str
    program: int
    low_program: int
    split: int


#: The sections museforge plays, by (role, program): the program a card gives the track, or a user chooses.
SECTIONS: dict[tuple[str, int], Section] = {
    ("woodwinds", 71): Section("woodwinds", 71, 70, 50),  # Clarinet from D3, Bassoon below (down to Bb1)
}


def section_for(program: int, role: str = "", is_drum: bool = False) -> Section | None:
    """The :class:`Section` that plays a track of ``role`` on ``program`` (None: the program alone plays it)."""
    return None if is_drum else SECTIONS.get((role, int(program)))


def playable_range(program: int, role: str = "", is_drum: bool = False) -> tuple[int, int] | None:
    """Inclusive MIDI range of a track: its voice's for chorale voices, its section's for a track that a
    :class:`Section` plays (the low instrument's lowest note to the program's highest), else its program's; None
    for drums."""
    if is_drum:
        return None
    if role in VOICE_RANGES and 52 <= int(program) <= 54:
        return VOICE_RANGES[role]
    section = section_for(program, role)
    if section is not None:
        return PROGRAM_RANGES[section.low_program][0], PROGRAM_RANGES[section.program][1]
    return PROGRAM_RANGES.get(int(program), DEFAULT_RANGE)


def playable_share(counts: ArrayLike, lowest_pitch: int, program: int, role: str = "") -> float:
    """Share of the notes ``counts`` (``(P,)`` per pitch, column 0 is MIDI ``lowest_pitch``) that ``program``
    (as the track ``role``) can play: 1.0 without notes or without a range (drums)."""
    counts = np.asarray(counts, dtype=np.float64)
    span = playable_range(program, role)
    total = counts.sum()
    if span is None or total <= 0:
        return 1.0
    pitches = np.arange(len(counts)) + int(lowest_pitch)
    return float(counts[(pitches >= span[0]) & (pitches <= span[1])].sum() / total)


#: The 128 General MIDI level 1 program names, by program number (0-based).
GM_PROGRAM_NAMES: tuple[str, ...] = (
    # pianos
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    # chromatic percussion
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    # organs
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion",
    # guitars
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    # basses
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    # strings
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp",
    "Timpani",
    # ensembles
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit",
    # brass
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
    "Synth Brass 2",
    # reeds
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
    # pipes
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    # synth leads
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    # synth pads
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)",
    "Pad 7 (halo)", "Pad 8 (sweep)",
    # synth effects
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    # ethnic
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    # percussive
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum",
    "Reverse Cymbal",
    # sound effects
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)  # fmt: skip
#: Drum kits (the program of a channel-10 track, as General MIDI 2 and the common sound fonts name them).
DRUM_KITS: dict[int, str] = {
    0: "Standard Kit",
    8: "Room Kit",
    16: "Power Kit",
    24: "Electronic Kit",
    25: "TR-808 Kit",
    32: "Jazz Kit",
    40: "Brush Kit",
    48: "Orchestra Kit",
}
#: Programs never suggested for an accompaniment track: orchestra hit, synth effects, percussive sounds, sound
#: effects.
NOT_SUGGESTED = frozenset(range(96, 104)) | frozenset(range(112, 128)) | {55}


def program_name(program: int, is_drum: bool = False) -> str:
    """The General MIDI name of ``program`` (0-127); a drum track's program names its kit."""
    if not 0 <= int(program) <= 127:
        raise ValueError(f"a General MIDI program is 0-127, got {program}")
    if is_drum:
        return DRUM_KITS.get(int(program), f"Drum Kit {int(program)}")
    return GM_PROGRAM_NAMES[int(program)]


def range_fits(program: int, low: int, high: int, role: str = "") -> bool:
    """Whether ``program`` can play every pitch from ``low`` to ``high`` (inclusive MIDI numbers)."""
    span = playable_range(program, role)
    return span is not None and span[0] <= low and high <= span[1]


def suggested_programs(low: int, high: int, family: int | None = None, is_drum: bool = False) -> list[int]:
    """Programs that can play the pitches ``low``..``high`` a track plays, nearest fit first.

    ``family`` (a program whose block of 8 comes first, e.g. the track's default) puts that instrument family
    ahead of the others; among the rest, the tightest fitting range comes first (a bass line is offered basses
    before pianos). Drum tracks get the drum kits. Synth and sound effects are never suggested.
    """
    if is_drum:
        return list(DRUM_KITS)
    fitting = [p for p in range(128) if p not in NOT_SUGGESTED and range_fits(p, low, high)]

    def order(program: int) -> tuple[bool, int, int]:
        span = playable_range(program) or DEFAULT_RANGE
        same_family = family is not None and program // 8 == int(family) // 8
        return not same_family, span[1] - span[0], program

    return sorted(fitting, key=order)


__all__ = [
    "DEFAULT_RANGE",
    "DRUM_KITS",
    "GM_PROGRAM_NAMES",
    "NOT_SUGGESTED",
    "PROGRAM_RANGES",
    "SECTIONS",
    "VOICE_RANGES",
    "Section",
    "playable_range",
    "playable_share",
    "program_name",
    "range_fits",
    "section_for",
    "suggested_programs",
]
