"""Batches from real bach windows: cutting to the model's length, batch order, transposition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from museforge.datasets.cache import load_dataset
from museforge.errors import MuseforgeError
from museforge.training.data import TrainingData, epoch_permutation, split_windows


def test_unet_windows_are_the_halves_of_the_dataset_windows(bach: Path) -> None:
    windows = load_dataset("bach").windows("train")  # (N, 4, 64, 84), 4 bars
    data = TrainingData("bach", n_bars=2, device=torch.device("cpu"), augment=False)
    assert data.n_train == 2 * len(windows)
    halves = data.unpack(data.packed).numpy()
    assert np.array_equal(halves[0::2], windows[:, :, :32]) and np.array_equal(halves[1::2], windows[:, :, 32:])
    facts = data.facts
    assert (facts.n_bars, facts.steps_per_bar, facts.resolution, facts.lowest_pitch) == (2, 16, 4, 24)
    assert facts.melody["role"] == "melody" and facts.roles == ["alto", "tenor", "bass"]


def test_batches_without_augmentation_are_the_windows(bach: Path) -> None:
    data = TrainingData("bach", n_bars=4, device=torch.device("cpu"), augment=False)
    windows = load_dataset("bach").windows("train")
    melody, accompaniment, meter = data.batch(torch.tensor([3, 0, 7]), None)
    assert melody.shape == (3, 64, 84) and accompaniment.shape == (3, 3, 64, 84)
    four_four = np.zeros((64, 2), dtype=np.float32)
    four_four[::16, 0], four_four[::4, 1] = 1, 1  # bar lines every 16 steps, beats every 4
    assert meter.shape == (3, 64, 2) and all(np.array_equal(m, four_four) for m in meter.numpy())
    assert np.array_equal(melody.numpy(), windows[[3, 0, 7], 0])
    assert np.array_equal(accompaniment.numpy(), windows[[3, 0, 7], 1:])


def test_augmentation_transposes_each_window_within_the_range(bach: Path) -> None:
    dataset = load_dataset("bach")
    windows = dataset.windows("train")
    data = TrainingData("bach", n_bars=4, device=torch.device("cpu"), augment=True)
    lo, hi = data.facts.augmentation
    rows = torch.arange(len(windows))
    melody, accompaniment, _ = data.batch(rows, torch.Generator().manual_seed(0))
    batch = torch.cat([melody[:, None], accompaniment], 1).numpy().astype(bool)
    shifts = []
    for row in range(len(windows)):
        # the datasets module's own transposition is the independent reference
        found = [s for s in range(lo, hi + 1) if np.array_equal(batch[row], dataset.transposed(windows[row], s))]
        assert found, f"window {row} is not a transposition within [{lo}, {hi}]"
        shifts.append(found[0])
    assert len(set(shifts)) > 3  # each window draws its own shift


def test_epoch_order_depends_only_on_seed_and_epoch() -> None:
    first = epoch_permutation(50, seed=1, epoch=0)
    assert torch.equal(first, epoch_permutation(50, seed=1, epoch=0))
    assert sorted(first.tolist()) == list(range(50))
    assert not torch.equal(first, epoch_permutation(50, seed=1, epoch=1))
    assert not torch.equal(first, epoch_permutation(50, seed=2, epoch=0))


def test_split_windows_keeps_time_order() -> None:
    windows = np.arange(2 * 3 * 8 * 5).reshape(2, 3, 8, 5)
    pieces = split_windows(windows, 4)
    assert pieces.shape == (8, 3, 2, 5)
    assert np.array_equal(np.concatenate(list(pieces[:4]), axis=1), windows[0])


def test_sample_windows_follow_each_other(bach: Path) -> None:
    data = TrainingData("bach", n_bars=2, device=torch.device("cpu"), augment=False)
    run = data.consecutive_windows(6)
    assert len(run) == 6
    dataset = load_dataset("bach")
    song, bars = dataset.song_index("valid"), dataset.bars("valid")
    first = np.flatnonzero(song == song[0])
    starts = {int(bars[i]): i for i in first}
    expected = np.concatenate([dataset.windows("valid")[starts[b]] for b in (min(starts), min(starts) + 4)], axis=1)
    joined = np.concatenate(list(run[:4]), axis=1)
    assert np.array_equal(joined, expected)


def test_model_and_data_must_agree(bach: Path) -> None:
    with pytest.raises(MuseforgeError, match="do not divide"):
        TrainingData("bach", n_bars=3, device=torch.device("cpu"))
    data = TrainingData("bach", n_bars=4, device=torch.device("cpu"))
    with pytest.raises(MuseforgeError, match="n_tracks=5 does not fit"):
        data.model_overrides({"n_tracks": 5})
    assert data.model_overrides({"base_channels": 4})["n_tracks"] == 3


def test_missing_dataset_names_the_command(museforge_home: Path) -> None:
    with pytest.raises(MuseforgeError, match="museforge datasets build pop"):
        TrainingData("pop", n_bars=4, device=torch.device("cpu"))


def test_training_windows_are_packed_bits_and_read_back_exactly(bach: Path) -> None:
    windows = load_dataset("bach").windows("train")  # (N, 4, 64, 84) bool
    data = TrainingData("bach", n_bars=4, device=torch.device("cpu"), augment=False)
    assert data.packed.dtype == torch.uint8 and data.packed.shape == (*windows.shape[:3], 11)  # 84 pitches
    assert data.packed.numel() * 8 == windows.size + windows.size // 84 * 4  # 8x smaller, 4 pad bits a row
    picks = np.linspace(0, len(windows) - 1, num=5).round().astype(int)
    assert np.array_equal(data.evaluation_windows(5, split="train"), windows[picks])


def test_common_key_moves_each_training_window_to_c_and_leaves_evaluation_windows_alone(bach: Path) -> None:
    from museforge.music.keys import onset_histograms, scale_tonics, transpose_rolls
    from museforge.sampling.generation import window_shifts

    windows = load_dataset("bach").windows("train")
    data = TrainingData("bach", n_bars=4, device=torch.device("cpu"), augment=True, common_key=True)
    moved = data.unpack(data.packed).numpy()
    tonics = scale_tonics(onset_histograms(moved[:, 0], 24))
    assert set(tonics.tolist()) <= {0, -1} and (tonics == 0).mean() > 0.95
    # a rigid move of every voice by the melody's own shift: intervals (and chromatic notes) stay as they were
    shifts = window_shifts(windows[:, 0], 24)
    assert np.array_equal(moved, transpose_rolls(windows, shifts))
    assert set(shifts.tolist()) <= set(range(-5, 7)) and len(set(shifts.tolist())) > 3
    assert data.facts.common_key and data.facts.augmentation == (0, 0) and not data.augment
    assert np.array_equal(
        data.evaluation_windows(5),
        load_dataset("bach").windows("valid")[
            np.linspace(0, len(load_dataset("bach").windows("valid")) - 1, 5).round().astype(int)
        ],
    )


def test_a_meter_aware_model_trains_on_every_meter_and_the_others_on_four_four(
    tmp_path: Path, museforge_home: Path
) -> None:
    from museforge.datasets.build import build_dataset
    from tests.datasets.test_build import _lead_sheet

    folder = tmp_path / "jazz/openbook_realbook_with_bass/midis_with_bass"
    folder.mkdir(parents=True)
    for name, meter in (("Waltz", (3, 4)), ("Jig", (6, 8)), ("Swing", (4, 4)), ("Blues", (4, 4))):
        _lead_sheet(folder / f"{name}.mid", *meter, bars=24)
    build_dataset("jazz", tmp_path, resolution=4)
    everything = TrainingData("jazz", n_bars=4, device=torch.device("cpu"), augment=False, all_meters=True)
    plain = TrainingData("jazz", n_bars=4, device=torch.device("cpu"), augment=False)
    assert set(everything.facts.meters) == {"3/4", "6/8", "4/4"} and set(plain.facts.meters) == {"4/4"}
    assert plain.n_train < everything.n_train
    _, _, grids = everything.batch(torch.arange(everything.n_train), None)
    bar_lines = {tuple(np.flatnonzero(g[:, 0]).tolist()) for g in grids.numpy()}
    assert bar_lines == {(0, 16, 32, 48), (0, 12, 24, 36, 48, 60)}  # 4/4 and the 12-step bars of 3/4 and 6/8
    beats = {tuple(np.flatnonzero(g[:, 1]).tolist())[:4] for g in grids.numpy()}
    assert beats == {(0, 4, 8, 12), (0, 6, 12, 18)}  # quarter beats (4/4, 3/4) and dotted ones (6/8)
    _, _, plain_grids = plain.batch(torch.arange(plain.n_train), None)
    assert {tuple(np.flatnonzero(g[:, 0]).tolist()) for g in plain_grids.numpy()} == {(0, 16, 32, 48)}


def test_rare_meters_are_repeated_up_to_a_share_of_the_four_four_windows() -> None:
    from museforge.training.data import METER_MAX_REPEATS, METER_MIN_SHARE, meter_repeats

    meters = np.array([[4, 4]] * 1000 + [[3, 4]] * 30 + [[12, 8]] * 100 + [[6, 8]] * 200)
    rows, repeats = meter_repeats(meters)
    assert (METER_MIN_SHARE, METER_MAX_REPEATS) == (0.15, 4)
    # 150 windows wanted per meter: 3/4 would need 5 uses, capped at 4; 12/8 needs 2; 6/8 has enough
    assert repeats == {"4/4": 1, "3/4": 4, "12/8": 2, "6/8": 1}
    used = np.bincount(rows, minlength=len(meters))
    assert (used[:1000] == 1).all() and (used[1000:1030] == 4).all() and (used[1030:1130] == 2).all()
    assert (used[1130:] == 1).all() and len(rows) == 1000 + 120 + 200 + 200
    alone, none = meter_repeats(np.array([[3, 4]] * 5))
    assert none == {"3/4": 1} and len(alone) == 5  # no 4/4 to measure against: nothing repeats


def test_the_card_counts_each_split_once_whatever_repeats(tmp_path: Path, museforge_home: Path) -> None:
    from museforge.datasets.build import build_dataset
    from tests.datasets.test_build import _lead_sheet

    folder = tmp_path / "jazz/openbook_realbook_with_bass/midis_with_bass"
    folder.mkdir(parents=True)
    for k in range(12):
        _lead_sheet(folder / f"Swing{k}.mid", 4, 4, bars=24)
    _lead_sheet(folder / "Waltz.mid", 3, 4, bars=24)
    build_dataset("jazz", tmp_path, resolution=4)
    dataset = load_dataset("jazz")
    data = TrainingData("jazz", n_bars=4, device=torch.device("cpu"), augment=False, all_meters=True)
    counts = {s: len(dataset.song_index(s)) for s in ("train", "valid", "test")}
    assert data.facts.windows["test"] == counts["test"] and data.facts.windows["valid"] == counts["valid"]
    assert sum(data.facts.meters.values()) == sum(counts.values())
    assert data.n_train == data.facts.windows["train"] >= counts["train"]  # rarer meters repeated in training
