"""Compose with every shipped genre model on real melodies; bad input through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from museforge.music.inputs import load_melody, pick_melody_track
from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes
from museforge.pipelines.compose import compose
from museforge.pretrained import list_pretrained
from tests.tiny_models import tiny_run

GENRES = ("bach", "pop", "rock", "jazz", "symphony")


def test_every_genre_has_a_shipped_model() -> None:
    cards = {card["genre"]: card for card in list_pretrained()}
    assert sorted(cards) == sorted(GENRES)
    for genre, card in cards.items():
        assert card["architecture"] == ("unet" if genre == "bach" else "musegan")
        assert card["training"]["seconds"] > 0 and card["training"]["hardware"]
        weights = Path(card["card_path"]).with_suffix(".safetensors")
        assert weights.stat().st_size < 8_000_000


@pytest.mark.parametrize("genre", GENRES)
def test_compose_a_sample_with_each_shipped_model(genre: str, tmp_path: Path) -> None:
    melody = get_melody("ode_to_joy")
    result = compose("ode_to_joy", genre, out_midi=tmp_path / "out.mid", png=tmp_path / "out.png", seed=3)
    card = next(c for c in list_pretrained() if c["genre"] == genre)
    tracks = card["data"]["tracks"]
    written = read_midi(tmp_path / "out.mid", resolution=card["data"]["resolution"])
    expected = melody_to_multitrack(melody, card["data"]["resolution"])

    # every accompaniment track is in the composition; the file holds those that play (a rock piano may rest
    # through a whole tune, as real rock pianos do: MIDI readers, ours too, skip a track with no note)
    assert result.multitrack.n_tracks == 1 + len(tracks)
    playing = [k for k in range(1, result.multitrack.n_tracks) if result.multitrack.notes(k)]
    assert written.n_tracks == 1 + len(playing) and len(playing) >= len(tracks) - 1
    assert written.n_steps <= expected.n_steps  # never longer than the melody
    assert result.multitrack.n_steps == expected.n_steps  # exactly as long as the melody
    assert written.notes(0) == [(p, s, e, v) for p, s, e, v in expected.notes(0)]  # the melody, unchanged
    assert written.tempo == pytest.approx(melody.tempo, abs=0.01)
    low = card["data"]["lowest_pitch"]
    high = low + card["data"]["n_pitches"]
    for k, spec in enumerate(tracks, start=1):
        assert result.multitrack.programs[k] == spec["program"]
        assert result.multitrack.is_drum[k] == spec["is_drum"]
        assert all(low <= p < high for p, *_ in result.multitrack.notes(k))  # within the model's pitch window
    for index, k in enumerate(playing, start=1):
        assert (
            written.programs[index] == tracks[k - 1]["program"] and written.is_drum[index] == tracks[k - 1]["is_drum"]
        )
    accompaniment_notes = sum(len(written.notes(k)) for k in range(1, written.n_tracks))
    assert accompaniment_notes > 0
    assert (tmp_path / "out.png").stat().st_size > 10_000


def test_seed_reproduces_and_no_seed_varies(tmp_path: Path) -> None:
    first = compose("twinkle", "jazz", out_midi=tmp_path / "a.mid", seed=11)
    again = compose("twinkle", "jazz", out_midi=tmp_path / "b.mid", seed=11)
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    other = compose("twinkle", "jazz", out_midi=tmp_path / "c.mid")
    assert other.summary["seed"] != first.summary["seed"]
    assert again.summary == {**first.summary, "midi": str(tmp_path / "b.mid")}


def test_a_long_real_melody_is_generated_window_by_window(shared_datasets: Path, tmp_path: Path) -> None:
    """A whole jazz lead sheet (melody + chords + bass): its melody track is found and accompanied to the end."""
    source = shared_datasets / "jazz/openbook_realbook_with_bass/midis_with_bass/Autumn_Leaves.mid"
    original = read_midi(source, resolution=4)
    assert original.roles[pick_melody_track(original)] == "melody"
    result = compose(source, "pop", out_midi=tmp_path / "long.mid", seed=1)
    melody = load_melody(source, 4)
    assert result.multitrack.n_steps == melody.n_steps
    assert result.summary["bars"] > 16  # longer than any training window
    last_quarter = result.multitrack.rolls[1:, 3 * melody.n_steps // 4 :]
    assert last_quarter.any()  # the accompaniment carries on to the end


def test_a_multitrack_file_without_named_melody_takes_the_highest_line(tmp_path: Path) -> None:
    tune = [(72 + i % 3, 4 * i, 4 * i + 4, 90) for i in range(16)]
    chords = [(p, 16 * b, 16 * b + 16, 70) for b in range(4) for p in (48, 52, 55)]
    file = Multitrack.from_notes(
        [TrackNotes("Track A", "piano", 0, False, chords), TrackNotes("Track B", "piano", 0, False, tune)], 4
    )
    assert pick_melody_track(file) == 1


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "museforge.cli", *args],
        capture_output=True,
        text=True,
        env={"MUSEFORGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


@pytest.mark.slow
def test_cli_compose_writes_files_and_json(tmp_path: Path, museforge_home: Path) -> None:
    done = run_cli(
        "compose", "--melody", "frere_jacques", "--genre", "rock", "--out", str(tmp_path / "r.mid"),
        "--wav", str(tmp_path / "r.wav"), "--seed", "2", "--json", home=museforge_home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [t["role"] for t in summary["tracks"]] == ["melody", "bass", "drums", "guitar", "piano", "strings"]
    assert summary["tracks"][2]["is_drum"]
    assert (tmp_path / "r.wav").read_bytes()[:4] == b"RIFF"


def _drums_only(path: Path) -> Path:
    drums = Multitrack.from_notes([TrackNotes("Kit", "drums", 0, True, [(36, 0, 1, 100), (38, 4, 5, 100)])], 4)
    write_midi(drums, path)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not_midi", "x.mid is not MIDI (it starts with b'hello', not b'MThd'): a melody is a Standard MIDI File"),
        ("no_notes", "has no notes"),
        ("drums_only", "only drums"),
        ("unknown_sample", "no sample melody"),
        ("unknown_model", "no model named"),
        ("missing_folder", "does not exist"),
        ("too_long", "limit is 512 bars"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_code_2(case: str, message: str, tmp_path: Path, museforge_home: Path) -> None:
    melody, model, out = "twinkle", "pop", tmp_path / "out.mid"
    if case == "not_midi":
        melody = str(tmp_path / "x.mid")
        Path(melody).write_text("hello")
    elif case == "no_notes":
        melody = str(tmp_path / "empty.mid")
        midi = mido.MidiFile()
        midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
        midi.save(melody)
    elif case == "drums_only":
        melody = str(_drums_only(tmp_path / "drums.mid"))
    elif case == "unknown_sample":
        melody = "yankee_doodle_dandy"
    elif case == "unknown_model":
        model = "no-such-model"
    elif case == "missing_folder":
        out = tmp_path / "nowhere" / "out.mid"
    elif case == "too_long":
        melody = str(tmp_path / "long.mid")
        long = Multitrack.from_notes(
            [TrackNotes("Lead", "melody", 0, False, [(60, 0, 4, 80), (62, 4 * 4 * 600, 4 * 4 * 601, 80)])], 4
        )
        write_midi(long, Path(melody))
    done = run_cli("compose", "--melody", melody, "--model", model, "--out", str(out), home=museforge_home)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_failed_model_cannot_compose(shared_datasets: Path, tmp_path: Path) -> None:
    from museforge.datasets.build import build_dataset
    from museforge.errors import MuseforgeError
    from museforge.training import TrainConfig, train
    from museforge.training.registry import model_dir, read_card, write_card

    build_dataset("bach", shared_datasets, limit=8)
    # 64 metric windows and device "auto": TrainConfig's defaults, which this test has always trained with
    config = TrainConfig(name="tiny", **tiny_run(samples_per_epoch=0, metrics_samples=64, device="auto"))
    train(config, progress=False)
    assert compose("twinkle", "tiny", out_midi=tmp_path / "ok.mid", seed=1).multitrack.n_tracks == 4
    card = read_card(model_dir("tiny"))
    write_card(model_dir("tiny"), {**card, "status": "failed", "error": "out of memory"})
    with pytest.raises(MuseforgeError, match=r"failed \(out of memory\): it cannot compose"):
        compose("twinkle", "tiny", out_midi=tmp_path / "no.mid")
    assert not (tmp_path / "no.mid").exists()


def test_bars_are_counted_in_the_melodys_own_meter(tmp_path: Path) -> None:
    """A 3/4 melody of 9 bars is 9 bars in the summary, as `melodies list` says; a model that learnt 3/4 plays it
    with no note, a 4-beat model says it plays 4-beat bars under it; a 4/4 melody gets no such note."""
    melody = get_melody("we_wish_you")
    assert melody.time_signature == (3, 4) and melody.n_bars == 9
    result = compose("we_wish_you", "jazz", out_midi=tmp_path / "w.mid", seed=1)
    assert result.summary["bars"] == 9 and result.summary["meter"] == "3/4"
    assert result.summary["meter_note"] is None  # the jazz model learnt 3/4 (its card counts the windows)
    chorale = compose("we_wish_you", "bach", out_midi=tmp_path / "b.mid", seed=1)  # the U-Net reads the grid too
    assert chorale.summary["meter_note"] is None
    four_beat = compose("we_wish_you", "pop", out_midi=tmp_path / "p.mid", seed=1)  # pop: no metric grid
    assert "4-beat bars" in four_beat.summary["meter_note"] and "3/4" in four_beat.summary["meter_note"]
    plain = compose("ode_to_joy", "jazz", out_midi=tmp_path / "o.mid", seed=1)
    assert plain.summary["bars"] == 8 and plain.summary["meter"] == "4/4" and plain.summary["meter_note"] is None
    # A 6/8 file of 8 bars (each bar 3 quarter beats) is 8 bars, not the 6 four-beat bars it lasts.
    notes = [(72 if i % 2 else 67, i * 6, i * 6 + 6, 90) for i in range(16)]  # 8 bars x 2 dotted quarters
    six_eight = Multitrack.from_notes(
        [TrackNotes("Tune", "melody", 0, False, notes)], 4, time_signature=(6, 8), n_steps=8 * 12
    )
    write_midi(six_eight, tmp_path / "six_eight.mid")
    result = compose(tmp_path / "six_eight.mid", "pop", out_midi=tmp_path / "s.mid", seed=1)
    assert result.summary["bars"] == 8 and result.summary["meter"] == "6/8"


# ------------------------------------------------------------------------------------- the musician's controls
def test_tracks_programs_tempo_and_transpose_shape_the_composition(tmp_path: Path) -> None:
    plain = compose("ode_to_joy", "jazz", seed=4)
    assert plain.midi_path is None and plain.summary["midi"] is None  # no path: nothing written, music returned
    assert not list(tmp_path.iterdir())
    result = compose(
        "ode_to_joy", "jazz", seed=4, tracks=["bass", "drums"], programs={"bass": 32, "drums": 32}, tempo=90,
        transpose=-2, out_midi=tmp_path / "c.mid",
    )  # fmt: skip
    assert result.multitrack.roles == ["melody", "bass", "drums"]
    assert result.multitrack.programs[1:] == [32, 32] and result.multitrack.is_drum == [False, False, True]
    assert [t["instrument"] for t in result.summary["tracks"][1:]] == ["Acoustic Bass", "Jazz Kit"]
    melody = melody_to_multitrack(get_melody("ode_to_joy"), 4)
    assert [(p + 2, s, e) for p, s, e, _ in result.multitrack.notes(0)] == [(p, s, e) for p, s, e, _ in melody.notes(0)]
    written = read_midi(tmp_path / "c.mid", resolution=4)
    assert written.tempo == pytest.approx(90, abs=0.01) and result.summary["tempo"] == pytest.approx(90)
    assert written.roles == ["melody", "bass", "drums"] and written.programs[1] == 32 and written.is_drum[2]
    assert result.summary["transpose"] == -2


def test_the_melody_track_of_a_multitrack_file_can_be_chosen_by_name_or_number(tmp_path: Path) -> None:
    low = [(48 + (i % 3), i * 4, i * 4 + 4, 80) for i in range(16)]
    high = [(72 + (i % 5), i * 4, i * 4 + 4, 80) for i in range(16)]
    song = Multitrack.from_notes(
        [TrackNotes("Cello", "strings", 42, False, low), TrackNotes("Flute", "woodwinds", 73, False, high)], 4
    )
    write_midi(song, tmp_path / "two.mid")
    guessed = compose(tmp_path / "two.mid", "pop", seed=1)
    assert guessed.summary["melody_track"] == {"index": 1, "name": "Flute", "of": 2}
    for choice in ("cello", 0, "0"):
        chosen = compose(tmp_path / "two.mid", "pop", seed=1, melody_track=choice, out_midi=tmp_path / "c.mid")
        assert chosen.summary["melody_track"] == {"index": 0, "name": "Cello", "of": 2}
        assert [n[0] for n in chosen.multitrack.notes(0)] == [n[0] for n in low]
        assert chosen.summary["tracks"][0]["name"] == "Cello (melody)"  # the output says which track it was
        assert read_midi(tmp_path / "c.mid", resolution=4).roles[0] == "melody"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tracks": ["bass", "tuba"]}, "no track 'tuba'"),
        ({"tracks": []}, "at least one track"),
        ({"programs": {"bass": 128}}, "0-127"),
        ({"programs": {"violin": 40}}, "no such track"),
        ({"tempo": 10}, "20 to 300 bpm"),
        ({"transpose": 13}, "-12 to 12"),
        ({"melody_track": 5}, "no track 5"),
        ({"melody_track": "Oboe"}, "no track named 'Oboe'"),
        ({"seed": -1}, "seed must be"),
        ({"out_midi": Path("x.wav")}, "must end in .mid"),
    ],
)
def test_bad_controls_are_one_line_errors(kwargs: dict, message: str, tmp_path: Path) -> None:
    from museforge.errors import MuseforgeError

    with pytest.raises(MuseforgeError, match=message):
        compose("twinkle", "jazz", **{"seed": 1, **kwargs})


def test_a_stopped_model_with_a_checkpoint_composes(shared_datasets: Path, tmp_path: Path) -> None:
    from museforge.datasets.build import build_dataset
    from museforge.training import TrainConfig, train
    from museforge.training.registry import GENERATOR_FILE, list_models, model_dir, read_card, write_card

    build_dataset("bach", shared_datasets, limit=8)
    config = TrainConfig(name="halt", **tiny_run(epochs=3, samples_per_epoch=0, metrics_samples=64, device="auto"))
    train(config, progress=False)
    card = read_card(model_dir("halt"))
    write_card(model_dir("halt"), {**card, "status": "stopped"})
    assert compose("twinkle", "halt", seed=1).multitrack.n_tracks == 4
    assert [m["can_compose"] for m in list_models()] == [True]
    (model_dir("halt") / GENERATOR_FILE).unlink()
    from museforge.errors import MuseforgeError

    with pytest.raises(MuseforgeError, match="has no checkpoint yet"):
        compose("twinkle", "halt", seed=1)
