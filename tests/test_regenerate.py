"""Regenerate one track or some bars of a real composition with the shipped models; the rest stays note for note."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music.midi import read_midi
from museforge.pipelines.compose import compose
from museforge.pipelines.regenerate import regenerate


def _by_role(result_multitrack, role: str) -> int:
    return result_multitrack.roles.index(role)


def test_regenerating_the_drums_keeps_every_other_note_and_redraws_only_their_private_noise(tmp_path: Path) -> None:
    previous = compose("ode_to_joy", "jazz", seed=7, out_midi=tmp_path / "prev.mid")
    # the same seed rebuilds the very noise the composition came from: nothing changes
    same = regenerate(tmp_path / "prev.mid", "jazz", tracks=["drums"], previous_seed=7, seed=7)
    for i in range(previous.multitrack.n_tracks):
        assert same.multitrack.notes(i) == previous.multitrack.notes(i)
    new = regenerate(
        tmp_path / "prev.mid", "jazz", tracks=["drums"], previous_seed=7, seed=8, out_midi=tmp_path / "new.mid"
    )
    assert new.summary["kept_shared_noise"]
    assert new.summary["regenerated"] == {"tracks": ["drums"], "bars": None, "repeats": []}
    written = read_midi(tmp_path / "new.mid", resolution=4)
    assert written.n_steps <= previous.multitrack.n_steps and new.multitrack.n_steps == previous.multitrack.n_steps
    for role in ("melody", "piano", "bass"):
        before = previous.multitrack.notes(_by_role(previous.multitrack, role))
        assert new.multitrack.notes(_by_role(new.multitrack, role)) == before
        assert written.notes(_by_role(written, role)) == before  # in the file too
    drums_before = previous.multitrack.notes(_by_role(previous.multitrack, "drums"))
    drums_after = new.multitrack.notes(_by_role(new.multitrack, "drums"))
    assert drums_after and drums_after != drums_before
    assert new.multitrack.is_drum[_by_role(new.multitrack, "drums")]


def test_regenerating_bars_keeps_the_other_bars_of_every_track(tmp_path: Path) -> None:
    previous = compose("frere_jacques", "rock", seed=3)
    new = regenerate(previous.multitrack, "rock", bars=(2, 4), previous_seed=3, seed=4)
    downbeats = previous.multitrack.downbeats
    start, end = int(downbeats[2]), int(downbeats[5])
    changed = False
    for i in range(previous.multitrack.n_tracks):
        before, after = previous.multitrack.rolls[i], new.multitrack.rolls[i]
        assert np.array_equal(before[:start], after[:start]) and np.array_equal(before[end:], after[end:])
        notes_outside = [n for n in previous.multitrack.notes(i) if n[2] <= start or n[1] >= end]
        assert set(notes_outside) <= set(new.multitrack.notes(i))  # note for note
        changed |= not np.array_equal(before[start:end], after[start:end])
    assert changed
    assert new.multitrack.n_steps == previous.multitrack.n_steps
    # the melody is never regenerated
    assert new.multitrack.notes(0) == previous.multitrack.notes(0)


def test_a_track_and_bars_together_and_fresh_noise_without_the_previous_seed(tmp_path: Path) -> None:
    previous = compose("twinkle", "pop", seed=5, tracks=["piano"], programs={"piano": 4})
    assert previous.multitrack.roles == ["melody", "piano"]
    unsaid = dataclasses.replace(previous.multitrack, metadata=None)  # a piece that does not say its seed
    new = regenerate(unsaid, "pop", tracks=["piano", "bridge"], bars=(1, 2), seed=6)
    assert not new.summary["kept_shared_noise"]
    assert new.multitrack.roles == ["melody", "bridge", "piano"]  # a chosen track the composition lacked is added
    piano = _by_role(new.multitrack, "piano")
    assert new.multitrack.programs[piano] == 4  # a regenerated track keeps the instrument the user chose
    start, end = int(previous.multitrack.downbeats[1]), int(previous.multitrack.downbeats[3])
    bridge = new.multitrack.notes(_by_role(new.multitrack, "bridge"))
    assert bridge and all(start <= s and e <= end for _, s, e, _ in bridge)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracks": ["tuba"]}, "no track 'tuba'"),
        ({"bars": (3, 40)}, "outside the composition's 4 bars"),
        ({"bars": (2, 1)}, "outside"),
        ({"seed": -1}, "seed must be"),
        ({"out_midi": Path("x.wav")}, "must end in .mid"),
    ],
)
def test_bad_requests_are_clear_errors(kwargs: dict, message: str) -> None:
    previous = compose("twinkle", "jazz", seed=1)
    with pytest.raises(MuseforgeError, match=message):
        regenerate(previous.multitrack, "jazz", **kwargs)
