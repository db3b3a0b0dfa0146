"""Each genre builds from real files: tracks, shapes, splits by song, meters kept, and known melodies.

The builds read small subsets of ../shared/datasets, linked into a temporary source root, so each takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from museforge.datasets.build import build_dataset
from museforge.datasets.cache import Dataset, load_dataset
from museforge.errors import NotFoundError
from museforge.music.pianoroll import LOWEST_PITCH
from museforge.training.data import TrainingData

SPLITS = ("train", "valid", "test")


def _subset(shared: Path, root: Path, paths: list[str]) -> Path:
    """A source root holding links to the given files and folders of the shared data (paths relative to it)."""
    for relative in paths:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared / relative)
    return root


def _check_common(dataset: Dataset, roles: list[str], resolution: int = 12) -> None:
    """Shapes, manifest fields, a monophonic and mostly sounding melody, and no song in two splits."""
    manifest = dataset.manifest
    assert [t["role"] for t in manifest["tracks"]] == roles
    assert manifest["melody_track"] == 0 and manifest["accompaniment_tracks"] == list(range(1, len(roles)))
    assert manifest["resolution"] == resolution and manifest["steps_per_bar"] == 4 * resolution
    assert manifest["n_pitches"] == 84 and manifest["lowest_pitch"] == 24
    assert manifest["augmentation"] == [-5, 6]
    assert all(isinstance(t["program"], int) and 0 <= t["program"] < 128 for t in manifest["tracks"])
    names = [set(dataset.songs(s)) for s in SPLITS]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    total = 0
    for split in SPLITS:
        windows = dataset.windows(split)
        assert windows.shape == (manifest["splits"][split]["windows"], len(roles), 16 * resolution, 84)
        assert len(dataset.song_index(split)) == len(windows)
        assert manifest["splits"][split]["songs"] == len(dataset.songs(split))
        if len(windows):
            assert dataset.song_index(split).max() < len(dataset.songs(split))
            melody = windows[:, 0]
            assert (melody.sum(axis=-1) <= 1).all()  # one pitch at a time
            assert melody.any(axis=(1, 2)).mean() > 0.9
        total += len(windows)
    assert total > 0


def _top_line(roll: np.ndarray) -> np.ndarray:
    """The highest MIDI pitch sounding at each step of a (time, 84) roll, -1 where silent: shape (time,)."""
    top = 83 - np.argmax(roll[:, ::-1], axis=1) + LOWEST_PITCH
    return np.where(roll.any(axis=1), top, -1)


def _expected_top_line(notes: list[pretty_midi.Note], to_step, start: int, length: int) -> np.ndarray:
    """The top line of pretty_midi notes over steps ``start .. start + length``, ``to_step`` mapping seconds."""
    top = np.full(length, -1)
    for note in notes:
        first = round(float(to_step(note.start)))
        last = max(first + 1, round(float(to_step(note.end))))
        a, b = max(first - start, 0), min(last - start, length)
        if a < b:
            top[a:b] = np.maximum(top[a:b], note.pitch)
    return top


def _window(dataset: Dataset, song: str, which: int = 0) -> tuple[np.ndarray, int, int]:
    """The song's window number ``which``, its first bar and its first step in the song."""
    split = next(s for s in SPLITS if song in dataset.songs(s))
    index = int(np.flatnonzero(dataset.song_index(split) == dataset.songs(split).index(song))[which])
    return dataset.windows(split)[index], int(dataset.bars(split)[index]), int(dataset.starts(split)[index])


