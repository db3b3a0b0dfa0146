"""Jam mode's causal composer: a bar never hears the melody after it, a live session plays what the file path
plays, the tune's form is followed one bar ahead, and bad notes are one-line errors; `museforge jam` as a user
runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from museforge.errors import MuseforgeError
from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines import jam as jam_module
from museforge.pipelines.compose import compose
from museforge.pipelines.jam import JamSession, jam
from museforge.pipelines.regenerate import regenerate

BAR = 16  # steps of a 4/4 bar at 4 steps per quarter note


def band(result: Multitrack, first: int = 0, last: int | None = None) -> np.ndarray:
    """The accompaniment's sounding cells in bars ``first .. last - 1``: (K, steps, 128) bool."""
    bar = round(result.resolution * result.meter[0] * 4 / result.meter[1])
    end = None if last is None else last * bar
    return result.rolls[1:, first * bar : end] > 0


def ode_to_joy(changed_after_bar: int | None = None) -> Multitrack:
    """Ode to Joy on the models' grid; with ``changed_after_bar``, every note after that bar a fourth higher."""
    music = melody_to_multitrack(get_melody("ode_to_joy"), resolution=4)
    if changed_after_bar is None:
        return music
    start = (changed_after_bar + 1) * BAR
    notes = [(p + 5 if s >= start else p, s, e, v) for p, s, e, v in music.notes(0)]
    return Multitrack.from_notes(
        [TrackNotes("Ode to Joy", "melody", 0, False, notes)], 4, tempo=music.tempo, n_steps=music.n_steps
    )


@pytest.mark.parametrize("genre", ["jazz", "pop"])
def test_changing_the_melody_after_bar_n_leaves_bars_up_to_n_plus_1_unchanged(genre: str) -> None:
    n = 3
    before = jam(ode_to_joy(), genre, seed=4).multitrack
    after = jam(ode_to_joy(changed_after_bar=n), genre, seed=4).multitrack
    assert band(before).any()
    assert np.array_equal(band(before, 0, n + 2), band(after, 0, n + 2))
    assert not np.array_equal(band(before, n + 2), band(after, n + 2))  # the band does hear the new notes
    # compose sees the whole melody: the same change reaches back into bars it has not reached in jam
    whole = [compose(m, genre, seed=4).multitrack for m in (ode_to_joy(), ode_to_joy(changed_after_bar=n))]
    assert not np.array_equal(band(whole[0], 0, n + 2), band(whole[1], 0, n + 2))


def test_the_first_bar_is_written_before_any_melody_so_only_the_drums_play() -> None:
    result = jam("ode_to_joy", "jazz", seed=2).multitrack
    drums = [i for i in range(1, result.n_tracks) if result.is_drum[i]]
    pitched = [i - 1 for i in range(1, result.n_tracks) if not result.is_drum[i]]
    assert band(result, 0, 1)[pitched].sum() == 0
    assert (result.rolls[drums, :BAR] > 0).any()
    assert band(result, 1, 2)[pitched].any()


def test_a_repeated_strain_gets_the_accompaniment_it_had_one_bar_ahead() -> None:
    # Ode to Joy: bars 5-7 repeat bars 1-3. Bar 5 (index 4) cannot be known before it is played; once it is
    # heard to repeat bar 1, bars 6 and 7 are guessed to repeat bars 2 and 3, and with variation 0 they do.
    result = jam("ode_to_joy", "pop", seed=5, variation=0.0).multitrack
    for first, again in ((1, 5), (2, 6)):
        assert np.array_equal(band(result, again, again + 1), band(result, first, first + 1))
    rest = jam("ode_to_joy", "pop", seed=5, variation=0.0, guess="rest").multitrack
    assert not np.array_equal(band(rest, 5, 6), band(rest, 1, 2))


