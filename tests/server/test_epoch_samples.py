"""An epoch's sample as a piano roll (``GET /api/models/{name}/samples/epoch_NNN.mid/roll``): what the models
page's epoch browser plays, read back from the sample's MIDI file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from museforge.music.midi import read_midi
from tests.tiny_models import TINY_MODEL

ROLL = f"/api/models/{TINY_MODEL}/samples/epoch_001.mid/roll"


def test_an_epoch_sample_is_served_as_the_roll_of_its_midi(client: TestClient, model_home: Path) -> None:
    detail = client.get(f"/api/models/{TINY_MODEL}").json()
    (record,) = detail["epochs"]
    assert record["sample"] == {"midi": "samples/epoch_001.mid", "png": "samples/epoch_001.png"}
    response = client.get(ROLL)
    assert response.status_code == 200, response.text
    roll = response.json()
    assert roll["n_steps"] > 0 and roll["tempo"] > 0 and roll["resolution"] == 12
    roles = [track["role"] for track in roll["tracks"]]
    assert roles[0] == "melody" and len(roles) > 1  # the fixed melody and the generator's accompaniment
    midi = read_midi(model_home / "models" / TINY_MODEL / "samples" / "epoch_001.mid", resolution=12)
    assert [len(track["notes"]) for track in roll["tracks"]] == [len(midi.notes(i)) for i in range(midi.n_tracks)]
    assert all(len(note) == 4 and note[1] < note[2] for track in roll["tracks"] for note in track["notes"])


@pytest.mark.parametrize(
    "url",
    [
        f"/api/models/{TINY_MODEL}/samples/epoch_001.png/roll",  # a picture has no roll
        f"/api/models/{TINY_MODEL}/samples/latest.png/roll",
        f"/api/models/{TINY_MODEL}/samples/epoch_009.mid/roll",  # no such epoch
        f"/api/models/{TINY_MODEL}/samples/model.json/roll",
        f"/api/models/{TINY_MODEL}/samples/..%2Fmodel.json/roll",
        "/api/models/no-such-model/samples/epoch_001.mid/roll",
        "/api/models/..%2F..%2Fetc/samples/epoch_001.mid/roll",
    ],
)
def test_only_a_sample_midi_has_a_roll(client: TestClient, model_home: Path, url: str) -> None:
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert isinstance(response.json()["detail"], str)