@pytest.mark.slow
def test_pop(shared_datasets: Path, tmp_path: Path) -> None:
    # 001-003 are in 2/4 (4-beat bars by the annotations), 014 is 6/8 and 034 is 3/4 (index.json).
    songs = ["001", "002", "003", "014", "034"]
    files = ["pop/pop909/beat_midi.json", "pop/pop909/index.json"] + [f"pop/pop909/POP909/{s}" for s in songs]
    manifest = build_dataset("pop", _subset(shared_datasets, tmp_path, files))
    assert manifest["skipped"] == {"meter 6/8": 1}  # 034, a waltz, is kept in 3/4
    assert set(manifest["meters"]) == {"4/4", "3/4"}
    dataset = load_dataset("pop")
    _check_common(dataset, ["melody", "bridge", "piano"])

    # The melody of song 001 in its sixth window: the MELODY notes, placed by the annotated beats.
    window, _, start = _window(dataset, "001", 5)
    rows = np.asarray(json.loads((shared_datasets / "pop/pop909/beat_midi.json").read_text())["001"])
    beats, downbeats = rows[:, 0], rows[rows[:, 2] == 1, 0]
    assert start / 12 in np.interp(downbeats, beats, np.arange(len(beats)))  # it starts on an annotated bar line
    midi = pretty_midi.PrettyMIDI(str(shared_datasets / "pop/pop909/POP909/001/001.mid"))
    melody = next(i for i in midi.instruments if i.name.strip().upper() == "MELODY")
    expected = _expected_top_line(melody.notes, lambda t: np.interp(t, beats, np.arange(len(beats))) * 12, start, 192)
    assert (expected >= 0).sum() > 48
    assert (_top_line(window[0]) == expected).all()


def test_rock_splits_by_song(shared_datasets: Path, tmp_path: Path) -> None:
    mid = "rock/beatles_lmd_midi_ground_truth/mid"
    files = [f"{mid}/01_-_Please_Please_Me/01_-_I_Saw_Her_Standing_There.v{k}.mid" for k in range(6)]  # test
    files += [f"{mid}/02_-_With_the_Beatles/03_-_All_My_Loving.v{k}.mid" for k in range(3)]  # valid
    files += [f"{mid}/01_-_Please_Please_Me/02_-_Misery.v{k}.mid" for k in range(3)]  # train
    files += [f"{mid}/06_-_Rubber_Soul/02_-_Norwegian_Wood_(This_Bird_Has_Flown).v2.mid"]  # 3/4
    manifest = build_dataset("rock", _subset(shared_datasets, tmp_path, files))
    dataset = load_dataset("rock")
    _check_common(dataset, ["melody", "bass", "drums", "guitar", "piano", "strings"])
    assert [t["is_drum"] for t in manifest["tracks"]] == [False, False, True, False, False, False]
    assert manifest["meters"]["3/4"] >= 1  # Norwegian Wood, kept in its own meter
    assert any("Norwegian_Wood" in s for split in SPLITS for s in load_dataset("rock").songs(split))
    assert manifest["skipped"]["no melody"] == 2  # versions 2 and 3 of I Saw Her Standing There
    assert manifest["skipped"]["another version of a valid/test song"] >= 2
    assert dataset.songs("test") == ["01_-_Please_Please_Me/01_-_I_Saw_Her_Standing_There.v0"]
    assert dataset.songs("valid") == ["02_-_With_the_Beatles/03_-_All_My_Loving.v0"]
    train = dataset.songs("train")
    assert len(train) >= 3 and all("Misery" in s or "Norwegian_Wood" in s for s in train)
    drums = dataset.windows("train")[:, 2]
    assert drums.any(axis=(1, 2)).mean() > 0.9
    assert "Groove" in manifest["notes"][0]


