"""A track keeps to its data's rhythmic grid where its card says so: notes start, stop and move only where the
data's do (the Real Book's bass on the beat, its piano on eighths; chorale voices never on the beat's second 16th)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music.rhythm import beat_positions
from museforge.pipelines.compose import compose
from museforge.pipelines.jam import jam
from museforge.pretrained import pretrained_card_path
from museforge.sampling.changes import change_grids
from museforge.sampling.notes import NotePolicy, to_notes


def line(pitches: list[int | None], n_pitches: int = 4, sure: float = 0.95) -> np.ndarray:
    """``(1, 1, T, P)`` probabilities of a single line that plays ``pitches[t]`` (None: rest) with ``sure``."""
    probs = np.full((1, 1, len(pitches), n_pitches), 0.02, dtype=np.float32)
    for t, pitch in enumerate(pitches):
        if pitch is not None:
            probs[0, 0, t, pitch] = sure
    return probs


def test_a_line_on_a_beat_grid_moves_only_on_the_beat() -> None:
    # the model moves on the second 16th of beat 1 and on the last 16th of beat 2
    probs = line([0, 1, 1, 1, 1, 1, 1, 2])
    free = to_notes(probs, monophonic=[True], hold=[1.5])[0, 0]
    assert np.argmax(free, axis=1).tolist() == [0, 1, 1, 1, 1, 1, 1, 2]
    still = np.isin(beat_positions(8, 4), [0], invert=True)
    still[0] = False
    kept = to_notes(probs, monophonic=[True], hold=[1.5], still=[still])[0, 0]
    pitch = np.argmax(kept, axis=1)
    assert kept.any(axis=1).all()
    assert (pitch[1:4] == pitch[0]).all() and (pitch[5:8] == pitch[4]).all()  # changes on steps 0 and 4 only
    assert pitch.tolist() == [1, 1, 1, 1, 1, 1, 1, 1]  # the line's likeliest pitch of each beat


def test_chords_on_an_eighth_grid_start_and_stop_on_eighths() -> None:
    probs = np.full((1, 1, 8, 3), 0.02, dtype=np.float32)
    probs[0, 0, 1:6, 0] = 0.97  # a note from the second 16th to the sixth
    still = np.isin(beat_positions(8, 4), [0, 2], invert=True)
    still[0] = False
    notes = to_notes(probs, hold=[1.5], still=[still])[0, 0, :, 0]
    changes = np.flatnonzero(notes[1:] != notes[:-1]) + 1
    assert notes.any() and set(changes.tolist()) <= {2, 4, 6}
    with pytest.raises(MuseforgeError, match="still has 2 entries for 1 tracks"):
        to_notes(probs, still=[still, None])


def test_the_card_says_which_tracks_keep_to_their_grid() -> None:
    card = json.loads(pretrained_card_path("jazz").read_text())
    assert change_grids(card) == ((0, 2), (0,), None)  # piano, bass, drums
    off = {**card, "decoding": {**card["decoding"], "change_grid": False}}
    assert change_grids(off) == (None, None, None)
    assert NotePolicy.from_card(off).change_grid == ()
    bad = {**card, "data": {**card["data"], "change_grid": {"bass": ["one"]}}}
    with pytest.raises(MuseforgeError, match=r"data\.change_grid"):
        change_grids(bad)


def changes_off_grid(roll: np.ndarray, allowed: list[int]) -> int:
    """Steps of a ``(S, 128)`` roll whose sounding pitches differ from the step before's, off ``allowed``."""
    changed = np.flatnonzero((roll[1:] != roll[:-1]).any(axis=1)) + 1
    return int(np.isin(changed % 4, allowed, invert=True).sum())


@pytest.mark.parametrize("write", [compose, jam])
def test_the_shipped_jazz_bass_walks_on_the_beat_and_the_piano_comps_on_eighths(write) -> None:
    for seed in (0, 1, 2):
        music = write("ode_to_joy", "jazz", seed=seed).multitrack
        rolls = {role: music.rolls[k] > 0 for k, role in enumerate(music.roles)}
        assert rolls["bass"].any() and rolls["piano"].any()
        assert changes_off_grid(rolls["bass"], [0]) == 0  # 10 % of its notes were one 16th long before
        assert changes_off_grid(rolls["piano"], [0, 2]) == 0


def test_the_shipped_bach_voices_never_move_on_the_beats_second_sixteenth() -> None:
    for melody in ("ode_to_joy", "twinkle"):
        music = compose(melody, "bach", seed=1).multitrack
        for k, role in enumerate(music.roles[1:], start=1):
            assert changes_off_grid(music.rolls[k] > 0, [0, 2, 3]) == 0, role
