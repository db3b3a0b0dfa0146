"""Built-in sample melodies to compose with, like AWS DeepComposer's Twinkle Twinkle and Ode to Joy samples.

Every melody is a whole phrase (or two) of a public-domain tune, monophonic, between C4 and C6, written out note
by note with its real rhythm. Times are in quarter-note beats from the first bar line.

Tunes in 3/4 (We Wish You a Merry Christmas, Amazing Grace, Happy Birthday) stay in 3/4: none of them has a
well-known 4/4 arrangement, so they carry ``time_signature=(3, 4)``. These three also open with an upbeat
(anacrusis). To keep the data's bar lines on the tune's bar lines (the models harmonise bar by bar), the upbeat
sits at the end of an otherwise silent first bar, and the closing note is held to the final bar line. Such a
melody has one bar more than its tune bars: ``n_bars == tune_bars + 1`` and ``pickup_beats > 0``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from museforge.errors import MuseforgeError, NotFoundError
from museforge.music.pianoroll import Multitrack, TrackNotes

#: The longest melody any pipeline takes (compose, enhance, extend, the studio's uploads), in 4-beat bars (about
#: 17 minutes at 120 bpm).
MAX_BARS = 512
#: Velocity given to every note of a sample melody.
VELOCITY = 100
#: General MIDI program of a sample melody's track (Acoustic Grand Piano).
PROGRAM = 0

Note = tuple[int, float, float]


@dataclass(frozen=True)
class SampleMelody:
    """One built-in melody.

    Attributes
    ----------
    name : id used on the command line (``museforge compose --melody twinkle``).
    title : the tune's usual title.
    composer : the composer, or ``traditional ...``.
    tempo : quarter notes per minute.
    time_signature : ``(numerator, denominator)``.
    key : the key the notes are written in, e.g. ``"C major"``.
    notes : tuple of ``(MIDI pitch, start in beats, duration in beats)``, sorted by start; beats are quarter notes.
    about : which part of the tune this is and any transposition, in one line.
    """

    name: str
    title: str
    composer: str
    tempo: float
    time_signature: tuple[int, int]
    key: str
    notes: tuple[Note, ...]
    about: str = ""

    @property
    def beats_per_bar(self) -> float:
        """Quarter-note beats in one bar (4.0 for 4/4, 3.0 for 3/4, 3.0 for 6/8)."""
        numerator, denominator = self.time_signature
        return numerator * 4 / denominator

    @property
    def n_bars(self) -> int:
        """Bars from the first bar line to the end of the last note, the upbeat's bar included."""
        end = max(start + duration for _, start, duration in self.notes)
        return math.ceil(end / self.beats_per_bar - 1e-9)

    def summary(self) -> dict[str, Any]:
        """What ``museforge melodies list --json`` shows: name, title, composer, bars, tempo, meter, key, notes."""
        return {
            "name": self.name,
            "title": self.title,
            "composer": self.composer,
            "bars": self.n_bars,
            "tempo": self.tempo,
            "time_signature": list(self.time_signature),
            "key": self.key,
            "notes": len(self.notes),
        }

    @property
    def n_beats(self) -> float:
        """Length in quarter-note beats: ``n_bars * beats_per_bar``."""
        return self.n_bars * self.beats_per_bar

    @property
    def pickup_beats(self) -> float:
        """Length of the upbeat before the first full bar, in beats; 0.0 when the tune starts on a downbeat."""
        first = self.notes[0][1]
        return self.beats_per_bar - first if first > 0 else 0.0

    @property
    def pitch_range(self) -> tuple[int, int]:
        """Lowest and highest MIDI pitch."""
        pitches = [pitch for pitch, _, _ in self.notes]
        return min(pitches), max(pitches)


_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_TOKEN = re.compile(r"^(?:(?P<rest>r)|(?P<step>[A-G])(?P<accidental>#|b)?(?P<octave>-?\d))/(?P<beats>\d*\.?\d+)$")


def note_number(name: str) -> int:
    """MIDI pitch of a note name such as ``"C4"`` (60), ``"F#4"`` (66) or ``"Bb3"`` (58)."""
    match = _TOKEN.match(f"{name}/1")
    if match is None or match["rest"]:
        raise ValueError(f"not a note name: {name!r}")
    shift = {"#": 1, "b": -1, None: 0}[match["accidental"]]
    return 12 * (int(match["octave"]) + 1) + _PITCH_CLASSES[match["step"]] + shift


