"""Symphony: OpenScore Orchestra full scores (one MIDI track per score part) as melody + four sections.

Tracks: melody, strings (violins, violas, cellos, basses, harp, keyboard continuo, and the choir of the B-minor
Mass and the German Requiem), woodwinds, brass, timpani. Sections come from the GM program the converter took from
the score (40-55 strings, 56-63 brass, 64-79 woodwinds, 47 or a "timpani" name timpani); sung parts (named
soprano/alto/tenor/bass) sit with the strings whatever their program. Unpitched percussion (4 movements:
triangle, cymbals, bass drum) is left out, because the loader transposes every non-drum track.

The Hauptstimme ("main voice") annotations were not copied, so the melody is found bar by bar: the candidates are
the leading parts (violin 1, soprano, flute 1, oboe 1, clarinet 1, trumpet 1, in that order of precedence); in
each bar, among those sounding for at least a quarter of the bar, the part whose top line moves most (changes of
pitch between successive notes; a tremolo or a held chord scores low) is the melody, ties going to the earlier
part in that list. The melody track is that part's top note at every step; the chosen part's notes leave its
section for that bar. Bars where no candidate plays have a silent melody (windows where that happens in more
than half of the bars are dropped). Meters: every one the score has (2/2 and paired 2/4 bars
count as 4/4); each window keeps one meter. Splits: a hash of the movement (80/10/10).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums, source_dirs
from museforge.datasets.windows import SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.music.tracks import role_for_track

DEFAULT_RESOLUTION = 12
DEFAULT_HOP_BARS = 2
TRACKS = [
    TrackSpec("melody", "Melody"),
    TrackSpec("strings", "Strings"),
    TrackSpec("woodwinds", "Woodwinds"),
    TrackSpec("brass", "Brass"),
    TrackSpec("timpani", "Timpani"),
]
#: Leading parts, in order of precedence, by full-name pattern (lower case).
LEAD_PARTS = (
    r"(principal )?violins?( 1| i)?( solo| tutti)?",
    r"soprano( 1)?( solo)?",
    r"(flute|traverso)( 1| i)?",
    r"oboe( 1| i)?",
    r"([a-g]b? )?clarinet( 1| i)?",
    r"([a-g]b? )?(trumpet|tromba)( 1| i)?",
)
VOICE_NAME = re.compile(r"(soprano|alto|tenor|bass)( \d)?( solo)?( \(sic\))?|.*\b(choir|chorus|coro)\b.*")
#: A candidate must sound for at least this share of a bar to be the melody there.
MIN_BAR_ACTIVITY = 0.25


def plan(source_root: Path | None) -> SourcePlan:
    """Every movement under ``symphony/openscore_orchestra_hauptstimme/midi_from_mxl``."""
    if source_root is None:
        raise MuseforgeError("symphony needs a source folder (--source DIR)")
    folders = source_dirs("symphony", source_root)
    folder = folders.get("openscore_orchestra_hauptstimme")
    if folder is None:
        raise MuseforgeError(f"no symphony/openscore_orchestra_hauptstimme folder under {source_root}")
    base = folder / "midi_from_mxl"
    refs = []
    for path in sorted(base.rglob("*.mid")):
        name = path.relative_to(base).with_suffix("").as_posix()
        refs.append(SongRef(name, name, None, str(path)))
    return SourcePlan(
        root=str(source_root),
        refs=refs,
        checksums=checksums({"openscore_orchestra_hauptstimme": folder}),
        tracks=TRACKS,
        section_programs=SECTION_PROGRAMS,
        notes=[
            "Melody (no Hauptstimme annotations): per bar, among violin 1, soprano, flute 1, oboe 1, clarinet 1 "
            "and trumpet 1 sounding at least a quarter of the bar, the part whose top line changes pitch most "
            "often (ties by that order), cut to its top note and removed from its section in that bar. Sections "
            "by GM program; sung parts with the strings; unpitched percussion left out. Split by a hash of the "
            "movement (80/10/10)."
        ],
    )


#: GM programs of the merged sections, chosen for the range each section's notes span in the data (train split,
#: notes outside the program's range: strings 0.1 % as String Ensemble 1 against 37 % as Violin; brass 0.7 % as
#: Brass Section against 5.5 % as French Horn; woodwinds, flute to bassoon, fit no one GM program: 8 % as Clarinet,
#: the least, against 33 % as Bassoon).
SECTION_PROGRAMS: dict[str, int] = {"strings": 48, "woodwinds": 71, "brass": 61}


def section(name: str, program: int, is_drum: bool) -> str | None:
    """The section track of one score part, or None to leave it out (unpitched percussion)."""
    if is_drum:
        return None
    lowered = " ".join(name.lower().split())
    if program == 47 or re.search(r"timpan|pauken", lowered):
        return "timpani"
    if VOICE_NAME.fullmatch(lowered):
        return "strings"
    if 40 <= program <= 55 or program < 24:
        return "strings"
    if 56 <= program <= 63:
        return "brass"
    if 64 <= program <= 79:
        return "woodwinds"
    role = role_for_track(name, program, is_drum)
    return role if role in ("brass", "woodwinds", "timpani") else "strings"


def lead_rank(name: str) -> int | None:
    """Precedence of a part among the melody candidates (0 first), or None if it is not one."""
    lowered = " ".join(name.lower().split())
    for rank, pattern in enumerate(LEAD_PARTS):
        if re.fullmatch(pattern, lowered):
            return rank
    return None


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One movement as melody, strings, woodwinds, brass and timpani."""
    multitrack = read_midi(ref.payload, resolution)
    candidates = sorted(
        (rank, i) for i in range(multitrack.n_tracks) if (rank := lead_rank(multitrack.names[i])) is not None
    )
    if not candidates:
        raise SkipSong("no melody")
    melody_roll, melody_onsets, lead = extract_melody(multitrack, [i for _, i in candidates])
    rolls = np.concatenate([melody_roll[None], multitrack.rolls])
    onsets = np.concatenate([melody_onsets[None], multitrack.onsets])
    with_melody = Multitrack(
        rolls=rolls,
        onsets=onsets,
        names=["Melody", *multitrack.names],
        roles=["melody", *multitrack.roles],
        programs=[multitrack.programs[lead], *multitrack.programs],
        is_drum=[False, *multitrack.is_drum],
        resolution=resolution,
        tempos=multitrack.tempos,
        time_signatures=multitrack.time_signatures,
        downbeats=multitrack.downbeats,
    )
    groups: dict[str, list[int]] = {t.role: [] for t in TRACKS[1:]}
    for i in range(multitrack.n_tracks):
        part = section(multitrack.names[i], multitrack.programs[i], multitrack.is_drum[i])
        if part is not None:
            groups[part].append(i + 1)
    layout = [("melody", "Melody", [0], False)] + [(t.role, t.name, groups[t.role], False) for t in TRACKS[1:]]
    return merge_tracks(with_melody, layout)


