"""Rock: Beatles transcriptions from the Lakh MIDI Dataset as melody + MuseGAN's five tracks.

Tracks: melody, bass, drums, guitar, piano (pianos, chromatic percussion, organs, harmonica), strings
(strings, ensembles and choirs, brass, reeds and pipes, synth leads and pads). Several source tracks of one role
are merged; sound effects (GM 96-103, 112-127) and timpani are left out.

The melody is one source track, chosen in this order:

1. a track named like a vocal line ("vocal", "voice", "vox", "melody", "sing"; not "oohs", "aahs", choirs);
2. a track named "lead" (lead guitar, lead organ);
3. otherwise the best *melodic* track: not drums or bass, mostly one note at a time (at least 80 % of its
   sounding steps), a mean pitch in the singing range (MIDI 55-84), sounding in at least 20 % of the song,
   preferring voice, reed, pipe, synth-lead, harmonica and trumpet programs (score = coverage x 1.5).

Within a tier the track that sounds longest wins (a named track sounding in less than 10 % of the song falls
through to the next tier). The chosen track leaves the accompaniment; songs with none are skipped ("no melody").

Several files transcribe one song (``<track>.v<k>.mid``): the split is decided by a hash of the song
(album/track), all of a song's versions go to train when it is a training song, and valid and test keep one
version per song (the first usable one), so evaluation is not weighted by how often a song was transcribed.
The Groove MIDI rock drums are not used: most Beatles files carry their own drums, and files without a drum
track keep a silent drums track.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums, source_dirs
from museforge.datasets.windows import SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack
from museforge.music.tracks import role_from_program

DEFAULT_RESOLUTION = 12
DEFAULT_HOP_BARS = 2
TRACKS = [
    TrackSpec("melody", "Melody"),
    TrackSpec("bass", "Bass"),
    TrackSpec("drums", "Drums", is_drum=True),
    TrackSpec("guitar", "Guitar"),
    TrackSpec("piano", "Piano"),
    TrackSpec("strings", "Strings"),
]
#: Role of each accompaniment track by the role :mod:`museforge.music.tracks` gives a source track.
BAND_ROLES = {
    "bass": "bass",
    "drums": "drums",
    "guitar": "guitar",
    "piano": "piano",
    "organ": "piano",
    "strings": "strings",
    "brass": "strings",
    "woodwinds": "strings",
    "voice": "strings",
    "alto": "strings",
    "tenor": "strings",
    "bridge": "strings",
    "melody": "strings",  # a synth lead or a second vocal that is not the chosen melody
}
VOCAL_NAME = re.compile(r"vocal|voice|\bvox\b|melod|\bsing")
NOT_VOCAL_NAME = re.compile(r"ooh|aah|choir|chorus|backing|\bbgv?\b|harmon")
LEAD_NAME = re.compile(r"\blead\b")
#: GM programs that usually carry a tune: choir/voice 52-54, trumpet 56, reeds and pipes 64-79, leads 80-87,
#: harmonica 22.
MELODIC_PROGRAMS = frozenset({22, 52, 53, 54, 56, *range(64, 88)})
MIN_NAMED_COVERAGE = 0.1
MIN_COVERAGE = 0.2
MIN_MONOPHONY = 0.8
PITCH_RANGE = (55, 84)


def plan(source_root: Path | None) -> SourcePlan:
    """Every ``mid/<album>/<track>.v<k>.mid`` under the Beatles source folder."""
    if source_root is None:
        raise MuseforgeError("rock needs a source folder (--source DIR)")
    folders = source_dirs("rock", source_root)
    folder = folders.get("beatles_lmd_midi_ground_truth")
    if folder is None:
        raise MuseforgeError(f"no rock/beatles_lmd_midi_ground_truth folder under {source_root}")
    refs = []
    for path in sorted((folder / "mid").glob("*/*.mid")):
        name = f"{path.parent.name}/{path.stem}"
        group = re.sub(r"\.v\d+$", "", name)
        refs.append(SongRef(name, group, None, str(path)))
    return SourcePlan(
        root=str(source_root),
        refs=refs,
        checksums=checksums({"beatles_lmd_midi_ground_truth": folder}),
        tracks=TRACKS,
        one_version_in_eval=True,
        notes=[
            "Melody: a track named vocal/voice/vox/melody/sing, else one named lead, else the longest-sounding "
            "mostly monophonic non-bass track in MIDI 55-84 (voice, reed, pipe, lead, harmonica and trumpet "
            "programs preferred); cut to its top note. Split by song (album/track) with all versions of a "
            "training song in train and one version per song in valid and test. Groove MIDI rock drums unused: "
            "files without drums keep a silent drums track.",
        ],
    )


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One transcription as melody, bass, drums, guitar, piano and strings."""
    multitrack = read_midi(ref.payload, resolution)
    melody = choose_melody(multitrack)
    if melody is None:
        raise SkipSong("no melody")
    groups: dict[str, list[int]] = {t.role: [] for t in TRACKS[1:]}
    for i, role in enumerate(multitrack.roles):
        if i == melody:
            continue
        if multitrack.is_drum[i]:
            groups["drums"].append(i)
            continue
        band = BAND_ROLES.get(role)
        if band is None and role not in ("other", "timpani"):
            band = BAND_ROLES.get(role_from_program(multitrack.programs[i], False))
        if band is not None:
            groups[band].append(i)
    layout = [("melody", "Melody", [melody], False)]
    layout += [(t.role, t.name, groups[t.role], t.is_drum) for t in TRACKS[1:]]
    return merge_tracks(multitrack, layout)


def choose_melody(multitrack: Multitrack) -> int | None:
    """Index of the track that carries the tune (see the module docstring), or None."""
    sounding = multitrack.rolls > 0  # (tracks, time, 128)
    song_steps = max(1, int(sounding.any(axis=(0, 2)).sum()))
    candidates = [i for i in range(multitrack.n_tracks) if not multitrack.is_drum[i] and multitrack.roles[i] != "bass"]
    coverage = {i: float(sounding[i].any(axis=1).sum()) / song_steps for i in candidates}

    def best(indices: list[int], minimum: float) -> int | None:
        indices = [i for i in indices if coverage[i] >= minimum]
        return max(indices, key=lambda i: coverage[i]) if indices else None

    names = {i: multitrack.names[i].lower() for i in candidates}
    vocal = [i for i in candidates if VOCAL_NAME.search(names[i]) and not NOT_VOCAL_NAME.search(names[i])]
    lead = [i for i in candidates if LEAD_NAME.search(names[i]) and i not in vocal]
    for tier in (vocal, lead):
        choice = best(tier, MIN_NAMED_COVERAGE)
        if choice is not None:
            return choice

    scores: dict[int, float] = {}
    for i in candidates:
        if multitrack.programs[i] // 8 == 4 or coverage[i] < MIN_COVERAGE:
            continue
        per_step = sounding[i].sum(axis=1)
        active = per_step > 0
        monophony = float((per_step[active] == 1).mean())
        pitches = np.nonzero(sounding[i])[1]
        mean_pitch = float(pitches.mean())
        if monophony < MIN_MONOPHONY or not PITCH_RANGE[0] <= mean_pitch <= PITCH_RANGE[1]:
            continue
        scores[i] = coverage[i] * (1.5 if multitrack.programs[i] in MELODIC_PROGRAMS else 1.0)
    return max(scores, key=lambda i: scores[i]) if scores else None
