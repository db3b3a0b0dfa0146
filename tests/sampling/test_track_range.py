"""A card may keep every pitched track, chords too, in the range its data play (``decoding.track_range``): the
symphony's brass no longer blips an octave above the data's highest note or sinks under its lowest."""

from __future__ import annotations

import json

import numpy as np

from museforge.model_files import ModelCard
from museforge.pipelines.compose import compose
from museforge.pretrained import pretrained_card_path
from museforge.sampling.notes import line_ranges, monophonic_tracks


def test_the_card_says_which_tracks_keep_to_their_data_range() -> None:
    card = ModelCard(json.loads(pretrained_card_path("symphony").read_text()))
    assert card["decoding"]["track_range"] is True
    lines = monophonic_tracks(card)
    spans = card["data"]["line_range"]
    ranges = line_ranges(card, lines)
    for role, kept in zip(card.roles, ranges, strict=True):
        assert kept == list(range(spans[role][0], spans[role][1] + 1)), role  # strings, woodwinds, brass, timpani
    only_lines = ModelCard({**card, "decoding": {**card["decoding"], "track_range": False}})
    assert [r is not None for r in line_ranges(only_lines, lines)] == lines  # the timpani's line alone


def test_the_symphony_brass_plays_in_its_data_range() -> None:
    card = json.loads(pretrained_card_path("symphony").read_text())
    low, high = card["data"]["line_range"]["brass"]
    played = []
    for melody in ("ode_to_joy", "amazing_grace", "we_wish_you"):
        for seed in range(3):
            music = compose(melody, "symphony", seed=seed).multitrack
            brass = music.rolls[music.roles.index("brass")] > 0
            played += np.flatnonzero(brass.any(axis=0)).tolist()
    assert played and low <= min(played) and max(played) <= high
