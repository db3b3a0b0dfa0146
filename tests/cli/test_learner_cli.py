"""The command line as issue 24's learner met it, through the real `museforge` command in a subprocess: evaluate on
samples without a dataset, how each dataset builds, one name per model, and a run stopped in its first epoch."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from tests.cli.test_musician_cli import one_line_error, run_cli
from tests.helpers import wait_for


def test_evaluate_on_samples_without_the_dataset_says_so_at_once(museforge_home: Path) -> None:
    started = time.perf_counter()
    done = run_cli("evaluate", "jazz", "--melodies", "samples", home=museforge_home)
    elapsed = time.perf_counter() - started
    one_line_error(done, "dataset 'jazz' is not built", "museforge datasets download jazz")
    assert "museforge datasets build jazz" in done.stderr
    assert elapsed < 10, elapsed  # before composing every sample (11 s on an idle 2-core CPU), not after


def test_datasets_list_says_how_each_genre_builds(museforge_home: Path) -> None:
    done = run_cli("datasets", "list", home=museforge_home)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if not line.startswith(" ")}
    assert "museforge datasets build bach (offline, from music21's bundled chorales)" in lines["bach"]
    assert "--source" not in lines["bach"]  # as the README says: bach needs no folder
    assert "museforge datasets download jazz, then museforge datasets build jazz" in lines["jazz"]


@pytest.mark.slow
def test_every_model_has_its_own_name_and_shows(museforge_home: Path, tmp_path: Path) -> None:
    done = run_cli("models", "list", "--json", home=museforge_home)
    assert done.returncode == 0, done.stderr
    names = [m["name"] for m in json.loads(done.stdout)["pretrained"]]
    assert len(names) == len(set(names)) and {"bach", "enhance/bach", "extend/melody"} <= set(names)
    table = run_cli("models", "list", home=museforge_home).stdout
    assert table.count("\nbach ") == 1 and "\nenhance/bach " in table
    shown = run_cli("models", "show", "enhance/bach", "--json", home=museforge_home)
    assert shown.returncode == 0, shown.stderr
    card = json.loads(shown.stdout)
    assert card["architecture"] == "arcnn" and card["name"] == "enhance/bach" and card["status"] == "shipped (enhance)"
    assert json.loads(run_cli("models", "show", "bach", "--json", home=museforge_home).stdout)["architecture"] == "unet"
    one_line_error(run_cli("models", "show", "enhance/nobody", home=museforge_home), "enhance/nobody")
    # the name the list gives works where an Enhance model is asked for
    enhanced = run_cli("enhance", "--melody", "twinkle", "--model", "enhance/bach", "--iterations", "2",
                       "--out", str(tmp_path / "e.mid"), home=museforge_home)  # fmt: skip
    assert enhanced.returncode == 0, enhanced.stderr


@pytest.mark.slow
def test_a_run_stopped_in_its_first_epoch_reports_its_losses(museforge_home: Path, shared_datasets: Path) -> None:
    built = run_cli("datasets", "build", "bach", "--source", str(shared_datasets), "--limit", "40",
                    home=museforge_home)  # fmt: skip
    assert built.returncode == 0, built.stderr
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # another program on one of the cores
    try:
        train = subprocess.Popen(
            [sys.executable, "-m", "museforge.cli", "train", "--model", "unet", "--genre", "bach", "--name", "halt",
             "--batch-size", "2", "--update-ratio", "1", "--epochs", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"MUSEFORGE_HOME": str(museforge_home), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        card = museforge_home / "models" / "halt" / "model.json"

        def training() -> bool:
            assert train.poll() is None, train.communicate()
            return card.is_file() and json.loads(card.read_text()).get("status") == "training"

        wait_for(training, timeout=120, message="the run to start")
        asked = time.perf_counter()
        stop = run_cli("models", "stop", "halt", home=museforge_home)
        assert stop.returncode == 0 and "stops after its current step" in stop.stdout, stop.stderr
        out, err = train.communicate(timeout=120)
        stopped_in = time.perf_counter() - asked
    finally:
        busy.kill()
        busy.wait()
    assert train.returncode == 0, err
    assert "the CPU is busy with other work now" in err  # the estimate says the run will be slower than it says
    written = json.loads(card.read_text())
    assert written["status"] == "stopped" and written["epochs_done"] == 0 and written["step"] >= 1
    last = out.strip().splitlines()[-2]
    assert last.startswith("model halt: stopped at step") and "generator loss -" not in last, out
    assert float(last.split("generator loss ")[1].split(",")[0]) == pytest.approx(
        written["partial_epoch"]["generator_loss"], rel=1e-3
    )
    assert stopped_in < 60, stopped_in


def test_a_melody_that_is_not_midi_says_what_it_is_and_what_is_taken(museforge_home: Path, tmp_path: Path) -> None:

    tune = tmp_path / "tune.wav"
    with wave.open(str(tune), "wb") as out:  # a real WAV recording of a tune
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(1600))
    done = run_cli(
        "compose", "--melody", str(tune), "--genre", "jazz", "--out", str(tmp_path / "o.mid"), home=museforge_home
    )
    one_line_error(done, "tune.wav is a RIFF file (WAV audio), not MIDI", "Standard MIDI File (.mid, .midi)")
    score = tmp_path / "tune.musicxml"
    score.write_text('<?xml version="1.0"?><score-partwise/>')
    one_line_error(
        run_cli("enhance", "--melody", str(score), "--out", str(tmp_path / "e.mid"), home=museforge_home),
        "is an XML file",
    )
    missing = run_cli(
        "compose",
        "--melody",
        "../midi/tune.wav",
        "--genre",
        "jazz",
        "--out",
        str(tmp_path / "o.mid"),
        home=museforge_home,
    )
    one_line_error(missing, "../midi/tune.wav: no such file")  # a path, not "no sample melody named"
