"""Extend with the shipped melody Transformer: continue a melody in its meter and key."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.music import tokens as tok
from museforge.music.keys import SCALES, scale_tonics
from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.pipelines.extend import extend
from museforge.pretrained import list_technique_models
from museforge.sampling.continuation import continue_melody


def test_the_melody_model_ships_small_with_its_card() -> None:
    (card,) = [c for c in list_technique_models("extend") if c["name"] == "melody"]
    assert card["architecture"] == "transformer"
    assert set(card["genre"].split("+")) == {"pop", "jazz", "bach", "symphony"}
    assert card["last_epoch"]["validation_loss"] < card["train_data_metrics"]["bigram_loss"]
    assert Path(card["card_path"]).with_suffix(".safetensors").stat().st_size < 10_000_000


@pytest.mark.slow
@pytest.mark.parametrize("name", ["twinkle", "we_wish_you"])
def test_extend_continues_in_the_melodys_meter_and_key(name: str, tmp_path: Path) -> None:
    result = extend(name, bars=4, out_midi=tmp_path / "x.mid", seed=3)
    melody = melody_to_multitrack(get_melody(name), 4)
    written = read_midi(tmp_path / "x.mid", resolution=4)
    numerator, denominator = melody.meter
    bar = numerator * 16 // denominator
    bars_in = -(-melody.n_steps // bar)
    notes = written.notes(0)
    assert notes[: len(melody.notes(0))] == melody.notes(0)  # the melody first, unchanged
    new = notes[len(melody.notes(0)) :]
    assert len(new) >= 4 and result.summary["notes_added"] == len(new)
    assert all(bars_in * bar <= s < (bars_in + 4) * bar for _, s, _, _ in new)  # in the 4 new bars
    assert all(e <= (bars_in + 4) * bar for _, _, e, _ in new)
    assert written.time_signatures[0][1:] == (numerator, denominator)
    starts = [s for _, s, _, _ in new]
    assert len(starts) == len(set(starts))  # one line: never two notes at once
    histogram = np.zeros(12)
    for p, *_ in melody.notes(0):
        histogram[p % 12] += 1
    scale = SCALES[int(scale_tonics(histogram[None])[0])] > 0
    assert np.mean([scale[p % 12] for p, *_ in new]) >= 0.75  # mostly in the melody's key
    assert result.summary["bars"] == bars_in + 4
    assert result.multitrack.n_steps == (bars_in + 4) * bar  # exactly the bars asked for, never a step more


def test_seed_reproduces(tmp_path: Path) -> None:
    extend("ode_to_joy", bars=2, out_midi=tmp_path / "a.mid", seed=5)
    extend("ode_to_joy", bars=2, out_midi=tmp_path / "b.mid", seed=5)
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()


def test_the_grammar_keeps_bars_and_lines_even_at_high_temperature() -> None:
    from museforge.models.loading import load_model

    network, _ = load_model("melody", "extend")
    prompt = [(60, 0, 4), (62, 4, 8), (64, 8, 12)]
    rng = torch.Generator().manual_seed(0)
    new = continue_melody(network, prompt, 1, 12, 3, temperature=5.0, top_k=0, generator=rng)
    assert all(12 <= s < 48 and e > s for _, s, e in new)
    ordered = sorted(new, key=lambda n: n[1])
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(ordered))  # no overlaps
    assert all(24 <= p < 108 for p, _, _ in new)


def test_tokens_round_trip() -> None:
    tokenizer = tok.MelodyTokenizer(16)
    notes = [(60, 0, 4), (62, 4, 6), (64, 20, 60)]
    tokens = tokenizer.encode(notes, 4)
    assert tokens.count(tok.BAR) == 4
    back, bars = tokenizer.decode(tokens)
    assert bars == 4 and back == [(60, 0, 4), (62, 4, 6), (64, 20, 20 + tok.MAX_DURATION)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bars": 0}, "bars must be"),
        ({"bars": 1000}, "bars must be"),
        ({"temperature": -1.0}, "temperature must be"),
        ({"top_k": -2}, "top_k must be"),
        ({"model": "bach"}, "no extend model named 'bach'"),
    ],
)
def test_bad_settings_are_one_clear_error(change: dict, message: str, tmp_path: Path) -> None:
    settings = {"model": "melody", **change}
    model = settings.pop("model")
    with pytest.raises(MuseforgeError, match=message):
        extend("twinkle", model, out_midi=tmp_path / "x.mid", **settings)
    assert not (tmp_path / "x.mid").exists()


@pytest.mark.slow
def test_cli_extend_then_compose_gives_a_longer_piece(tmp_path: Path, museforge_home: Path) -> None:
    cli = [sys.executable, "-m", "museforge.cli"]
    longer = tmp_path / "longer.mid"
    done = subprocess.run(
        [*cli, "extend", "--melody", "twinkle", "--bars", "4", "--out", str(longer), "--seed", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["bars_added"] == 4
    piece = tmp_path / "piece.mid"
    done = subprocess.run(
        [*cli, "compose", "--melody", str(longer), "--genre", "pop", "--out", str(piece), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    twinkle = melody_to_multitrack(get_melody("twinkle"), 4)
    assert read_midi(piece, resolution=4).n_steps > twinkle.n_steps + 2 * 16
    bad = subprocess.run(
        [*cli, "extend", "--melody", "twinkle", "--bars", "0", "--out", str(tmp_path / "y.mid")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_a_temperature_near_zero_continues_with_the_likeliest_tokens(tmp_path: Path) -> None:
    first = extend("twinkle", out_midi=tmp_path / "a.mid", bars=2, temperature=1e-300, seed=1)
    again = extend("twinkle", out_midi=tmp_path / "b.mid", bars=2, temperature=1e-300, seed=2)
    assert first.summary["notes_added"] > 0
    assert first.multitrack.notes(0) == again.multitrack.notes(0)  # greedy: the seed no longer matters
