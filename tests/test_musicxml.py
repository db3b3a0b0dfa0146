"""Sheet music (MusicXML) of a result, written with music21 and read back with it: the library and the CLI (the
REST download is in tests/server/test_sheet_music.py, the studio's in tests/web/test_sheet_music.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from music21 import chord, clef, key, meter, note, stream, tempo

from museforge.errors import MuseforgeError
from museforge.music.instruments import program_name
from museforge.music.keys import key_name
from museforge.music.midi import read_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.compose import compose
from museforge.render.musicxml import write_musicxml
from tests.helpers import read_score, sheet_music_notes


def pitched_notes(music: Multitrack, track: int) -> list[tuple[int, int, int]]:
    return sorted((p, s, e) for p, s, e, _ in music.notes(track))


def read_back(part: stream.Part, resolution: int) -> list[tuple[int, int, int]]:
    return sorted(sheet_music_notes(part, resolution))


def strokes(music: Multitrack, track: int) -> list[int]:
    return sorted({s for _, s, _, _ in music.notes(track)})


def check_tracks(score: stream.Score, music: Multitrack) -> None:
    """One part per track, named after it, on its instrument, with every note of the track (a drum track: every
    stroke, unpitched on a percussion staff), as long as the music."""
    assert [part.partName for part in score.parts] == music.names
    length = Fraction(music.n_steps, music.resolution)
    for k, part in enumerate(score.parts):
        sound = part.getInstrument()
        assert sound is not None and sound.instrumentName == program_name(music.programs[k], music.is_drum[k])
        first = part.getElementsByClass(stream.Measure).first()
        assert first is not None
        if music.is_drum[k]:
            assert isinstance(first.clef, clef.PercussionClef)
            hits = [m for n in part.flatten().notes for m in (n.notes if isinstance(n, chord.ChordBase) else [n])]
            assert all(isinstance(hit, note.Unpitched) for hit in hits)
            assert sorted({s for _, s, _ in sheet_music_notes(part, music.resolution)}) == strokes(music, k)
        else:
            assert sound.midiProgram == music.programs[k]
            assert read_back(part, music.resolution) == pitched_notes(music, k), music.names[k]
        assert Fraction(part.highestTime) == length


@pytest.mark.parametrize(("melody", "genre"), [("amazing_grace", "jazz"), ("ode_to_joy", "rock")])
def test_a_composition_reads_back_as_the_same_music(melody: str, genre: str, tmp_path: Path) -> None:
    result = compose(melody, genre, seed=1, out_midi=tmp_path / "out.mid")
    music = result.multitrack
    assert any(music.is_drum) and any(music.notes(k) for k in range(music.n_tracks) if music.is_drum[k])
    path = write_musicxml(music, tmp_path / "out.musicxml")
    assert path == tmp_path / "out.musicxml"
    score = read_score(path)

    check_tracks(score, music)
    assert Fraction(score.highestTime) == Fraction(music.n_steps, music.resolution)
    # the meter, the key the melody is heard in, the tempo
    numerator, denominator = music.meter
    meters = {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)}
    assert meters == {f"{numerator}/{denominator}"}
    signature = score.parts[0].recurse().getElementsByClass(key.KeySignature).first()
    assert isinstance(signature, key.Key)
    heard = key_name([(p, e - s) for p, s, e, _ in music.notes(0)])
    assert f"{signature.tonic.name.replace('-', 'b')} {signature.mode}" == heard
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    assert [mark.number for mark in marks] == [pytest.approx(music.tempo, abs=0.01)]
    # the melody's pitches, onsets and ends are the MIDI file's
    written = read_midi(tmp_path / "out.mid", resolution=music.resolution)
    assert read_back(score.parts[0], music.resolution) == pitched_notes(written, 0)


def test_triplets_chords_ties_meter_and_tempo_changes_come_back_note_for_note(tmp_path: Path) -> None:
    resolution = 12  # the studio's grid: sixteenths and triplets
    melody = [(65, 0, 4, 90), (67, 4, 8, 90), (69, 8, 12, 90), (70, 12, 30, 90), (72, 30, 45, 90), (74, 45, 50, 90)]
    melody += [(76, 50, 72, 90), (77, 72, 96, 90), (65, 96, 120, 90)]
    # a chord whose notes start and end apart, a note over a bar line, a chord repeated at once
    piano = [(41, 0, 36, 70), (45, 0, 18, 70), (48, 6, 24, 70), (53, 30, 60, 70), (46, 72, 84, 70), (50, 72, 84, 70)]
    piano += [(46, 84, 96, 70), (50, 84, 96, 70)]
    drums = [(36, 0, 1, 100), (42, 0, 1, 100), (38, 12, 13, 100), (42, 16, 17, 100), (49, 36, 40, 100)]
    drums += [(36, 72, 80, 100), (70, 78, 79, 100)]
    tracks = [
        TrackNotes("Flute (melody)", "melody", 73, False, melody),
        TrackNotes("Piano", "piano", 0, False, piano),
        TrackNotes("Drums", "drums", 0, True, drums),
        TrackNotes("Strings", "strings", 48, False, []),  # silent: rests all through
    ]
    music = Multitrack.from_notes(
        tracks, resolution, n_steps=120, tempos=[(0, 90.0), (72, 120.0)], time_signatures=[(0, 6, 8), (72, 2, 4)]
    )
    score = read_score(write_musicxml(music, tmp_path / "changes.xml", title="Changes"))

    assert score.metadata.bestTitle == "Changes"
    check_tracks(score, music)
    top = score.parts[0]
    meters = top.recurse().getElementsByClass(meter.TimeSignature)
    assert [(float(ts.getOffsetInHierarchy(top)), ts.ratioString) for ts in meters] == [(0.0, "6/8"), (6.0, "2/4")]
    marks = top.recurse().getElementsByClass(tempo.MetronomeMark)
    assert [(float(mark.getOffsetInHierarchy(top)), mark.number) for mark in marks] == [(0.0, 90), (6.0, 120)]
    assert len(top.getElementsByClass(stream.Measure)) == 2 + 2  # two bars of 6/8, two of 2/4
    # F major: B flat is written B flat, not A sharp
    assert "B-4" in [n.pitch.nameWithOctave for n in top.recurse().notes]
    signature = top.recurse().getElementsByClass(key.KeySignature).first()
    assert signature is not None and signature.sharps == -1


def test_unwritable_or_empty_music_is_a_one_line_error(tmp_path: Path) -> None:
    music = Multitrack.from_notes([TrackNotes("Piano", "melody", 0, False, [(60, 0, 4, 80)])], 4)
    with pytest.raises(MuseforgeError, match="does not exist"):
        write_musicxml(music, tmp_path / "missing" / "out.musicxml")
    empty = Multitrack.from_notes([TrackNotes("Piano", "melody", 0, False, [])], 4)
    with pytest.raises(MuseforgeError, match="no length"):
        write_musicxml(empty, tmp_path / "out.musicxml")
    assert not list(tmp_path.iterdir())  # nothing left behind


@pytest.mark.slow
def test_a_64_bar_piece_of_six_tracks_takes_seconds(tmp_path: Path) -> None:
    piece = compose("ode_to_joy", "rock", seed=1).multitrack  # 8 bars, six tracks
    times = 8
    long = Multitrack(
        rolls=np.concatenate([piece.rolls] * times, axis=1),
        onsets=np.concatenate([piece.onsets] * times, axis=1),
        names=piece.names,
        roles=piece.roles,
        programs=piece.programs,
        is_drum=piece.is_drum,
        resolution=piece.resolution,
        tempos=piece.tempos,
        time_signatures=piece.time_signatures,
    )
    assert long.n_bars == 64 and long.n_tracks == 6
    began = time.perf_counter()
    write_musicxml(long, tmp_path / "long.musicxml")
    took = time.perf_counter() - began
    assert took < 60, f"{took:.1f} s"  # about 4 s on 2 busy cores
    score = read_score(tmp_path / "long.musicxml")
    assert len(score.parts) == 6 and len(score.parts[0].getElementsByClass(stream.Measure)) == 64
    assert read_back(score.parts[0], long.resolution) == pitched_notes(long, 0)


# --------------------------------------------------------------------------------------------- the command line
def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    """``museforge ARGS`` in a subprocess with its own data home."""
    return subprocess.run(
        [sys.executable, "-m", "museforge.cli", *args],
        capture_output=True,
        text=True,
        env={"MUSEFORGE_HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=300,
    )


def test_compose_writes_sheet_music_from_the_command_line(museforge_home: Path, tmp_path: Path) -> None:
    out, sheet = tmp_path / "tune.mid", tmp_path / "tune.musicxml"
    done = run_cli("compose", "--melody", "amazing_grace", "--genre", "jazz", "--seed", "3", "--out", str(out),
                   "--musicxml", str(sheet), home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {sheet}" in done.stdout.splitlines()
    score = read_score(sheet)
    written = read_midi(out, resolution=12)
    names = [part.partName for part in score.parts]  # every track, silent ones too (the MIDI file skips them)
    assert [name for name in names if name in written.names] == written.names
    assert read_back(score.parts[0], 12) == pitched_notes(written, 0)
    assert {ts.ratioString for ts in score.recurse().getElementsByClass(meter.TimeSignature)} == {"3/4"}


def test_a_bad_sheet_music_path_is_one_line_and_exit_2_before_any_work(museforge_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "tune.mid"
    for sheet, needle in (
        (tmp_path / "tune.pdf", "must end in .musicxml or .xml"),
        (tmp_path / "tune.mid", "for MIDI use --out"),
        (tmp_path / "missing" / "tune.musicxml", "does not exist"),
    ):
        done = run_cli("compose", "--melody", "twinkle", "--genre", "jazz", "--out", str(out), "--musicxml",
                       str(sheet), home=museforge_home)  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and needle in errors[0], done.stderr
    assert not list(tmp_path.iterdir())  # no MIDI file either


@pytest.mark.slow
def test_regenerate_enhance_and_extend_write_sheet_music_too(museforge_home: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.mid"
    assert run_cli("compose", "--melody", "twinkle", "--genre", "jazz", "--seed", "1", "--out", str(first),
                   home=museforge_home).returncode == 0  # fmt: skip
    commands = {
        "regenerate": ["regenerate", str(first), "--tracks", "drums", "--seed", "2"],
        "enhance": ["enhance", "--melody", "twinkle", "--iterations", "2", "--seed", "2"],
        "extend": ["extend", "--melody", "twinkle", "--bars", "2", "--seed", "2"],
    }
    for name, args in commands.items():
        out, sheet = tmp_path / f"{name}.mid", tmp_path / f"{name}.xml"
        done = run_cli(*args, "--out", str(out), "--musicxml", str(sheet), "--json", home=museforge_home)
        assert done.returncode == 0, (name, done.stderr)
        summary = json.loads(done.stdout)
        assert summary["musicxml"] == str(sheet), name
        score = read_score(sheet)
        assert [part.partName for part in score.parts] == [t["name"] for t in summary["tracks"]], name
        written = read_midi(out, resolution=12)
        assert read_back(score.parts[0], 12) == pitched_notes(written, 0), name
