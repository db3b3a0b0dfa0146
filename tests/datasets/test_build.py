"""Building, caching and loading datasets: bar logic, cache format, atomic rebuilds and the errors users see."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from museforge.datasets.bach import chorale_from_array
from museforge.datasets.build import build_dataset, hash_split
from museforge.datasets.cache import dataset_status, load_dataset, transposed
from museforge.datasets.jsb_meters import chorale_meters, jsb_json, match_meters
from museforge.datasets.windows import SkipSong, metered_bars, skyline, song_windows, window_starts
from museforge.errors import MuseforgeError, NotFoundError
from museforge.music.midi import write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes

JSB = "bach/jsb_chorales_czhuang"


def _melody_song(
    bars: int, time_signatures: list[tuple[int, int, int]], resolution: int = 4, silent_bars: tuple[int, ...] = ()
) -> Multitrack:
    """A melody (one note per beat) and a bass (one note per bar-of-4-beats) over ``bars`` * 4 beats."""
    beats = bars * 4
    melody = [
        (60 + b % 12, b * resolution, (b + 1) * resolution, 90) for b in range(beats) if b // 4 not in silent_bars
    ]
    bass = [(36, b * resolution, (b + 4) * resolution, 90) for b in range(0, beats, 4)]
    tracks = [TrackNotes("Melody", "melody", 0, False, melody), TrackNotes("Bass", "bass", 33, False, bass)]
    return Multitrack.from_notes(tracks, resolution, n_steps=beats * resolution, time_signatures=time_signatures)


# ------------------------------------------------------------------------------------------------ bar logic
def test_bars_keep_their_meter_and_four_beat_bars_are_four_four() -> None:
    # 2 bars of 4/4, 4 bars of 2/4 (= 2 bars of 4/4), 4 bars of 3/4 (12 beats), then 2 bars of 2/2.
    r = 4
    signatures = [(0, 4, 4), (8 * r, 2, 4), (16 * r, 3, 4), (28 * r, 2, 2)]
    song = _melody_song(9, signatures, r)
    starts, indices, meters, skipped = metered_bars(song)
    assert starts.tolist() == [0, 16, 32, 48, 64, 76, 88, 100, 112, 128]
    assert indices.tolist() == [0, 1, 2, 4, 6, 7, 8, 9, 10, 11]
    assert [f"{n}/{d}" for n, d in meters] == ["4/4"] * 4 + ["3/4"] * 4 + ["4/4"] * 2
    assert not skipped


def test_a_measure_split_at_a_repeat_sign_counts_as_one_bar() -> None:
    song = _melody_song(4, [(0, 4, 4)])
    song.downbeats = np.array([0, 16, 28, 32, 48])  # bar 2 is split 3 + 1 beats
    starts, _, _, skipped = metered_bars(song)
    assert starts.tolist() == [0, 16, 32, 48]
    assert not skipped
    song.downbeats = np.array([0, 16, 26, 48])  # 2.5 + 5.5 beats: no bar of 4/4 and not one together
    starts, _, _, skipped = metered_bars(song)
    assert starts.tolist() == [0, 48] and skipped == {"irregular bar": 2}


def test_windows_start_on_bar_lines_of_runs_of_one_meter() -> None:
    four = np.array([[4, 4]] * 9)
    starts = np.array([0, 16, 32, 48, 64, 112, 128, 144, 160])  # a gap between 64 and 112
    assert window_starts(starts, four, 4, 64, 16).tolist() == [0, 1, 5]
    assert window_starts(starts, four, 4, 32, 32).tolist() == [0, 2, 5, 7]
    assert window_starts(starts, four, 4, 96, 16).tolist() == []
    # six 3/4 bars (72 steps) then 4/4: one 64-step window fits in the waltz, on its first bar
    waltz = np.array([0, 12, 24, 36, 48, 60, 72, 88, 104, 120])
    meters = np.array([[3, 4]] * 6 + [[4, 4]] * 4)
    assert window_starts(waltz, meters, 4, 64, 32).tolist() == [0, 6]
    assert window_starts(waltz, meters, 4, 24, 24).tolist() == [0, 2, 4, 6, 8]


def test_song_windows_shapes_skyline_meters_and_silent_melody() -> None:
    song = _melody_song(8, [(0, 4, 4)], silent_bars=(4, 5, 6))
    song.rolls[0, 0:4, 72] = 90  # a chord tone above the melody's first note
    cut = song_windows(song, n_bars=4, hop_bars=1)
    # Windows at bars 0..4; those over bars 3-6 and 4-7 have three silent melody bars and are dropped.
    assert cut.bars.tolist() == [0, 1, 2]
    assert cut.starts.tolist() == [0, 16, 32]
    assert cut.meters.tolist() == [[4, 4]] * 3
    assert cut.dropped == 2
    assert cut.windows.shape == (3, 2, 64, 84)
    assert cut.windows.dtype == bool
    melody = cut.windows[:, 0]
    assert (melody.sum(axis=-1) <= 1).all()
    assert melody[0, 0, 72 - 24] and not melody[0, 0, 60 - 24]  # the top note wins
    # a waltz of 16 beats (5 1/3 bars of 3/4) gives one 4-bar window, in 3/4
    waltz = song_windows(_melody_song(4, [(0, 3, 4)]), n_bars=4, hop_bars=1)
    assert waltz.meters.tolist() == [[3, 4]] and waltz.starts.tolist() == [0]
    with pytest.raises(SkipSong, match="fewer than 8 beats"):
        song_windows(_melody_song(1, [(0, 6, 8)]), n_bars=2, hop_bars=1)  # two bars of 6/8 are 6 beats
    # A 3/4 stretch of 5 bars between two 4/4 runs: windows of one bar in each meter, bar numbers in 4-beat bars.
    r = 4
    song = _melody_song(9, [(0, 4, 4), (3 * 16, 3, 4), (3 * 16 + 5 * 12, 4, 4)], r)
    cut = song_windows(song, n_bars=1, hop_bars=1)
    # the waltz's last bar (96-108) cannot hold a 16-step window
    assert cut.starts.tolist() == [0, 16, 32, 48, 60, 72, 84, 108, 124, 140]
    assert [f"{n}/{d}" for n, d in cut.meters] == ["4/4"] * 3 + ["3/4"] * 4 + ["4/4"] * 3
    assert cut.bars.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    with pytest.raises(SkipSong, match="fewer than 16 beats"):
        song_windows(_melody_song(3, [(0, 4, 4)]), n_bars=4, hop_bars=1)


def test_skyline_and_transposition() -> None:
    roll = np.zeros((3, 84), dtype=bool)
    roll[0, [10, 20]] = True
    roll[2, 5] = True
    top = skyline(roll)
    assert np.flatnonzero(top[0]).tolist() == [20]
    assert not top[1].any()
    assert np.flatnonzero(top[2]).tolist() == [5]

    windows = np.zeros((1, 2, 3, 84), dtype=bool)
    windows[0, 0, 0, 80] = True
    windows[0, 1, 0, 14] = True  # a drum hit
    up = transposed(windows, 2, is_drum=[False, True])
    assert np.flatnonzero(up[0, 0, 0]).tolist() == [82]
    assert np.flatnonzero(up[0, 1, 0]).tolist() == [14]
    assert not transposed(windows, 5, is_drum=[False, True])[0, 0].any()  # moved out of range: dropped
    down = transposed(windows, -3)
    assert np.flatnonzero(down[0, 0, 0]).tolist() == [77]
    assert np.flatnonzero(down[0, 1, 0]).tolist() == [11]


def test_hash_split_is_stable_and_roughly_80_10_10() -> None:
    assert hash_split("001") == hash_split("001")
    counts = {s: 0 for s in ("train", "valid", "test")}
    for i in range(2000):
        counts[hash_split(f"song {i}")] += 1
    assert 1500 < counts["train"] < 1700
    assert 120 < counts["valid"] < 280
    assert 120 < counts["test"] < 280


# --------------------------------------------------------------------------------------------- JSB chorales
def test_chorale_bar_lines_end_on_a_bar_line() -> None:
    voices = np.full((20, 4), np.nan)  # one beat of pickup, then a bar
    voices[:, 0] = [67] * 4 + [72] * 8 + [72] * 4 + [71] * 4
    voices[:, 3] = 48
    chorale = chorale_from_array(voices, resolution=4)
    assert chorale.downbeats.tolist() == [4]
    # Equal consecutive pitches merge: the source cannot tell held from repeated notes.
    assert [n[:3] for n in chorale.notes(0)] == [(67, 0, 4), (72, 4, 16), (71, 16, 20)]
    assert not chorale.notes(1)
    assert chorale_from_array(voices, resolution=8).downbeats.tolist() == [8]
    with pytest.raises(MuseforgeError, match="multiple of 4"):
        chorale_from_array(voices, resolution=6)
    # a chorale in 3/4 (its meter from music21's copy) has 12-step bars, still counted back from the end
    waltz = chorale_from_array(voices, resolution=4, meter=(3, 4))
    assert waltz.meter == (3, 4) and waltz.downbeats.tolist() == [8]
    assert chorale_from_array(voices, resolution=8, meter=(3, 4)).downbeats.tolist() == [16]


@pytest.mark.slow
def test_the_jsb_chorales_meters_are_those_of_their_scores(shared_datasets: Path, tmp_path: Path) -> None:
    """The committed table is what matching against music21's chorales gives, for the very file it names: a 3/4
    chorale, a 3/2 one, a 4/4 one and one with no match (4/4) recomputed here agree with it; an edited file gets
    no table."""
    path = jsb_json(shared_datasets)
    data = json.loads(path.read_text())
    table = chorale_meters(path)
    assert table["train/9"] == (3, 4) and table["train/23"] == (3, 2) and "train/0" not in table
    assert 25 <= sum(m == (3, 4) for m in table.values()) <= 40
    picked = {"train": [data["train"][i] for i in (9, 23, 0)], "valid": [data["valid"][1]], "test": []}
    found = match_meters(picked)
    assert found["meters"] == {"train/0": "3/4", "train/1": "3/2"}
    assert found["matched"] == {"3/4": 1, "3/2": 1, "4/4": 1, "unmatched (read as 4/4)": 1}
    edited = tmp_path / path.name
    edited.write_text(path.read_text() + "\n")
    assert chorale_meters(edited) == {}


@pytest.mark.slow
def test_bach_jsb_build_keeps_the_source_split(shared_datasets: Path, museforge_home: Path) -> None:
    manifest = build_dataset("bach", shared_datasets)
    assert {s: manifest["splits"][s]["songs"] for s in ("train", "valid", "test")} == {
        "train": 229,
        "valid": 76,
        "test": 77,
    }
    assert manifest["resolution"] == 4 and manifest["steps_per_bar"] == 16 and manifest["n_bars"] == 4
    assert manifest["lowest_pitch"] == 24 and manifest["n_pitches"] == 84 and manifest["beats_per_bar"] == 4
    assert [t["role"] for t in manifest["tracks"]] == ["melody", "alto", "tenor", "bass"]
    assert manifest["melody_track"] == 0 and manifest["accompaniment_tracks"] == [1, 2, 3]
    assert manifest["augmentation"] == [-5, 6]
    assert set(manifest["source"]["checksum"]) == {"jsb_chorales_czhuang"}
    assert manifest["songs"]["train"][0] == "jsb_train_0"
    # the chorales whose scores are in 3/4 keep their meter (museforge.datasets.jsb_meters)
    assert manifest["meters"]["4/4"] > 3000 and 300 < manifest["meters"]["3/4"] < 700

    folder = museforge_home / "datasets" / "bach"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "windows.npz"]
    with np.load(folder / "windows.npz") as data:
        assert data["train"].dtype == np.uint8 and data["train"].shape[1:] == (4, 64, 11)
        assert data["train_song"].dtype == np.int32
        assert data["train_bar"].dtype == np.int32 and data["train_start"].dtype == np.int32
        assert len(data["valid"]) == manifest["splits"]["valid"]["windows"]

    dataset = load_dataset("bach")
    windows = dataset.windows("train")
    assert windows.shape == (manifest["splits"]["train"]["windows"], 4, 64, 84) and windows.dtype == bool
    assert windows.any(axis=(2, 3)).all()  # chorales: every voice sounds in every window
    # The melody of chorale 0 at its first bar (after the pickup) is the source's soprano, 16th by 16th.
    data = json.loads((shared_datasets / JSB / "Jsb16thSeparated.json").read_text())
    source = np.asarray(data["train"][0], dtype=float)
    source[source < 0] = np.nan
    offset = len(source) % 16
    first = np.flatnonzero(dataset.song_index("train") == 0)[0]
    bar = int(dataset.bars("train")[first])
    expected = source[offset + 16 * bar : offset + 16 * (bar + 4)]
    for voice in range(4):
        got = [np.flatnonzero(step)[0] + 24 if step.any() else -1 for step in windows[first, voice]]
        assert got == [int(p) if p == p else -1 for p in expected[:, voice]]
    assert dataset.transposed(windows[:2], 3)[:, 0, :, 3:].sum() == windows[:2, 0, :, :-3].sum()


@pytest.mark.slow
def test_music21_corpus_builds_offline(museforge_home: Path) -> None:
    manifest = build_dataset("bach", limit=6)
    assert manifest["source"]["root"].startswith("music21 corpus")
    used = sum(manifest["splits"][s]["songs"] for s in ("train", "valid", "test"))
    assert used + sum(manifest["skipped"].values()) == 6
    assert manifest["meters"].get("3/4", 0) >= 1  # bwv269, the first chorale, is in 3/4: kept, with its meter
    assert "bach/bwv269" in {name for names in manifest["songs"].values() for name in names}
    dataset = load_dataset("bach")
    assert dataset.windows("train").shape[1:] == (4, 64, 84)


# ------------------------------------------------------------------------------------ cache and failures
def _lead_sheet(path: Path, numerator: int, denominator: int, bars: int = 8, melody: bool = True) -> None:
    """A small lead sheet like the OpenBook files: Melody:Voice, Chords: and Walking Bass (auto)."""
    beats = bars * numerator * 4 // denominator
    tracks = [
        TrackNotes("Chords:", "piano", 0, False, [(p, b * 4, (b + 1) * 4, 80) for b in range(beats) for p in (60, 64)]),
        TrackNotes(
            "Walking Bass (auto)", "bass", 33, False, [(36 + b % 5, b * 4, (b + 1) * 4, 80) for b in range(beats)]
        ),
    ]
    if melody:
        tracks.insert(
            0, TrackNotes("Melody:Voice", "melody", 65, False, [(72, b * 4, b * 4 + 2, 90) for b in range(beats)])
        )
    write_midi(Multitrack.from_notes(tracks, 4, time_signature=(numerator, denominator)), path)


def test_a_folder_with_no_usable_songs_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "jazz/openbook_realbook_with_bass/midis_with_bass"
    folder.mkdir(parents=True)
    _lead_sheet(folder / "Short.mid", 4, 4, bars=2)
    _lead_sheet(folder / "No_Tune.mid", 4, 4, melody=False)
    (folder / "Broken.mid").write_bytes(b"not a midi file")
    with pytest.raises(MuseforgeError) as error:
        build_dataset("jazz", tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert "no usable jazz songs" in message
    assert "fewer than 16 beats of bars in one meter (1)" in message
    assert "no melody (1)" in message and "unreadable (1)" in message
    with pytest.raises(NotFoundError, match="no pop data"):
        build_dataset("pop", tmp_path)
    with pytest.raises(NotFoundError, match="unknown genre"):
        build_dataset("polka", tmp_path)


def test_a_waltz_and_a_jig_keep_their_meters(tmp_path: Path, museforge_home: Path) -> None:
    folder = tmp_path / "jazz/openbook_realbook_with_bass/midis_with_bass"
    folder.mkdir(parents=True)
    _lead_sheet(folder / "Waltz.mid", 3, 4, bars=16)
    _lead_sheet(folder / "Jig.mid", 6, 8, bars=16)
    _lead_sheet(folder / "Swing.mid", 4, 4, bars=16)
    manifest = build_dataset("jazz", tmp_path)
    assert set(manifest["meters"]) == {"3/4", "6/8", "4/4"}
    dataset = load_dataset("jazz")
    meters = np.concatenate([dataset.meters(s) for s in ("train", "valid", "test")])
    assert sorted({f"{n}/{d}" for n, d in meters}) == ["3/4", "4/4", "6/8"]
    assert sum(manifest["meters"].values()) == len(meters)
    # every window starts on a bar line of its meter: 12 steps for 3/4 and 6/8 (the lead sheets start on one)
    for split in ("train", "valid", "test"):
        for (n, d), start in zip(dataset.meters(split), dataset.starts(split), strict=True):
            assert start % round(n * 16 / d) == 0


def test_a_failed_build_keeps_the_previous_cache(shared_datasets: Path, tmp_path: Path, museforge_home: Path) -> None:
    first = build_dataset("bach", shared_datasets, limit=9)
    folder = museforge_home / "datasets" / "bach"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    broken = tmp_path / "broken"
    (broken / JSB).mkdir(parents=True)
    silent = [[[-1] * 4] * 64]  # a chorale of rests: no usable song
    (broken / JSB / "Jsb16thSeparated.json").write_text(json.dumps({"train": silent, "valid": silent, "test": silent}))
    with pytest.raises(MuseforgeError, match="no usable bach songs"):
        build_dataset("bach", broken)
    empty = tmp_path / "empty"
    (empty / JSB).mkdir(parents=True)
    with pytest.raises(MuseforgeError):
        build_dataset("bach", empty)

    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(os.listdir(folder.parent)) == ["bach"]  # no temporary folders left behind
    assert load_dataset("bach").manifest["splits"] == first["splits"]


def test_not_built_and_status(shared_datasets: Path) -> None:
    assert dataset_status("pop") is None
    with pytest.raises(MuseforgeError) as error:
        load_dataset("pop")
    assert str(error.value) == (
        "dataset 'pop' is not built: run museforge datasets download pop, then museforge datasets build pop "
        "(or museforge datasets build pop --source DIR with a copy of its sources)"
    )
    with pytest.raises(NotFoundError):
        load_dataset("polka")
    build_dataset("bach", shared_datasets, limit=3, n_bars=2, hop_bars=2)
    status = dataset_status("bach")
    assert status is not None and status["n_bars"] == 2 and status["hop_bars"] == 2 and status["size_bytes"] > 0
    assert json.loads((Path(status["path"]) / "manifest.json").read_text())["limit"] == 3
    with pytest.raises(MuseforgeError, match="unknown split"):
        load_dataset("bach").windows("training")