def test_a_live_session_plays_what_the_file_path_plays() -> None:
    music = ode_to_joy()
    offline = jam(music, "jazz", seed=7, tempo=100).multitrack
    session = JamSession("jazz", seed=7)
    assert session.beats_per_bar == 4.0 and [t["role"] for t in session.tracks] == ["piano", "bass", "drums"]
    answers = [session.first_bar()]
    for bar in range(music.n_steps // BAR):
        notes = [
            (p, (s - bar * BAR) / 4, (e - s) / 4, v)
            for p, s, e, v in music.notes(0)
            if bar * BAR <= s < (bar + 1) * BAR
        ]
        assert session.bar == bar
        answers.append(session.play_bar(notes))
    live = session.multitrack(tempo=100)
    assert live.resolution == 12 and live.n_steps == offline.n_steps * 3
    for track in range(1, offline.n_tracks):
        assert [(p, s * 3, e * 3, v) for p, s, e, v in offline.notes(track)] == live.notes(track)
    assert [(p, s * 3, e * 3, v) for p, s, e, v in music.notes(0)] == live.notes(0)
    # the answers are the band's bars, in beats from each bar line: they sound the cells the file does (a note
    # held over a bar line is struck again in the next bar's answer; in the file it is one note)
    sounding = np.zeros((live.n_tracks - 1, live.n_steps, 128), dtype=bool)
    for bar, notes in enumerate(answers[:-1]):
        for track, pitch, start, duration, velocity, _tied in notes:
            assert 0 <= start < 4 and 0 < duration <= 4 and 1 <= velocity <= 127
            first = bar * 48 + round(start * 12)
            sounding[track, first : first + round(duration * 12), pitch] = True
    assert np.array_equal(sounding, live.rolls[1:] > 0)
    # a note marked tied goes on from the bar before: joined so, the answers are the file's notes one for one
    joined: dict[int, list[list[int]]] = {track: [] for track in range(live.n_tracks - 1)}
    ties = 0
    for bar, notes in enumerate(answers[:-1]):
        for track, pitch, start, duration, _velocity, tied in notes:
            first, end = bar * 48 + round(start * 12), bar * 48 + round((start + duration) * 12)
            if tied:
                held = [n for n in joined[track] if n[0] == pitch and n[2] == first]
                assert len(held) == 1 and first == bar * 48, (bar, track, pitch)
                held[0][2] = end
                ties += 1
            else:
                joined[track].append([pitch, first, end])
    for track, notes in joined.items():
        assert sorted(map(tuple, notes)) == sorted((p, s, e) for p, s, e, _ in live.notes(track + 1)), track
    assert ties > 0  # jazz piano holds chords over bar lines in this piece


def test_a_session_in_six_eight_plays_bars_of_three_beats() -> None:
    session = JamSession("rock", numerator=6, denominator=8, seed=1)
    assert session.beats_per_bar == 3.0
    for _ in range(3):
        notes = session.play_bar([(67, 0.0, 1.5, 90), (69, 1.5, 1.5, 90)])
        assert notes and all(0 <= n[2] < 3.0 for n in notes)
    music = session.multitrack(tempo=90)
    assert music.meter == (6, 8) and music.n_steps == 3 * 36


def test_bad_notes_meters_and_too_many_bars_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    session = JamSession("jazz", seed=1)
    for note, message in [
        ((128, 0, 1, 90), "pitch must be a whole number 0..127"),
        ((60, 0, 0, 90), "duration must be more than 0"),
        ((60, 0, 1, 0), "velocity must be a whole number 1..127"),
        ((60, float("nan"), 1, 90), "must be finite"),
        ((60, 0, 1), "a note is [pitch, start_beat, duration_beats, velocity]"),
        (("60", 0, 1, 90), "must be numbers"),
    ]:
        with pytest.raises(MuseforgeError, match=message.replace("[", r"\[").replace("]", r"\]")):
            session.play_bar([note])
    assert session.bar == 0  # a refused bar is not played
    played = session.play_bar([(60, -1.0, 1, 90), (62, 3.5, 4, 90), (64, 9.0, 1, 90)])
    assert played and session.bar == 1
    music = session.multitrack()
    assert music.notes(0) == [(62, 42, 48, 90)]  # before the bar dropped, past it cut, after it dropped
    with pytest.raises(MuseforgeError, match="a jam's meter must be"):
        JamSession("jazz", numerator=5, denominator=3)
    with pytest.raises(MuseforgeError, match="unknown guess"):
        JamSession("jazz", guess="psychic")
    monkeypatch.setattr(jam_module, "JAM_MAX_BARS", 2)
    session.play_bar([])
    with pytest.raises(MuseforgeError, match="at most 2 bars"):
        session.play_bar([])
    session.skip_bars(0)
    assert session.bar == 2


def test_museforge_jam_writes_the_piece_and_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "jam.mid"
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "museforge.cli", "jam", "--melody", "amazing_grace", "--genre", "rock"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MUSEFORGE_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "played along bar by bar" in done.stdout and "3/4" in done.stdout
    music = read_midi(out)
    assert music.meter == (3, 4) and music.names[0].endswith("(melody)")
    assert len(music.notes(0)) == len(get_melody("amazing_grace").notes) and music.n_tracks >= 4
    again = regenerate(out, tracks=["drums"], seed=9)  # the file says which model played along
    assert again.summary["model"] == "rock" and len(again.multitrack.notes(0)) == len(music.notes(0))
    bad = subprocess.run(
        [sys.executable, "-m", "museforge.cli", "jam", "--melody", "twinkle", "--genre", "rock", "--out", "x.txt"],
        capture_output=True,
        text=True,
        env={**os.environ, "MUSEFORGE_HOME": str(tmp_path)},
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
