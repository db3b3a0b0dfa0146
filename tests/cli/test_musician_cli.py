"""The command line as a new user meets it: the controls over a composition and every sharp edge of issue 13,
each through the real `museforge` command in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from museforge.music.midi import read_midi, write_midi
from museforge.music.pianoroll import Multitrack, TrackNotes


def run_cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``museforge ARGS`` with its own data home, stdout and stderr piped (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "museforge.cli", *args],
        capture_output=True,
        text=True,
        env={"MUSEFORGE_HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=timeout,
    )


def one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    error_lines = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1, done.stderr
    for needle in needles:
        assert needle in error_lines[0], done.stderr


# --------------------------------------------------------------------------------------------- sharp edges
def test_version(museforge_home: Path) -> None:
    from museforge import __version__

    done = run_cli("--version", home=museforge_home)
    assert done.returncode == 0 and done.stdout.strip() == f"museforge {__version__}"


def test_a_mistyped_flag_or_command_gets_a_suggestion(museforge_home: Path, tmp_path: Path) -> None:
    done = run_cli("compose", "--melody", "twinkle", "--genre", "jazz", "--out", str(tmp_path / "a.mid"),
                   "--sed", "3", home=museforge_home)  # fmt: skip
    one_line_error(done, "--sed", "did you mean --seed?")
    assert "usage: museforge compose" in done.stderr  # the command's own usage, not the top level's
    one_line_error(run_cli("compse", home=museforge_home), "did you mean 'compose'?")
    assert not (tmp_path / "a.mid").exists()


@pytest.mark.slow
def test_out_named_wav_is_refused_and_genre_case_does_not_matter(museforge_home: Path, tmp_path: Path) -> None:
    done = run_cli("compose", "--melody", "twinkle", "--genre", "jazz", "--out", str(tmp_path / "x.wav"),
                   home=museforge_home)  # fmt: skip
    one_line_error(done, "x.wav", ".mid")
    assert not (tmp_path / "x.wav").exists()
    done = run_cli("compose", "--melody", "twinkle", "--genre", "Jazz", "--out", str(tmp_path / "x.mid"),
                   "--seed", "1", "--json", home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["genre"] == "jazz" and (tmp_path / "x.mid").stat().st_size > 100


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_the_api_refuses_is_refused(seed: str, museforge_home: Path, tmp_path: Path) -> None:
    done = run_cli("compose", "--melody", "twinkle", "--genre", "pop", "--out", str(tmp_path / "s.mid"),
                   "--seed", seed, home=museforge_home)  # fmt: skip
    one_line_error(done, "seed")
    assert not (tmp_path / "s.mid").exists()


def test_a_gan_setting_out_of_place_is_refused_before_any_work(museforge_home: Path) -> None:
    done = run_cli("train", "--name", "avg", "--genre", "bach", "--model", "unet", "--ema", "1.5", home=museforge_home)
    one_line_error(done, "--ema")
    assert not (museforge_home / "models" / "avg").exists()
    done = run_cli("train", "--name", "avg", "--genre", "pop", "--model", "arcnn", "--critic-sees", "notes",
                   home=museforge_home)  # fmt: skip
    one_line_error(done, "--critic-sees")
    assert not (museforge_home / "models" / "avg").exists()
    done = run_cli("train", "--name", "avg", "--genre", "rock", "--drum-profile", "-1", home=museforge_home)
    one_line_error(done, "--drum-profile")
    assert not (museforge_home / "models" / "avg").exists()


def test_serve_on_a_bad_or_busy_port_is_one_line_before_any_banner(museforge_home: Path) -> None:
    one_line_error(run_cli("serve", "--port", "99999", home=museforge_home), "65535")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--port", str(port), home=museforge_home, timeout=60)
    one_line_error(done, f"127.0.0.1:{port}")
    assert done.stdout == ""  # no "museforge studio on http://..." banner first


def test_models_show_a_shipped_model_with_readable_numbers(museforge_home: Path) -> None:
    done = run_cli("models", "show", "jazz", home=museforge_home)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.strip()}
    assert lines["status"] == ["shipped"] and lines["genre"] == ["jazz"]
    loss = lines["generator_loss"][0]
    digits = loss.lstrip("-").replace(".", "").lstrip("0")  # the significant ones: -0.2552 has 4
    assert float(loss) != 0 and 1 <= len(digits) <= 4  # 4 significant digits, not 16
    bass = next(line for line in done.stdout.splitlines() if line.strip().startswith("bass "))
    assert "key_fit 0." in bass and " / 0." in bass and "key_fit -" not in bass  # real numbers, not "-"
    assert run_cli("models", "show", "melody", home=museforge_home).returncode == 0  # the shipped Extend model


# ---------------------------------------------------------------------------------- trained models on the CLI
@pytest.fixture(scope="module")
def stopped_home(make_tiny_bach_home: Callable[..., Path]) -> Path:
    """A data home with a tiny U-Net trained 2 steps and then marked stopped (as Ctrl-C leaves it)."""
    from museforge.training.registry import read_card, write_card

    home = make_tiny_bach_home("stopped", name="halted", songs=12)
    folder = home / "models" / "halted"
    write_card(folder, {**read_card(folder), "status": "stopped"})
    return home


@pytest.mark.slow
def test_a_stopped_model_composes_and_evaluates(stopped_home: Path, tmp_path: Path) -> None:
    done = run_cli("compose", "--melody", "twinkle", "--model", "halted", "--out", str(tmp_path / "h.mid"),
                   "--seed", "1", home=stopped_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_midi(tmp_path / "h.mid", resolution=4).roles[0] == "melody"
    done = run_cli("evaluate", "halted", "--samples", "8", "--no-classifier", "--json", home=stopped_home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "stopped"


def test_models_stop_on_a_model_that_is_not_training_leaves_nothing(stopped_home: Path) -> None:
    done = run_cli("models", "stop", "halted", home=stopped_home)
    one_line_error(done, "not training")
    assert not (stopped_home / "models" / "halted" / "STOP").exists()


@pytest.mark.slow
def test_train_piped_prints_lines_an_estimate_and_truthful_steps(museforge_home: Path, shared_datasets: Path) -> None:
    built = run_cli("datasets", "build", "bach", "--source", str(shared_datasets), "--limit", "12",
                    home=museforge_home)  # fmt: skip
    assert built.returncode == 0, built.stderr
    done = run_cli("train", "--model", "unet", "--genre", "Bach", "--name", "short", "--max-steps", "3",
                   "--batch-size", "4", "--update-ratio", "1", "--epochs", "2", home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\r" not in done.stdout  # piped: lines, never carriage returns
    assert "estimated time: about" in done.stderr and "small model" in done.stderr
    card = json.loads((museforge_home / "models" / "short" / "model.json").read_text())
    per_epoch = card["steps_per_epoch"]
    assert per_epoch > 3 and card["hyperparameters"]["size"] == "small"
    assert f"completed at step 3 (0 whole epochs and 3 of the {per_epoch} steps of epoch 1)" in done.stdout


@pytest.mark.slow
def test_datasets_build_makes_what_evaluate_needs(museforge_home: Path, shared_datasets: Path) -> None:
    """The README's path: `datasets build jazz` then `evaluate jazz` (the shipped model works on a 16th-note grid)."""
    built = run_cli("datasets", "build", "Jazz", "--source", str(shared_datasets), "--limit", "24", "--json",
                    home=museforge_home)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["resolution"] == 4
    done = run_cli("evaluate", "jazz", "--samples", "16", "--no-classifier", "--json", home=museforge_home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == "jazz"
    # a dataset built at another resolution is met with the fix that works
    run_cli("datasets", "build", "jazz", "--source", str(shared_datasets), "--limit", "24", "--resolution", "12",
            home=museforge_home)  # fmt: skip
    done = run_cli("evaluate", "jazz", "--samples", "16", "--no-classifier", home=museforge_home)
    one_line_error(done, "museforge datasets build jazz --resolution 4")


# --------------------------------------------------------------------------------------------- controls
@pytest.mark.slow
def test_compose_with_tracks_programs_tempo_transpose_then_regenerate_the_drums(
    museforge_home: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first.mid"
    done = run_cli("compose", "--melody", "ode_to_joy", "--genre", "rock", "--out", str(first), "--seed", "5",
                   "--tracks", "bass,drums", "--program", "bass=33", "--tempo", "100", "--transpose", "-2",
                   "--json", home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [t["role"] for t in summary["tracks"]] == ["melody", "bass", "drums"]
    assert summary["tracks"][1]["program"] == 33 and summary["tracks"][1]["instrument"] == "Electric Bass (finger)"
    written = read_midi(first, resolution=4)
    assert written.tempo == pytest.approx(100, abs=0.01) and written.programs[1] == 33 and written.is_drum[2]

    again = tmp_path / "again.mid"
    done = run_cli("regenerate", str(first), "--genre", "rock", "--tracks", "drums", "--bars", "2-4",
                   "--previous-seed", "5", "--seed", "9", "--out", str(again), home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "generated drums again over bars 2-4" in done.stdout
    new = read_midi(again, resolution=4)
    assert new.n_steps <= written.n_steps + 1 and new.roles == written.roles
    assert new.notes(0) == written.notes(0) and new.notes(1) == written.notes(1)  # melody and bass untouched
    start, end = int(written.downbeats[1]), int(written.downbeats[4])
    assert (new.rolls[2][:start] == written.rolls[2][:start]).all()
    assert (new.rolls[2][end:] == written.rolls[2][end : new.n_steps]).all()
    one_line_error(
        run_cli(
            "regenerate",
            str(first),
            "--genre",
            "rock",
            "--bars",
            "7-12",
            "--out",
            str(tmp_path / "x.mid"),
            home=museforge_home,
        ),
        "outside",
    )


@pytest.mark.slow
def test_melody_track_by_name_or_index_is_named_in_the_output(museforge_home: Path, tmp_path: Path) -> None:
    low = [(50 + (i % 3), i * 4, i * 4 + 4, 80) for i in range(16)]
    high = [(74 + (i % 5), i * 4, i * 4 + 4, 80) for i in range(16)]
    song = Multitrack.from_notes(
        [TrackNotes("Cello", "strings", 42, False, low), TrackNotes("Flute", "woodwinds", 73, False, high)], 4
    )
    write_midi(song, tmp_path / "duo.mid")
    for choice in ("Cello", "0"):
        out = str(tmp_path / "o.mid")
        done = run_cli("compose", "--melody", str(tmp_path / "duo.mid"), "--genre", "pop", "--out", out,
                       "--melody-track", choice, "--seed", "1", home=museforge_home)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "melody: track 0 (Cello) of 2" in done.stdout
        assert [n[0] for n in read_midi(tmp_path / "o.mid", resolution=4).notes(0)] == [n[0] for n in low]
    done = run_cli("compose", "--melody", str(tmp_path / "duo.mid"), "--genre", "pop", "--out",
                   str(tmp_path / "o.mid"), "--melody-track", "Oboe", home=museforge_home)  # fmt: skip
    one_line_error(done, "no track named 'Oboe'", "0: Cello, 1: Flute")


@pytest.mark.slow
def test_enhance_and_extend_take_the_melody_track_too(museforge_home: Path, tmp_path: Path) -> None:
    low = [(50 + (i % 3), i * 4, i * 4 + 4, 80) for i in range(16)]
    high = [(74 + (i % 5), i * 4, i * 4 + 4, 80) for i in range(16)]
    song = Multitrack.from_notes(
        [TrackNotes("Cello", "strings", 42, False, low), TrackNotes("Flute", "woodwinds", 73, False, high)], 4
    )
    write_midi(song, tmp_path / "duo.mid")
    extended = tmp_path / "extended.mid"
    done = run_cli("extend", "--melody", str(tmp_path / "duo.mid"), "--melody-track", "Cello", "--bars", "2",
                   "--seed", "1", "--out", str(extended), home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [n[0] for n in read_midi(extended, resolution=4).notes(0)][:16] == [n[0] for n in low]
    # the guess without the flag is the higher, singable line: the flute
    done = run_cli("extend", "--melody", str(tmp_path / "duo.mid"), "--bars", "2", "--seed", "1",
                   "--out", str(extended), home=museforge_home)  # fmt: skip
    assert [n[0] for n in read_midi(extended, resolution=4).notes(0)][:16] == [n[0] for n in high]
    enhanced = tmp_path / "enhanced.mid"
    done = run_cli("enhance", "--melody", str(tmp_path / "duo.mid"), "--melody-track", "0", "--iterations", "4",
                   "--seed", "1", "--out", str(enhanced), "--json", home=museforge_home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    melody = read_midi(enhanced, resolution=4)
    assert [n[0] for n in melody.notes(melody.roles.index("melody"))] == [n[0] for n in low]
    refused = run_cli("enhance", "--melody", str(tmp_path / "duo.mid"), "--melody-track", "7",
                      "--out", str(enhanced), home=museforge_home)  # fmt: skip
    one_line_error(refused, "0: Cello, 1: Flute")


@pytest.mark.slow
def test_bar_counts_agree_in_every_meter(museforge_home: Path, tmp_path: Path) -> None:
    listing = json.loads(run_cli("melodies", "list", "--json", home=museforge_home).stdout)
    assert next(m for m in listing if m["name"] == "we_wish_you")["bars"] == 9
    done = run_cli("compose", "--melody", "we_wish_you", "--genre", "jazz", "--out", str(tmp_path / "w.mid"),
                   "--seed", "1", home=museforge_home)  # fmt: skip
    assert done.stdout.startswith("9 bars of 3/4"), done.stdout
    notes = [(72 if i % 2 else 67, i * 6, i * 6 + 6, 90) for i in range(16)]  # 8 bars of 6/8, 2 dotted quarters
    six_eight = Multitrack.from_notes([TrackNotes("Tune", "melody", 0, False, notes)], 4, time_signature=(6, 8))
    write_midi(six_eight, tmp_path / "six.mid")
    done = run_cli("compose", "--melody", str(tmp_path / "six.mid"), "--genre", "pop", "--out",
                   str(tmp_path / "s.mid"), "--seed", "1", home=museforge_home)  # fmt: skip
    assert done.stdout.startswith("8 bars of 6/8"), done.stdout


def test_compose_names_the_files_other_tracks_and_keeps_them_when_asked(tmp_path: Path, museforge_home: Path) -> None:
    tune = [(67 + (i % 3), 4 * i, 4 * i + 4, 90) for i in range(16)]
    chords = [(p, 16 * b, 16 * b + 16, 70) for b in range(4) for p in (48, 52, 55)]
    song = Multitrack.from_notes(
        [TrackNotes("Lead vocal", "melody", 53, False, tune), TrackNotes("Chords", "piano", 0, False, chords)], 4
    )
    write_midi(song, tmp_path / "song.mid")
    out = tmp_path / "out.mid"
    args = ("compose", "--melody", str(tmp_path / "song.mid"), "--genre", "rock", "--out", str(out))
    plain = run_cli(*args, home=museforge_home)
    assert plain.returncode == 0, plain.stderr
    assert "not used (the model reads the melody alone; --keep-tracks keeps them in the output): Chords" in plain.stdout
    assert "Chords" not in read_midi(out, 4).names
    kept = run_cli(*args, "--keep-tracks", home=museforge_home)
    assert kept.returncode == 0, kept.stderr
    assert "kept as they were (the model reads the melody alone): Chords" in kept.stdout
    music = read_midi(out, 4)
    assert music.notes(music.names.index("Chords")) == sorted(chords, key=lambda n: (n[1], n[0]))


def test_a_chorale_keeps_the_rule_against_parallels_unless_told(tmp_path: Path, museforge_home: Path) -> None:
    args = ("compose", "--melody", "ode_to_joy", "--genre", "bach", "--seed", "3", "--out", str(tmp_path / "c.mid"))
    kept = run_cli(*args, home=museforge_home)
    assert kept.returncode == 0, kept.stderr
    assert "voice leading: no parallel fifths or octaves between the voices and the melody" in kept.stdout
    allowed = run_cli(*args, "--parallels", "allow", "--json", home=museforge_home)
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["parallels"] == "allow"
    one_line_error(run_cli(*args, "--parallels", "sometimes", home=museforge_home), "--parallels")
