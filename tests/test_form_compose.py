"""Compose and regenerate follow the melody's form: Ode to Joy's bars 5-7 repeat bars 1-3, so their accompaniment
repeats, as much as ``variation`` says, in the library, the CLI and the REST API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music.form import bar_spans
from museforge.pipelines.compose import compose
from museforge.pipelines.regenerate import regenerate
from museforge.pretrained import list_pretrained

BAR = 16  # steps of a 4/4 bar at 4 steps per beat


def accompaniment_bar(result, bar: int) -> np.ndarray:
    """The sounding cells of every accompaniment track in ``bar`` (0-based): (K, 16, 128) bool."""
    return result.multitrack.rolls[1:, bar * BAR : (bar + 1) * BAR] > 0


def museforge(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it."""
    return subprocess.run([sys.executable, "-m", "museforge.cli", *args], capture_output=True, text=True)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b))


@pytest.mark.parametrize("genre", [c["genre"] for c in list_pretrained()])
def test_variation_zero_repeats_the_accompaniment_where_the_melody_repeats(genre: str) -> None:
    result = compose("ode_to_joy", genre, seed=5, variation=0.0)
    assert result.summary["variation"] == 0.0 and result.summary["repeated_bars"] == 4
    for first, again in ((0, 4), (1, 5), (2, 6)):  # bars 5-7 repeat bars 1-3 (bar 2 also repeats in bar 6)
        assert same(accompaniment_bar(result, again), accompaniment_bar(result, first))
    assert accompaniment_bar(result, 0).any()  # not silence repeating silence


def test_each_shipped_model_has_its_measured_default_and_one_is_free() -> None:
    free = compose("ode_to_joy", "pop", seed=5, variation=1.0)
    exact = compose("ode_to_joy", "pop", seed=5, variation=0.0)
    assert not same(accompaniment_bar(free, 4), accompaniment_bar(exact, 4))
    for card in list_pretrained():
        assert 0.0 <= card["decoding"]["variation"] <= 1.0  # scripts/measure_form.py measured it
        assert compose("twinkle", card["genre"], seed=1).summary["variation"] == card["decoding"]["variation"]


def test_bad_variation_is_a_clear_error_in_the_library_and_the_cli(tmp_path: Path) -> None:
    with pytest.raises(MuseforgeError, match="variation must be a number from 0"):
        compose("twinkle", "pop", variation=1.2)
    out = museforge(
        "compose", "--melody", "twinkle", "--genre", "pop", "--out", str(tmp_path / "x.mid"), "--variation", "-1"
    )
    assert out.returncode == 2 and "variation must be a number from 0" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "x.mid").exists()
    out = museforge(
        "compose",
        "--melody",
        "ode_to_joy",
        "--genre",
        "rock",
        "--out",
        str(tmp_path / "y.mid"),
        "--variation",
        "0",
        "--seed",
        "3",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["variation"] == 0.0 and summary["repeated_bars"] == 4


def test_regenerating_a_bar_with_its_repeats_changes_both_and_keeps_them_alike(tmp_path: Path) -> None:
    compose("ode_to_joy", "pop", seed=5, variation=0.0, out_midi=tmp_path / "prev.mid")
    before = compose("ode_to_joy", "pop", seed=5, variation=0.0)
    alone = regenerate(tmp_path / "prev.mid", "pop", bars=(0, 0), seed=9, previous_seed=5, variation=0.0)
    assert alone.summary["regenerated"]["repeats"] == []
    assert same(accompaniment_bar(alone, 4), accompaniment_bar(before, 4))  # bar 5 kept: only bar 1 was asked for
    both = regenerate(
        tmp_path / "prev.mid", "pop", bars=(0, 0), seed=9, previous_seed=5, variation=0.0, with_repeats=True
    )
    assert both.summary["regenerated"]["repeats"] == [4]
    assert same(accompaniment_bar(both, 0), accompaniment_bar(both, 4))
    assert not same(accompaniment_bar(both, 0), accompaniment_bar(before, 0))
    for bar in (1, 2, 3, 5, 6, 7):  # every other bar is kept note for note
        assert same(accompaniment_bar(both, bar), accompaniment_bar(before, bar))


def test_a_three_four_melody_repeats_in_its_own_bars() -> None:
    result = compose("amazing_grace", "jazz", seed=2, variation=0.0)
    spans = bar_spans(result.multitrack.n_steps, result.multitrack.downbeats)
    assert {end - start for start, end in spans[1:-1]} == {12}  # 3/4 bars of 12 steps after the pickup
    assert result.summary["repeated_bars"] >= 1
