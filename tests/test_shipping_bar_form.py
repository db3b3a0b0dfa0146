"""The shipping bar holds the melody's form: repeat overlap within 15 % of the real songs', identical repeats at
least half as often as in them."""

from __future__ import annotations

from typing import Any

import pytest

from museforge.evaluate.bar import shipping_bar


def result(overlap: float, identical: float, real_identical: float = 0.3) -> dict[str, Any]:
    cell = {"generated": 0.9, "real": 0.9, "gap": 0.0}
    return {
        "kind": "model",
        "split": "test",
        "tracks": {"piano": {"key_fit": cell}, "ensemble": {"crowded_window_rate": cell}},
        "form": {
            "variation": 0.5,
            "songs": 10,
            "repeat_overlap": {"generated": overlap, "real": 0.66, "gap": None},
            "repeat_identical": {"generated": identical, "real": real_identical, "gap": None},
            "repeat_pairs": {"generated": 100.0, "real": 100.0, "gap": 0.0},
        },
    }


def test_form_like_the_real_songs_passes() -> None:
    bar = shipping_bar(result(0.68, 0.42))
    assert bar["passed"] and bar["form"]["passed"]


@pytest.mark.parametrize(
    ("overlap", "identical", "failure"),
    [(0.27, 0.0, "repeat_overlap"), (0.66, 0.1, "repeat_identical"), (0.9, 0.9, "repeat_overlap")],
)
def test_free_or_frozen_repeats_fail(overlap: float, identical: float, failure: str) -> None:
    bar = shipping_bar(result(overlap, identical))
    assert not bar["passed"] and not bar["form"]["metrics"][failure]["passed"]
    assert any(failure in line for line in bar["failures"])


def test_no_identical_repeat_is_asked_where_the_real_songs_have_none() -> None:
    assert shipping_bar(result(0.66, 0.0, real_identical=0.0))["passed"]


def test_drums_and_bass_off_the_meters_beats_fail_the_bar() -> None:
    """Under each meter the drums and bass put at least 80 % as many onsets on its beats as the real music does."""
    played = result(0.68, 0.42)
    played["meter"] = {
        "4/4": {"windows": 500, "beat_onset_share": {"generated": 0.70, "real": 0.74, "gap": None}},
        "3/4": {"windows": 40, "beat_onset_share": {"generated": 0.66, "real": 0.78, "gap": None}},
    }
    assert shipping_bar(played)["passed"] and shipping_bar(played)["meter"]["passed"]
    played["meter"]["3/4"]["beat_onset_share"]["generated"] = 0.58  # the 4/4 grid under a waltz: 74 % of real
    bar = shipping_bar(played)
    assert not bar["passed"] and not bar["meter"]["metrics"]["beat_onset_share 3/4"]["passed"]
    assert bar["failures"] == ["meter beat_onset_share 3/4 0.580 (at least 0.624)"]
