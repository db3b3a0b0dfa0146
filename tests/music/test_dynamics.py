"""Velocities that follow the meter and the phrase, and the key signature a MIDI file states."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from museforge.music.dynamics import ACCOMPANIMENT_VELOCITY, Dynamics, note_velocities, step_accents
from museforge.music.inputs import transpose_melody
from museforge.music.keys import key_signature
from museforge.music.meter import piece_grid
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.compose import compose


def _grid(bars: int, numerator: int, denominator: int, resolution: int = 4) -> np.ndarray:
    bar = numerator * 4 * resolution // denominator
    return piece_grid(bars * bar, list(range(0, bars * bar, bar)), [(0, numerator, denominator)], resolution)


def test_the_downbeat_is_strongest_then_the_beats_the_eighths_and_the_rest() -> None:
    accents = step_accents(_grid(8, 4, 4), 4)
    first_bar = accents[:16]
    assert first_bar[0] > first_bar[4] > first_bar[2] > first_bar[1]  # one > two > its "and" > a sixteenth
    assert {first_bar[4], first_bar[8], first_bar[12]} <= set(range(first_bar[2] + 1, first_bar[0]))
    # a 4-bar phrase swells to its middle and falls back: bar starts 10, 14, 16, 14, then 10 again
    assert accents[[0, 16, 32, 48, 64]].tolist() == [10, 14, 16, 14, 10]


def test_compound_and_triple_meters_accent_their_own_beats() -> None:
    jig = step_accents(_grid(4, 6, 8), 4)  # bars of 12 steps, beats every 6 (dotted quarters)
    assert jig[6] > jig[2] and jig[6] > jig[4] and jig[0] > jig[6]
    waltz = Dynamics.of(_grid(4, 3, 4), 4)
    assert np.flatnonzero(waltz.on_beat[:12]).tolist() == [0, 4, 8]
    assert waltz.accents[12] > waltz.accents[4]  # the next bar's one


def test_kit_pieces_have_their_levels_and_a_snare_off_the_beat_is_a_ghost_note() -> None:
    dynamics = Dynamics.of(_grid(2, 4, 4), 4)
    kick, hat, snare_on_two, snare_ghost = note_velocities(
        np.array([36, 42, 38, 38]), np.array([0, 1, 4, 3]), dynamics, is_drum=True
    )
    assert kick > snare_on_two > hat and snare_ghost < hat < kick
    pitched = note_velocities(np.array([60, 60]), np.array([0, 1]), dynamics, is_drum=False)
    assert pitched[0] > ACCOMPANIMENT_VELOCITY > pitched[1]
    assert ((note_velocities(np.arange(128), np.zeros(128), dynamics, True) >= 1) & True).all()


def test_a_composition_is_played_with_accents_and_states_its_key(tmp_path: Path) -> None:
    out = tmp_path / "rock.mid"
    music = compose("ode_to_joy", "rock", seed=1, out_midi=out).multitrack
    drums = music.roles.index("drums")
    notes = np.asarray(music.notes(drums))
    on_beat = notes[notes[:, 1] % 4 == 0, 3]
    off_beat = notes[notes[:, 1] % 4 != 0, 3]
    assert len(on_beat) and len(off_beat) and on_beat.mean() > off_beat.mean() + 5
    velocities = {v for i in range(1, music.n_tracks) if not music.is_drum[i] for *_, v in music.notes(i)}
    assert len(velocities) > 3  # not one constant
    keys = [m for m in mido.MidiFile(out).tracks[0] if m.type == "key_signature"]
    assert [m.key for m in keys] == ["C"]  # Ode to Joy is in C major: no sharps or flats
    assert read_midi(out, 4).key_signatures == [(0, 0, False)]


def test_a_stated_key_is_kept_and_moves_with_the_melody(tmp_path: Path) -> None:
    melody = Multitrack.from_notes(
        [TrackNotes("Tune", "melody", 0, False, [(62 + (i % 5), 4 * i, 4 * i + 4, 90) for i in range(32)])], 4
    )
    melody.key_signatures = [(0, -1, True)]  # D minor, as the file says
    source = tmp_path / "tune.mid"
    write_midi(melody, source)
    assert read_midi(source, 4).key_signatures == [(0, -1, True)]
    out = tmp_path / "up.mid"
    compose(source, "jazz", seed=0, transpose=2, out_midi=out)
    assert read_midi(out, 4).key_signatures == [(0, 1, True)]  # E minor: one sharp
    assert transpose_melody(read_midi(source, 4), -1).key_signatures == [(0, 4, True)]  # C# minor, 4 sharps
    assert key_signature(6, "major") == (-6, False)  # F# major is written as G flat
