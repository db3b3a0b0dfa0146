"""Tests of museforge.evaluate (and its report) on the real JSB chorales and a tiny model trained on them."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from museforge import evaluate as ev
from museforge.datasets.cache import load_dataset
from museforge.errors import MuseforgeError, NotFoundError
from museforge.metrics import music_metrics, relative_gap, tonal_distances
from museforge.training.data import split_windows
from museforge.training.registry import claim, process_identity, read_card, write_card

ROLES = ["alto", "tenor", "bass"]


@pytest.fixture(scope="module")
def trained_home(make_tiny_bach_home: Callable[..., Path]) -> Path:
    """A home with 60 real JSB chorales built (20 per split) and a tiny U-Net trained for one step on them."""
    return make_tiny_bach_home(
        "evaluate_home", name="tiny", songs=60, max_steps=1, batch_size=8, metrics_samples=8, samples_per_epoch=0
    )


@pytest.fixture
def home(trained_home: Path, museforge_home: Path) -> Path:
    """This test's home, seeing the module's dataset and model (links, so they are built only once)."""
    (museforge_home / "datasets").symlink_to(trained_home / "datasets", target_is_directory=True)
    (museforge_home / "models").mkdir()
    (museforge_home / "models" / "tiny").symlink_to(trained_home / "models" / "tiny", target_is_directory=True)
    return museforge_home


def valid_model_windows() -> np.ndarray:
    """Every 2-bar model window of the bach valid split, tracks melody, alto, tenor, bass: (n, 4, 32, 84)."""
    return split_windows(load_dataset("bach").windows("valid"), 2)


# ------------------------------------------------------------------------------------------------ a model
@pytest.mark.slow
def test_evaluate_model_end_to_end(home: Path, tmp_path: Path) -> None:
    windows = valid_model_windows()
    plot = tmp_path / "tiny.png"
    # Two more samples than windows: every window's melody is used once, then the first two once more.
    result = ev.evaluate_model("tiny", samples=len(windows) + 2, split="valid", seed=3, plot=plot)
    real = np.concatenate([windows, windows[:2]])

    assert json.loads(json.dumps(result, allow_nan=False)) == result  # JSON-ready, no NaN
    facts = [result[k] for k in ("kind", "model", "source", "status", "genre", "architecture", "split", "samples")]
    assert facts == ["model", "tiny", "user", "completed", "bach", "unet", "valid", len(real)]
    assert result["windows"] == {"bars": 2, "steps": 32, "available": len(windows), "melodies": len(windows)}

    # The real column is exactly the metrics of the real windows whose melodies the model was given.
    tracks = [{"role": r, "program": 52, "is_drum": False} for r in ROLES]
    direct = music_metrics(real[:, 0], real[:, 1:], tracks, ROLES, resolution=4, lowest_pitch=24)
    assert list(result["tracks"]) == [*ROLES, "ensemble"]
    assert set(result["tracks"]["alto"]) >= {"key_fit", "consonance", "one_step_note_rate", "out_of_range_rate"}
    assert 0.0 <= result["seed_overlap"] <= 1.0
    for role in [*ROLES, "ensemble"]:
        for metric, value in direct[role].items():
            if math.isnan(value):  # undefined on both sides (a voice has no chords to cluster): left out
                assert result["tracks"][role].get(metric, {}).get("real") is None
                continue
            assert result["tracks"][role][metric]["real"] == pytest.approx(value)
        for cell in result["tracks"][role].values():
            if cell["real"] == 0.0:
                assert cell["gap"] is None  # relative gap undefined (empty-bar rate of Bach)
            elif cell["gap"] is not None:
                assert cell["gap"] == pytest.approx(abs(cell["generated"] - cell["real"]) / abs(cell["real"]))
                assert cell["gap"] == pytest.approx(relative_gap(cell["generated"], cell["real"]))
        if role != "ensemble":
            assert result["tracks"][role]["pitches_per_step"]["real"] == pytest.approx(
                real[:, 1 + ROLES.index(role)].sum(-1).mean()
            )

    tonal = tonal_distances(real, ["melody", *ROLES], resolution=4)
    assert {pair: cell["real"] for pair, cell in result["tonal_distances"].items()} == pytest.approx(tonal)
    assert set(result["voice_leading"]) == {"range_violations", "crossings", "parallel_rate", "parallels_per_window"}
    # Real chorales keep their voices in range and in order; a 1-step model does not.
    assert result["voice_leading"]["range_violations"]["real"] < 0.02
    assert result["voice_leading"]["crossings"]["real"] < 0.05

    clf = result["classifier"]
    assert 0.0 <= clf["accuracy"] <= 1.0
    assert clf["accuracy"] > 0.9  # an untrained generator's noise is easy to tell from Bach
    assert clf["n_train"] + clf["n_test"] == 2 * len(real)
    assert result["classifier_second"]["accuracy"] > 0.9  # boosted stumps on the same halves see it too

    top = result["largest_gap"]
    gaps = [
        c["gap"]
        for row in result["tracks"].values()
        for c in row.values()
        if c["gap"] is not None and c["real"] >= ev.GAP_FLOOR
    ]
    assert top["gap"] == max(gaps)
    assert result["shipping_bar"]["passed"] is False
    assert result["plot"] == str(plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(result["timing"]) >= {"load", "generate", "metrics", "classifier", "plot", "total"}


@pytest.mark.slow
def test_evaluate_model_is_deterministic(home: Path) -> None:
    first = ev.evaluate_model("tiny", samples=40, seed=1, classifier=False)
    again = ev.evaluate_model("tiny", samples=40, seed=1, classifier=False)
    assert first["classifier"] is None
    assert first["windows"]["melodies"] == 40
    assert first["tracks"] == again["tracks"]
    assert first["tonal_distances"] == again["tonal_distances"]


@pytest.mark.slow
def test_format_evaluation(home: Path) -> None:
    result = ev.evaluate_model("tiny", samples=24, split="test")
    text = ev.format_evaluation(result)
    assert "Model tiny (user unet, genre bach): 24 generated windows of 2 bars" in text
    for word in (*ROLES, "used_pitch_classes", "melody/alto", "range_violations", "Real-vs-generated classifier"):
        assert word in text
    cell = result["tracks"]["alto"]["in_scale_rate"]
    sign = "+" if cell["generated"] >= cell["real"] else "-"
    assert f"{sign}{100 * cell['gap']:.1f} %" in text
    assert "Shipping bar" in text and "FAILED" in text


def test_bad_arguments(home: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model named 'nothing_here'"):
        ev.evaluate_model("nothing_here")
    with pytest.raises(MuseforgeError, match="held-out split"):
        ev.evaluate_model("tiny", split="train")
    with pytest.raises(MuseforgeError, match="whole number from 1"):
        ev.evaluate_model("tiny", samples=0)
    with pytest.raises(MuseforgeError, match="does not exist"):
        ev.evaluate_model("tiny", plot=tmp_path / "missing" / "x.png")


def test_a_model_still_training_is_refused(home: Path, trained_home: Path) -> None:
    folder = home / "models" / "busy"
    shutil.copytree(trained_home / "models" / "tiny", folder)
    card = read_card(folder)
    write_card(folder, {**card, "name": "busy", "status": "training", "process": process_identity()})
    with claim("busy"), pytest.raises(MuseforgeError, match="still training"):
        ev.evaluate_model("busy", samples=8)
    # Once the process training it is gone, the run reads as stopped and its last checkpoint is evaluated.
    result = ev.evaluate_model("busy", samples=8, classifier=False)
    assert result["status"] == "stopped"
    write_card(folder, {**card, "name": "busy", "status": "failed", "error": "loss became NaN"})
    with pytest.raises(MuseforgeError, match="failed"):
        ev.evaluate_model("busy", samples=8)


# ------------------------------------------------------------------------------------------------ the data
def test_evaluate_data_matches_track_metrics(home: Path) -> None:
    windows = load_dataset("bach").windows("valid")
    result = ev.evaluate_data("bach", "valid")
    assert result["windows"] == {"bars": 4, "steps": 64, "available": len(windows), "used": len(windows)}
    tracks = [{"role": r, "program": 52, "is_drum": False} for r in ["melody", *ROLES]]
    direct = music_metrics(windows[:, 0], windows, tracks, ["melody", *ROLES], resolution=4, lowest_pitch=24)
    assert list(result["tracks"]) == ["melody", *ROLES, "ensemble"]
    assert result["tracks"]["melody"]["consonance"] == 1.0  # the melody measured against itself
    for role, values in direct.items():
        for metric, value in values.items():
            assert result["tracks"][role][metric] == (None if math.isnan(value) else pytest.approx(value))
    assert result["tonal_distances"] == pytest.approx(tonal_distances(windows, ["melody", *ROLES], resolution=4))
    assert result["voice_leading"]["range_violations"] < 0.02
    assert "Dataset bach, valid split" in ev.format_evaluation(result)
    json.dumps(result, allow_nan=False)

    capped = ev.evaluate_data("bach", "train", max_windows=100)
    assert capped["windows"]["used"] == 100 and capped["windows"]["available"] > 100
    with pytest.raises(MuseforgeError, match="unknown split"):
        ev.evaluate_data("bach", "nope")


def test_evaluate_data_needs_a_built_dataset() -> None:
    with pytest.raises(MuseforgeError, match="not built"):
        ev.evaluate_data("bach")


def test_voice_leading_pools_windows_without_joining_them() -> None:
    # Two windows of two steps, voices S A T B as MIDI pitches per step (column = pitch - 24).
    pitches = [
        [[72, 74], [65, 67], [55, 70], [48, 48]],  # S-A: a fifth to a fifth, both moving; T jumps above A
        [[72, 74], [65, 67], [55, 55], [36, 36]],  # S-A parallel fifths again; B below its range (E2-C4)
    ]
    rolls = np.zeros((2, 4, 2, 84), dtype=bool)
    for w, voices in enumerate(pitches):
        for v, line in enumerate(voices):
            for t, pitch in enumerate(line):
                rolls[w, v, t, pitch - 24] = True
    checks = ev.voice_leading(rolls, lowest_pitch=24)
    # Parallels: S-A in each window (2). Motions where both voices move: window 0 S-A, S-T, A-T; window 1 S-A.
    # Joined without a rest, window 0's last step -> window 1's first would add a third S-A fifth.
    assert checks["parallels_per_window"] == 1.0
    assert checks["parallel_rate"] == pytest.approx(2 / 4)
    # Out of range: T 70 > 67 once, B 36 < 40 twice, of 16 sounding voice-steps.
    assert checks["range_violations"] == pytest.approx(3 / 16)
    # Crossing: T above A at one of the 4 steps.
    assert checks["crossings"] == pytest.approx(1 / 4)


# ------------------------------------------------------------------------------------------------ classifier
@pytest.mark.slow
def test_classifier_tells_empty_rolls_from_real_ones(home: Path) -> None:
    windows = load_dataset("bach").windows("valid")
    songs = load_dataset("bach").song_index("valid")
    real = ev.window_features(windows[:, 1:], windows[:, 0], resolution=4, is_drum=[False] * 3)
    empty = ev.window_features(np.zeros_like(windows[:, 1:]), windows[:, 0], resolution=4, is_drum=[False] * 3)
    assert real.shape == empty.shape and real.shape[0] == len(windows)
    result = ev.two_sample_accuracy(real, empty, songs, songs, seed=0)
    assert result["accuracy"] >= 0.99
    assert result["n_train"] + result["n_test"] == 2 * len(windows)


def test_classifier_is_at_chance_on_two_halves_of_real_music(home: Path) -> None:
    dataset = load_dataset("bach")
    splits = ("train", "valid", "test")
    windows = np.concatenate([dataset.windows(s) for s in splits])
    songs = np.concatenate([dataset.song_index(s) + 1000 * k for k, s in enumerate(splits)])
    features = ev.window_features(windows[:, 1:], windows[:, 0], resolution=4, is_drum=[False] * 3)
    accuracies = []
    for seed in range(3):
        result = ev.two_sample_accuracy(features[0::2], features[1::2], songs[0::2], songs[1::2], seed=seed)
        assert result["n_test"] > 250
        accuracies.append(result["accuracy"])
    assert all(abs(a - 0.5) < 0.1 for a in accuracies), accuracies
    # Deterministic: the same seed gives the same halves and the same weights.
    assert (
        ev.two_sample_accuracy(features[0::2], features[1::2], songs[0::2], songs[1::2], seed=0)["accuracy"]
        == accuracies[0]
    )


def test_classifier_without_groups_and_too_few_windows() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (200, 5)), rng.normal(0, 1, (200, 5))
    b[:, 0] += 3.0  # one feature moves by 3 standard deviations: an easy call
    assert ev.two_sample_accuracy(a, b)["accuracy"] > 0.9
    assert ev.two_sample_accuracy(a[:1], b[:1])["accuracy"] is None


def test_the_second_classifier_is_another_kind_of_learner() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (600, 20)), rng.normal(0, 1, (600, 20))
    for learner in ("logistic", "boosted_stumps"):  # the same distribution: chance either way
        assert abs(ev.two_sample_accuracy(a, b, learner=learner)["accuracy"] - 0.5) < 0.07
    wide = b.copy()
    wide[:, 3] *= 3.0  # the same mean, three times the spread: no line separates the sets, two thresholds do
    linear = ev.two_sample_accuracy(a, wide)
    boosted = ev.two_sample_accuracy(a, wide, learner="boosted_stumps")
    assert linear["accuracy"] < 0.57 < 0.62 < boosted["accuracy"] and "AdaBoost" in boosted["method"]
    with pytest.raises(ValueError, match="unknown learner"):
        ev.two_sample_accuracy(a, b, learner="forest")


# ------------------------------------------------------------------------------------------------ shipping bar
def cell(generated: float | None, real: float | None) -> dict[str, float | None]:
    gap = None if generated is None or real in (None, 0.0) else abs(generated - real) / abs(real)
    return {"generated": generated, "real": real, "gap": gap}


def test_shipping_bar_checks_every_metric_within_15_percent() -> None:
    result = {
        "kind": "model",
        "split": "test",
        "tracks": {
            "alto": {
                "empty_bar_rate": cell(0.02, 0.0),  # real 0: absolute floor 0.03 -> passes
                "used_pitch_classes": cell(3.4, 3.0),  # 15 % of 3.0 = 0.45 -> passes
                "key_fit": cell(0.80, 0.90),  # off by 0.10 <= 0.135 -> passes
                "consonance": cell(0.88, 0.90),
                "one_step_note_rate": cell(0.05, 0.04),  # floor 0.03 -> passes
                "out_of_range_rate": cell(0.01, 0.0),  # at most 0.02 -> passes
                "pitch_range": cell(80.0, 6.0),  # not part of the bar
            },
            "tenor": {
                "empty_bar_rate": cell(0.04, 0.0),  # beyond the 0.03 floor -> fails
                "used_pitch_classes": cell(3.5, 3.0),  # 0.5 > 0.45 -> fails
                "key_fit": cell(None, 0.9),  # a silent track has no notes -> fails
                "consonance": cell(0.9, 0.9),
                "out_of_range_rate": cell(0.16, 0.0),  # 16 % above A4 -> fails
            },
            "drums": {
                "empty_bar_rate": cell(0.1, 0.1),
                "drum_pattern_rate": cell(0.9, 0.9),
                "drum_repetition": cell(0.24, 0.72),  # no groove -> fails
                "backbeat_rate": cell(0.7, 0.7),
            },
            "ensemble": {"crowded_window_rate": cell(0.32, 0.01), "notes_per_step": cell(30.0, 5.0)},
        },
        "tonal_distances": {"melody/alto": cell(1.0, 0.9)},  # 15 % of 0.9 = 0.135 -> passes
        "voice_leading": {"parallel_rate": cell(0.2, 0.02)},  # fails
        "classifier": {"accuracy": 0.91},  # above 0.80 -> fails
    }
    bar = ev.shipping_bar(result)
    assert bar["passed"] is False
    assert bar["tracks"]["alto"]["passed"] is True
    alto = bar["tracks"]["alto"]["metrics"]
    assert set(alto) == {
        "empty_bar_rate",
        "used_pitch_classes",
        "key_fit",
        "consonance",
        "one_step_note_rate",
        "out_of_range_rate",
    }
    assert alto["used_pitch_classes"]["tolerance"] == pytest.approx(0.45)
    assert alto["empty_bar_rate"]["tolerance"] == pytest.approx(0.03)
    tenor = bar["tracks"]["tenor"]["metrics"]
    assert [m for m, c in tenor.items() if not c["passed"]] == [
        "empty_bar_rate",
        "used_pitch_classes",
        "key_fit",
        "out_of_range_rate",
    ]
    assert [m for m, c in bar["tracks"]["drums"]["metrics"].items() if not c["passed"]] == ["drum_repetition"]
    assert bar["tracks"]["ensemble"]["passed"] is False
    assert bar["tonal_distances"]["passed"] and not bar["voice_leading"]["passed"] and not bar["classifier"]["passed"]
    assert len(bar["failures"]) == 8
    text = ev.format_shipping_bar(bar)
    assert "FAILED 8 checks" in text and "tenor used_pitch_classes 3.500 vs 3.000 (allowed ±0.450)" in text
    assert "classifier accuracy 0.910 (at most 0.8)" in text

    for name in ("tenor", "drums", "ensemble"):
        result["tracks"].pop(name)
    result["voice_leading"] = {}
    result["classifier"] = {"accuracy": 0.75}
    assert ev.shipping_bar(result)["passed"] is True
    with pytest.raises(MuseforgeError):
        ev.shipping_bar({"kind": "data", "tracks": {}})


@pytest.mark.slow
def test_training_logs_show_the_numbers_evaluate_gives_for_the_same_weights(home: Path) -> None:
    """The trainer's per-epoch metrics and `museforge evaluate` take one path: same windows, noise, notes."""
    from museforge.training.evaluation import METRICS_SEED_OFFSET
    from museforge.training.registry import read_history

    history = read_history(home / "models" / "tiny")
    card = read_card(home / "models" / "tiny")
    logged = history[-1]["metrics"]["generated"]
    n = card["hyperparameters"]["metrics_samples"]
    seed = card["hyperparameters"]["seed"] + METRICS_SEED_OFFSET
    result = ev.evaluate_model("tiny", samples=n, split="valid", seed=seed, classifier=False)
    for role, row in result["tracks"].items():
        for metric, cell in row.items():
            mine = logged[role][metric]
            if cell["generated"] is None:
                assert mine is None or math.isnan(mine), (role, metric)
            else:
                assert mine == pytest.approx(cell["generated"], abs=1e-9), (role, metric)
    # a different noise seed changes what is generated (the comparison above could fail)
    other = ev.evaluate_model("tiny", samples=n, split="valid", seed=seed + 1, classifier=False)
    assert other["tracks"] != result["tracks"]


