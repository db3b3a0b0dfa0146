"""POP909: Chinese pop songs arranged for piano, three tracks: MELODY (the melody), BRIDGE and PIANO.

The MIDI files' own tempo grid drifts from the music and most carry a wrong 1/4 time signature, so notes are
placed by the beat annotations of ``beat_midi.json`` (rows ``[seconds, 2-beat downbeat, 4-beat downbeat]``, one
row per quarter-note beat) and bar lines are the rows whose third column is 1. Songs whose annotations count 3
beats a bar are 3/4, their bar lines the rows whose second column is 1; songs ``index.json`` calls compound (3
quavers a beat, 6/8: the rows are dotted quarters, not quarters) are skipped by meter; ``index.json`` is optional
(a download does not rebuild it). Bars of another length than their meter's inside a song (phrase irregularities in
the annotations) break the run of bars. Splits: a hash of the song id (80/10/10).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums, source_dirs
from museforge.datasets.windows import SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack

DEFAULT_RESOLUTION = 12
DEFAULT_HOP_BARS = 2
TRACKS = [TrackSpec("melody", "Melody"), TrackSpec("bridge", "Bridge"), TrackSpec("piano", "Piano")]
SOURCE_NAMES = {"melody": "MELODY", "bridge": "BRIDGE", "piano": "PIANO"}


def plan(source_root: Path | None) -> SourcePlan:
    """The POP909 songs under ``source_root`` with their beat annotations."""
    if source_root is None:
        raise MuseforgeError("pop needs a source folder (--source DIR)")
    folders = source_dirs("pop", source_root)
    folder = folders.get("pop909")
    if folder is None:
        raise MuseforgeError(f"no pop/pop909 folder under {source_root}")
    beats_path = folder / "beat_midi.json"
    try:
        beats = json.loads(beats_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MuseforgeError(f"cannot read the POP909 beat annotations {beats_path}: {error}") from None
    meters: dict[str, tuple[int, int]] = {}
    index_path = folder / "index.json"
    if index_path.is_file():
        try:
            for row in json.loads(index_path.read_text(encoding="utf-8")):
                meters[str(row["song_id"])] = (int(row["num_beats_per_measure"]), int(row["num_quavers_per_beat"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise MuseforgeError(f"cannot read {index_path}: {error}") from None
    refs = []
    for song_dir in sorted(p for p in (folder / "POP909").glob("*") if p.is_dir()):
        song_id = song_dir.name
        midi = song_dir / f"{song_id}.mid"
        if midi.is_file():
            rows = np.asarray(beats.get(song_id, []), dtype=np.float64).reshape(-1, 3)
            refs.append(SongRef(song_id, song_id, None, (str(midi), rows, meters.get(song_id))))
    return SourcePlan(
        root=str(source_root),
        refs=refs,
        checksums=checksums({"pop909": folder}),
        tracks=TRACKS,
        notes=[
            "Notes placed by the beat_midi.json beat times and bar lines taken from its 4-beat downbeat column, "
            "not from the MIDI tempo grid or time signature; songs with 3 beats a bar (annotations) in 3/4, "
            "bar lines from its 2-beat column; songs with 3 quavers a beat (index.json) skipped; split by a hash "
            "of the song id (80/10/10)."
        ],
    )


def meter_reason(rows: np.ndarray, meter: tuple[int, int] | None) -> str | None:
    """Why a song is not in 4-beat bars (``"meter 3/4"``, ``"meter 6/8"``), or None when it is.

    ``rows`` (beats, 3) are the song's beat annotations; ``meter`` is ``(beats per measure, quavers per beat)``
    from ``index.json`` when known.
    """
    if meter is not None:
        beats, quavers = meter
        if quavers == 3:
            return f"meter {3 * beats}/8"
        if beats not in (2, 4):
            return f"meter {beats}/4"
    downbeats = np.flatnonzero(rows[:, 1] == 1)
    gaps = np.diff(downbeats)
    if len(gaps):
        values, counts = np.unique(gaps, return_counts=True)
        measure = int(values[np.argmax(counts)])
        if measure not in (2, 4):
            return f"meter {measure}/4"
    return None


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One song as melody, bridge and piano, placed on the annotated beats."""
    path, rows, meter = ref.payload
    if len(rows) < 8 or not (rows[:, 2] == 1).any():
        raise SkipSong("no beat annotations")
    reason = meter_reason(rows, meter)
    if reason == "meter 3/4":  # quarter-note beats, a bar line every 3 (the 2-beat column marks them)
        multitrack = read_midi(path, resolution, beat_times=rows[:, 0], downbeat_times=rows[rows[:, 1] == 1, 0])
        multitrack.time_signatures = [(0, 3, 4)]
    elif reason:
        raise SkipSong(reason)
    else:
        multitrack = read_midi(path, resolution, beat_times=rows[:, 0], downbeat_times=rows[rows[:, 2] == 1, 0])
    names = [n.strip().upper() for n in multitrack.names]
    layout = []
    for track in TRACKS:
        sources = [i for i, n in enumerate(names) if n == SOURCE_NAMES[track.role]]
        layout.append((track.role, track.name, sources, False))
    if not layout[0][2]:
        raise SkipSong("no melody")
    return merge_tracks(multitrack, layout)
