"""A model's drums stay on the kit its data play: the training run records it, composing keeps to it; the run
records its pitched tracks' ranges, the positions in the beat where their notes change and the share of their
notes their instruments can play too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from museforge.datasets.build import build_dataset
from museforge.model_files import read_card
from museforge.pipelines.compose import compose
from museforge.training import TrainConfig, train
from museforge.training.registry import model_dir
from tests.datasets.test_genres import _subset
from tests.tiny_models import tiny_run


def test_a_trained_models_drums_play_only_its_datas_kit(
    shared_datasets: Path, museforge_home: Path, tmp_path: Path
) -> None:
    sheets = "jazz/openbook_realbook_with_bass/midis_with_bass"
    files = [f"{sheets}/{t}.mid" for t in ("Autumn_Leaves", "Blue_Bossa", "Misty", "Tenderly")]
    source = _subset(shared_datasets, tmp_path / "src", [*files, "jazz/groove_midi_drums_gmd"])
    build_dataset("jazz", source, resolution=4)
    train(TrainConfig(name="kit", **tiny_run("musegan", genre="jazz")), progress=False)
    card = read_card(model_dir("kit"))
    kit = card["data"]["drum_kit"]["drums"]
    assert {36, 38, 51} <= set(kit) <= set(range(35, 82))
    spans = card["data"]["line_range"]  # pitched tracks only; the bass lies below the piano's top
    assert set(spans) == {"piano", "bass"}
    assert 24 <= spans["bass"][0] < spans["bass"][1] < 60 < spans["piano"][1] <= 107
    # the Real Book's walking bass moves on the beat, its comping piano on eighth notes
    assert card["data"]["change_grid"] == {"piano": [0, 2], "bass": [0]}
    # and how much of each pitched track's notes its instrument can play: a piano all, a finger bass nearly all
    fit = card["data"]["instrument_fit"]
    assert set(fit) == {"piano", "bass"} and fit["piano"] == 1.0 and 0.95 <= fit["bass"] <= 1.0
    # two updates teach nothing: the drums' probabilities lie all over the keys, and only the kit's sound
    music = compose("ode_to_joy", "kit", seed=0).multitrack
    drums = music.roles.index("drums")
    keys = set(np.flatnonzero(music.onsets[drums].any(axis=0)).tolist())
    assert keys and keys <= set(kit)
