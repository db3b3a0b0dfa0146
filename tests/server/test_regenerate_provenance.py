"""Regenerate through the REST API names the model that composed the piece or none: another model is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_regenerate_refuses_another_model_and_takes_the_one_that_composed_it(client: TestClient) -> None:
    made = client.post("/api/compositions", json={"melody": "twinkle", "model": "jazz", "seed": 12})
    assert made.status_code == 201, made.text
    url = f"/api/compositions/{made.json()['id']}/regenerate"
    other = client.post(url, json={"tracks": ["drums"], "model": "rock", "seed": 3})
    assert other.status_code == 400
    detail = other.json()["detail"]
    assert "composed by the model 'jazz', not 'rock'" in detail and "\n" not in detail
    same = client.post(url, json={"tracks": ["drums"], "model": "jazz", "seed": 3})
    assert same.status_code == 201, same.text
    default = client.post(url, json={"tracks": ["drums"], "seed": 3})
    assert default.status_code == 201, default.text
    assert default.json()["summary"]["model"] == "jazz" and default.json()["summary"]["previous_seed"] == 12
