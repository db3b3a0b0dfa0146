"""Instruments a musician can choose per accompaniment track: General MIDI names, defaults that fit the model."""

from __future__ import annotations

import numpy as np
import pytest

from museforge.models.loading import find_model
from museforge.music.instruments import GM_PROGRAM_NAMES, playable_range, program_name, suggested_programs
from museforge.pipelines.instruments import fit_share, instrument_choices, played_pitches


def test_the_128_general_midi_names() -> None:
    assert len(GM_PROGRAM_NAMES) == 128 and len(set(GM_PROGRAM_NAMES)) == 128
    assert program_name(0) == "Acoustic Grand Piano" and program_name(33) == "Electric Bass (finger)"
    assert program_name(47) == "Timpani" and program_name(73) == "Flute" and program_name(127) == "Gunshot"
    assert program_name(32, is_drum=True) == "Jazz Kit"
    with pytest.raises(ValueError):
        program_name(128)


def test_suggestions_fit_the_range_and_put_the_family_first() -> None:
    bass_line = suggested_programs(28, 55, family=33)
    assert bass_line[:8] == [32, 33, 34, 35, 36, 37, 38, 39]
    assert 73 not in bass_line and 40 not in bass_line  # a flute or a violin cannot play a bass line
    assert all(playable_range(p)[0] <= 28 and playable_range(p)[1] >= 55 for p in bass_line)
    assert not set(bass_line) & set(range(120, 128))  # sound effects are never offered


@pytest.mark.slow
@pytest.mark.parametrize("genre", ["jazz", "symphony"])
def test_default_instruments_play_what_the_model_writes(genre: str) -> None:
    """The default program of every pitched track (the card's, what compose plays) can play at least 90 % of the
    notes the model really writes (composed on the built-in melodies), or, where the real music holds more than a
    program's range (a section, flutes to contrabassoon), as much as it plays of the real music, the shipping bar's
    15 % allowed on the rest; the symphony's woodwinds are played by a section (a Clarinet with a Bassoon under D3:
    98.8 % of the real notes). The suggestions are its family, then every other program that can play at least
    95 %."""
    choices = instrument_choices(genre)
    real_fit = find_model(genre).card.get("data", {})["instrument_fit"]
    played = played_pitches(genre)
    assert [c["role"] for c in choices] and len(played) == len(choices)
    for choice, pitches in zip(choices, played, strict=True):
        if choice["is_drum"]:
            assert choice["default_name"].endswith("Kit") and {s["program"] for s in choice["suggested"]} >= {0, 32}
            continue
        assert len(pitches) > 20
        needed = min(0.9, 1.0 - 1.15 * (1.0 - real_fit[choice["role"]]))
        assert fit_share(np.asarray(pitches), choice["default_program"], choice["role"]) >= needed, choice["role"]
        assert choice["suggested"][0]["program"] == choice["default_program"]
        family = choice["default_program"] // 8
        kinds = [s["program"] // 8 == family for s in choice["suggested"][1:]]
        assert kinds == sorted(kinds, reverse=True)  # the default's family first
        assert all(s["fit"] >= 0.95 for s, same in zip(choice["suggested"][1:], kinds, strict=True) if not same)
        assert choice["played_range"] == [int(np.min(pitches)), int(np.max(pitches))]