def _score(text: str, beats_per_bar: float) -> tuple[Note, ...]:
    """Notes from a one-line score: ``PITCH/BEATS`` tokens (``r/BEATS`` is a rest) and ``|`` bar lines.

    Each ``|`` must fall on a bar line, so a wrong duration fails at import instead of shifting the tune.
    """
    notes: list[Note] = []
    position = 0.0
    for token in text.split():
        if token == "|":
            bars = position / beats_per_bar
            if abs(bars - round(bars)) > 1e-9:
                raise ValueError(f"bar line at beat {position}, inside a bar, in {text!r}")
            continue
        match = _TOKEN.match(token)
        if match is None:
            raise ValueError(f"bad score token {token!r}")
        beats = float(match["beats"])
        if not match["rest"]:
            notes.append((note_number(token.split("/")[0]), position, beats))
        position += beats
    return tuple(notes)


def _melody(
    name: str,
    title: str,
    composer: str,
    tempo: float,
    time_signature: tuple[int, int],
    key: str,
    score: str,
    about: str,
) -> SampleMelody:
    beats_per_bar = time_signature[0] * 4 / time_signature[1]
    return SampleMelody(name, title, composer, tempo, time_signature, key, _score(score, beats_per_bar), about)


_MELODIES: tuple[SampleMelody, ...] = (
    _melody(
        "twinkle",
        "Twinkle Twinkle Little Star",
        "traditional (French, 'Ah! vous dirai-je, maman')",
        100.0,
        (4, 4),
        "C major",
        "C4/1 C4/1 G4/1 G4/1 | A4/1 A4/1 G4/2 | F4/1 F4/1 E4/1 E4/1 | D4/1 D4/1 C4/2 |",
        "bars 1-4: 'Twinkle, twinkle, little star, how I wonder what you are'",
    ),
    _melody(
        "ode_to_joy",
        "Ode to Joy",
        "Ludwig van Beethoven",
        120.0,
        (4, 4),
        "C major",
        "E4/1 E4/1 F4/1 G4/1 | G4/1 F4/1 E4/1 D4/1 | C4/1 C4/1 D4/1 E4/1 | E4/1.5 D4/0.5 D4/2 |"
        " E4/1 E4/1 F4/1 G4/1 | G4/1 F4/1 E4/1 D4/1 | C4/1 C4/1 D4/1 E4/1 | D4/1.5 C4/0.5 C4/2 |",
        "Symphony No. 9, finale: the first 8 bars of the theme, transposed from D major to C major",
    ),
    _melody(
        "new_world",
        "Symphony No. 9 'From the New World', Largo",
        "Antonín Dvořák",
        52.0,
        (4, 4),
        "D-flat major",
        "F5/1.5 Ab5/0.5 Ab5/2 | F5/1.5 Eb5/0.5 Db5/2 | Eb5/1.5 F5/0.5 Ab5/1.5 F5/0.5 | Eb5/4 |"
        " F5/1.5 Ab5/0.5 Ab5/2 | F5/1.5 Eb5/0.5 Db5/2 | Eb5/1.5 F5/0.5 Eb5/1.5 Bb4/0.5 | Db5/4 |",
        "2nd movement, the cor anglais theme (bars 7-14), in the original key and tempo (Largo, quarter = 52),"
        " an octave up so it stays above C4",
    ),
    _melody(
        "we_wish_you",
        "We Wish You a Merry Christmas",
        "traditional (English)",
        144.0,
        (3, 4),
        "G major",
        "r/2 D4/1 | G4/1 G4/0.5 A4/0.5 G4/0.5 F#4/0.5 | E4/1 E4/1 E4/1 | A4/1 A4/0.5 B4/0.5 A4/0.5 G4/0.5 |"
        " F#4/1 D4/1 D4/1 | B4/1 B4/0.5 C5/0.5 B4/0.5 A4/0.5 | G4/1 E4/1 D4/0.5 D4/0.5 | E4/1 A4/1 F#4/1 |"
        " G4/3 |",
        "the first verse's 8 bars in 3/4 (as always sung), after a one-beat upbeat; the last note is held to the"
        " bar line",
    ),
    _melody(
        "deck_the_halls",
        "Deck the Halls",
        "traditional (Welsh, 'Nos Galan')",
        120.0,
        (4, 4),
        "F major",
        "C5/1.5 Bb4/0.5 A4/1 G4/1 | F4/1 G4/1 A4/1 F4/1 | G4/0.5 A4/0.5 Bb4/0.5 G4/0.5 A4/1.5 G4/0.5 |"
        " F4/1 E4/1 F4/2 |"
        " C5/1.5 Bb4/0.5 A4/1 G4/1 | F4/1 G4/1 A4/1 F4/1 | G4/0.5 A4/0.5 Bb4/0.5 G4/0.5 A4/1.5 G4/0.5 |"
        " F4/1 E4/1 F4/2 |",
        "bars 1-8: 'Deck the halls with boughs of holly ... 'Tis the season to be jolly, fa la la ...'",
    ),
    _melody(
        "frere_jacques",
        "Frère Jacques",
        "traditional (French)",
        120.0,
        (4, 4),
        "C major",
        "C5/1 D5/1 E5/1 C5/1 | C5/1 D5/1 E5/1 C5/1 | E5/1 F5/1 G5/2 | E5/1 F5/1 G5/2 |"
        " G5/0.5 A5/0.5 G5/0.5 F5/0.5 E5/1 C5/1 | G5/0.5 A5/0.5 G5/0.5 F5/0.5 E5/1 C5/1 |"
        " C5/1 G4/1 C5/2 | C5/1 G4/1 C5/2 |",
        "the whole round (8 bars), on C5 so the closing low G stays above C4",
    ),
    _melody(
        "amazing_grace",
        "Amazing Grace",
        "traditional (American hymn tune 'New Britain')",
        80.0,
        (3, 4),
        "G major",
        "r/2 D4/1 | G4/2 B4/0.5 G4/0.5 | B4/2 A4/1 | G4/2 E4/1 | D4/2 D4/1 | G4/2 B4/0.5 G4/0.5 | B4/2 A4/1 | D5/6 |",
        "the first half (8 bars in 3/4 after a one-beat upbeat): 'Amazing grace ... that saved a wretch like me',"
        " the last note held over its two bars",
    ),
    _melody(
        "happy_birthday",
        "Happy Birthday to You",
        "Mildred J. Hill and Patty Hill",
        100.0,
        (3, 4),
        "F major",
        "r/2 C4/0.75 C4/0.25 | D4/1 C4/1 F4/1 | E4/2 C4/0.75 C4/0.25 | D4/1 C4/1 G4/1 | F4/2 C4/0.75 C4/0.25 |"
        " C5/1 A4/1 F4/1 | E4/1 D4/1 Bb4/0.75 Bb4/0.25 | A4/1 F4/1 G4/1 | F4/3 |",
        "the whole song (8 bars in 3/4 after the upbeat 'Hap-py'); the last note is held to the bar line",
    ),
)


