"""Jazz: OpenBook real-book lead sheets (melody, block chords, walking bass) with Groove MIDI jazz drums.

Roles come from the track names, not the programs: "Melody:Voice" is the melody, "Chords:" the piano, "Walking
Bass (auto)" the bass; a lead sheet without a melody track (Cheek to Cheek) is skipped. 4/4 and 2/2 tunes are
used (2/2 bars are four beats long); 3/4, 6/8 and 5/4 tunes are skipped by meter.

The MIDI files put their time signature at time 0 even when the tune opens with a pickup, while the walking bass
(written by a program from the chords) starts on the first full bar: bar lines are therefore placed every bar
from the first bass note (when it falls on a beat), and the pickup before it is not a bar.

The lead sheets have no drums. So that the model learns a whole band, every lead-sheet window is paired with a
drum part: the Groove MIDI Dataset's jazz *beat* performances in 4/4 (human drummers; fills are left out) are
cut into all their ``n_bars``-bar segments (hop one bar; a beat shorter than that is looped) with drums in every
bar, and each window draws one segment at random (seeded, so builds repeat) from the grooves of its own split
(Groove's train/validation/test = our train/valid/test). The drums are independent of the tune they are paired
with, which the manifest notes say. Without the Groove folder the dataset has no drums track.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from museforge.datasets.build import SourcePlan, TrackSpec, checksums, source_dirs
from museforge.datasets.cache import SplitData
from museforge.datasets.windows import BEATS_PER_BAR, SkipSong, SongRef, merge_tracks
from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack

DEFAULT_RESOLUTION = 12
DEFAULT_HOP_BARS = 1
TRACKS = [TrackSpec("melody", "Melody"), TrackSpec("piano", "Piano"), TrackSpec("bass", "Bass")]
DRUMS = {"role": "drums", "name": "Drums", "program": 0, "is_drum": True}
#: Seed of the random pairing of lead-sheet windows with drum segments.
DRUM_SEED = 1234
GROOVE_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


def plan(source_root: Path | None) -> SourcePlan:
    """The lead sheets under ``jazz/openbook_realbook_with_bass`` (and the Groove drums folder, if present)."""
    if source_root is None:
        raise MuseforgeError("jazz needs a source folder (--source DIR)")
    folders = source_dirs("jazz", source_root)
    folder = folders.get("openbook_realbook_with_bass")
    if folder is None:
        raise MuseforgeError(f"no jazz/openbook_realbook_with_bass folder under {source_root}")
    refs = [SongRef(p.stem, p.stem, None, str(p)) for p in sorted((folder / "midis_with_bass").glob("*.mid"))]
    groove = folders.get("groove_midi_drums_gmd")
    return SourcePlan(
        root=str(source_root),
        refs=refs,
        checksums=checksums(folders),
        tracks=TRACKS,
        notes=[
            "Roles by track name (Melody:Voice, Chords:, Walking Bass (auto)); 4/4 and 2/2 tunes; bar lines from "
            "the first walking-bass note, so a pickup is not a bar; split by a hash of the tune (80/10/10)."
        ],
        context={"groove": groove},
    )


def read_song(ref: SongRef, resolution: int) -> Multitrack:
    """One lead sheet as melody, piano (the chords) and bass, bar lines from the walking bass."""
    multitrack = read_midi(ref.payload, resolution)
    names = [n.strip().lower() for n in multitrack.names]
    melody = [i for i, n in enumerate(names) if n.startswith("melody")]
    chords = [i for i, n in enumerate(names) if n.startswith("chords")]
    bass = [i for i, n in enumerate(names) if "bass" in n]
    if not melody:
        raise SkipSong("no melody")
    layout = [("melody", "Melody", melody, False), ("piano", "Piano", chords, False), ("bass", "Bass", bass, False)]
    merged = merge_tracks(multitrack, layout)
    merged.downbeats = _bar_lines(merged)
    return merged


def _bar_lines(multitrack: Multitrack) -> np.ndarray:
    """Downbeats every bar from the first bass note (if it is on a beat and the tune has one meter)."""
    downbeats = np.asarray(multitrack.downbeats)
    if len(multitrack.time_signatures) != 1:
        return downbeats
    _, num, den = multitrack.time_signatures[0]
    bar = round(num * 4 * multitrack.resolution / den)
    onsets = np.flatnonzero(multitrack.onsets[2].any(axis=1))
    if not len(onsets) or onsets[0] % multitrack.resolution:
        return downbeats
    return np.arange(int(onsets[0]) % bar, multitrack.n_steps, bar, dtype=np.int64)


def finalize(
    splits: dict[str, SplitData], plan: SourcePlan, tracks: list[dict], resolution: int, n_bars: int
) -> list[dict]:
    """Add a drums track to every window, drawn from the Groove jazz beats of the same split."""
    groove: Path | None = plan.context.get("groove")
    pools = drum_segments(groove, resolution, n_bars) if groove is not None else {}
    if "train" not in pools:
        plan.notes.append("No Groove MIDI jazz drums found: the dataset has no drums track.")
        plan.checksums.pop("groove_midi_drums_gmd", None)
        return tracks
    rng = np.random.default_rng(DRUM_SEED)
    for split, data in splits.items():
        pool = pools.get(split)
        if pool is None or not len(pool):
            pool = pools["train"]
        drums = pool[rng.integers(len(pool), size=len(data.song))]  # (N, T, 84)
        data.packed = np.concatenate([data.packed, np.packbits(drums, axis=-1)[:, None]], axis=1)
    counts = ", ".join(f"{s} {len(pools.get(s, []))}" for s in ("train", "valid", "test"))
    plan.notes.append(
        f"Drums: Groove MIDI jazz beats (4/4, fills left out) cut into {n_bars}-bar segments with drums in every "
        f"bar ({counts} segments), each lead-sheet window paired with one at random (seed {DRUM_SEED}) from its own "
        "split; the drums are not played with the tune they are paired with."
    )
    return [*tracks, dict(DRUMS)]


def drum_segments(groove: Path, resolution: int, n_bars: int) -> dict[str, np.ndarray]:
    """The ``n_bars``-bar drum segments of the Groove jazz beats, by our split name.

    Returns ``{split: bool array (segments, n_bars * 4 * resolution, 84)}``.
    """
    try:
        rows = json.loads((groove / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MuseforgeError(f"cannot read {groove / 'info.json'}: {error}") from None
    steps_per_bar = BEATS_PER_BAR * resolution
    pools: dict[str, list[np.ndarray]] = {}
    for row in rows:
        if row.get("beat_type") != "beat" or row.get("time_signature") != "4-4":
            continue
        split = GROOVE_SPLITS.get(row.get("split", ""), "train")
        try:
            multitrack = read_midi(groove / row["midi_filename"], resolution)
        except MuseforgeError:
            continue
        drums = [i for i in range(multitrack.n_tracks) if multitrack.is_drum[i]]
        if not drums:
            continue
        roll = np.any(multitrack.binarized()[drums], axis=0)  # (T, 84)
        n_full = -(-len(roll) // steps_per_bar)
        roll = np.concatenate([roll, np.zeros((n_full * steps_per_bar - len(roll), roll.shape[1]), bool)])
        bars = roll.reshape(n_full, steps_per_bar, -1)
        if n_full < n_bars:
            bars = np.concatenate([bars] * (-(-n_bars // n_full)))[:n_bars]
        for start in range(len(bars) - n_bars + 1):
            segment = bars[start : start + n_bars]
            if segment.any(axis=(1, 2)).all():
                pools.setdefault(split, []).append(segment.reshape(n_bars * steps_per_bar, -1))
    return {split: np.stack(segments) for split, segments in pools.items()}
