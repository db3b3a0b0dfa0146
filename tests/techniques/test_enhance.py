"""Enhance with the shipped AR-CNN: harmonise a melody, rewrite a composition's tracks or bars, keep the budgets."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.metrics.voices import parallel_fifths_octaves, voices_from_rolls
from museforge.music.keys import SCALES, scale_tonics
from museforge.music.melodies import get_melody, melody_to_multitrack
from museforge.music.midi import read_midi
from museforge.pipelines.compose import compose
from museforge.pipelines.enhance import apply_budgets, enhance
from museforge.pretrained import list_technique_models
from museforge.sampling.gibbs import Voices, decode_lines, rewrite


def _in_scale_share(notes: list[tuple[int, int, int, int]], melody: list[tuple[int, int, int, int]]) -> float:
    histogram = np.zeros(12)
    for p, *_ in melody:
        histogram[p % 12] += 1
    scale = SCALES[int(scale_tonics(histogram[None])[0])] > 0
    return float(np.mean([scale[p % 12] for p, *_ in notes]))


def test_the_bach_enhance_model_ships_small_with_its_card() -> None:
    (card,) = [c for c in list_technique_models("enhance") if c["name"] == "bach"]
    assert card["architecture"] == "arcnn" and card["genre"] == "bach"
    assert card["training"]["seconds"] > 0 and card["training"]["hardware"]
    assert Path(card["card_path"]).with_suffix(".safetensors").stat().st_size < 10_000_000


def test_enhance_harmonises_a_melody_in_its_key_and_keeps_it(tmp_path: Path) -> None:
    result = enhance("twinkle", "bach", out_midi=tmp_path / "e.mid", png=tmp_path / "e.png", iterations=16, seed=2)
    written = read_midi(tmp_path / "e.mid", resolution=4)
    melody = melody_to_multitrack(get_melody("twinkle"), 4)
    assert written.roles == ["melody", "alto", "tenor", "bass"]
    assert written.notes(0) == melody.notes(0)  # the melody, unchanged
    assert written.n_steps <= melody.n_steps
    for k in range(1, 4):
        notes = written.notes(k)
        assert len(notes) >= melody.n_bars  # a voice that plays, at least a note a bar
        assert _in_scale_share(notes, melody.notes(0)) >= 0.8  # in the tune's key (C major)
        sounding = written.rolls[k] > 0
        assert (sounding.sum(axis=1) <= 1).all()  # a chorale voice sings one note at a time
    summary = result.summary
    assert summary["rewritten_tracks"] == ["alto", "tenor", "bass"] and summary["notes_removed"] == 0
    assert summary["notes_added"] == sum(len(written.notes(k)) for k in range(1, 4))
    assert (tmp_path / "e.png").stat().st_size > 5_000


def _parallels(music: object) -> int:
    """Consecutive fifths and octaves among the melody and the three voices of a written chorale."""
    rolls = np.stack([np.asarray(music.rolls[k]) > 0 for k in range(4)])  # (4, T, 128)
    return parallel_fifths_octaves(voices_from_rolls(rolls, lowest_pitch=0)).count


@pytest.mark.slow
def test_chorale_voices_keep_out_of_parallel_fifths_and_octaves_unless_allowed(tmp_path: Path) -> None:
    # the part-writing rule is the Bach model's default; "allow" gives the model's own proposals, which break it
    counts = {"forbid": 0, "allow": 0}
    for melody in ("ode_to_joy", "amazing_grace"):
        for parallels in counts:
            out = tmp_path / f"{melody}-{parallels}.mid"
            chosen = None if parallels == "forbid" else parallels
            result = enhance(melody, "bach", out_midi=out, iterations=16, seed=3, parallels=chosen)
            assert result.summary["parallels"] == parallels
            assert read_midi(out, resolution=4).metadata["parallels"] == parallels
            counts[parallels] += _parallels(read_midi(out, resolution=4))
    assert counts["allow"] >= 4, counts  # the model alone writes them
    assert counts["forbid"] <= counts["allow"] // 4, counts


def test_a_voice_unsure_of_its_pitch_sounds_with_the_cards_line_bias() -> None:
    # an alto torn between two neighbouring pitches (0.3 each, a rest 0.4) sounds the likelier one when the card
    # says how readily its lines sound (measured so that they sound as often as Bach's); without, it rests
    probs = np.zeros((1, 2, 8, 12), dtype=np.float32)
    probs[0, 0, :, 7] = 0.9  # the melody
    probs[0, 1, :, 3], probs[0, 1, :, 4] = 0.32, 0.28
    plain = Voices(monophonic=(True, True), hold=(1.0, 1.0))
    assert not decode_lines(probs, plain)[0, 1].any()
    biased = decode_lines(probs, dataclasses.replace(plain, line_bias=(0.0, 3.0)))
    assert biased[0, 1].any(axis=-1).all() and biased[0, 1, :, 3].all()  # every step, its likeliest pitch


@pytest.mark.slow
def test_the_bach_voices_keep_singing_under_a_built_in_melody(tmp_path: Path) -> None:
    # the shipped card's line biases: the voices sound nearly all the time, as chorale voices do (99 %)
    result = enhance("amazing_grace", "bach", out_midi=tmp_path / "a.mid", seed=1)
    music = result.multitrack
    melody_steps = np.flatnonzero(np.asarray(music.rolls[0]).any(axis=-1))
    span = slice(int(melody_steps[0]), int(melody_steps[-1]) + 1)
    for k in (1, 2, 3):
        sounding = np.asarray(music.rolls[k])[span].any(axis=-1).mean()
        assert sounding >= 0.95, (music.roles[k], sounding)


@pytest.mark.slow
def test_seed_reproduces(tmp_path: Path) -> None:
    enhance("ode_to_joy", out_midi=tmp_path / "a.mid", iterations=8, seed=5)
    enhance("ode_to_joy", out_midi=tmp_path / "b.mid", iterations=8, seed=5)
    enhance("ode_to_joy", out_midi=tmp_path / "c.mid", iterations=8, seed=6)
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    assert (tmp_path / "a.mid").read_bytes() != (tmp_path / "c.mid").read_bytes()


@pytest.mark.slow
def test_rewriting_one_track_over_some_bars_leaves_everything_else_alone(tmp_path: Path) -> None:
    compose("ode_to_joy", "bach", out_midi=tmp_path / "gan.mid", seed=1)
    before = read_midi(tmp_path / "gan.mid", resolution=4)
    enhance(tmp_path / "gan.mid", "bach", tracks=["tenor"], bars=(3, 4), out_midi=tmp_path / "r.mid", seed=1)
    after = read_midi(tmp_path / "r.mid", resolution=4)
    assert after.roles == before.roles == ["melody", "alto", "tenor", "bass"]
    lo, hi = int(before.downbeats[2]), int(before.downbeats[4])
    for k in range(4):
        if k == 2:
            assert np.array_equal(after.rolls[k, :lo] > 0, before.rolls[k, :lo] > 0)
            assert np.array_equal(after.rolls[k, hi:] > 0, before.rolls[k, hi:] > 0)
        else:
            assert after.notes(k) == before.notes(k)


@pytest.mark.slow
def test_the_budgets_bound_what_is_added_and_removed(tmp_path: Path) -> None:
    nothing = enhance("twinkle", out_midi=tmp_path / "n.mid", iterations=8, seed=1, max_add=0.0)
    assert nothing.summary["notes_added"] == 0
    assert [len(nothing.multitrack.notes(k)) for k in range(1, 4)] == [0, 0, 0]
    compose("twinkle", "bach", out_midi=tmp_path / "gan.mid", seed=2)
    kept = enhance(tmp_path / "gan.mid", out_midi=tmp_path / "k.mid", iterations=8, seed=1, max_remove=0.0)
    assert kept.summary["notes_removed"] == 0
    before, after = read_midi(tmp_path / "gan.mid", resolution=4), read_midi(tmp_path / "k.mid", resolution=4)
    for k in range(1, 4):  # every input note still sounds (a neighbour may have grown into it)
        for p, s, e, _ in before.notes(k):
            assert (after.rolls[k, s:e, p] > 0).all()


def test_apply_budgets_drops_the_least_likely_additions_and_restores_the_surest_removals() -> None:
    before = np.zeros((1, 8, 4), dtype=bool)
    before[0, 0:2, 0] = before[0, 4:6, 1] = True  # two input notes
    after = np.zeros_like(before)
    after[0, 0:4, 2] = after[0, 6:8, 3] = True  # both input notes removed, two notes added
    probs = np.zeros(before.shape, dtype=np.float32)
    probs[0, 0:4, 2], probs[0, 6:8, 3] = 0.9, 0.4
    probs[0, 0:2, 0], probs[0, 4:6, 1] = 0.3, 0.1
    out, added, removed = apply_budgets(before, after, probs, 0.5, 0.5, np.ones((1, 8), dtype=bool))
    assert (added, removed) == (1, 1)
    assert out[0, 0:4, 2].all() and not out[0, 6:8, 3].any()  # the surer addition stays
    # the removal the model doubts most (it gives that note 0.3, the other 0.1) is undone
    assert out[0, 0:2, 0].all() and not out[0, 4:6, 1].any()


@pytest.mark.slow
def test_rewrite_keeps_cells_that_may_not_change_and_sings_single_lines() -> None:
    torch.manual_seed(0)
    from museforge.models.loading import load_model

    network, _ = load_model("bach", "enhance")
    rng = np.random.default_rng(0)
    rolls = rng.random((2, 4, 64, 84)) < 0.02
    editable = np.zeros((2, 4, 64), dtype=bool)
    editable[:, 1, 16:48] = True
    voices = Voices(monophonic=(True, True, True, True), hold=(1.5,) * 4)
    notes, probs = rewrite(network, rolls, editable, voices, iterations=4, generator=torch.Generator().manual_seed(0))
    assert notes.shape == probs.shape == rolls.shape
    keep = ~editable[..., None].repeat(84, axis=-1)
    assert np.array_equal(notes[keep], rolls[keep])
    assert (notes[:, 1, 16:48].sum(axis=-1) <= 1).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iterations": -1}, "iterations must be"),
        ({"iterations": 10_000}, "iterations must be"),
        ({"max_add": -0.5}, "max_add must be"),
        ({"max_remove": 1.5}, "max_remove must be"),
        ({"temperature": 0.0}, "temperature must be"),
        ({"tracks": ["drums"]}, "no track 'drums'"),
        ({"bars": (3, 99)}, "outside the music's bars"),
        ({"model": "jazz"}, "no enhance model named 'jazz'"),
        ({"parallels": "sometimes"}, "parallels must be one of forbid, allow"),
    ],
)
def test_bad_settings_are_one_clear_error(change: dict, message: str, tmp_path: Path) -> None:
    settings = {"model": "bach", **change}
    model = settings.pop("model")
    with pytest.raises(MuseforgeError, match=message):
        enhance("twinkle", model, out_midi=tmp_path / "x.mid", **settings)
    assert not (tmp_path / "x.mid").exists()


@pytest.mark.slow
def test_cli_enhance_writes_json_and_refuses_bad_input(tmp_path: Path, museforge_home: Path) -> None:
    cli = [sys.executable, "-m", "museforge.cli"]
    out = tmp_path / "c.mid"
    done = subprocess.run(
        [*cli, "enhance", "--melody", "twinkle", "--out", str(out), "--iterations", "8", "--seed", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["model"] == "bach" and summary["iterations"] == 8 and out.is_file()
    bad = subprocess.run(
        [*cli, "enhance", "--melody", "twinkle", "--out", str(tmp_path / "d.mid"), "--bars", "two"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--bars" in bad.stderr


@pytest.mark.slow
def test_compose_can_revise_its_accompaniment_with_the_genres_enhance_model(tmp_path: Path) -> None:
    plain = compose("ode_to_joy", "bach", out_midi=tmp_path / "p.mid", seed=4)
    revised = compose("ode_to_joy", "bach", out_midi=tmp_path / "r.mid", seed=4, rewrite=8)
    assert revised.summary["rewrite"] == 8 and plain.summary["rewrite"] == 0
    assert revised.summary["parallels"] == plain.summary["parallels"] == "forbid"  # the chorale rule, both passes
    assert revised.multitrack.notes(0) == plain.multitrack.notes(0)  # the melody stays
    assert [revised.multitrack.notes(k) for k in (1, 2, 3)] != [plain.multitrack.notes(k) for k in (1, 2, 3)]
    assert all(len(revised.multitrack.notes(k)) > 0 for k in (1, 2, 3))
    with pytest.raises(MuseforgeError, match="no Enhance model ships for 'jazz'"):
        compose("ode_to_joy", "jazz", out_midi=tmp_path / "j.mid", rewrite=8)
    assert not (tmp_path / "j.mid").exists()


@pytest.mark.parametrize("temperature", [1e-300, 1e-6, 0.01])
def test_a_temperature_near_zero_rewrites_greedily_instead_of_crashing(temperature: float, tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "museforge.cli",
            "enhance",
            "--melody",
            "twinkle",
            "--out",
            str(tmp_path / "e.mid"),
            "--temperature",
            repr(temperature),
            "--iterations",
            "2",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert read_midi(tmp_path / "e.mid", resolution=4).n_tracks == 4  # the melody and the three voices


def test_the_cli_says_how_long_a_long_rewrite_will_take_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from museforge import cli
    from museforge.pipelines import work

    monkeypatch.setattr(work, "ANNOUNCE_SECONDS", 0.0)  # every rewrite counts as long
    out = tmp_path / "e.mid"
    assert cli.main(["enhance", "--melody", "twinkle", "--out", str(out), "--iterations", "4", "--seed", "1"]) == 0
    said = capsys.readouterr().err
    assert re.search(r"^museforge: rewriting \d+ windows x 4 iterations: about \d+ s on a 2-core CPU$", said, re.M)
    assert out.is_file()
