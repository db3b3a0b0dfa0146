"""The on-disk cache of a genre's training windows: save atomically, load lazily.

``datasets_dir() / <genre> /`` holds two files:

``windows.npz`` (``np.savez_compressed``), per split ``s`` in train, valid, test:
    ``s``       uint8 (N, tracks, T, 11): the bool windows (N, tracks, T, 84) packed with ``np.packbits`` along
                the pitch axis (unpack with ``np.unpackbits(a, axis=-1, count=84).view(bool)``);
    ``s_song``  int32 (N,): each window's song, an index into ``manifest["songs"][s]``;
    ``s_bar``   int32 (N,): each window's first bar, counted in 4-beat bars from the song's first bar line
                (rounded up after a stretch of another meter, so only windows with no gap between them are
                exactly their distance in bars apart);
    ``s_start`` int32 (N,): each window's first step in the song (the song's own grid, step 0 = its start);
    ``s_meter`` int16 (N, 2): each window's meter ``(numerator, denominator)``; a window starts on one of its bar
                lines (caches built before it had no meters and hold 4/4 windows only).
``manifest.json``: genre, format_version, resolution (steps per beat), n_bars, beats_per_bar (4), steps_per_bar,
    steps_per_window, lowest_pitch (24), n_pitches (84), storage (how the windows are packed), tracks
    ({role, name, program, is_drum}; track 0 is the melody), melody_track (0), accompaniment_tracks, splits
    ({split: {windows, songs}}), songs ({split: [names]}), hop_bars, augmentation (the transposition range
    [low, high] in semitones the loader applies to pitched tracks, never to drums), source ({root, checksum:
    {source id: sha256}}), skipped ({reason: songs}: songs that gave no window), skipped_bars ({reason: bars}:
    bars of other meters inside the songs used), dropped_windows ({reason: windows}), notes (sentences on the
    choices made for this genre), meters ({"3/4": windows} over all splits), errors (a few unreadable files),
    limit, build_seconds, built_at.

A build writes both files into a hidden folder next to the final one and renames it over, so a failed build
leaves the previous cache as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from museforge.datasets.sources import GENRES, get_genre
from museforge.datasets.windows import transposed as transpose_windows
from museforge.errors import MuseforgeError
from museforge.music.pianoroll import N_PITCHES
from museforge.paths import datasets_dir, downloads_dir

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WINDOWS = "windows.npz"
SPLITS = ("train", "valid", "test")


@dataclass
class SplitData:
    """The windows of one split.

    ``packed`` is (N, tracks, T, 11) uint8: the (N, tracks, T, 84) bool windows packed with ``np.packbits``
    along the pitch axis; ``song``, ``bar`` and ``start`` (N,) int32 give each window's song (index into
    ``songs``), first bar (see :class:`~museforge.datasets.windows.SongWindows`) and first step in the song;
    ``meters`` (N, 2) int16 each window's meter.
    """

    packed: np.ndarray
    song: np.ndarray
    bar: np.ndarray
    start: np.ndarray
    songs: list[str]
    meters: np.ndarray

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the windows ``rows`` (a bool mask or indices), in every array."""
        self.packed, self.song, self.bar = self.packed[rows], self.song[rows], self.bar[rows]
        self.start, self.meters = self.start[rows], self.meters[rows]

    @property
    def windows(self) -> np.ndarray:
        """The windows unpacked: (N, tracks, T, 84) bool."""
        return np.unpackbits(self.packed, axis=-1, count=N_PITCHES).view(bool)


def dataset_dir(genre: str) -> Path:
    """The cache folder of a genre (it may not exist)."""
    return datasets_dir() / get_genre(genre).name


class Dataset:
    """A built genre dataset: its manifest and its windows, read from disk on first use.

    Attributes
    ----------
    genre : str
    path : Path, the cache folder.
    manifest : dict, see the module docstring.
    """

    def __init__(self, genre: str, path: Path, manifest: dict) -> None:
        self.genre = genre
        self.path = path
        self.manifest = manifest
        self._arrays: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {self.manifest['splits'][s]['windows']}" for s in SPLITS)
        return f"Dataset({self.genre!r}: {self.n_tracks} tracks, windows {counts})"

    # ------------------------------------------------------------------------------------ description
    @property
    def tracks(self) -> list[dict]:
        """Per track: ``{role, name, program, is_drum}``; track 0 is the melody."""
        return list(self.manifest["tracks"])

    @property
    def n_tracks(self) -> int:
        return len(self.manifest["tracks"])

    @property
    def is_drum(self) -> list[bool]:
        return [bool(t["is_drum"]) for t in self.manifest["tracks"]]

    @property
    def resolution(self) -> int:
        """Steps per quarter-note beat."""
        return int(self.manifest["resolution"])

    @property
    def window_shape(self) -> tuple[int, int, int]:
        """``(tracks, steps, pitches)`` of one window."""
        return (self.n_tracks, int(self.manifest["n_bars"]) * int(self.manifest["steps_per_bar"]), N_PITCHES)

    # ----------------------------------------------------------------------------------------- arrays
    def _array(self, key: str) -> np.ndarray:
        if key not in self._arrays:
            try:
                with np.load(self.path / WINDOWS) as data:
                    self._arrays[key] = data[key]
            except (OSError, KeyError, ValueError) as error:
                raise MuseforgeError(f"dataset '{self.genre}' is damaged ({error}): rebuild it") from None
        return self._arrays[key]

    def packed(self, split: str) -> np.ndarray:
        """The windows of ``split`` as stored: uint8 (N, tracks, T, 11), pitch bits packed."""
        return self._array(_check_split(split))

    def windows(self, split: str) -> np.ndarray:
        """The windows of ``split``: bool (N, tracks, T, 84). Unpacked on every call (keep the result)."""
        return unpack(self.packed(split))

    def song_index(self, split: str) -> np.ndarray:
        """int32 (N,): the song of each window, an index into :meth:`songs`."""
        return self._array(f"{_check_split(split)}_song")

    def bars(self, split: str) -> np.ndarray:
        """int32 (N,): the first bar of each window, in 4-beat bars from its song's first bar line."""
        return self._array(f"{_check_split(split)}_bar")

    def starts(self, split: str) -> np.ndarray:
        """int32 (N,): the step where each window starts in its song."""
        return self._array(f"{_check_split(split)}_start")

    def meters(self, split: str) -> np.ndarray:
        """int16 (N, 2): each window's meter ``(numerator, denominator)`` (4/4 in caches built without meters)."""
        key = f"{_check_split(split)}_meter"
        try:
            return self._array(key)
        except MuseforgeError:
            if self.manifest.get("meters") is not None:
                raise
            return np.tile(np.asarray([[4, 4]], dtype=np.int16), (len(self.song_index(split)), 1))

    def songs(self, split: str) -> list[str]:
        """Names of the songs in ``split``."""
        return list(self.manifest["songs"][_check_split(split)])

    def transposed(self, windows: np.ndarray, semitones: int) -> np.ndarray:
        """``windows`` (..., tracks, T, 84) with the pitched tracks moved by ``semitones``; drums stay."""
        return transpose_windows(windows, semitones, self.is_drum)


