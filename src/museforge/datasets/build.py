"""Build a genre's training windows from its source folder and save them as a cache.

``build_dataset("pop", Path("../shared/datasets"))`` asks the genre's reader (``museforge.datasets.<genre>``) for
its songs, reads them (in two worker processes when there are many), cuts each into windows of 4-beat bars
(:mod:`museforge.datasets.windows`), splits them by song and writes ``manifest.json`` and ``windows.npz``
(:mod:`museforge.datasets.cache`).

A genre reader is a module with ``DEFAULT_RESOLUTION``, ``DEFAULT_HOP_BARS``, ``plan(source_root) ->
SourcePlan`` and ``read_song(ref, resolution) -> Multitrack`` (tracks in the plan's order, track 0 the melody),
and optionally ``finalize(splits, plan, resolution, n_bars) -> list[TrackSpec]`` to change the tracks after all
songs are cut (jazz adds its drums there).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from museforge.datasets.cache import FORMAT_VERSION, SPLITS, SplitData, write_cache
from museforge.datasets.sources import get_genre, local_source_dir, source_checksum
from museforge.datasets.windows import SkipSong, SongRef, song_windows
from museforge.errors import MuseforgeError
from museforge.music.pianoroll import LOWEST_PITCH, N_PITCHES
from museforge.music.tracks import program_for_role
from museforge.paths import downloads_dir
from museforge.pretrained import pretrained_card_path

#: Fractions of songs in train and valid when a hash of the song decides (the rest is test).
SPLIT_FRACTIONS = (0.8, 0.1)
#: Transposition range (semitones, both ends included) the loader applies to pitched tracks while training.
AUGMENTATION = (-5, 6)
#: Below this many songs, reading stays in this process (starting workers costs more than it saves).
PARALLEL_MIN_SONGS = 16
WORKERS = 2

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TrackSpec:
    """One track of a dataset: its role, its name, and whether it is a drum track."""

    role: str
    name: str
    is_drum: bool = False


@dataclass
class SourcePlan:
    """What a genre reader found in a source root: the songs to read and how to describe the source.

    ``root`` is written to the manifest; ``checksums`` maps each source id used to its
    :func:`~museforge.datasets.sources.source_checksum`; ``tracks`` is the output track order (track 0 is the
    melody); ``programs`` gives fallback GM programs by role; ``section_programs`` gives the GM program of roles
    merged from several instruments (a section plays in the range of its ensemble program, not in the range of
    its most frequent instrument); ``notes`` are sentences for the manifest;
    ``one_version_in_eval`` keeps one file per song ``group`` in valid and test; ``context`` is free for the
    reader's ``finalize``.
    """

    root: str
    refs: list[SongRef]
    checksums: dict[str, str]
    tracks: list[TrackSpec]
    programs: dict[str, int] = field(default_factory=dict)
    section_programs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    one_version_in_eval: bool = False
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class _SongResult:
    name: str
    group: str
    split: str | None
    packed: np.ndarray | None = None  # (N, tracks, T, 11) uint8
    bars: np.ndarray | None = None
    starts: np.ndarray | None = None
    meters: np.ndarray | None = None  # (N, 2) int16
    reason: str | None = None
    error: str | None = None
    skipped_bars: Counter = field(default_factory=Counter)
    dropped: int = 0
    programs: list[tuple[int, int, int]] = field(default_factory=list)  # (track, program, notes)


# ------------------------------------------------------------------------------------------------- helpers
def source_dirs(genre: str, source_root: Path) -> dict[str, Path]:
    """The genre's source folders present under ``source_root``, by source id.

    Raises :class:`~museforge.errors.NotFoundError` (with how to get the data) when there is none.
    """
    genre_dir = local_source_dir(genre, source_root)
    found = {}
    for source in get_genre(genre).sources:
        folder = genre_dir.parent / source.subdirectory
        if folder.is_dir():
            found[source.id] = folder
    return found


def checksums(folders: dict[str, Path]) -> dict[str, str]:
    """:func:`source_checksum` of each folder, by source id."""
    return {source_id: source_checksum(folder) for source_id, folder in folders.items()}


def hash_split(key: str, fractions: tuple[float, float] = SPLIT_FRACTIONS) -> str:
    """``train``, ``valid`` or ``test`` for a song, from the sha1 of its key: stable across runs and machines."""
    value = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    if value < fractions[0]:
        return "train"
    return "valid" if value < fractions[0] + fractions[1] else "test"


def _reader(genre: str) -> ModuleType:
    return importlib.import_module(f"museforge.datasets.{genre}")


def _read_one(genre: str, ref: SongRef, resolution: int, n_bars: int, hop_bars: int) -> _SongResult:
    """Read and cut one song (runs in a worker process); never raises for a bad song."""
    result = _SongResult(ref.name, ref.group, ref.split)
    try:
        multitrack = _reader(genre).read_song(ref, resolution)
        cut = song_windows(multitrack, n_bars, hop_bars)
    except SkipSong as skip:
        result.reason = skip.reason
        return result
    except MuseforgeError as error:
        result.reason, result.error = "unreadable", f"{ref.name}: {error}"
        return result
    except Exception as error:  # a parser failing on one odd file must not stop the build
        result.reason, result.error = "unreadable", f"{ref.name}: {type(error).__name__}: {error}"
        return result
    result.packed = np.packbits(cut.windows, axis=-1)
    result.bars = cut.bars
    result.starts = cut.starts
    result.meters = cut.meters
    result.skipped_bars = cut.skipped_bars
    result.dropped = cut.dropped
    notes = multitrack.onsets.sum(axis=(1, 2))
    result.programs = [(i, int(multitrack.programs[i]), int(notes[i])) for i in range(multitrack.n_tracks)]
    return result


def _progress_callback(progress: bool | Progress | None, genre: str) -> Progress | None:
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    state = {"shown": -1}

    def show(done: int, total: int, name: str) -> None:
        percent = 100 * done // max(total, 1)
        if percent // 10 != state["shown"] or done == total:
            state["shown"] = percent // 10
            print(f"reading {genre}: {done}/{total} songs", file=sys.stderr, flush=True)

    return show


def _read_all(
    genre: str, refs: list[SongRef], resolution: int, n_bars: int, hop_bars: int, progress: Progress | None
) -> list[_SongResult]:
    results: list[_SongResult | None] = [None] * len(refs)
    workers = min(WORKERS, os.cpu_count() or 1)
    if len(refs) < PARALLEL_MIN_SONGS or workers < 2:
        for i, ref in enumerate(refs):
            results[i] = _read_one(genre, ref, resolution, n_bars, hop_bars)
            if progress:
                progress(i + 1, len(refs), ref.name)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = pool.map(
                _read_one,
                [genre] * len(refs),
                refs,
                [resolution] * len(refs),
                [n_bars] * len(refs),
                [hop_bars] * len(refs),
                chunksize=4,
            )
            for i, result in enumerate(done):
                results[i] = result
                if progress:
                    progress(i + 1, len(refs), refs[i].name)
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------------------------------- build
def model_resolution(genre: str) -> int:
    """Steps per beat that the genre's models need: the shipped model's grid (4: a 16th-note grid, for every
    shipped genre model), else the genre reader's own default. ``museforge datasets build``, the studio and
    :func:`build_for_models` build at this resolution, so a dataset built the default way evaluates and trains
    the genre's models without a mismatch."""
    import json

    spec = get_genre(genre)
    card = pretrained_card_path(spec.name)
    if card is not None:
        try:
            return int(json.loads(card.read_text())["data"]["resolution"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return int(_reader(spec.name).DEFAULT_RESOLUTION)


def build_for_models(
    genre: str,
    source_root: Path | None = None,
    *,
    limit: int | None = None,
    progress: bool | Progress | None = None,
) -> dict:
    """Build ``genre``'s dataset at the resolution its models need (:func:`model_resolution`), 4-bar windows.

    ``progress`` is called as ``(done, total, song name)`` after each song is read (True: lines on stderr).
    Returns the manifest, as :func:`build_dataset` does.
    """
    return build_dataset(genre, source_root, resolution=model_resolution(genre), limit=limit, progress=progress)


def build_dataset(
    genre: str,
    source_root: Path | None = None,
    *,
    resolution: int | None = None,
    n_bars: int = 4,
    hop_bars: int | None = None,
    limit: int | None = None,
    progress: bool | Progress | None = None,
) -> dict:
    """Build (or rebuild) a genre's training windows and save them under ``datasets_dir()/<genre>``.

    Parameters
    ----------
    genre : one of :data:`~museforge.datasets.sources.GENRES`.
    source_root : a folder laid out like ``../shared/datasets`` (or the genre folder in it). None: bach reads
        music21's bundled chorales; the other genres read :func:`~museforge.paths.downloads_dir`.
    resolution : steps per quarter-note beat (default 4 for bach, 12 for the others).
    n_bars : bars of four beats per window.
    hop_bars : bars between window starts (default per genre, at most ``n_bars``).
    limit : read at most this many songs (for quick tests).
    progress : True prints a line to stderr every 10 %; a callable gets ``(done, total, song name)``.

    Returns
    -------
    dict
        The manifest written next to the windows (see :mod:`museforge.datasets.cache`).

    Raises
    ------
    MuseforgeError
        Bad arguments, a missing source, or no usable song. The previous cache is then left as it was.
    """

    started = time.perf_counter()
    spec = get_genre(genre)
    reader = _reader(spec.name)
    resolution = int(resolution or reader.DEFAULT_RESOLUTION)
    if resolution < 1 or n_bars < 1 or (hop_bars is not None and hop_bars < 1) or (limit is not None and limit < 1):
        raise MuseforgeError("resolution, n_bars, hop_bars and limit must be positive")
    hop = int(hop_bars or min(reader.DEFAULT_HOP_BARS, n_bars))
    if source_root is None and spec.name != "bach":
        source_root = downloads_dir()
    plan: SourcePlan = reader.plan(Path(source_root).expanduser() if source_root is not None else None)
    refs = plan.refs[:limit] if limit else plan.refs
    if not refs:
        raise MuseforgeError(f"no {spec.name} songs found in {plan.root}")

    results = _read_all(spec.name, refs, resolution, n_bars, hop, _progress_callback(progress, spec.name))
    skipped: Counter = Counter()
    skipped_bars: Counter = Counter()
    dropped = 0
    errors: list[str] = []
    by_split: dict[str, list[_SongResult]] = {s: [] for s in SPLITS}
    eval_groups: set[tuple[str, str]] = set()
    for result in results:
        if result.packed is None:
            skipped[result.reason or "unknown"] += 1
            if result.error and len(errors) < 10:
                errors.append(result.error)
            continue
        split = result.split or hash_split(result.group)
        if plan.one_version_in_eval and split != "train":
            if (split, result.group) in eval_groups:
                skipped["another version of a valid/test song"] += 1
                continue
            eval_groups.add((split, result.group))
        dropped += result.dropped
        skipped_bars.update(result.skipped_bars)
        by_split[split].append(result)
    if not any(by_split.values()):
        reasons = ", ".join(f"{reason} ({n})" for reason, n in skipped.most_common())
        raise MuseforgeError(f"no usable {spec.name} songs in {plan.root} (skipped: {reasons or 'none'})")

    tracks = plan.tracks
    steps = n_bars * 4 * resolution
    splits = {s: _assemble(by_split[s], len(tracks), steps) for s in SPLITS}
    votes: dict[int, Counter] = {i: Counter() for i in range(len(tracks))}
    for result in (r for s in SPLITS for r in by_split[s]):
        for index, program, notes in result.programs:
            votes[index][program] += notes
    programs = [
        plan.section_programs[t.role]
        if t.role in plan.section_programs
        else votes[i].most_common(1)[0][0]
        if sum(votes[i].values())
        else plan.programs.get(t.role, program_for_role(t.role))
        for i, t in enumerate(tracks)
    ]
    track_entries = [
        {"role": t.role, "name": t.name, "program": int(p), "is_drum": t.is_drum}
        for t, p in zip(tracks, programs, strict=True)
    ]
    if hasattr(reader, "finalize"):
        track_entries = reader.finalize(splits, plan, track_entries, resolution, n_bars)

    manifest = {
        "genre": spec.name,
        "format_version": FORMAT_VERSION,
        "resolution": resolution,
        "n_bars": n_bars,
        "beats_per_bar": 4,
        "steps_per_bar": 4 * resolution,
        "steps_per_window": steps,
        "lowest_pitch": LOWEST_PITCH,
        "n_pitches": N_PITCHES,
        "storage": {"packbits_axis": -1, "packed_size": (N_PITCHES + 7) // 8},
        "tracks": track_entries,
        "melody_track": 0,
        "accompaniment_tracks": list(range(1, len(track_entries))),
        "splits": {s: {"windows": len(splits[s].song), "songs": len(splits[s].songs)} for s in SPLITS},
        "meters": meter_counts(splits),
        "songs": {s: splits[s].songs for s in SPLITS},
        "hop_bars": hop,
        "augmentation": list(AUGMENTATION),
        "source": {"root": plan.root, "checksum": plan.checksums},
        "skipped": dict(skipped.most_common()),
        "skipped_bars": dict(skipped_bars.most_common()),
        "dropped_windows": {"melody silent in more than half of the bars": dropped},
        "notes": plan.notes,
        "errors": errors,
        "limit": limit,
        "build_seconds": 0.0,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest["build_seconds"] = round(time.perf_counter() - started, 2)
    write_cache(spec.name, manifest, splits)
    return manifest


def meter_counts(splits: dict[str, SplitData]) -> dict[str, int]:
    """Windows per meter over all splits, most first: ``{"4/4": 21000, "3/4": 900, ...}``."""
    counts: Counter = Counter()
    for data in splits.values():
        counts.update(f"{int(n)}/{int(d)}" for n, d in data.meters)
    return dict(counts.most_common())


def _assemble(results: list[_SongResult], n_tracks: int, steps: int) -> SplitData:
    """Concatenate songs' packed windows into one split."""
    packed_size = (N_PITCHES + 7) // 8
    used = [r for r in results if r.packed is not None and r.bars is not None and r.starts is not None]
    if not used:
        empty = np.zeros(0, dtype=np.int32)
        meters = np.zeros((0, 2), dtype=np.int16)
        return SplitData(np.zeros((0, n_tracks, steps, packed_size), np.uint8), empty, empty, empty, [], meters)
    packs = [r.packed for r in used if r.packed is not None]
    return SplitData(
        packed=np.concatenate(packs),
        song=np.concatenate([np.full(len(p), i, dtype=np.int32) for i, p in enumerate(packs)]),
        bar=np.concatenate([r.bars for r in used]).astype(np.int32),
        start=np.concatenate([r.starts for r in used]).astype(np.int32),
        songs=[r.name for r in used],
        meters=np.concatenate([r.meters for r in used if r.meters is not None]).astype(np.int16),
    )
