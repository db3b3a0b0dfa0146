"""An edited melody is saved through the recording endpoint: its title keeps "·" and accents, its meter and
length are the original's, and the recording limits answer with one line."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_edited_melody_keeps_its_title_meter_and_notes(client: TestClient) -> None:
    notes = [
        {"pitch": 60, "start_beat": 0, "duration_beats": 1},
        {"pitch": 62, "start_beat": 1, "duration_beats": 0.5},
        {"pitch": 64, "start_beat": 5.75, "duration_beats": 0.25},
    ]
    body = {"tempo": 144, "bars": 3, "time_signature": [3, 4], "name": "Edited · Frère Jacques", "notes": notes}
    response = client.post("/api/melodies/record", json=body)
    assert response.status_code == 201, response.text
    melody = response.json()
    assert melody["name"] == "Edited · Frère Jacques" and melody["kind"] == "recorded"
    assert melody["time_signature"] == [3, 4] and melody["bars"] == 3 and melody["tempo"] == 144
    (track,) = melody["roll"]["tracks"]
    assert track["notes"] == [[60, 0, 12, 100], [62, 12, 18, 100], [64, 69, 72, 100]]
    again = client.get(f"/api/melodies/user/{melody['id']}").json()
    assert again["name"] == "Edited · Frère Jacques" and again["roll"]["tracks"][0]["notes"] == track["notes"]


def test_a_title_loses_control_characters_and_length() -> None:
    from museforge.server.studio import _melody_title

    assert _melody_title("Edited ·\n\tTwinkle\x00  Star", "x") == "Edited · Twinkle Star"
    assert _melody_title("a" * 100, "x") == "a" * 64
    assert _melody_title(" \n ", "Recorded melody") == "Recorded melody"


def test_too_many_bars_for_an_edited_melody_is_one_line(client: TestClient) -> None:
    body = {"tempo": 100, "bars": 65, "notes": [{"pitch": 60, "start_beat": 0, "duration_beats": 1}]}
    response = client.post("/api/melodies/record", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "bars" in detail