def unpack(packed: np.ndarray) -> np.ndarray:
    """Packed windows (..., 11) uint8 -> (..., 84) bool."""
    return np.unpackbits(packed, axis=-1, count=N_PITCHES).view(bool)


def transposed(windows: np.ndarray, semitones: int, is_drum: list[bool] | None = None) -> np.ndarray:
    """Move the pitched tracks of ``windows`` (..., tracks, T, 84) by ``semitones``; drum tracks stay."""
    return transpose_windows(windows, semitones, is_drum)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise MuseforgeError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    return split


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_dataset(genre: str) -> Dataset:
    """The built dataset of ``genre``.

    Raises
    ------
    NotFoundError
        Unknown genre.
    MuseforgeError
        Not built, damaged, or built in an older format.
    """
    name = get_genre(genre).name
    folder = dataset_dir(name)
    manifest = _read_manifest(folder)
    if manifest is None or not (folder / WINDOWS).is_file():
        raise MuseforgeError(f"dataset '{name}' is not built: {build_command(name)}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise MuseforgeError(
            f"dataset '{name}' has format {manifest.get('format_version')} (this museforge reads "
            f"{FORMAT_VERSION}): rebuild it with museforge datasets build {name}"
        )
    return Dataset(name, folder, manifest)


def build_command(genre: str) -> str:
    """How to build ``genre``'s dataset on this machine, as a user types it: bach offline from music21's bundled
    chorales, a genre already downloaded from its download, any other one downloaded first (or from a copy)."""
    name = get_genre(genre).name
    if name == "bach":
        return "run museforge datasets build bach (offline, from music21's bundled chorales)"
    if (downloads_dir() / name).is_dir():
        return f"run museforge datasets build {name} (from its download in {downloads_dir()})"
    return (
        f"run museforge datasets download {name}, then museforge datasets build {name} "
        f"(or museforge datasets build {name} --source DIR with a copy of its sources)"
    )


def dataset_status(genre: str) -> dict | None:
    """The manifest of a built dataset plus ``path`` and ``size_bytes``, or None when it is not built."""
    folder = dataset_dir(genre)
    manifest = _read_manifest(folder)
    if manifest is None or not (folder / WINDOWS).is_file():
        return None
    manifest["path"] = str(folder)
    manifest["size_bytes"] = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return manifest


def datasets_report() -> list[dict[str, Any]]:
    """Every genre museforge knows: ``{genre, architecture, sources: [{id, title, repository, commit, licence}],
    built, dataset}`` where ``dataset`` is :func:`dataset_status` (None when not built)."""

    report = []
    for genre in GENRES:
        spec = get_genre(genre)
        status = dataset_status(genre)
        sources = [
            {"id": s.id, "title": s.title, "repository": s.repository, "commit": s.commit, "licence": s.licence}
            for s in spec.sources
        ]
        report.append(
            {
                "genre": genre,
                "architecture": spec.architecture,
                "sources": sources,
                "built": status is not None,
                "dataset": status,
            }
        )
    return report


def write_cache(genre: str, manifest: dict, splits: dict[str, SplitData]) -> Path:
    """Save a built dataset, replacing the previous one only once everything is written.

    ``splits`` maps each split to its packed windows, song and bar indices. Returns the cache folder.
    """
    final = dataset_dir(genre)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    old = final.parent / f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        temporary.mkdir()
        arrays: dict[str, Any] = {}  # name -> array (np.savez_compressed keywords)
        for split in SPLITS:
            data = splits[split]
            arrays[split] = np.ascontiguousarray(data.packed, dtype=np.uint8)
            arrays[f"{split}_song"] = np.asarray(data.song, dtype=np.int32)
            arrays[f"{split}_bar"] = np.asarray(data.bar, dtype=np.int32)
            arrays[f"{split}_start"] = np.asarray(data.start, dtype=np.int32)
            arrays[f"{split}_meter"] = np.asarray(data.meters, dtype=np.int16).reshape(-1, 2)
        np.savez_compressed(temporary / WINDOWS, **arrays)
        (temporary / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        if final.exists():
            final.rename(old)
        try:
            temporary.rename(final)
        except OSError:
            if old.exists() and not final.exists():
                old.rename(final)
            raise
    except OSError as error:
        raise MuseforgeError(f"cannot write dataset '{genre}' in {final.parent}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return final
