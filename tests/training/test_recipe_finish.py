"""The shipped models' one way of being made, ``scripts/train_pretrained.py``: a recipe's finish stage trains its
last updates with the changed settings (jazz: the clusters term) and the exported card says how it was made."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.datasets.test_genres import _subset
from tests.tiny_models import TINY_MUSEGAN

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_pretrained.py"


@pytest.fixture
def recipes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The script as a module, exporting into a temporary folder (the shipped models stay as they are)."""
    spec = importlib.util.spec_from_file_location("train_pretrained", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_pretrained", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "PRETRAINED_DIR", tmp_path / "pretrained")
    return module


def test_the_jazz_recipe_trains_its_last_updates_with_the_clusters_term(
    recipes, shared_datasets: Path, museforge_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheets = "jazz/openbook_realbook_with_bass/midis_with_bass"
    files = [f"{sheets}/{t}.mid" for t in ("Autumn_Leaves", "Blue_Bossa", "Misty", "Tenderly")]
    source = _subset(shared_datasets, tmp_path / "src", [*files, "jazz/groove_midi_drums_gmd"])
    tiny = {**recipes.RECIPES["jazz"], "model_config": {**TINY_MUSEGAN, "meter_aware": True}}
    monkeypatch.setitem(recipes.RECIPES, "jazz", tiny)
    monkeypatch.setitem(recipes.COMMON, "batch_size", 4)  # a few tunes' windows
    monkeypatch.setitem(recipes.FINISH, "jazz", {"steps": 2, "hyperparameters": {"clusters": 0.1}})
    result = recipes.train_genre("jazz", source, minutes=5, max_steps=5)
    assert result["steps"] == 5
    card = json.loads((tmp_path / "pretrained" / "jazz.json").read_text())
    assert card["hyperparameters"]["clusters"] == 0.1 and card["step"] == 5  # 3 updates without the term, 2 with
    assert card["training"]["steps"] == 5 and "its last 2 updates with clusters=0.1" in card["training"]["command"]
    assert card["data"]["instrument_fit"]["piano"] == 1.0  # the facts of today's runs are in the card
    assert (tmp_path / "pretrained" / "jazz.safetensors").stat().st_size > 0
