"""The one model loader and the parsed model card: every shipped card parses, round-trips and loads through
``load_model`` for its technique; a name of another technique is refused in one line."""

from __future__ import annotations

import json

import pytest

from museforge.errors import MuseforgeError, NotFoundError
from museforge.model_files import ModelCard
from museforge.models.loading import find_model, load_model
from museforge.pretrained import PRETRAINED_DIR, list_pretrained, list_technique_models

SHIPPED_CARDS = sorted(PRETRAINED_DIR.rglob("*.json"))


@pytest.mark.parametrize("path", SHIPPED_CARDS, ids=lambda p: str(p.relative_to(PRETRAINED_DIR)))
def test_every_shipped_card_parses_and_round_trips(path) -> None:
    raw = json.loads(path.read_text())
    card = ModelCard(raw)
    assert card.to_dict() == raw and ModelCard(card.to_dict()) == card
    assert card["data"] == raw["data"]  # the JSON reads as it is in the file
    data, config = raw["data"], raw["model_config"]
    assert (card.resolution, card.lowest_pitch, card.n_pitches) == (
        data["resolution"],
        data["lowest_pitch"],
        data["n_pitches"],
    )
    assert card.roles == [t["role"] for t in data.get("tracks", [])]
    if "n_bars" in config:
        assert card.window == config["n_bars"] * config["steps_per_bar"]
    else:
        assert card.architecture == "transformer" and card.window is None


def test_a_card_older_than_the_pitch_window_gets_the_one_default() -> None:
    raw = json.loads((PRETRAINED_DIR / "jazz.json").read_text())
    del raw["data"]["lowest_pitch"], raw["data"]["n_pitches"]
    card = ModelCard(raw)
    assert (card.lowest_pitch, card.n_pitches) == (24, 84)
    assert "lowest_pitch" not in card.to_dict()["data"]  # written back as it came


def test_a_malformed_card_is_one_clear_error() -> None:
    with pytest.raises(MuseforgeError, match="malformed"):
        ModelCard({"name": "x", "data": {"resolution": "four"}})


def test_load_model_gives_each_technique_its_network() -> None:
    for info in list_pretrained():
        network, card = load_model(info["genre"].upper())  # a genre name in any case
        assert card.architecture in ("musegan", "unet") and not network.training
    for technique in ("enhance", "extend"):
        for info in list_technique_models(technique):
            _network, card = load_model(info["name"], technique)
            assert card.architecture == {"enhance": "arcnn", "extend": "transformer"}[technique]


def test_a_name_of_another_technique_is_refused() -> None:
    with pytest.raises(NotFoundError, match="no extend model named 'bach'"):
        find_model("bach", "extend")
    with pytest.raises(NotFoundError, match="no model named 'melody'"):
        find_model("melody")  # the Transformer ships for extend, not compose
    with pytest.raises(MuseforgeError, match="no technique"):
        find_model("bach", "dance")
