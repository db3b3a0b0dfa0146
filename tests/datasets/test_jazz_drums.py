"""The jazz dataset's Groove drums: every split hears the same drummers and styles (split in time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from museforge.datasets.jazz import bar_splits, drum_segments
from museforge.metrics.texture import backbeat_rate


def test_a_long_beat_is_cut_in_time_and_a_short_one_trains() -> None:
    assert bar_splits(100, 4) == [("train", 0, 80), ("valid", 80, 90), ("test", 90, 100)]
    # at least one window (4 bars) held out for each of valid and test, no stretch shorter than a window
    assert bar_splits(40, 4) == [("train", 0, 32), ("valid", 32, 36), ("test", 36, 40)]
    assert bar_splits(39, 4) == [("train", 0, 39)]
    assert bar_splits(60, 6) == [("train", 0, 48), ("valid", 48, 54), ("test", 54, 60)]


def test_every_split_drums_like_the_training_split(shared_datasets: Path) -> None:
    pools = drum_segments(shared_datasets / "jazz" / "groove_midi_drums_gmd", resolution=4, n_bars=4)
    assert {"train", "valid", "test"} <= set(pools)
    assert all("4/4" in pools[split] and "3/4" in pools[split] for split in ("train", "valid", "test"))
    rates = {split: float(np.nanmean(backbeat_rate(pools[split]["4/4"], 4))) for split in pools}
    # Split by performance, the test split's snare played 2 and 4 in 65 % of bars against 27 % in training.
    assert abs(rates["test"] - rates["train"]) < 0.05 and abs(rates["valid"] - rates["train"]) < 0.05
    n_train, n_test = len(pools["train"]["4/4"]), len(pools["test"]["4/4"])
    assert 0.04 < n_test / (n_train + n_test) < 0.15