def extract_melody(multitrack: Multitrack, candidates: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Pick the melody bar by bar (see the module docstring) and take it out of its part.

    Parameters
    ----------
    multitrack : the movement; the chosen part's notes are removed from ``rolls`` and ``onsets`` in place,
        bar by bar.
    candidates : track indices of the leading parts, in order of precedence.

    Returns
    -------
    roll : np.ndarray, shape (time, 128), uint8 -- the melody, one pitch at a time.
    onsets : np.ndarray, shape (time, 128), bool
    lead : int -- the part that gave the melody most of its steps.
    """
    n_steps = multitrack.n_steps
    tops = {}
    for c in candidates:
        sounding = multitrack.rolls[c] > 0
        top = np.where(sounding.any(axis=1), 127 - np.argmax(sounding[:, ::-1], axis=1), -1)
        tops[c] = top
    roll = np.zeros((n_steps, 128), dtype=np.uint8)
    onsets = np.zeros((n_steps, 128), dtype=bool)
    chosen: dict[int, int] = {}  # part -> melody steps taken from it
    bounds = [*(int(d) for d in (multitrack.downbeats if multitrack.downbeats is not None else [])), n_steps]
    if bounds[0] > 0:
        bounds.insert(0, 0)
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        best, best_score = None, None
        for rank, c in enumerate(candidates):
            top = tops[c][a:b]
            active = top >= 0
            if active.mean() < MIN_BAR_ACTIVITY:
                continue
            line = top[active]
            score = (int((line[1:] != line[:-1]).sum()), -rank)
            if best_score is None or score > best_score:
                best, best_score = c, score
        if best is None:
            continue
        top = tops[best][a:b]
        steps = np.flatnonzero(top >= 0)
        pitch = top[steps]
        roll[a + steps, pitch] = multitrack.rolls[best][a + steps, pitch]
        onsets[a + steps, pitch] = multitrack.onsets[best][a + steps, pitch]
        multitrack.rolls[best][a:b] = 0
        multitrack.onsets[best][a:b] = False
        chosen[best] = chosen.get(best, 0) + len(steps)
    lead = max(chosen, key=lambda c: chosen[c]) if chosen else candidates[0]
    return roll, onsets, lead
