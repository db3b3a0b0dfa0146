"""The shipped Bach model's voices sing through a melody, each in its own register, as chorale voices do; the jazz
bass walks through the tune without dropping out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from museforge.pipelines.compose import compose
from museforge.pretrained import pretrained_card_path


@pytest.mark.parametrize("melody", ["ode_to_joy", "amazing_grace", "twinkle"])
def test_bach_voices_sound_through_the_melody_in_their_ranges(melody: str) -> None:
    card = json.loads(pretrained_card_path("bach").read_text())
    ranges = card["data"]["line_range"]
    music = compose(melody, "bach", seed=1).multitrack
    assert music.roles[1:] == ["alto", "tenor", "bass"]
    melody_sounds = music.rolls[0].any(axis=1)
    for k, role in enumerate(music.roles[1:], start=1):
        sounding = music.rolls[k].any(axis=1)
        # under the melody the voice sings (real chorale voices: 99.6 % of steps; before the line bias 68-88 %)
        assert sounding[melody_sounds].mean() >= 0.95, role
        pitches = np.flatnonzero(music.rolls[k].any(axis=0))
        low, high = ranges[role]
        assert low <= pitches.min() and pitches.max() <= high, role  # repeats moved with the melody included
        assert (music.rolls[k] > 0).sum(axis=1).max() == 1  # one note at a time


def test_the_jazz_bass_walks_through_the_tune() -> None:
    music = compose("ode_to_joy", "jazz", seed=1).multitrack
    bass = music.rolls[music.roles.index("bass")].any(axis=1)
    melody = music.rolls[0].any(axis=1)
    assert bass[melody].mean() >= 0.95  # real 99.6 % of steps; 88-90 % before the line bias