def test_jazz_roles_pickups_and_paired_drums(shared_datasets: Path, tmp_path: Path) -> None:
    sheets = "jazz/openbook_realbook_with_bass/midis_with_bass"
    tunes = ["Autumn_Leaves", "Blue_Bossa", "Misty", "Cheek_to_Cheek", "Tenderly"]
    files = [f"{sheets}/{t}.mid" for t in tunes] + ["jazz/groove_midi_drums_gmd"]
    manifest = build_dataset("jazz", _subset(shared_datasets, tmp_path, files))
    assert manifest["skipped"] == {"no melody": 1}  # Cheek to Cheek
    assert manifest["meters"].get("3/4", 0) >= 1  # Tenderly, a waltz, with the Groove jazz beats in 3/4
    dataset = load_dataset("jazz")
    _check_common(dataset, ["melody", "piano", "bass", "drums"])
    assert dataset.is_drum == [False, False, False, True]
    assert set(manifest["source"]["checksum"]) == {"openbook_realbook_with_bass", "groove_midi_drums_gmd"}
    assert any("Groove MIDI jazz beats" in note for note in manifest["notes"])
    assert "Misty" in {s for split in SPLITS for s in dataset.songs(split)}  # 2/2 counts as 4 beats
    for split in SPLITS:
        windows = dataset.windows(split)
        if len(windows):
            bars = windows[:, 3].reshape(len(windows), 4, 48, 84)
            assert bars.any(axis=(2, 3)).all()  # drums in every bar
            assert (dataset.transposed(windows, 4)[:, 3] == windows[:, 3]).all()
            # the Roland kit's hi-hat edges (22, 26; 22 would fold to 34), tom rim (58), crash edges (52, 55) are
            # on their General MIDI instruments' keys
            assert not windows[:, 3][..., [26 - 24, 34 - 24, 58 - 24, 52 - 24, 55 - 24]].any()
    kit = TrainingData("jazz", n_bars=4, device=torch.device("cpu"), augment=False).facts.drum_kit["drums"]
    assert {36, 38, 44, 51} <= set(kit) <= set(range(35, 82))  # kick, snare, pedal hi-hat and the ride

    # Autumn Leaves opens with a 3-beat pickup: the first bar starts with the first bass note, at beat 3.
    window, bar, start = _window(dataset, "Autumn_Leaves")
    assert (bar, start) == (0, 36)
    midi = pretty_midi.PrettyMIDI(str(shared_datasets / sheets / "Autumn_Leaves.mid"))
    melody = next(i for i in midi.instruments if i.name.startswith("Melody"))
    steps_per_second = midi.get_tempo_changes()[1][0] / 60 * 12
    expected = _expected_top_line(melody.notes, lambda t: t * steps_per_second, 36, 192)
    assert (expected >= 0).sum() > 48
    assert (_top_line(window[0]) == expected).all()


def test_symphony_melody_and_meters(shared_datasets: Path, tmp_path: Path) -> None:
    base = "symphony/openscore_orchestra_hauptstimme/midi_from_mxl/Beethoven,_Ludwig_van/Symphony_No.5,_Op.67"
    files = [f"{base}/1/Beethoven_Op.67_1.mid", f"{base}/3/Beethoven_Op.67_3.mid"]  # 2/4 and 3/4
    manifest = build_dataset("symphony", _subset(shared_datasets, tmp_path, files), resolution=4)
    assert manifest["skipped"] == {} and set(manifest["meters"]) == {"4/4", "3/4"}  # the scherzo is kept in 3/4
    dataset = load_dataset("symphony")
    _check_common(dataset, ["melody", "strings", "woodwinds", "brass", "timpani"], resolution=4)
    assert manifest["tracks"][0]["program"] == 40  # violin 1 carries most of the melody
    # The 2/4 bars pair up: the first window opens with the motto G G G | Eb (after an eighth rest).
    song = "Beethoven,_Ludwig_van/Symphony_No.5,_Op.67/1/Beethoven_Op.67_1"
    window, bar, start = _window(dataset, song)
    assert (bar, start) == (0, 0)
    assert _window(dataset, song, 1)[1:] == (2, 32)  # hop of 2 bars of 4 beats = 4 bars of 2/4
    assert _top_line(window[0])[:26].tolist() == [-1] * 2 + [67] * 6 + [63] * 8 + [-1] * 2 + [65] * 6 + [62] * 2
    # Strings and clarinets play the motto in unison; the horns and timpani wait.
    assert window[1:].any(axis=(1, 2)).tolist() == [True, True, False, False]


@pytest.mark.parametrize("genre", ["pop", "rock", "jazz", "symphony"])
def test_other_genres_need_a_source(genre: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        build_dataset(genre)  # the (empty) downloads folder
    with pytest.raises(NotFoundError):
        build_dataset(genre, tmp_path)
