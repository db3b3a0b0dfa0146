"""Bach chorales: four voices, soprano (the melody), alto, tenor and bass.

Two sources:

* no source root: the chorales bundled with music21 (``music21.corpus.chorales.Iterator``, offline), read
  with :func:`museforge.music.score.read_score`. Bar lines come from the scores' measures (a pickup is not a
  bar); chorales in 3/4 or another meter keep it (each window has its meter; a network that cannot read the
  meter trains on the 4/4 windows only).
  Splits are decided by a hash of the chorale's corpus name.
* a source root: ``bach/jsb_chorales_czhuang/Jsb16thSeparated.json`` (JSB Chorales, Boulanger-Lewandowski split of
  229/76/77, kept; the JSON twin of the upstream ``.npz``, read instead because the npz holds pickled object
  arrays and museforge never unpickles a file). Each chorale is a list (16ths, 4) of SATB MIDI pitches with -1
  for rests. The
  source has no meter: each chorale takes the meter of its match among music21's chorales
  (:mod:`museforge.datasets.jsb_meters`; 4/4 where none matches), with bar lines placed so that it *ends* on a bar
  line (148 of the 229 training chorales open with a one-beat pickup). It does not tell held from repeated notes, so
  equal consecutive pitches are merged into one note.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums
from museforge.datasets.jsb_meters import chorale_meters, jsb_json
from museforge.datasets.windows import SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.meter import bar_steps
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.music.score import read_score

DEFAULT_RESOLUTION = 4
DEFAULT_HOP_BARS = 1
#: Steps per quarter-note beat in the source (a 16th-note grid).
SOURCE_RESOLUTION = 4
VOICES = ("Soprano", "Alto", "Tenor", "Bass")
ROLES = ("melody", "alto", "tenor", "bass")
#: Choir Aahs for every voice, as in the SATB MIDI files derived from the same data.
PROGRAM = 52
TEMPO = 100.0
TRACKS = [TrackSpec(role, name) for role, name in zip(ROLES, VOICES, strict=True)]
PROGRAMS = dict.fromkeys(ROLES, PROGRAM)


def plan(source_root: Path | None) -> SourcePlan:
    """The chorales to read: music21's corpus when ``source_root`` is None, else the JSB JSON under it."""
    if source_root is None:
        import music21
        from music21 import corpus

        names = list(corpus.chorales.Iterator(returnType="filename"))
        refs = [SongRef(name, name, None, ("corpus", name)) for name in names]
        return SourcePlan(
            root="music21 corpus (bundled Bach chorales)",
            refs=refs,
            checksums={"music21_corpus_chorales": f"music21 {music21.__version__}"},
            tracks=TRACKS,
            programs=PROGRAMS,
            notes=[
                "music21's bundled chorales; bar lines from the scores' measures, pickups not counted as bars; "
                "chorales in 3/4 (or another meter) keep their meter; split by a hash of the corpus name "
                "(80/10/10)."
            ],
        )
    path = jsb_json(source_root)
    meters = chorale_meters(path)
    try:
        data = json.loads(path.read_text())
        arrays = {split: list(data[split]) for split in ("train", "valid", "test")}
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise MuseforgeError(f"{path} is not the JSB chorales JSON ({error})") from None
    by_split = [
        [
            SongRef(
                f"jsb_{split}_{i}",
                f"jsb_{split}_{i}",
                split,
                ("jsb", (np.asarray(a, np.float32), meters.get(f"{split}/{i}", (4, 4)))),
            )
            for i, a in enumerate(chorales)
        ]
        for split, chorales in arrays.items()
    ]
    # Interleave the splits (train, valid, test, train, ...) so that a small ``limit`` still reaches all three.
    order = [group[i] for i in range(max(map(len, by_split))) for group in by_split if i < len(group)]
    return SourcePlan(
        root=str(source_root),
        refs=order,
        checksums=checksums({"jsb_chorales_czhuang": path.parent}),
        tracks=TRACKS,
        programs=PROGRAMS,
        notes=[
            "JSB Chorales (JSON) with its own 229/76/77 split; each chorale's meter from its match among music21's "
            f"chorales ({len(meters)} not in 4/4, the rest read as 4/4; "
            "museforge.datasets.jsb_meters), bar lines placed so each chorale ends on a bar line (a leading partial "
            "bar is a pickup); equal consecutive 16th-note pitches merged into one note."
        ],
    )


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One chorale as 4 tracks (soprano, alto, tenor, bass) on ``resolution`` steps per beat."""
    kind, data = ref.payload
    if kind == "jsb":
        voices, meter = data
        return chorale_from_array(voices, resolution, meter)
    from music21 import corpus

    score = corpus.parse(data)
    multitrack = read_score(score, resolution)
    voices = _voice_tracks(multitrack.names)
    if voices is None:
        raise SkipSong("no soprano, alto, tenor and bass parts")
    layout = [(role, name, [index], False) for role, name, index in zip(ROLES, VOICES, voices, strict=True)]
    merged = merge_tracks(multitrack, layout, PROGRAMS)
    merged.programs = [PROGRAM] * 4
    return merged


def _voice_tracks(names: list[str]) -> list[int] | None:
    """Indices of the soprano, alto, tenor and bass parts by name (first match), or the only 4 parts in order."""
    lowered = [n.lower().strip() for n in names]
    found: list[int] = []
    for voice in VOICES:
        match = next((i for i, n in enumerate(lowered) if n.split(" ")[0] == voice.lower()), None)
        if match is None:
            break
        found.append(match)
    if len(found) == 4:
        return found
    return [0, 1, 2, 3] if len(names) == 4 else None


def chorale_from_array(
    voices: np.ndarray, resolution: int = SOURCE_RESOLUTION, meter: tuple[int, int] = (4, 4)
) -> Multitrack:
    """A JSB chorale array as a multitrack.

    Parameters
    ----------
    voices : np.ndarray, shape (16ths, 4), float
        SATB MIDI pitches per 16th note; NaN or a negative value is a rest.
    resolution : steps per beat, a multiple of 4.
    meter : (numerator, denominator)
        The chorale's time signature (the source has none: :mod:`museforge.datasets.jsb_meters`).

    Returns
    -------
    Multitrack
        4 tracks in ``meter``, ``downbeats`` a bar apart counted back from the end (a leading partial bar is a
        pickup, not a bar); equal consecutive pitches are one note.
    """
    if resolution % SOURCE_RESOLUTION:
        raise MuseforgeError(
            f"the JSB chorales are on a 16th-note grid: resolution must be a multiple of 4, got {resolution}"
        )
    factor = resolution // SOURCE_RESOLUTION
    voices = np.asarray(voices, dtype=np.float64)
    if voices.ndim != 2 or voices.shape[1] != 4 or len(voices) == 0:
        raise MuseforgeError(f"a JSB chorale must be an array of shape (steps, 4), got {voices.shape}")
    pitches = np.where(np.isfinite(voices) & (voices >= 0), np.rint(np.nan_to_num(voices, nan=-1)), -1).astype(int)
    tracks = []
    for v, (role, name) in enumerate(zip(ROLES, VOICES, strict=True)):
        notes = []
        column = pitches[:, v]
        start = 0
        for step in range(1, len(column) + 1):
            if step == len(column) or column[step] != column[start]:
                if column[start] >= 0:
                    notes.append((int(column[start]), start * factor, step * factor, 90))
                start = step
        tracks.append(TrackNotes(name, role, PROGRAM, False, notes))
    n_steps = len(voices) * factor
    multitrack = Multitrack.from_notes(tracks, resolution, tempo=TEMPO, n_steps=n_steps)
    multitrack.time_signatures = [(0, *meter)]
    bar = bar_steps(*meter, resolution)
    multitrack.downbeats = np.arange(n_steps % bar, n_steps, bar, dtype=np.int64)
    return multitrack
