"""The pitch ranges real instruments and voices can play, for the General MIDI programs museforge writes.

A composition that gives a track a General MIDI program promises a listener that instrument: a "violin" two
octaves below the violin's lowest string is a wrong note even if it is in key. :func:`playable_range` gives the
inclusive MIDI range for a track; :mod:`museforge.metrics` counts the notes outside it.

Ranges are the usual written-to-sounding ranges of orchestration references (professional players, no extended
technique), rounded outward by a step or so; chorale voices use the extremes found in Bach's four-part chorales.
"""

from __future__ import annotations

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


def playable_range(program: int, role: str = "", is_drum: bool = False) -> tuple[int, int] | None:
    """Inclusive MIDI range of a track: its voice's for chorale voices, else its program's; None for drums."""
    if is_drum:
        return None
    if role in VOICE_RANGES and 52 <= int(program) <= 54:
        return VOICE_RANGES[role]
    return PROGRAM_RANGES.get(int(program), DEFAULT_RANGE)


__all__ = ["DEFAULT_RANGE", "PROGRAM_RANGES", "VOICE_RANGES", "playable_range"]