@pytest.mark.slow
def test_evaluate_samples_composes_the_built_in_melodies(home: Path) -> None:
    result = ev.evaluate_samples("tiny", seeds=(0, 1), real_windows=40)
    from museforge.music.melodies import list_melodies

    assert result["kind"] == "samples" and result["split"] == "test"
    assert result["melodies"] == [m.name for m in list_melodies()]
    assert result["samples"] > 2 * len(result["melodies"])  # several 2-bar windows per melody and seed
    assert set(result["tracks"]) == {*ROLES, "ensemble"}
    assert result["tracks"]["alto"]["key_fit"]["real"] > 0.8
    assert 0.0 <= result["seed_overlap"] <= 1.0
    assert result["shipping_bar"]["passed"] is False
    assert "Shipping bar" in ev.format_evaluation(result)


# ------------------------------------------------------------------------------------------------ docs/results.md
@pytest.mark.slow
def test_write_results_markdown_for_shipped_models(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import museforge.pretrained
    from museforge.evaluate.report import REGENERATE, write_results_markdown
    from museforge.training import export_model

    shipped = tmp_path / "pretrained"
    export_model("tiny", shipped, "bach")
    monkeypatch.setattr(museforge.pretrained, "PRETRAINED_DIR", shipped)
    assert ev.evaluate_model("bach", samples=8, classifier=False)["source"] == "pretrained"

    docs = tmp_path / "docs"
    docs.mkdir()
    results = write_results_markdown(docs / "results.md", samples=32)
    text = (docs / "results.md").read_text()
    assert [r["model"] for r in results] == ["bach"] and results[0]["split"] == "test"
    assert REGENERATE in text and "Machine:" in text
    assert "## Where each model stands" in text and "## bach" in text
    top = results[0]["largest_gap"]
    assert f"{top['track']} {top['metric'].replace('_', ' ')}" in text
    assert "### Voice leading" in text and "Real-vs-generated classifier" in text
    assert "## Jam: playing along one bar ahead" in text and "\n| bach |" in text.split("## Jam", 1)[1]
    assert "MuseGAN" not in text.split("## bach", 1)[1]  # MuseGAN's numbers are for rock and pop only
    assert (docs / "results" / "bach.png").read_bytes()[:4] == b"\x89PNG"
    assert "![bach" in text and "(results/bach.png)" in text
    assert not math.isnan(results[0]["classifier"]["accuracy"])
    assert results[0]["classifier_second"]["accuracy"] is not None and "second classifier" in text

    with pytest.raises(NotFoundError, match="no shipped model for 'rock'"):
        write_results_markdown(docs / "results.md", models=["rock"])