def list_melodies() -> list[SampleMelody]:
    """All built-in melodies, the classic samples first."""
    return list(_MELODIES)


def melody_names() -> list[str]:
    """The ids accepted by :func:`get_melody`."""
    return [melody.name for melody in _MELODIES]


def get_melody(name: str) -> SampleMelody:
    """The built-in melody called ``name`` (case and ``-``/``_`` do not matter).

    Raises
    ------
    NotFoundError
        No melody has that name; the message lists the valid names.
    """
    wanted = name.strip().lower().replace("-", "_").replace(" ", "_")
    for melody in _MELODIES:
        if melody.name == wanted:
            return melody
    raise NotFoundError(f"no sample melody named {name!r}; choose one of: {', '.join(melody_names())}")


def melody_to_multitrack(melody: SampleMelody, resolution: int = 12) -> Multitrack:
    """A one-track multitrack of ``melody`` (role ``melody``, Acoustic Grand Piano), ``n_bars`` whole bars long.

    Parameters
    ----------
    melody : the sample melody.
    resolution : steps per quarter-note beat; every note must land on this grid (4 or more covers all the
        built-in melodies, whose shortest note is a sixteenth).

    Returns
    -------
    Multitrack with ``rolls`` of shape ``(1, n_bars * beats_per_bar * resolution, 128)``, the melody's tempo and
    time signature. The track is named ``"<title> (melody)"`` so reading a written file back finds its role.

    Raises
    ------
    MuseforgeError
        ``resolution`` is below 1 or too coarse for the melody's rhythm.
    """
    if resolution < 1:
        raise MuseforgeError(f"resolution must be at least 1 step per beat, got {resolution}")
    notes: list[tuple[int, int, int, int]] = []
    for pitch, start, duration in melody.notes:
        begin, end = start * resolution, (start + duration) * resolution
        if abs(begin - round(begin)) > 1e-6 or abs(end - round(end)) > 1e-6:
            raise MuseforgeError(
                f"melody {melody.name!r} has notes off a grid of {resolution} steps per beat; use a multiple of 4"
            )
        notes.append((pitch, round(begin), round(end), VELOCITY))
    track = TrackNotes(f"{melody.title} (melody)", "melody", PROGRAM, False, notes)
    return Multitrack.from_notes(
        [track],
        resolution,
        tempo=melody.tempo,
        time_signature=melody.time_signature,
        n_steps=round(melody.n_beats * resolution),
    )
